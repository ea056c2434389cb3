"""A person's dossier as HTML and as a tagged PDF, in the reader's language.

Both come from one template, so they say the same thing. The PDF is that HTML laid out by
WeasyPrint as PDF/UA-1: a structure tree (headings, paragraphs, tables with header cells), the
document's language and title, and table headers repeated on every page. ReportLab, which draws the
statistics PDF, writes no structure tree. The same dossier, signers and export day give the same
bytes, so a recorded hash can be checked later.

Nothing is fetched while the PDF is laid out: the template uses no outside resource, and a fetcher
that refuses every address keeps a future template (or a URL typed into the registry) from making the
server request anything.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask import render_template
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from markupsafe import Markup

from portal.officials import labels
from portal.officials.services import Dossier

LANGUAGES = ("en", "fr")


@dataclass(frozen=True)
class Signatures:
    """Who stands behind an export: both staff members, by email, and the days it was signed and left."""

    prepared_by: str
    signed_by: str
    signed_on: dt.date
    exported_on: dt.date


def _entity_name(entity, lang: str) -> str:  # noqa: ANN001
    if entity is None:
        return "—"
    return entity.name_in(lang)


def _css_string(value: str) -> str:
    """A CSS string literal that cannot end the string, the rule or the style element."""
    escaped = "".join(ch if ch.isalnum() or ch in " .,:;-–—'’()" else f"\\{ord(ch):x} " for ch in value)
    return f'"{escaped}"'


def page_numbers_css() -> Markup:
    """CSS ``content`` for 'Page 2 of 5' in the current language, from the translated message."""
    pattern = _("Page %(page)d of %(pages)d")
    before, rest = pattern.split("%(page)d", 1)
    middle, after = rest.split("%(pages)d", 1)
    parts = [_css_string(before), "counter(page)", _css_string(middle), "counter(pages)", _css_string(after)]
    return Markup(" ".join(part for part in parts if part != '""'))


def _render(dossier: Dossier, lang: str, signatures: Signatures) -> str:
    return render_template(
        "officials/dossier_export.html", dossier=dossier, lang=lang, labels=labels, signatures=signatures,
        entity_name=_entity_name, month_label=labels.month_label, tactic_label=labels.tactic_label,
        province_label=labels.province_label, confidence_label=labels.confidence_label,
        basis_label=labels.basis_label, long_date=lambda day: format_date(day, "long"),
    )


def render_html(dossier: Dossier, lang: str, signatures: Signatures) -> bytes:
    with force_locale(lang):
        return _render(dossier, lang, signatures).encode("utf-8")


def render_pdf(dossier: Dossier, lang: str, signatures: Signatures) -> bytes:
    # Imported here: WeasyPrint loads Pango when imported, which only this export needs.
    from weasyprint import CSS, HTML
    from weasyprint.urls import FatalURLFetchingError

    def refuse_to_fetch(url: str) -> dict:
        raise FatalURLFetchingError("a dossier is laid out from its own template only")

    with force_locale(lang):
        page = _render(dossier, lang, signatures)
        layout = CSS(string=render_template("officials/dossier_print.css", page_numbers_css=page_numbers_css()))
    return HTML(string=page, url_fetcher=refuse_to_fetch).write_pdf(stylesheets=[layout], pdf_variant="pdf/ua-1")
