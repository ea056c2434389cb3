"""Clearly fake demo data: organizations, staff, officials and a few hundred triaged reports.

Everything goes through the services real use goes through (``submit_report`` seals the answers
and wraps the keys, ``record_triage`` and ``set_status`` keep the rank columns, the database
triggers keep the dashboard counters, the registry versions its people), so every page shows what
a portal in use would show: statistics with published figures, campaign pages, dossiers.

The reports are generated from a fixed seed: the same day gives the same reports. Their dates
cover the 18 whole months before the current one (:func:`demo_period`). The cost is one
production Argon2id derivation per report (its receipt lock), so submissions run in a small
thread pool, each with its own database session: argon2-cffi releases the GIL and
``crypto.MAX_CONCURRENT_DERIVATIONS`` caps how many run at once. The generated reports' receipts
are thrown away unread; only the three showcase reports' receipts are printed, to try follow-up.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from portal import crypto
from portal.officials import services as registry
from portal.officials.models import Campaign, CampaignLink, Entity, Person
from portal.orgs import services as orgs
from portal.orgs.models import Organization, StaffMember
from portal.reports import services as reports
from portal.reports import triage
from portal.reports.forms import parse_partial_date
from portal.reports.models import Report
from portal.statistics.counting import Period

DEMO_PASSWORD = "demo-password-not-secret"
#: Every demo narrative starts with this, so no one mistakes a demo report for a real one.
DEMO_MARK = "[DEMO — fictitious]"
#: The seed of every random choice below: the same day always gives the same demo reports.
SEED = 20_251_001
#: Reports loaded, the three showcase reports included: enough for most statistics cells to
#: reach the default threshold of 10, few enough to load in well under a minute.
REPORT_COUNT = 300
MONTHS = 18
#: Months (counted from the first of the period) when waves of bounty notices went out.
BOUNTY_WAVES = (5, 13)

DEMO_ORGANIZATIONS = (
    ("intake", "Coalition intake team (DEMO)", True),
    ("demo-uyghur", "Example Uyghur rights group (DEMO, fictional)", False),
    ("demo-hongkong", "Example Hong Kong group (DEMO, fictional)", False),
    ("demo-tibet", "Example Tibet group (DEMO, fictional)", False),
)

DEMO_STAFF = (
    ("triager@intake.demo.invalid", "intake", "triager"),
    ("admin@intake.demo.invalid", "intake", "coalition_admin"),
    ("analyst@intake.demo.invalid", "intake", "analyst"),
    ("triager@uyghur.demo.invalid", "demo-uyghur", "triager"),
    ("orgadmin@hongkong.demo.invalid", "demo-hongkong", "org_admin"),
)
TRIAGER = "triager@intake.demo.invalid"
DOSSIER_PREPARER = "admin@intake.demo.invalid"


class DemoRefused(Exception):
    """Demo data would be mixed with a real portal's data, or overwrite a file; str() says why."""


# --- the fictional registry ----------------------------------------------------------------------


@dataclass(frozen=True)
class DemoPerson:
    key: str
    name_latin: str
    name_chinese: str
    status: str
    title: str
    mission: str | None
    affiliation: str | None
    requested_action: str = ""


DEMO_PEOPLE = (
    DemoPerson("toronto", "DEMO Official Example", "演示官员", "consular", "Fictional consul (DEMO)",
               "consulate-toronto", None, "persona_non_grata"),
    DemoPerson("vancouver", "DEMO Consul Placeholder", "演示领事", "consular",
               "Fictional deputy consul general (DEMO)", "consulate-vancouver", None, "persona_non_grata"),
    DemoPerson("calgary", "DEMO Attaché Invented", "演示随员", "consular", "Fictional consular attaché (DEMO)",
               "consulate-calgary", None),
    DemoPerson("montreal", "DEMO Vice-Consul Fictitious", "演示副领事", "consular",
               "Fictional vice-consul (DEMO)", "consulate-montreal", None),
    DemoPerson("ottawa", "DEMO Counsellor Sample", "演示参赞", "diplomatic", "Fictional counsellor (DEMO)",
               "embassy-ottawa", None, "persona_non_grata"),
    DemoPerson("association", "DEMO Association Chair", "演示会长", "none",
               "Chair of a fictional community association (DEMO)", None, "ufwd", "sanctions"),
    DemoPerson("officer", "DEMO Officer Unknown", "演示特工", "unknown", "Fictional intelligence officer (DEMO)",
               None, "mss", "sanctions"),
)
#: The mission official most reports from a province would name.
OFFICIAL_OF_PROVINCE = {"ON": "toronto", "BC": "vancouver", "AB": "calgary", "SK": "calgary", "QC": "montreal"}


# --- what reporters from each community tend to describe ----------------------------------------
#
# Weights, not data: invented so that the demo looks like a portal in use (several tactics per
# report, skewed communities and provinces, waves of bounty notices), not drawn from any source.


@dataclass(frozen=True)
class Profile:
    weight: float
    tactics: dict[str, float]
    perpetrators: dict[str, float]
    provinces: dict[str, float]
    partner: str | None = None


PROFILES = {
    "uyghur": Profile(22, {"PRX-CONTACT": 5, "PRX-DETAIN": 3, "THR-RETURN": 3, "THR-INFORM": 3,
                           "THR-HARASS": 3, "DIG-SURV": 2, "MOB-DOCS": 2, "PHY-STALK": 1,
                           "INS-STATION": 1, "PRX-SANCTION": 1},
                      {"china_police": 5, "intelligence": 2, "prc_diplomat": 1.5, "united_front": 1,
                       "proxy": 1, "unknown": 1},
                      {"ON": 4, "QC": 2, "BC": 1.5, "AB": 1, "ONLINE": 1}, "demo-uyghur"),
    "hong_kong": Profile(25, {"LEG-BOUNTY": 4, "DIG-SURV": 3, "THR-HARASS": 3, "DIG-HACK": 2,
                              "DIG-ABUSE": 2, "PHY-STALK": 2, "PRX-CONTACT": 2, "THR-VIOL": 1,
                              "INS-ELECT": 1},
                         {"hk_nsd": 5, "united_front": 2, "online_unknown": 2, "proxy": 1.5,
                          "prc_diplomat": 1, "unknown": 1},
                         {"ON": 4, "BC": 4, "AB": 1, "QC": 0.7, "ONLINE": 1}, "demo-hongkong"),
    "tibetan": Profile(12, {"PHY-STALK": 4, "PRX-CONTACT": 3, "INS-CAMPUS": 3, "THR-HARASS": 2,
                            "DIG-HACK": 2, "INS-COMMUNITY": 2},
                       {"united_front": 4, "prc_diplomat": 2, "proxy": 2, "china_police": 1, "unknown": 1},
                       {"ON": 4, "BC": 2, "QC": 1.5, "AB": 1}, "demo-tibet"),
    "falun_gong": Profile(13, {"PRX-CONTACT": 4, "PRX-DETAIN": 3, "DIG-SMEAR": 3, "PHY-INTIM": 2,
                               "THR-HARASS": 2, "PHY-PROP": 1, "INS-COMMUNITY": 1},
                          {"china_police": 3, "united_front": 2, "proxy": 2, "online_unknown": 1, "unknown": 1},
                          {"ON": 3, "BC": 2, "QC": 2, "AB": 1, "MB": 0.5}),
    "democracy": Profile(15, {"THR-HARASS": 3, "DIG-HACK": 3, "DIG-SMEAR": 2, "THR-VIOL": 2,
                              "PRX-CONTACT": 2, "INS-ELECT": 2, "INS-CAMPUS": 1, "PHY-STALK": 1,
                              "LEG-INTERPOL": 1, "PHY-ASSAULT": 0.3, "PHY-LETHAL": 0.2},
                         {"intelligence": 3, "prc_diplomat": 2, "online_unknown": 2, "united_front": 1.5,
                          "china_police": 1, "unknown": 1},
                         {"ON": 3, "BC": 2.5, "QC": 1, "AB": 1, "ONLINE": 1, "NS": 0.3, "SK": 0.3}),
    "taiwanese": Profile(8, {"DIG-SMEAR": 3, "DIG-ABUSE": 2, "INS-ELECT": 2, "THR-HARASS": 2,
                             "INS-COMMUNITY": 1},
                         {"online_unknown": 3, "united_front": 2, "proxy": 1, "unknown": 1},
                         {"BC": 3, "ON": 3, "AB": 1, "ONLINE": 1}),
    "other": Profile(5, {"OTHER-UNSURE": 3, "THR-HARASS": 2, "DIG-SURV": 1, "INS-STATION": 1},
                     {"unknown": 3, "proxy": 1, "online_unknown": 1},
                     {"ON": 2, "BC": 1, "QC": 1, "AB": 1, "MB": 0.5, "SK": 0.5}),
}

CITIES = {
    "ON": ("Toronto", "Ottawa", "Markham", "Waterloo", "Mississauga"),
    "BC": ("Vancouver", "Richmond", "Burnaby", "Victoria"),
    "QC": ("Montréal", "Québec"),
    "AB": ("Calgary", "Edmonton"),
    "MB": ("Winnipeg",),
    "SK": ("Saskatoon", "Regina"),
    "NS": ("Halifax",),
}

#: One invented sentence per tactic; a narrative is the mark and the sentences of its tactics.
SENTENCES = {
    "PHY-ASSAULT": "A man shoved me to the ground after a community meeting and said it was a warning.",
    "PHY-ABDUCT": "Two people tried to pull me into a car and told me I was going home.",
    "PHY-LETHAL": "A message said I would not survive my next protest.",
    "PHY-STALK": "The same two men photographed everyone at our vigil and followed some of us to the subway.",
    "PHY-INTIM": "Strangers came to my door twice and asked about the people I meet.",
    "PHY-PROP": "The windows of our association's office were broken the night before an event.",
    "THR-VIOL": "I received messages describing what would happen to me and my family.",
    "THR-HARASS": "Calls from unknown numbers came every night for weeks, telling me to stop speaking out.",
    "THR-RETURN": "I was told I should come back to settle a family matter, and that refusing would cost my parents.",
    "THR-INFORM": "Someone asked me to report on who attends our events, in exchange for leaving my family alone.",
    "PRX-CONTACT": "Police visited my parents and told them to make me stop.",
    "PRX-DETAIN": "My brother was taken away and my family has not heard from him since.",
    "PRX-SANCTION": "My mother lost her pension after I spoke at a rally.",
    "PRX-ASSOC": "My employer received a letter saying I was a criminal.",
    "DIG-HACK": "A message that looked like it came from a friend asked me to log in; my account was taken over.",
    "DIG-SURV": "My home address and photos were posted in a group chat.",
    "DIG-SMEAR": "Fake posts in my name appeared, and an edited video of me was shared widely.",
    "DIG-ABUSE": "Hundreds of accounts reported my page until it was suspended.",
    "LEG-BOUNTY": "A bounty notice with my name and photo was shared online.",
    "LEG-INTERPOL": "I was told a notice had been requested against me so that I could not travel.",
    "MOB-DOCS": "The consulate refused to renew my passport unless I came in person to talk.",
    "LEG-ASSETS": "My family's bank accounts were frozen.",
    "INS-STATION": "A community office I was sent to asked me to sign a statement about my activities.",
    "INS-CAMPUS": "A classmate recorded our student club meeting and said the recording would be passed on.",
    "INS-ELECT": "People I did not know told community members not to vote for a candidate I work for.",
    "INS-COMMUNITY": "A local association warned others not to come to our cultural event.",
    "OTHER-UNSURE": "Something happened that frightened me, and I am not sure what it was.",
}
BOUNTY_NOTICE = "A fictional bounty notice (DEMO)"
IMPACTS = ("fear", "self_censorship", "stopped_activism", "moved_home", "lost_income", "family_harmed", "injury")


# --- one demo report ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    person: str | None
    entity: str | None
    involvement: str
    confidence: str
    basis: str


@dataclass(frozen=True)
class DemoReport:
    """What a reporter answered, and what staff then did with it."""

    answers: dict[str, Any]  # as the report form gives them, without the organizations
    organizations: tuple[str, ...]
    consent: reports.Consent
    received_on: dt.date
    triaged_on: dt.date
    severity: str
    credibility: str
    status: str
    campaigns: tuple[str, ...] = ()
    links: tuple[Link, ...] = ()
    duplicate_of: int | None = None  # index of the original in the list
    showcase: bool = False
    notes: tuple[str, ...] = ()


def _add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def demo_period(today: dt.date) -> Period:
    """The 18 whole months before the current one: every demo report was received in them."""
    this_month = today.replace(day=1)
    return Period(_add_months(this_month, -MONTHS), this_month - dt.timedelta(days=1))


def triage_from_answers(answers: dict[str, Any]) -> dict[str, Any]:
    """The triage codes that agree with what the reporter answered (a triager confirming them)."""
    month = None
    if answers["when_precision"] not in ("year", "unknown") and answers["when_start"]:
        canonical, earliest = parse_partial_date(answers["when_start"])
        if "-" in canonical:
            month = earliest.replace(day=1)
    return {
        "tactics": sorted(answers["tactics"]),
        "province": answers["province"] or None,
        "incident_month": month,
        "community": answers["communities"][0] if answers["communities"] else None,
        "perpetrator_type": answers["perpetrators"][0] if answers["perpetrators"] else None,
    }


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def _pick_several(rng: random.Random, weights: dict[str, float], count: int) -> list[str]:
    chosen: list[str] = []
    remaining = dict(weights)
    while remaining and len(chosen) < count:
        choice = _pick(rng, remaining)
        chosen.append(choice)
        del remaining[choice]
    return chosen


def _severity(tactics: Sequence[str]) -> str:
    if {"PHY-LETHAL", "PHY-ABDUCT"} & set(tactics):
        return "critical"
    if {"PHY-ASSAULT", "PRX-DETAIN", "LEG-BOUNTY", "THR-VIOL", "LEG-INTERPOL"} & set(tactics):
        return "high"
    if any(code.startswith(("PHY-", "PRX-")) for code in tactics) or {"THR-RETURN", "THR-INFORM", "DIG-HACK", "INS-STATION"} & set(tactics):
        return "medium"
    return "low"


def _when(rng: random.Random, incident: dt.date | None, received: dt.date) -> tuple[str, str, str]:
    """How a reporter would write the date: (precision, start, end)."""
    if incident is None:
        return ("year", str(received.year), "") if rng.random() < 0.5 else ("unknown", "", "")
    month = incident.strftime("%Y-%m")
    roll = rng.random()
    if roll < 0.43:
        return "day", incident.isoformat(), ""
    if roll < 0.84:
        return "month", month, ""
    if roll < 0.91:
        return "approximate", month, ""
    return "range", month, received.strftime("%Y-%m")


def _month_pool(rng: random.Random, size: int) -> list[int | None]:
    """The month of each report (None: the reporter cannot say), shuffled: as many per month as
    the weights say, exactly, so that chance never leaves a month nearly empty. Reports rise
    slowly as the portal becomes known, with two waves of bounty notices."""
    undated = size * 7 // 100
    weights = [1 + 0.01 * index for index in range(MONTHS)]
    for wave in BOUNTY_WAVES:
        weights[wave] *= 1.2
    shares = [(size - undated) * weight / sum(weights) for weight in weights]
    counts = [int(share) for share in shares]
    by_remainder = sorted(range(MONTHS), key=lambda index: counts[index] - shares[index])
    for index in by_remainder[: size - undated - sum(counts)]:
        counts[index] += 1
    pool: list[int | None] = [index for index, count in enumerate(counts) for _ in range(count)]
    pool += [None] * undated
    rng.shuffle(pool)
    return pool


def _generated_report(
    rng: random.Random, number: int, period: Period, months: list[dt.date], pool: list[int | None]
) -> DemoReport:
    community = _pick(rng, {name: profile.weight for name, profile in PROFILES.items()})
    profile = PROFILES[community]
    tactics = _pick_several(rng, profile.tactics, rng.choices((1, 2, 3), weights=(35, 45, 20))[0])
    month_index = pool.pop()
    if community == "hong_kong" and "LEG-BOUNTY" in tactics and rng.random() < 0.6:
        wave = next((i for i in reversed(range(len(pool))) if pool[i] in BOUNTY_WAVES), None)
        if wave is not None:  # bounty notices come in waves: swap months with a later report
            month_index, pool[wave] = pool[wave], month_index
    dated = month_index is not None  # or the reporter cannot say when: received any time
    month = months[month_index if dated else rng.randrange(MONTHS)]
    next_month = _add_months(month, 1)
    # One draw whatever the month's length, so that every later choice is the same on any day.
    incident_day = month + dt.timedelta(days=int(rng.random() * (next_month - month).days))
    lag = rng.choice((rng.randrange(0, 4), rng.randrange(4, 31), rng.randrange(0, 76)))
    received = min(incident_day + dt.timedelta(days=lag), period.until)
    precision, when_start, when_end = _when(rng, incident_day if dated else None, received)

    perpetrators = _pick_several(rng, profile.perpetrators, 2 if rng.random() < 0.2 else 1)
    province = _pick(rng, profile.provinces)
    communities = [community]
    if rng.random() < 0.05:
        communities.append(rng.choice([name for name in PROFILES if name not in (community, "other")]))
    partner = (profile.partner,) if profile.partner and rng.random() < 0.5 else ()
    referral = rng.random() < 0.3
    contact = rng.random() < 0.15
    links = _links(rng, perpetrators[0], province, tactics)
    official = next((link.person for link in links if link.person and link.basis == "reporter_identified"), None)
    impacts = sorted(rng.sample(IMPACTS[:6], rng.randrange(1, 4)))
    if "PHY-ASSAULT" in tactics:
        impacts.append("injury")
    reported_to = sorted(rng.sample(("rcmp", "police", "csis"), rng.choice((0, 0, 1, 1, 2))))

    answers = {
        "tactics": tactics,
        "narrative": " ".join([DEMO_MARK, *(SENTENCES[code] for code in tactics)]),
        "when_precision": precision, "when_start": when_start, "when_end": when_end,
        "province": province,
        "city": rng.choice(CITIES[province]) if province in CITIES and rng.random() < 0.7 else "",
        "target": _target(rng, tactics),
        "communities": communities,
        "community_other": "Southern Mongolian (DEMO)" if community == "other" else "",
        "perpetrators": perpetrators,
        "perpetrator_details": "A person who said they spoke for the consulate (DEMO)." if perpetrators[0] == "prc_diplomat" else "",
        "official_identified": _person(official).name_latin if official else "",
        "bounty": "yes" if "LEG-BOUNTY" in tactics else ("unsure" if rng.random() < 0.05 else "no"),
        "bounty_details": BOUNTY_NOTICE if "LEG-BOUNTY" in tactics else "",
        "impacts": impacts,
        "impact_details": "",
        "reported_to": reported_to,
        "reported_details": f"File DEMO-{number:04d} (fictional)" if reported_to else "",
        "consent_read": True,
        "consent_statistics": rng.random() >= 0.06,
        "consent_referral": referral,
        "consent_contact": contact,
        "contact_method": "email" if contact else "none",
        "contact_details": f"reporter{number}@demo.invalid" if contact else "",
    }
    triaged = min(received + dt.timedelta(days=rng.randrange(0, 8)), period.until)
    return DemoReport(
        answers=answers,
        organizations=("intake", *partner),
        consent=reports.Consent(statistics=answers["consent_statistics"], referral=referral, contact=contact),
        received_on=received,
        triaged_on=triaged,
        severity=_severity(tactics),
        credibility=rng.choices(("confirmed", "likely", "possible", "unlikely"), weights=(15, 42, 40, 3))[0],
        status=_status(rng, received, period, referral),
        campaigns=_campaigns(rng, community, tactics, perpetrators[0], links),
        links=links,
        notes=("DEMO note: the reporter's account matches two others from the same week.",)
        if rng.random() < 0.1 else (),
    )


def _target(rng: random.Random, tactics: Sequence[str]) -> str:
    if any(code.startswith("PRX-") for code in tactics) and rng.random() < 0.5:
        return "family_abroad"
    return rng.choices(("me", "family_canada", "organization", "someone_else"), weights=(80, 8, 7, 5))[0]


def _status(rng: random.Random, received: dt.date, period: Period, referral: bool) -> str:
    refer, close = rng.random() < 0.5, rng.random() < 0.55  # drawn always: see incident_day
    if (period.until - received).days < 21:
        return "under_review"
    if referral and refer:
        return "referred"
    return "closed" if close else "under_review"


def _links(rng: random.Random, perpetrator: str, province: str, tactics: Sequence[str]) -> tuple[Link, ...]:
    def link(person: str | None = None, entity: str | None = None) -> Link:
        return Link(
            person, entity,
            involvement=rng.choices(("suspected", "directly_carried_out", "gave_orders", "planned"), weights=(45, 20, 20, 15))[0],
            confidence=rng.choices(("possible", "likely", "confirmed"), weights=(45, 40, 15))[0],
            basis=rng.choices(("reporter_identified", "staff_corroborated", "documentary_evidence", "public_source"), weights=(40, 30, 20, 10))[0],
        )

    found: list[Link] = []
    if perpetrator == "prc_diplomat" and rng.random() < 0.85:
        found.append(link(person=OFFICIAL_OF_PROVINCE.get(province, "ottawa")))
        if rng.random() < 0.2:
            found.append(link(person="ottawa" if found[0].person != "ottawa" else "toronto"))
    elif perpetrator == "united_front" and rng.random() < 0.3:
        found.append(link(person="association"))
    elif perpetrator == "intelligence" and rng.random() < 0.3:
        found.append(link(person="officer"))
    elif perpetrator == "hk_nsd" and rng.random() < 0.35:
        found.append(link(entity="hk-nsd"))
    if "INS-STATION" in tactics and rng.random() < 0.5:
        found.append(link(entity="mps"))
    return tuple(found)


def _campaigns(rng: random.Random, community: str, tactics: Sequence[str], perpetrator: str, links: Sequence[Link]) -> tuple[str, ...]:
    chosen = []
    if (links and any(link.person for link in links)) or (
        (perpetrator in ("prc_diplomat", "united_front") or {"INS-STATION", "INS-COMMUNITY"} & set(tactics))
        and rng.random() < 0.6
    ):
        chosen.append("harassment-operations")
    if "LEG-BOUNTY" in tactics:
        chosen.append("hong-kong-bounties")
    if community == "hong_kong" and rng.random() < 0.15:
        chosen.append("hong-kong-detained-democrats")
    if community == "uyghur" and ("PRX-DETAIN" in tactics or rng.random() < 0.4):
        chosen.append("uyghur-incarceration")
    if community == "uyghur" and rng.random() < 0.05:
        chosen.append("huseyin-celil")
    if community == "falun_gong" and any(code.startswith("PRX-") for code in tactics):
        chosen.append("falun-gong-families")
    if community == "tibetan" and rng.random() < 0.25:
        chosen.append("panchen-lama-and-pastors")
    if community == "democracy" and rng.random() < 0.1:
        chosen.append("wang-bingzhang")
    if "PRX-DETAIN" in tactics and rng.random() < 0.25:
        chosen.append("torture")
    return tuple(chosen)


def _person(key: str) -> DemoPerson:
    return next(person for person in DEMO_PEOPLE if person.key == key)


def _duplicate(rng: random.Random, original: DemoReport, index: int, period: Period) -> DemoReport:
    """The same incident reported again by a friend, marked by the triager as a duplicate."""
    received = min(original.received_on + dt.timedelta(days=rng.randrange(1, 10)), period.until)
    answers = {
        **original.answers,
        "narrative": f"{DEMO_MARK} Reporting for a friend, who may have reported it too. "
        + original.answers["narrative"].removeprefix(DEMO_MARK).strip(),
        "target": "someone_else", "official_identified": "", "consent_referral": False,
        "consent_contact": False, "contact_method": "none", "contact_details": "",
    }
    return replace(
        original, answers=answers, received_on=received, triaged_on=received,
        consent=replace(original.consent, referral=False, contact=False),
        status="closed", campaigns=(), links=(), duplicate_of=index, showcase=False, notes=(),
    )


def _showcase(period: Period) -> list[DemoReport]:
    """Three hand-written reports, received late in the period, whose receipts are printed."""
    end = period.until

    def report(days_before_end: int, answers: dict[str, Any], organizations: tuple[str, ...], **staff: Any) -> DemoReport:
        received = end - dt.timedelta(days=days_before_end)
        defaults: dict[str, Any] = {
            "when_end": "", "city": "", "target": "me", "community_other": "", "perpetrator_details": "",
            "official_identified": "", "bounty": "no", "bounty_details": "", "impacts": ["fear"],
            "impact_details": "", "reported_to": [], "reported_details": "", "consent_read": True,
            "consent_statistics": True, "consent_referral": False, "consent_contact": False,
            "contact_method": "none", "contact_details": "",
        }
        full = {**defaults, **answers}
        return DemoReport(
            answers=full, organizations=organizations,
            consent=reports.Consent(statistics=True, referral=False, contact=False),
            received_on=received, triaged_on=received, severity=_severity(full["tactics"]),
            credibility="possible", status="under_review", showcase=True, **staff,
        )

    toronto = _person("toronto")
    return [
        report(40, {
            "tactics": ["THR-HARASS", "PRX-CONTACT"],
            "narrative": f"{DEMO_MARK} Repeated calls from an unknown number telling me to stop attending "
            "rallies; my parents were visited by police the same week. A man who called himself "
            "a consul told me to think of my family.",
            "when_precision": "month", "when_start": (end - dt.timedelta(days=45)).strftime("%Y-%m"),
            "province": "ON", "city": "Toronto", "communities": ["uyghur"],
            "perpetrators": ["prc_diplomat", "china_police"], "official_identified": toronto.name_latin,
        }, ("intake", "demo-uyghur"), campaigns=("harassment-operations", "uyghur-incarceration"),
            links=(Link("toronto", None, "suspected", "possible", "reporter_identified"),)),
        report(25, {
            "tactics": ["LEG-BOUNTY", "DIG-SURV"],
            "narrative": f"{DEMO_MARK} A bounty notice naming me was shared in a chat group, with my "
            "home address.",
            "when_precision": "day", "when_start": (end - dt.timedelta(days=27)).isoformat(),
            "province": "BC", "city": "Vancouver", "communities": ["hong_kong"], "perpetrators": ["hk_nsd"],
            "bounty": "yes", "bounty_details": BOUNTY_NOTICE,
        }, ("intake", "demo-hongkong"), campaigns=("hong-kong-bounties",)),
        report(10, {
            "tactics": ["PHY-STALK"],
            "narrative": f"{DEMO_MARK} Two men photographed everyone at a vigil and followed a group of "
            "us to the subway.",
            "when_precision": "approximate", "when_start": (end - dt.timedelta(days=12)).strftime("%Y-%m"),
            "province": "QC", "city": "Montréal", "communities": ["tibetan"], "perpetrators": ["united_front"],
        }, ("intake",)),
    ]


def demo_reports(today: dt.date) -> list[DemoReport]:
    """The demo reports for a given day, oldest first: the same day always gives the same list."""
    rng = random.Random(SEED)
    period = demo_period(today)
    months = [_add_months(period.since, index) for index in range(MONTHS)]
    showcase = _showcase(period)
    count = REPORT_COUNT - len(showcase)
    duplicates = sorted(rng.sample(range(count // 10, count), count // 50))  # 2 %, none early
    pool = _month_pool(rng, count - len(duplicates))
    generated: list[DemoReport] = []
    for number in range(1, count + 1):
        if number - 1 in duplicates:
            index = rng.randrange(len(generated))
            while generated[index].duplicate_of is not None:
                index = rng.randrange(len(generated))
            generated.append(_duplicate(rng, generated[index], index, period))
        else:
            generated.append(_generated_report(rng, number, period, months, pool))
    everything = generated + showcase
    # Oldest first, so report numbers grow with time as on a real portal; originals keep their
    # place before their duplicates (a duplicate is received after its original).
    order = sorted(range(len(everything)), key=lambda i: (everything[i].received_on, i))
    position = {old: new for new, old in enumerate(order)}
    return [
        replace(everything[old], duplicate_of=position[everything[old].duplicate_of])
        if everything[old].duplicate_of is not None else everything[old]
        for old in order
    ]


# --- loading --------------------------------------------------------------------------------------


def _check_can_load(session: Session, recovery_key_out: Path) -> bool:
    """True if the demo is already loaded; raise DemoRefused where loading would mix or overwrite."""
    intake = session.scalar(select(Organization).where(Organization.slug == "intake"))
    if intake is not None and intake.name == DEMO_ORGANIZATIONS[0][1]:
        return True
    if session.scalar(select(Organization.id).limit(1)) is not None or session.scalar(select(Report.id).limit(1)) is not None:
        raise DemoRefused(
            "This portal already has organizations or reports: demo data is only loaded into an "
            "empty portal, so that fake reports never reach real statistics."
        )
    if reports.active_recovery_key(session) is None and os.path.lexists(recovery_key_out):
        raise DemoRefused(f"{recovery_key_out} already exists: remove it, or give --recovery-out.")
    return False


def _typed_key(otpauth_uri: str) -> str:
    """The authenticator key as apps ask for it typed: base32 in groups of four."""
    secret = parse_qs(urlsplit(otpauth_uri).query)["secret"][0]
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def load_demo(
    session: Session,
    *,
    recovery_key_out: Path,
    kdf: crypto.KdfParams,
    totp_key: bytes,
    lookup_key: bytes,
    today: dt.date | None = None,
) -> Iterator[str]:
    """Create the demo data once; yield lines to show the person running it."""
    started = time.monotonic()
    today = today or dt.date.today()
    if _check_can_load(session, recovery_key_out):
        count = session.scalar(select(func.count(Report.id)))
        yield f"Demo data is already loaded ({count} reports)."
        if count < REPORT_COUNT:
            yield ("  It looks incomplete (was loading interrupted?): start from an empty database "
                   "and run `portal demo` again.")
        return
    yield "Loading DEMO data — every name and report below is fictitious."
    for slug, name, default in DEMO_ORGANIZATIONS:
        orgs.add_organization(session, slug, name, default_recipient=default)
    yield "  Sign-in asks for a code from the first time: add each account's key to an authenticator app"
    yield "  (type the key, or open the otpauth:// link on the phone)."
    for email, org, role in DEMO_STAFF:
        created = orgs.add_staff_member(
            session, email=email, organization_slug=org, role=role,
            password=DEMO_PASSWORD, kdf=kdf, totp_key=totp_key,
        )
        yield f"  staff {email} ({role}, {org})"
        yield f"    key {_typed_key(created.otpauth_uri)}  {created.otpauth_uri}"
    yield f"  every demo staff password: {DEMO_PASSWORD}"

    if reports.active_recovery_key(session) is None:

        def deliver(private_key: crypto.PrivateKey) -> None:
            fd = os.open(recovery_key_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(crypto.armor_private_key(private_key))

        orgs.create_recovery_key(session, deliver)
        yield f"  DEMO recovery private key written to {recovery_key_out} (never do this for real)"

    people = _create_people(session, today)
    yield f"  {len(people)} fictional officials in the registry"
    planned = demo_reports(today)
    submitted = _submit_all(session.get_bind(), planned, session, lookup_key=lookup_key, kdf=kdf)
    for plan, result in zip(planned, submitted, strict=True):
        if plan.showcase:
            yield f"  demo report {result.report_id}, receipt {crypto.format_receipt(result.receipt)}"
    report_ids = [result.report_id for result in submitted]
    del submitted  # the other receipts are never shown or kept
    _triage_all(session, planned, report_ids, people)
    period = demo_period(today)
    yield (f"  {len(planned)} triaged demo reports received {period.since} to {period.until}; "
           f"statistics: /staff/statistics?since={period.since}&until={period.until}")
    yield f"Done in {time.monotonic() - started:.0f} s. Open http://127.0.0.1:5000/ after `portal run`."


def _create_people(session: Session, today: dt.date) -> dict[str, Person]:
    now = dt.datetime.now(dt.UTC)
    entities = dict(session.execute(select(Entity.slug, Entity.id)).all())
    people = {}
    for demo in DEMO_PEOPLE:
        person = registry.create_person(
            session,
            {"name_latin": demo.name_latin, "name_chinese": demo.name_chinese, "status": demo.status,
             "title": demo.title, "mission_id": entities.get(demo.mission) if demo.mission else None,
             "affiliation_id": entities.get(demo.affiliation) if demo.affiliation else None,
             "affiliation_basis": "Invented for the demonstration.", "requested_action": demo.requested_action},
            staff_id=None, now=now,
        )
        if demo.mission in entities:
            registry.add_posting(session, person, entity_id=entities[demo.mission], title=demo.title,
                                 start=_add_months(today.replace(day=1), -40), end=None, staff_id=None, now=now)
        registry.add_source(session, person, title="DEMO: a fictional news report naming this person",
                            address="", published_on=_add_months(today.replace(day=1), -6), staff_id=None, now=now)
        people[demo.key] = person
    session.commit()  # the submitting threads write on their own connections
    return people


def _submit_all(
    engine: Engine, planned: Sequence[DemoReport], session: Session, *, lookup_key: bytes, kdf: crypto.KdfParams
) -> list[reports.SubmittedReport]:
    """Submit every report, as many at once as the process allows derivations."""
    organization_ids = dict(session.execute(select(Organization.slug, Organization.id)).all())

    def submit(plan: DemoReport) -> reports.SubmittedReport:
        chosen = [organization_ids[slug] for slug in plan.organizations]
        with Session(engine) as own:
            return reports.submit_report(
                own, answers={**plan.answers, "organizations": chosen}, organization_ids=chosen,
                consent=plan.consent, lookup_key=lookup_key, kdf=kdf, today=plan.received_on,
            )

    with ThreadPoolExecutor(max_workers=crypto.MAX_CONCURRENT_DERIVATIONS) as pool:
        return list(pool.map(submit, planned))


def _triage_all(
    session: Session, planned: Sequence[DemoReport], report_ids: Sequence[int], people: dict[str, Person],
) -> None:
    """Triage, status, referrals, notes and links, as the demo triager would have done them."""
    session.expire_all()  # the reports were written on other connections
    staff = session.scalar(select(StaffMember).where(StaffMember.email == TRIAGER))
    preparer = session.scalar(select(StaffMember).where(StaffMember.email == DOSSIER_PREPARER))
    private_key = crypto.unlock_keypair(DEMO_PASSWORD, orgs.staff_lock(staff))
    campaigns = dict(session.execute(select(Campaign.slug, Campaign.id)).all())
    entities = {entity.slug: entity for entity in session.scalars(select(Entity))}
    loaded = {report.id: report for report in session.scalars(select(Report).where(Report.id.in_(report_ids)))}
    for number, (plan, report_id) in enumerate(zip(planned, report_ids, strict=True), start=1):
        report = loaded[report_id]
        content_key, answers = triage.open_report(session, staff, private_key, report)
        codes = triage_from_answers(answers)
        record = triage.TriageRecord(
            tactics=codes["tactics"], severity=plan.severity, credibility=plan.credibility,
            community=codes["community"], province=codes["province"], incident_month=codes["incident_month"],
            perpetrator_type=codes["perpetrator_type"],
            duplicate_of_id=report_ids[plan.duplicate_of] if plan.duplicate_of is not None else None,
        )
        triaged_at = dt.datetime.combine(plan.triaged_on, dt.time(15, 0), dt.UTC)
        triage.record_triage(session, report, staff, record, triaged_at)
        if plan.duplicate_of is not None:
            triage.set_status(session, report, staff, content_key, "closed", "DEMO: duplicate of an earlier report.")
        else:
            triage.set_status(session, report, staff, content_key, "under_review", "DEMO: triaged.")
            if plan.status == "referred":
                triage.add_referral(session, report, staff, content_key, agency="rcmp",
                                    file_number=f"DEMO-RCMP-{number:04d}", outcome="Fictional: acknowledged.")
            elif plan.status == "closed":
                triage.set_status(session, report, staff, content_key, "closed", "DEMO: nothing more to do.")
            else:
                triage.assign(session, report, staff.id)
        for note in plan.notes:
            triage.add_note(session, report, staff, content_key, note)
        session.add_all(CampaignLink(report_id=report_id, campaign_id=campaigns[slug]) for slug in plan.campaigns)
        for link in plan.links:
            registry.link_report(
                session, report, person=people[link.person] if link.person else None,
                entity=entities[link.entity] if link.entity else None, involvement=link.involvement,
                confidence=link.confidence, basis=link.basis, staff_id=staff.id,
            )
    session.commit()
    # The most linked official's dossier waits for a second staff member's sign-off.
    busiest = max(people.values(), key=lambda person: registry.build_dossier(session, person).linked_total)
    registry.prepare_for_signoff(session, busiest, preparer.id)
    session.commit()
