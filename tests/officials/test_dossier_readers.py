"""Dossiers fit for their readers: the signer sees what changed since the last sign-off, people are
named by email, and the exports speak in labels, in English and French, as a tagged PDF with its
signers, dates, page numbers and table headers on every page."""

from __future__ import annotations

import datetime as dt
import html as html_module
import io
import re

import pytest
from babel.dates import format_date
from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject

from portal.db import db
from portal.officials import services
from portal.officials.models import IncidentLink
from tests.officials import (
    PARTNER,
    PARTNER_NAME,
    add_person,
    entity_id,
    exported,
    file_report,
    linked,
    page,
    person_page,
    person_row,
    post,
    prepare,
    signed_in,
    signed_off,
    triaged,
)


def changes_shown(html: str) -> str:
    """The text of the 'what changed' part of a person's page, tags removed, spaces collapsed."""
    match = re.search(r'<div class="changes" id="changes">(.*?)</div>', html, re.S)
    assert match, "the page shows no changes since the last sign-off"
    return " ".join(html_module.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split())


def edit(client, person_id: int, **fields: object):
    response = post(client, person_page(person_id), fields, form_page=person_page(person_id))
    assert response.status_code == 303, response.status_code
    return response


# --- the signer sees what changed -------------------------------------------------------------


def test_the_signer_sees_what_changed_since_the_last_signed_version(app, preparer, signer, factory):
    factory.organization(PARTNER, PARTNER_NAME, default=False)
    person = add_person(preparer.id, title="Consul", status="consular")
    kept, dropped = file_report(app), file_report(app)
    for report_id in (kept, dropped):
        linked(report_id, person, involvement="planned", confidence="possible", basis="staff_corroborated")
    preparer_client, signer_client = signed_off(app, preparer, signer, person.id)

    edit(preparer_client, person.id, name_latin="Zhao Weiming", title="Consul general", status="diplomatic",
         mission_id=entity_id("embassy-ottawa"))
    post(preparer_client, f"{person_page(person.id)}/postings",
         {"posting-entity_id": entity_id("consulate-toronto"), "posting-title": "Deputy consul",
          "posting-start": "2021-03-01"}, form_page=person_page(person.id))
    post(preparer_client, f"{person_page(person.id)}/sources",
         {"source-title": "Press release naming the consul", "source-address": "https://example.org/release"},
         form_page=person_page(person.id))
    added = file_report(app)
    linked(added, person, involvement="gave_orders", confidence="confirmed")
    hidden = file_report(app, orgs=(PARTNER,))
    linked(hidden, person)
    db.session.delete(db.session.scalars(db.select(IncidentLink).filter_by(report_id=dropped)).one())
    db.session.commit()
    assert prepare(preparer_client, person.id).status_code == 303

    shown = changes_shown(page(signer_client, person_page(person.id)))

    assert "Version 1 was signed off by orgadmin@example.org" in shown
    assert "Title Consul Consul general" in shown
    assert "Status Consular officer (VCCR) Diplomatic agent (VCDR)" in shown
    assert "Mission — Embassy of the People's Republic of China in Ottawa" in shown
    assert "Added: Consulate General of the People's Republic of China in Toronto, Deputy consul (2021-03-01 – )" in shown
    assert "Added: Press release naming the consul https://example.org/release" in shown
    assert f"Added: Report {added} — Gave orders, Confirmed, Identified by the reporter" in shown
    assert "Added: An incident you cannot open — Directly carried out, Likely, Identified by the reporter" in shown
    assert f"Removed: Report {dropped} — Planned, Possible, Corroborated by staff" in shown
    assert f"Report {kept}" not in shown  # linked then and now: not a change
    assert "Linked incidents 2 3" in shown
    assert "Attribution confidence: Confirmed 0 1" in shown
    assert "Attribution confidence: Possible 2 1" in shown


def test_a_re_triaged_incident_shows_as_a_change_though_the_version_is_the_same(app, preparer, signer):
    person = add_person(preparer.id, status="consular")
    report_id = file_report(app)
    triaged(report_id, tactics=("THR-HARASS",), province="BC", month=dt.date(2025, 9, 1))
    linked(report_id, person)
    preparer_client, signer_client = signed_off(app, preparer, signer, person.id)

    triaged(report_id, tactics=("THR-HARASS", "LEG-BOUNTY"), province="BC", month=dt.date(2025, 9, 1))
    assert prepare(preparer_client, person.id).status_code == 303
    shown = changes_shown(page(signer_client, person_page(person.id)))

    assert person_row(person.id).version == 1
    assert "Tactic: Arrest warrant or bounty 0 1" in shown
    assert ("Added: September 2025, British Columbia: Arrest warrant or bounty; Repeated calls or messages"
            " — Directly carried out, Likely") in shown
    assert "Removed: September 2025, British Columbia: Repeated calls or messages" in shown
    assert "LEG-BOUNTY" not in shown and "THR-HARASS" not in shown


def test_a_dossier_never_signed_off_is_all_new_to_the_signer(app, preparer, signer):
    person = add_person(preparer.id, status="consular")
    assert prepare(signed_in(app, preparer), person.id).status_code == 303

    shown = changes_shown(page(signed_in(app, signer), person_page(person.id)))

    assert "No version of this dossier has been signed off before" in shown


def test_nothing_changed_since_the_last_sign_off_is_said_so(app, preparer, signer):
    """Content that changed and changed back needs a sign-off again, with nothing to compare."""
    person = add_person(preparer.id, status="consular")
    preparer_client, signer_client = signed_off(app, preparer, signer, person.id)
    report_id = file_report(app)
    linked(report_id, person)
    assert prepare(preparer_client, person.id).status_code == 303
    db.session.delete(db.session.scalars(db.select(IncidentLink).filter_by(report_id=report_id)).one())
    db.session.commit()

    shown = changes_shown(page(signer_client, person_page(person.id)))

    assert "Nothing the dossier says has changed since then." in shown


def test_each_sign_off_keeps_what_it_approved(app, preparer, signer):
    person = add_person(preparer.id, status="consular")
    signed_off(app, preparer, signer, person.id)
    linked(file_report(app), person)
    signed_off(app, preparer, signer, person.id)

    first, second = reversed(services.approvals(db.session, person_row(person.id)))

    assert (first.version, second.version) == (1, 1)
    assert (first.prepared_by, first.signed_by) == (preparer.id, signer.id)
    assert '"linked_total": 0' in first.content and '"linked_total": 1' in second.content
    dossier = services.build_dossier(db.session, person_row(person.id))
    assert second.content_sha256 == services.fingerprint(dossier)


# --- people by email ----------------------------------------------------------------------------


def test_history_and_sign_offs_name_staff_by_email(app, preparer, signer):
    person = add_person(preparer.id, status="consular", title="Consul")
    preparer_client, signer_client = signed_off(app, preparer, signer, person.id)
    edit(preparer_client, person.id, name_latin="Zhao Weiming", title="Consul general", status="consular")
    assert prepare(preparer_client, person.id).status_code == 303

    html = page(signer_client, person_page(person.id))
    history = html.split('id="h-history"', 1)[1]

    assert re.search(r"Version 2 · [\d-]+ [\d:]+ · admin@example\.org", history)
    assert re.search(r"Version 1 · [\d-]+ [\d:]+ · admin@example\.org", history)
    assert "prepared by admin@example.org, signed off by orgadmin@example.org" in history
    assert "Prepared by admin@example.org on" in html
    assert not re.search(r"staff member \d", html)


# --- the exports: labels, signers, dates, pages, tags -------------------------------------------

#: What a dossier's codes read as, in each language of the exports.
LABELS = {
    "en": ("Repeated calls or messages", "Arrest warrant or bounty", "British Columbia", "September 2025",
           "Gave orders", "Confirmed", "Consular officer (VCCR)", "Requested action: Refuse accreditation"),
    "fr": ("Appels ou messages répétés", "Mandat d’arrêt ou mise à prix", "Colombie-Britannique", "septembre 2025",
           "A donné des ordres", "Confirmée", "Fonctionnaire consulaire (CVRC)", "Refuser l’accréditation"),
}
CODES = ("THR-HARASS", "LEG-BOUNTY", "gave_orders", "confirmed", "reporter_identified",
         "refusal_of_accreditation", "2025-09")


@pytest.fixture
def signed_dossier(app, preparer, signer):
    """A consular officer with one counted, triaged incident, signed off; the preparer's client."""
    person = add_person(preparer.id, name_chinese="赵伟明", status="consular",
                        mission_id=entity_id("consulate-vancouver"), requested_action="refusal_of_accreditation")
    report_id = file_report(app)
    triaged(report_id, tactics=("THR-HARASS", "LEG-BOUNTY"), province="BC", month=dt.date(2025, 9, 1))
    linked(report_id, person, involvement="gave_orders", confidence="confirmed")
    client, _signer_client = signed_off(app, preparer, signer, person.id)
    return person, client


def pdf_pages(content: bytes) -> list[str]:
    return [" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(content)).pages]


def dossier_in(client, person_id: int, fmt: str, lang: str) -> bytes:
    return exported(client, person_id, f"{fmt}?lang={lang}")


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("fmt", ["pdf", "html"])
def test_the_exports_carry_labels_not_codes_in_english_and_french(signed_dossier, fmt, lang):
    person, client = signed_dossier
    content = dossier_in(client, person.id, fmt, lang)
    if fmt == "pdf":  # a label wrapped at its hyphen in a narrow column reads as one word
        text = re.sub(r"(?<=\w)- (?=\w)", "-", " ".join(pdf_pages(content)))
    else:
        text = html_module.unescape(content.decode("utf-8"))

    for label in LABELS[lang]:
        assert label in text, label
    for code in CODES:
        assert code not in text, code
    assert not re.search(r"\bBC\b", text)
    if fmt == "html":
        assert f'<html lang="{lang}">' in text
        # Served under a CSP that forbids inline style: the PDF's layout is a separate stylesheet.
        assert "<style" not in text and "style=" not in text


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_pdf_names_who_prepared_and_signed_and_when_it_was_signed_and_exported(signed_dossier, lang):
    person, client = signed_dossier
    today = dt.datetime.now(dt.UTC).date()

    text = " ".join(pdf_pages(dossier_in(client, person.id, "pdf", lang)))

    assert "admin@example.org" in text and "orgadmin@example.org" in text
    # Signed and exported today: the day appears for each.
    assert text.count(format_date(today, "long", locale=lang)) >= 2
    if lang == "en":
        assert "Prepared by admin@example.org" in text
        assert "Signed off by orgadmin@example.org" in text
        assert f"Signed off on {format_date(today, 'long', locale='en')}" in text
        assert f"Exported on {format_date(today, 'long', locale='en')}" in text


#: The postings table's header row, in each language.
POSTINGS_HEADER = {"en": "Mission Title From Until", "fr": "Mission Titre À partir du Jusqu’au"}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_page_is_numbered_and_a_long_tables_header_is_on_every_page(app, preparer, signer, lang):
    person = add_person(preparer.id, status="consular")
    for number in range(1, 81):
        services.add_posting(db.session, person, entity_id=entity_id("consulate-toronto"),
                             title=f"Posting number {number}", start=None, end=None, staff_id=preparer.id,
                             now=dt.datetime.now(dt.UTC))
    db.session.commit()
    client, _signer_client = signed_off(app, preparer, signer, person.id)

    pages = pdf_pages(dossier_in(client, person.id, "pdf", lang))

    assert len(pages) >= 3
    word = {"en": "of", "fr": "sur"}[lang]
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} {word} {len(pages)}" in text
    with_postings = [text for text in pages if "Posting number" in text]
    assert len(with_postings) >= 2
    for text in with_postings:
        assert text.index(POSTINGS_HEADER[lang]) < text.index("Posting number")


def structure_types(node: object, found: set[str] | None = None) -> set[str]:
    """Every structure type (/S) in a tagged PDF's structure tree under ``node``."""
    found = set() if found is None else found
    node = node.get_object() if hasattr(node, "get_object") else node
    if isinstance(node, ArrayObject):
        for kid in node:
            structure_types(kid, found)
    elif isinstance(node, DictionaryObject):
        if "/S" in node:
            found.add(str(node["/S"]).lstrip("/"))
        if "/K" in node:
            structure_types(node["/K"], found)
    return found


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_pdf_is_tagged_with_its_language_and_title(signed_dossier, lang):
    person, client = signed_dossier

    reader = PdfReader(io.BytesIO(dossier_in(client, person.id, "pdf", lang)))
    catalog = reader.trailer["/Root"]

    assert catalog["/MarkInfo"]["/Marked"] == True  # noqa: E712 (a PDF boolean, equal to True)
    assert str(catalog["/Lang"]) == lang
    assert catalog["/ViewerPreferences"]["/DisplayDocTitle"] == True  # noqa: E712
    title = {"en": "Dossier: Zhao Weiming 赵伟明", "fr": "Dossier\N{NO-BREAK SPACE}: Zhao Weiming 赵伟明"}[lang]
    assert reader.metadata.title == title
    types = structure_types(catalog["/StructTreeRoot"])
    assert {"H1", "H2", "P", "Table", "TR", "TH", "TD"} <= types, types
