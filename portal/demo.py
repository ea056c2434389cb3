"""Clearly fake demo data: organizations, staff and reports for trying the portal locally."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import crypto
from portal.orgs import services as orgs
from portal.orgs.models import Organization
from portal.reports import services as reports

DEMO_PASSWORD = "demo-password-not-secret"

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

DEMO_REPORTS = (
    {
        "tactics": ["THR-HARASS", "PRX-CONTACT"],
        "narrative": "[DEMO — fictitious] Repeated calls from an unknown number telling me to stop "
        "attending rallies; my parents were visited by police the same week.",
        "when_precision": "month",
        "when_start": "2025-09",
        "province": "ON",
        "communities": ["uyghur"],
        "perpetrators": ["china_police", "unknown"],
        "orgs": ["intake", "demo-uyghur"],
    },
    {
        "tactics": ["LEG-BOUNTY", "DIG-SURV"],
        "narrative": "[DEMO — fictitious] A bounty notice naming me was shared in a chat group, "
        "with my home address.",
        "when_precision": "day",
        "when_start": "2025-07-03",
        "province": "BC",
        "communities": ["hong_kong"],
        "perpetrators": ["hk_nsd"],
        "orgs": ["intake", "demo-hongkong"],
    },
    {
        "tactics": ["PHY-STALK"],
        "narrative": "[DEMO — fictitious] Two men photographed everyone at a vigil and followed "
        "a group of us to the subway.",
        "when_precision": "approximate",
        "when_start": "2025",
        "province": "QC",
        "communities": ["tibetan"],
        "perpetrators": ["united_front"],
        "orgs": ["intake"],
    },
)


def _answers(sample: dict, organization_ids: list[int]) -> dict:
    blank = {
        "when_end": "", "city": "", "target": "me", "community_other": "",
        "perpetrator_details": "", "official_identified": "", "bounty": "no",
        "bounty_details": "", "impacts": ["fear"], "impact_details": "", "reported_to": [],
        "reported_details": "", "consent_read": True, "consent_statistics": True,
        "consent_referral": False, "consent_contact": False, "contact_method": "none",
        "contact_details": "",
    }
    answers = {**blank, **{k: v for k, v in sample.items() if k != "orgs"}}
    answers["organizations"] = organization_ids
    return answers


def load_demo(
    session: Session,
    *,
    recovery_key_out: Path,
    kdf: crypto.KdfParams,
    totp_key: bytes,
    lookup_key: bytes,
) -> Iterator[str]:
    """Create the demo data once; yield lines to show the person running it."""
    if session.scalar(select(Organization.id).where(Organization.slug == "intake")) is not None:
        yield "Demo data is already loaded."
        return
    yield "Loading DEMO data — every name and report below is fictitious."
    for slug, name, default in DEMO_ORGANIZATIONS:
        orgs.add_organization(session, slug, name, default_recipient=default)
    for email, org, role in DEMO_STAFF:
        orgs.add_staff_member(
            session, email=email, organization_slug=org, role=role,
            password=DEMO_PASSWORD, kdf=kdf, totp_key=totp_key,
        )
        yield f"  staff {email} ({role}, {org})"
    yield f"  every demo staff password: {DEMO_PASSWORD}"

    if reports.active_recovery_key(session) is None:

        def deliver(private_key: crypto.PrivateKey) -> None:
            fd = os.open(recovery_key_out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(crypto.armor_private_key(private_key))

        orgs.create_recovery_key(session, deliver)
        yield f"  DEMO recovery private key written to {recovery_key_out} (never do this for real)"

    ids = {slug: id_ for slug, id_ in session.execute(select(Organization.slug, Organization.id))}
    report_ids = []
    for sample in DEMO_REPORTS:
        organization_ids = [ids[slug] for slug in sample["orgs"]]
        submitted = reports.submit_report(
            session,
            answers=_answers(sample, organization_ids),
            organization_ids=organization_ids,
            consent=reports.Consent(statistics=True, referral=False, contact=False),
            lookup_key=lookup_key,
            kdf=kdf,
            today=dt.date.today(),
        )
        report_ids.append(submitted.report_id)
        yield f"  demo report {submitted.report_id}, receipt {crypto.format_receipt(submitted.receipt)}"
    _triage_and_link(session, report_ids)
    yield "  a fictional official, 'DEMO Official Example', linked to the first demo report"
    yield "Done. Open http://127.0.0.1:5000/ after `portal run`."


def _triage_and_link(session: Session, report_ids: list[int]) -> None:
    """Give the demo reports triage codes and one registry link, so every page has something."""
    from portal.officials import services as registry
    from portal.reports.models import Report, ReportTactic

    now = dt.datetime.now(dt.UTC)
    for report_id, sample in zip(report_ids, DEMO_REPORTS, strict=True):
        report = session.get(Report, report_id)
        report.tactics = [ReportTactic(code=code) for code in sample["tactics"]]
        report.community = sample["communities"][0]
        report.province = sample["province"]
        report.incident_month = dt.date.fromisoformat((sample["when_start"] + "-01-01")[:7] + "-01")
        report.perpetrator_type = sample["perpetrators"][0]
        report.severity = "medium"
        report.credibility = "possible"
        report.triaged_at = now
    person = registry.create_person(
        session,
        {"name_latin": "DEMO Official Example", "name_chinese": "演示官员", "status": "consular",
         "title": "Fictional consul (DEMO)", "affiliation_basis": "Invented for the demonstration."},
        staff_id=None, now=now,
    )
    registry.link_report(session, session.get(Report, report_ids[0]), person=person,
                         involvement="suspected", confidence="possible", basis="reporter_identified", staff_id=None)
    session.commit()
