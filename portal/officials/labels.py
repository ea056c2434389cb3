"""Labels for the registry's codes, marked for translation."""

from portal.taxonomy import N_

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
