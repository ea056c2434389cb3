"""The fixed vocabularies of a report (PRODUCT.md §2.1 and the tactic codes of §5).

Labels are marked with ``N_`` for extraction and translated where they are shown, so this module
needs no web framework. Codes are stable identifiers stored in sealed answers and triage records.
"""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark a string for translation without translating it here."""
    return message


TACTIC_GROUPS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("PHY", N_("In person"), (
        ("PHY-ASSAULT", N_("Violence or assault")),
        ("PHY-ABDUCT", N_("Abduction or attempted forced return")),
        ("PHY-LETHAL", N_("Threat or plot against someone's life")),
        ("PHY-STALK", N_("Followed, watched, or photographed (for example at a protest)")),
        ("PHY-INTIM", N_("Visits to the home, confrontations")),
        ("PHY-PROP", N_("Damage to property")),
    )),
    ("THR", N_("Threats at a distance"), (
        ("THR-VIOL", N_("Threats of violence, including sexual violence")),
        ("THR-HARASS", N_("Repeated calls or messages")),
        ("THR-RETURN", N_("Pressure to go back to China or Hong Kong")),
        ("THR-INFORM", N_("Pressure to inform on others or to stop activism")),
    )),
    ("PRX", N_("Pressure through family and others"), (
        ("PRX-CONTACT", N_("Relatives questioned or warned")),
        ("PRX-DETAIN", N_("Relatives detained or disappeared")),
        ("PRX-SANCTION", N_("Relatives lost jobs, pensions or passports")),
        ("PRX-ASSOC", N_("Friends, employer or business partners pressured")),
    )),
    ("DIG", N_("Online and digital"), (
        ("DIG-HACK", N_("Phishing, spyware, or accounts taken over")),
        ("DIG-SURV", N_("Monitoring online, or personal details published (doxxing)")),
        ("DIG-SMEAR", N_("Disinformation, impersonation, or fake images or videos")),
        ("DIG-ABUSE", N_("Online pile-ons or mass reporting of accounts")),
    )),
    ("LEG", N_("Legal pressure and travel"), (
        ("LEG-BOUNTY", N_("Arrest warrant or bounty")),
        ("LEG-INTERPOL", N_("Misuse of Interpol or extradition")),
        ("MOB-DOCS", N_("Passport cancelled, or consular services refused")),
        ("LEG-ASSETS", N_("Assets frozen")),
    )),
    ("INS", N_("Through institutions"), (
        ("INS-STATION", N_("An \"overseas police station\"")),
        ("INS-CAMPUS", N_("On a university or school campus")),
        ("INS-ELECT", N_("Targeting candidates or voters")),
        ("INS-COMMUNITY", N_("Through community organizations acting for a foreign state")),
    )),
    ("OTHER", N_("Not sure"), (
        ("OTHER-UNSURE", N_("Something else, or I am not sure")),
    )),
)

TACTIC_CODES: tuple[str, ...] = tuple(
    code for _group, _label, tactics in TACTIC_GROUPS for code, _ in tactics
)

DATE_PRECISIONS = (
    ("day", N_("I know the exact day")),
    ("month", N_("I know the month")),
    ("year", N_("I know the year")),
    ("approximate", N_("Approximately")),
    ("range", N_("Over a period (from – to)")),
    ("unknown", N_("I don't know")),
)

PROVINCES = (
    ("AB", N_("Alberta")),
    ("BC", N_("British Columbia")),
    ("MB", N_("Manitoba")),
    ("NB", N_("New Brunswick")),
    ("NL", N_("Newfoundland and Labrador")),
    ("NS", N_("Nova Scotia")),
    ("NT", N_("Northwest Territories")),
    ("NU", N_("Nunavut")),
    ("ON", N_("Ontario")),
    ("PE", N_("Prince Edward Island")),
    ("QC", N_("Quebec")),
    ("SK", N_("Saskatchewan")),
    ("YT", N_("Yukon")),
    ("ONLINE", N_("Online")),
    ("ABROAD", N_("Outside Canada — to my family")),
    ("UNSAID", N_("I prefer not to say")),
)

TARGETS = (
    ("me", N_("Me")),
    ("family_canada", N_("A family member in Canada")),
    ("family_abroad", N_("Family abroad")),
    ("organization", N_("An organization")),
    ("someone_else", N_("Someone else")),
)

COMMUNITIES = (
    ("uyghur", N_("Uyghur")),
    ("tibetan", N_("Tibetan")),
    ("hong_kong", N_("Hong Kong")),
    ("falun_gong", N_("Falun Gong")),
    ("democracy", N_("Chinese democracy movement")),
    ("taiwanese", N_("Taiwanese")),
    ("other", N_("Other")),
)

PERPETRATORS = (
    ("prc_diplomat", N_("PRC diplomat or consular staff")),
    ("china_police", N_("Police in China")),
    ("intelligence", N_("Ministry of State Security or other intelligence service")),
    ("hk_nsd", N_("Hong Kong National Security Department")),
    ("united_front", N_("Group linked to the United Front")),
    ("proxy", N_("An individual acting for them")),
    ("online_unknown", N_("Unknown person online")),
    ("unknown", N_("I don't know")),
)

#: The tactic a reporter's "a bounty was involved" answer stands for, and the dashboard's bounty filter.
BOUNTY_TACTIC = "LEG-BOUNTY"

BOUNTY_ANSWERS = (
    ("no", N_("No")),
    ("yes", N_("Yes")),
    ("unsure", N_("I'm not sure")),
)

IMPACTS = (
    ("fear", N_("Fear")),
    ("self_censorship", N_("I censor what I say")),
    ("stopped_activism", N_("I stopped my activism")),
    ("moved_home", N_("I moved home")),
    ("lost_income", N_("I lost income")),
    ("family_harmed", N_("My family was harmed")),
    ("injury", N_("Injury")),
)

AUTHORITIES = (
    ("rcmp", N_("RCMP")),
    ("police", N_("Local police")),
    ("csis", N_("CSIS")),
    ("other", N_("Someone else")),
)

CONTACT_METHODS = (
    ("none", N_("Don't contact me — I will use my receipt")),
    ("email", N_("Email")),
    ("phone", N_("Phone or Signal")),
)
