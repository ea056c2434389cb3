"""The French catalogue is complete, keeps every placeholder, and its compiled .mo is current.

These tests read the sources with Babel's own extractor, the same way `tools/translations.sh`
does, so a new or changed string fails here until it has been translated.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "portal" / "translations"
LOCALES = ("fr",)
# Keep in step with babel.cfg and tools/translations.sh.
KEYWORDS = parse_keywords(["_", "_l", "N_", "lazy_gettext", "gettext", "ngettext:1,2"])
FIX = (
    "Run `tools/translations.sh update`, translate the new or changed entries in "
    "portal/translations/{locale}/LC_MESSAGES/messages.po (remove any `fuzzy` flag once "
    "checked), then run `tools/translations.sh compile`."
)
PLACEHOLDER = re.compile(r"%\(([^)]+)\)[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa]")


def _key(msgid: str | tuple[str, ...], context: str | None) -> tuple[str | None, str]:
    return context, msgid[0] if isinstance(msgid, (tuple, list)) else msgid


def _forms(value: str | tuple[str, ...] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return value if isinstance(value, tuple) else (value,)


def _placeholders(text: str) -> set[str]:
    return {match.group(0) for match in PLACEHOLDER.finditer(text)}


def _read_po(locale: str) -> Catalog:
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as fileobj:
        return read_po(fileobj, locale=locale)


def _read_mo(locale: str) -> Catalog:
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo").open("rb") as fileobj:
        return read_mo(fileobj)


@pytest.fixture(scope="module")
def source_messages() -> dict[tuple[str | None, str], list[str]]:
    """Every message in the sources, keyed by (context, msgid), with where it is used."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as fileobj:
        method_map, options_map = parse_mapping_cfg(fileobj, filename=str(ROOT / "babel.cfg"))
    found: dict[tuple[str | None, str], list[str]] = {}
    for filename, lineno, message, _comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        found.setdefault(_key(message, context), []).append(f"{filename}:{lineno}")
    assert found, "Babel found no messages at all; check babel.cfg"
    return found


@pytest.mark.parametrize("locale", LOCALES)
def test_every_source_message_is_translated(
    locale: str, source_messages: dict[tuple[str | None, str], list[str]]
) -> None:
    catalog = _read_po(locale)
    problems = []
    for (context, msgid), where in sorted(
        source_messages.items(), key=lambda item: (item[0][0] or "", item[0][1])
    ):
        message = catalog.get(msgid, context)
        if message is None:
            problem = "missing"
        elif message.fuzzy:
            problem = "fuzzy"
        elif not message.string or not all(form.strip() for form in _forms(message.string)):
            problem = "untranslated"
        else:
            continue
        problems.append(f"  [{problem}] {msgid!r}  ({where[0]})")
    assert not problems, (
        f"{len(problems)} message(s) not translated in {locale}:\n"
        + "\n".join(problems)
        + "\n"
        + FIX.format(locale=locale)
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_every_placeholder(locale: str) -> None:
    problems = []
    for message in _read_po(locale):
        if not message.id or not message.string:
            continue
        expected = set().union(*(_placeholders(form) for form in _forms(message.id)))
        for form in _forms(message.string):
            found = _placeholders(form)
            if missing := expected - found:
                problems.append(f"  {message.id!r}: translation lacks {sorted(missing)}")
            if extra := found - expected:
                problems.append(f"  {message.id!r}: translation adds unknown {sorted(extra)}")
    assert not problems, (
        f"Placeholders differ between source and {locale} translation "
        "(copy each %(name)s exactly, untranslated):\n" + "\n".join(problems)
    )


def _as_tuple(string):  # noqa: ANN001, ANN202
    # Babel gives plural forms as a tuple from a .po file and as a list from a .mo file.
    return tuple(string) if isinstance(string, (tuple, list)) else string


@pytest.mark.parametrize("locale", LOCALES)
def test_compiled_catalogue_matches_po(locale: str) -> None:
    po = {
        _key(message.id, message.context): _as_tuple(message.string)
        for message in _read_po(locale)
        if message.id and message.string and not message.fuzzy
    }
    mo = {
        _key(message.id, message.context): _as_tuple(message.string)
        for message in _read_mo(locale)
        if message.id
    }
    stale = sorted(repr(key[1]) for key in po.keys() | mo.keys() if po.get(key) != mo.get(key))
    assert not stale, (
        f"portal/translations/{locale}/LC_MESSAGES/messages.mo is out of date with messages.po "
        f"for {len(stale)} message(s), e.g. {', '.join(stale[:5])}. "
        "Run `tools/translations.sh compile`."
    )


def test_french_catalogue_header() -> None:
    headers = dict(_read_po("fr").mime_headers)
    assert headers["Language"] == "fr"
    assert headers["Plural-Forms"] == "nplurals=2; plural=(n > 1);"
