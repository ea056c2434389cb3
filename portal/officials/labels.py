"""Labels for the registry's codes, marked for translation, and the codes as a reader sees them."""

from __future__ import annotations

import datetime as dt

from flask_babel import format_date, gettext

from portal.taxonomy import N_, PROVINCES, TACTIC_GROUPS

STATUS = {
    "diplomatic": N_("Diplomatic agent (VCDR)"),
    "consular": N_("Consular officer (VCCR)"),
    "none": N_("No diplomatic or consular status"),
    "unknown": N_("Status unknown"),
}
INVOLVEMENT = {
    "directly_carried_out": N_("Directly carried out"),
    "gave_orders": N_("Gave orders"),
    "planned": N_("Planned"),
    "suspected": N_("Suspected"),
}
CONFIDENCE = {"confirmed": N_("Confirmed"), "likely": N_("Likely"), "possible": N_("Possible")}
BASIS = {
    "reporter_identified": N_("Identified by the reporter"),
    "staff_corroborated": N_("Corroborated by staff"),
    "documentary_evidence": N_("Documentary evidence"),
    "public_source": N_("Public source"),
}
ACTION = {
    "persona_non_grata": N_("Declare persona non grata"),
    "refusal_of_accreditation": N_("Refuse accreditation"),
    "immunity_waiver": N_("Request a waiver of immunity"),
    "sanctions": N_("Impose sanctions"),
}
LEGAL_BASIS = {
    "VCDR Art. 9": N_("Vienna Convention on Diplomatic Relations, Article 9: the receiving State may at any time declare a member of a mission persona non grata, without giving reasons."),
    "VCDR Art. 41": N_("Vienna Convention on Diplomatic Relations, Article 41: persons enjoying immunities must respect the laws of the receiving State and not interfere in its internal affairs."),
    "VCCR Art. 23": N_("Vienna Convention on Consular Relations, Article 23: the receiving State may at any time declare a consular officer persona non grata or not acceptable."),
}
#: Tactic codes and provinces as a reader of a dossier sees them (the codes stay in the data).
TACTIC = {code: label for _group, _group_label, tactics in TACTIC_GROUPS for code, label in tactics}
PROVINCE = dict(PROVINCES)
#: The parts of a person's record, named as on the person's page.
FIELD = {
    "name_latin": N_("Name in Latin script"),
    "name_chinese": N_("Name in Chinese characters"),
    "aliases": N_("Also known as"),
    "mission_id": N_("Mission"),
    "title": N_("Title"),
    "rank": N_("Rank"),
    "status": N_("Status"),
    "affiliation_id": N_("Affiliation"),
    "affiliation_basis": N_("Basis of the affiliation"),
    "requested_action": N_("Requested action"),
}


def _label(table: dict[str, str], code: str) -> str:
    """A code's label in the current language; an unknown code as it is, rather than nothing."""
    return gettext(table[code]) if code in table else code


def tactic_label(code: str) -> str:
    return _label(TACTIC, code)


def province_label(code: str) -> str:
    return _label(PROVINCE, code)


def confidence_label(code: str) -> str:
    return _label(CONFIDENCE, code)


def basis_label(code: str) -> str:
    return _label(BASIS, code)


def month_label(month: str) -> str:
    """'2025-09' as the current language writes it: 'September 2025', 'septembre 2025'."""
    year, number = month.split("-")
    return format_date(dt.date(int(year), int(number), 1), "MMMM y")
