"""The registry's rules: search in either script, versioned edits, links, dossiers and sign-off.

No web code. A dossier is built from staff-entered codes only (tactics, month, province,
involvement, confidence): never a reporter's narrative, name or contact. Incident summaries
appear only for reports whose reporter agreed to be counted for government.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.officials.models import (
    ACTIONS,
    BASES,
    CONFIDENCES,
    INVOLVEMENTS,
    STATUSES,
    Campaign,
    CampaignLink,
    DossierApproval,
    DossierExport,
    DossierSignoff,
    Entity,
    IncidentLink,
    Person,
    PersonVersion,
    Posting,
    PublicSource,
)
from portal.orgs.models import StaffMember
from portal.reports.models import Report, ReportTactic

EDITABLE = ("name_latin", "name_chinese", "aliases", "mission_id", "title", "rank", "status",
            "affiliation_id", "affiliation_basis", "requested_action")


class RegistryError(ValueError):
    """A registry change that breaks a rule; str() says which."""


class SignOffRequired(Exception):
    """This version of the dossier has not been signed off by a second staff member."""


def fold(text: str) -> str:
    """Lowercase, NFKC, without spaces or punctuation: 'Wang Bing-zhang' ~ 'wangbingzhang'."""
    normalized = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in normalized if ch.isalnum())


def _search_text(person: Person) -> str:
    names = [person.name_latin, person.name_chinese, *person.aliases.splitlines()]
    # Latin names are written in both orders ("Wang Bingzhang", "Bingzhang Wang").
    reversed_latin = " ".join(reversed(person.name_latin.split()))
    return "\n".join(fold(name) for name in [*names, reversed_latin] if name.strip())


def reports_linked_to(person_ids: Iterable[int]) -> Select:
    """The ids of the reports linked to any of these people, for the dashboard to stay within."""
    return select(IncidentLink.report_id).where(IncidentLink.person_id.in_(list(person_ids)))


def reports_in_campaign(campaign_id: int) -> Select:
    return select(CampaignLink.report_id).where(CampaignLink.campaign_id == campaign_id)


def all_campaigns(session: Session) -> list[Campaign]:
    return list(session.scalars(select(Campaign).order_by(Campaign.id)))


def search_people(session: Session, query: str, limit: int = 50) -> list[Person]:
    needle = fold(query)
    statement = select(Person).order_by(Person.name_latin).limit(limit)
    if needle:
        pattern = "%" + needle.replace("\\", "").replace("%", "").replace("_", "") + "%"
        statement = statement.where(Person.search_text.like(pattern))
    return list(session.scalars(statement))


def _snapshot(person: Person) -> str:
    record: dict[str, Any] = {name: getattr(person, name) for name in EDITABLE}
    record["postings"] = [
        {"entity": p.entity_id, "title": p.title, "start": str(p.start_date or ""), "end": str(p.end_date or "")}
        for p in person.postings
    ]
    record["sources"] = [
        {"title": s.title, "address": s.address, "date": str(s.published_on or "")} for s in person.sources
    ]
    return json.dumps(record, ensure_ascii=False, sort_keys=True)


def _check(person: Person) -> None:
    if not person.name_latin.strip() and not person.name_chinese.strip():
        raise RegistryError("A person needs a name in Latin or Chinese script.")
    if person.status not in STATUSES:
        raise RegistryError("Unknown status.")
    if person.requested_action and person.requested_action not in ACTIONS:
        raise RegistryError("Unknown requested action.")


def _record_version(session: Session, person: Person, staff_id: int | None, now: dt.datetime) -> None:
    person.search_text = _search_text(person)
    person.updated_at = now
    session.flush()
    session.add(PersonVersion(person_id=person.id, version=person.version, snapshot=_snapshot(person), changed_by=staff_id))


def create_person(session: Session, fields: dict[str, Any], *, staff_id: int | None, now: dt.datetime) -> Person:
    person = Person(version=1, **{name: fields.get(name) for name in EDITABLE if fields.get(name) is not None})
    person.aliases = person.aliases or ""
    person.name_chinese = person.name_chinese or ""
    person.status = person.status or "unknown"
    _check(person)
    session.add(person)
    _record_version(session, person, staff_id, now)
    return person


def update_person(session: Session, person: Person, fields: dict[str, Any], *, staff_id: int | None, now: dt.datetime) -> bool:
    """Apply changes; each real change makes a new version (which needs a new sign-off)."""
    before = _snapshot(person)
    for name in EDITABLE:
        if name in fields:
            setattr(person, name, fields[name] if fields[name] is not None else ("" if name not in ("mission_id", "affiliation_id") else None))
    _check(person)
    if _snapshot(person) == before:
        return False
    person.version += 1
    _record_version(session, person, staff_id, now)
    return True


def add_posting(session: Session, person: Person, *, entity_id: int, title: str, start: dt.date | None,
                end: dt.date | None, staff_id: int | None, now: dt.datetime) -> None:
    if start and end and end < start:
        raise RegistryError("A posting cannot end before it starts.")
    person.postings.append(Posting(entity_id=entity_id, title=title.strip(), start_date=start, end_date=end))
    person.version += 1
    _record_version(session, person, staff_id, now)


def add_source(session: Session, person: Person, *, title: str, address: str, published_on: dt.date | None,
               staff_id: int | None, now: dt.datetime) -> None:
    if not title.strip():
        raise RegistryError("A source needs a title.")
    if address and not re.match(r"^https?://", address):
        raise RegistryError("A source address starts with http:// or https://.")
    person.sources.append(PublicSource(title=title.strip(), address=address.strip(), published_on=published_on))
    person.version += 1
    _record_version(session, person, staff_id, now)


def history(session: Session, person: Person) -> list[PersonVersion]:
    return list(session.scalars(
        select(PersonVersion).where(PersonVersion.person_id == person.id).order_by(PersonVersion.version.desc())
    ))


# --- links from reports -------------------------------------------------------------------------


def link_report(
    session: Session, report: Report, *, person: Person | None = None, entity: Entity | None = None,
    involvement: str, confidence: str, basis: str, staff_id: int | None,
) -> IncidentLink:
    if (person is None) == (entity is None):
        raise RegistryError("Link the report to one person or one entity.")
    if involvement not in INVOLVEMENTS or confidence not in CONFIDENCES or basis not in BASES:
        raise RegistryError("Unknown involvement, confidence or basis.")
    link = IncidentLink(
        report_id=report.id, person_id=person.id if person else None, entity_id=entity.id if entity else None,
        involvement=involvement, confidence=confidence, basis=basis, created_by=staff_id,
    )
    session.add(link)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise RegistryError("This report is already linked to them.") from None
    return link


def person_links(session: Session, person: Person, *, among: Select | None = None) -> list[IncidentLink]:
    """The person's links, only to the reports ``among`` selects (ids) when given."""
    query = select(IncidentLink).where(IncidentLink.person_id == person.id).order_by(IncidentLink.id)
    if among is not None:
        query = query.where(IncidentLink.report_id.in_(among))
    return list(session.scalars(query))


def links_of_report(session: Session, report: Report) -> list[IncidentLink]:
    return list(session.scalars(select(IncidentLink).where(IncidentLink.report_id == report.id).order_by(IncidentLink.id)))


# --- dossiers -----------------------------------------------------------------------------------

LEGAL_BASIS = {
    "diplomatic": ("VCDR Art. 9", "VCDR Art. 41"),
    "consular": ("VCCR Art. 23",),
}


@dataclass(frozen=True)
class IncidentSummary:
    month: str
    province: str
    tactics: tuple[str, ...]
    involvement: str
    confidence: str


@dataclass(frozen=True)
class Dossier:
    person: Person
    version: int
    legal_basis: tuple[str, ...]
    requested_action: str
    linked_total: int
    by_tactic: dict[str, int]
    by_month: dict[str, int]
    by_confidence: dict[str, int]
    by_basis: dict[str, int]
    summaries: tuple[IncidentSummary, ...] = field(default_factory=tuple)


def build_dossier(session: Session, person: Person) -> Dossier:
    """Counts over every linked report, whichever organization holds it, and nothing that names
    the organization or the reporter; summaries only where the reporter agreed to be counted."""
    links = session.execute(
        select(IncidentLink, Report)
        .join(Report, Report.id == IncidentLink.report_id)
        .where(IncidentLink.person_id == person.id)
        .order_by(Report.incident_month, Report.received_on, Report.id)
    ).all()
    report_ids = [report.id for _link, report in links]
    tactics = Counter(
        code for (code,) in session.execute(
            select(ReportTactic.code).where(ReportTactic.report_id.in_(report_ids))
        )
    ) if report_ids else Counter()
    by_month = Counter(
        (report.incident_month or report.received_on).strftime("%Y-%m") for _link, report in links
    )
    summaries = []
    for link, report in links:
        if not report.consent_statistics:
            continue
        summaries.append(IncidentSummary(
            month=(report.incident_month or report.received_on).strftime("%Y-%m"),
            province=report.province or "",
            tactics=tuple(report.tactic_codes),
            involvement=link.involvement,
            confidence=link.confidence,
        ))
    return Dossier(
        person=person,
        version=person.version,
        legal_basis=LEGAL_BASIS.get(person.status, ()),
        requested_action=person.requested_action,
        linked_total=len(links),
        by_tactic=dict(sorted(tactics.items())),
        by_month=dict(sorted(by_month.items())),
        by_confidence=dict(Counter(link.confidence for link, _r in links)),
        by_basis=dict(Counter(link.basis for link, _r in links)),
        summaries=tuple(summaries),
    )


def _content(dossier: Dossier) -> str:
    """Everything an export would say, as canonical JSON: what a sign-off approves."""
    person = dossier.person
    content = {
        "record": json.loads(_snapshot(person)),
        "version": dossier.version,
        "legal_basis": dossier.legal_basis,
        "linked_total": dossier.linked_total,
        "by_tactic": dossier.by_tactic,
        "by_month": dossier.by_month,
        "by_confidence": dossier.by_confidence,
        "by_basis": dossier.by_basis,
        "summaries": [vars(summary) for summary in dossier.summaries],
    }
    return json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)


def fingerprint(dossier: Dossier) -> str:
    """A hash of everything an export would say, so a sign-off approves content, not a label."""
    return hashlib.sha256(_content(dossier).encode()).hexdigest()


def current_signoff(session: Session, person: Person) -> DossierSignoff | None:
    return session.scalar(
        select(DossierSignoff).where(DossierSignoff.person_id == person.id, DossierSignoff.version == person.version)
    )


def prepare_for_signoff(session: Session, person: Person, staff_id: int) -> DossierSignoff:
    """Ask for sign-off of the dossier as it is now; a stale request is replaced."""
    content = fingerprint(build_dossier(session, person))
    signoff = current_signoff(session, person)
    if signoff is not None and signoff.content_sha256 == content:
        return signoff
    if signoff is not None:
        session.delete(signoff)
        session.flush()
    signoff = DossierSignoff(person_id=person.id, version=person.version, prepared_by=staff_id, content_sha256=content)
    session.add(signoff)
    session.flush()
    return signoff


def signoff_is_current(session: Session, person: Person, signoff: DossierSignoff | None) -> bool:
    return signoff is not None and signoff.content_sha256 == fingerprint(build_dossier(session, person))


def sign_off(session: Session, person: Person, staff_id: int, now: dt.datetime) -> DossierSignoff:
    """Approve the prepared dossier, and keep what was approved for the next signer to compare."""
    signoff = current_signoff(session, person)
    if signoff is None:
        raise RegistryError("Nobody has prepared this version for sign-off yet.")
    if signoff.prepared_by == staff_id:
        raise RegistryError("A second staff member must sign off: not the one who prepared it.")
    if signoff.signed_by is not None:
        raise RegistryError("This version is already signed off.")
    content = _content(build_dossier(session, person))
    if hashlib.sha256(content.encode()).hexdigest() != signoff.content_sha256:
        raise RegistryError("The dossier changed since it was prepared; prepare it again.")
    signoff.signed_by = staff_id
    signoff.signed_at = now
    session.add(DossierApproval(
        person_id=person.id, version=person.version, content=content, content_sha256=signoff.content_sha256,
        links=json.dumps([vars(link) for link in _linked_incidents(session, person)], sort_keys=True),
        prepared_by=signoff.prepared_by, signed_by=staff_id, signed_at=now,
    ))
    return signoff


def signed_signoff(session: Session, person: Person) -> DossierSignoff:
    """The sign-off of the dossier exactly as it is now; SignOffRequired if there is none."""
    signoff = current_signoff(session, person)
    if signoff is None or signoff.signed_by is None or not signoff_is_current(session, person, signoff):
        raise SignOffRequired()
    return signoff


def record_export(session: Session, person: Person, *, exported_by: int, fmt: str, content: bytes) -> DossierExport:
    """Refuse unless this exact version is signed off; record who, what version, and the hash."""
    signoff = signed_signoff(session, person)
    export = DossierExport(
        person_id=person.id, version=person.version, prepared_by=signoff.prepared_by, signed_by=signoff.signed_by,
        exported_by=exported_by, format=fmt, sha256=hashlib.sha256(content).hexdigest(),
    )
    session.add(export)
    return export


def linked_counts(session: Session) -> dict[int, int]:
    return dict(session.execute(
        select(IncidentLink.person_id, func.count()).where(IncidentLink.person_id.is_not(None)).group_by(IncidentLink.person_id)
    ).all())


# --- who, and what changed since the last sign-off ----------------------------------------------


def staff_emails(session: Session, staff_ids: Iterable[int | None]) -> dict[int, str]:
    """The email of each staff member named by id, to show people instead of numbers."""
    wanted = {staff_id for staff_id in staff_ids if staff_id is not None}
    if not wanted:
        return {}
    return dict(session.execute(select(StaffMember.id, StaffMember.email).where(StaffMember.id.in_(wanted))).all())


@dataclass(frozen=True)
class LinkedIncident:
    """A link as a sign-off approves it: which report and the link's codes, nothing the report says."""

    report_id: int
    involvement: str
    confidence: str
    basis: str


def _linked_incidents(session: Session, person: Person) -> list[LinkedIncident]:
    return [LinkedIncident(link.report_id, link.involvement, link.confidence, link.basis)
            for link in person_links(session, person)]


def approvals(session: Session, person: Person) -> list[DossierApproval]:
    """Every sign-off of the person's dossier, the latest first."""
    return list(session.scalars(
        select(DossierApproval).where(DossierApproval.person_id == person.id)
        .order_by(DossierApproval.signed_at.desc(), DossierApproval.id.desc())
    ))


@dataclass(frozen=True)
class FieldChange:
    name: str  # one of EDITABLE
    before: Any
    after: Any


@dataclass(frozen=True)
class CountChange:
    table: str  # "linked_total", "by_tactic", "by_month", "by_confidence" or "by_basis"
    key: str
    before: int
    after: int


@dataclass(frozen=True)
class Changes:
    """What differs between the dossier as last signed off and as it is now."""

    signed: DossierApproval
    fields: tuple[FieldChange, ...] = ()
    postings_added: tuple[dict[str, Any], ...] = ()
    postings_removed: tuple[dict[str, Any], ...] = ()
    sources_added: tuple[dict[str, Any], ...] = ()
    sources_removed: tuple[dict[str, Any], ...] = ()
    links_added: tuple[LinkedIncident, ...] = ()
    links_removed: tuple[LinkedIncident, ...] = ()
    counts: tuple[CountChange, ...] = ()
    summaries_added: tuple[IncidentSummary, ...] = ()
    summaries_removed: tuple[IncidentSummary, ...] = ()

    @property
    def none(self) -> bool:
        return not any(getattr(self, name) for name in (
            "fields", "postings_added", "postings_removed", "sources_added", "sources_removed",
            "links_added", "links_removed", "counts", "summaries_added", "summaries_removed",
        ))


def _removed_and_added(before: list, after: list) -> tuple[tuple, tuple]:
    """What only ``before`` has and what only ``after`` has, counting repeats, in their order."""
    def key(item: object) -> str:
        return json.dumps(item if isinstance(item, dict) else vars(item), sort_keys=True, default=str)

    def only_in(these: list, those: list) -> tuple:
        left = Counter(key(item) for item in those)
        kept = []
        for item in these:
            if left[key(item)]:
                left[key(item)] -= 1
            else:
                kept.append(item)
        return tuple(kept)

    return only_in(before, after), only_in(after, before)


def _count_changes(signed: dict[str, Any], now: dict[str, Any]) -> tuple[CountChange, ...]:
    changes = []
    if signed["linked_total"] != now["linked_total"]:
        changes.append(CountChange("linked_total", "", signed["linked_total"], now["linked_total"]))
    for table in ("by_tactic", "by_month", "by_confidence", "by_basis"):
        for key in sorted(set(signed[table]) | set(now[table])):
            before, after = signed[table].get(key, 0), now[table].get(key, 0)
            if before != after:
                changes.append(CountChange(table, key, before, after))
    return tuple(changes)


def _summaries(content: dict[str, Any]) -> list[IncidentSummary]:
    return [IncidentSummary(**{**summary, "tactics": tuple(summary["tactics"])}) for summary in content["summaries"]]


def changes_since_signed(session: Session, person: Person, dossier: Dossier) -> Changes | None:
    """What changed since the last sign-off of this person's dossier; None if it was never signed."""
    approved = approvals(session, person)
    if not approved:
        return None
    signed, now = json.loads(approved[0].content), json.loads(_content(dossier))
    before, after = signed["record"], now["record"]
    postings_removed, postings_added = _removed_and_added(before["postings"], after["postings"])
    sources_removed, sources_added = _removed_and_added(before["sources"], after["sources"])
    links_removed, links_added = _removed_and_added(
        [LinkedIncident(**link) for link in json.loads(approved[0].links)], _linked_incidents(session, person)
    )
    summaries_removed, summaries_added = _removed_and_added(_summaries(signed), _summaries(now))
    return Changes(
        signed=approved[0],
        fields=tuple(FieldChange(name, before.get(name), after.get(name))
                     for name in EDITABLE if before.get(name) != after.get(name)),
        postings_added=postings_added, postings_removed=postings_removed,
        sources_added=sources_added, sources_removed=sources_removed,
        links_added=links_added, links_removed=links_removed,
        counts=_count_changes(signed, now),
        summaries_added=summaries_added, summaries_removed=summaries_removed,
    )
