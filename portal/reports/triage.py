"""What staff do with a report: find it, open it, triage, assign, note, share, refer.

Every query starts from :func:`visible_reports`, which scopes it to the staff member's
organization. Functions here do not commit: the view adds the audit event and commits once, so a
change and its record land together or not at all.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from portal import crypto
from portal.orgs.models import READER_ROLES, Organization, StaffMember
from portal.reports import damage
from portal.reports.models import (
    AGENCIES,
    CREDIBILITIES,
    SEVERITIES,
    STATUSES,
    Note,
    Referral,
    Report,
    ReportTactic,
    StatusChange,
    WrappedKey,
    report_organizations,
)
from portal.reports.services import content_key_for_staff, readers_of
from portal.taxonomy import BOUNTY_TACTIC, COMMUNITIES, PERPETRATORS, PROVINCES, TACTIC_CODES

NOTE_PURPOSE = b"portal note v1"
STATUS_REASON_PURPOSE = b"portal status reason v1"
REFERRAL_PURPOSE = b"portal referral v1"


class ReportNotFound(Exception):
    """No such report for this staff member (it may exist for another organization)."""


class NoKeyForReport(Exception):
    """The report is shared with the staff member's organization but not wrapped to them yet."""


class TriageError(ValueError):
    """A triage request that breaks a rule; str() says which."""


class ReferralNotAllowed(Exception):
    """The reporter did not consent to a referral."""


def can_read_reports(staff: StaffMember) -> bool:
    return staff.is_active and staff.role in READER_ROLES


def organization_reports(staff: StaffMember) -> Select:
    """Reports shared with the staff member's organization, for counting (nothing is decrypted)."""
    shared = select(report_organizations.c.report_id).where(
        report_organizations.c.organization_id == staff.organization_id
    )
    return select(Report).where(Report.id.in_(shared))


def visible_reports(staff: StaffMember) -> Select:
    """Reports the staff member may open: their organization's, and none at all for analysts."""
    query = organization_reports(staff)
    if not can_read_reports(staff):
        query = query.where(False)
    return query


def get_report(session: Session, staff: StaffMember, report_id: int) -> Report:
    report = session.scalar(visible_reports(staff).where(Report.id == report_id))
    if report is None:
        raise ReportNotFound()
    return report


def open_report(
    session: Session, staff: StaffMember, private_key: crypto.PrivateKey, report: Report
) -> tuple[crypto.ContentKey, dict[str, Any]]:
    try:
        content_key = content_key_for_staff(session, report, staff, private_key)
    except crypto.CryptoError as exc:
        raise NoKeyForReport() from exc
    # Damaged answers are marked, not raised: the rest of the report can still be worked on.
    return content_key, damage.readable_answers(report, content_key)


# --- changing a report --------------------------------------------------------------------------


def set_status(
    session: Session, report: Report, staff: StaffMember, content_key: crypto.ContentKey, status: str, reason: str
) -> None:
    if status not in STATUSES:
        raise TriageError("Unknown status.")
    if not reason.strip():
        raise TriageError("Please give a reason.")
    report.status = status
    session.add(
        StatusChange(
            report_id=report.id,
            staff_member_id=staff.id,
            status=status,
            reason_sealed=crypto.seal(content_key, reason.strip().encode("utf-8"), STATUS_REASON_PURPOSE),
        )
    )


def status_history(session: Session, report: Report, content_key: crypto.ContentKey) -> list[dict[str, Any]]:
    changes = session.scalars(
        select(StatusChange).where(StatusChange.report_id == report.id).order_by(StatusChange.id)
    )
    return [
        {
            "status": change.status,
            "at": change.created_at,
            "by": change.staff_member_id,
            "reason": damage.open_text(content_key, change.reason_sealed, STATUS_REASON_PURPOSE, "status reason"),
        }
        for change in changes
    ]


def assignable_staff(session: Session, report: Report) -> list[StaffMember]:
    """Readers who hold this report's key."""
    return list(
        session.scalars(
            select(StaffMember)
            .join(WrappedKey, WrappedKey.staff_member_id == StaffMember.id)
            .where(WrappedKey.report_id == report.id, StaffMember.is_active.is_(True))
            .where(StaffMember.role.in_(READER_ROLES))
            .order_by(StaffMember.email)
        )
    )


def assign(session: Session, report: Report, assignee_id: int | None) -> None:
    if assignee_id is None:
        report.assignee_id = None
        return
    if assignee_id not in {member.id for member in assignable_staff(session, report)}:
        raise TriageError("That person cannot read this report.")
    report.assignee_id = assignee_id


@dataclass(frozen=True)
class TriageRecord:
    tactics: list[str]
    severity: str | None
    credibility: str | None
    community: str | None
    province: str | None
    incident_month: dt.date | None
    perpetrator_type: str | None
    duplicate_of_id: int | None


def _known(value: object, choices: tuple[tuple[str, str], ...]) -> str | None:
    return value if isinstance(value, str) and value in {code for code, _ in choices} else None


def _first_known(values: object, choices: tuple[tuple[str, str], ...]) -> str | None:
    """The first of the reporter's choices that the triage record can hold, if any."""
    for value in values if isinstance(values, list) else []:
        if _known(value, choices) is not None:
            return value
    return None


def _month_of(answers: dict[str, Any]) -> dt.date | None:
    # The form stores YYYY, YYYY-MM or YYYY-MM-DD; a year alone names no month.
    if answers.get("when_precision") not in ("month", "day", "range"):
        return None
    match = re.match(r"(\d{4})-(\d{2})", str(answers.get("when_start") or ""))
    if match is None:
        return None
    try:
        return dt.date(int(match.group(1)), int(match.group(2)), 1)
    except ValueError:
        return None


def suggested_record(answers: dict[str, Any]) -> TriageRecord:
    """A first triage record read off the reporter's own answers, for a triager to confirm.

    Only what the reporter said and the record can hold: their tactics (and the bounty tactic
    when they answered that a bounty was involved), province, month, first community and first
    perpetrator named. "I don't know" stays unknown. Severity and credibility are staff's call.
    """
    tactics = [code for code in answers.get("tactics") or [] if code in TACTIC_CODES]
    if answers.get("bounty") == "yes" and BOUNTY_TACTIC not in tactics:
        tactics.append(BOUNTY_TACTIC)
    perpetrator = _first_known([p for p in answers.get("perpetrators") or [] if p != "unknown"], PERPETRATORS)
    return TriageRecord(
        tactics=tactics,
        severity=None,
        credibility=None,
        community=_first_known(answers.get("communities"), COMMUNITIES),
        province=_known(answers.get("province"), PROVINCES),
        incident_month=_month_of(answers),
        perpetrator_type=perpetrator,
        duplicate_of_id=None,
    )


def _check_choice(value: str | None, allowed: tuple[str, ...] | list[str], label: str) -> None:
    if value is not None and value not in allowed:
        raise TriageError(f"Unknown {label}.")


def record_triage(session: Session, report: Report, staff: StaffMember, record: TriageRecord, now: dt.datetime) -> None:
    for code in record.tactics:
        _check_choice(code, TACTIC_CODES, "tactic code")
    _check_choice(record.severity, SEVERITIES, "severity")
    _check_choice(record.credibility, CREDIBILITIES, "credibility")
    _check_choice(record.community, [code for code, _ in COMMUNITIES], "community")
    _check_choice(record.province, [code for code, _ in PROVINCES], "province")
    _check_choice(record.perpetrator_type, [code for code, _ in PERPETRATORS], "perpetrator type")
    if record.duplicate_of_id is not None:
        if record.duplicate_of_id == report.id:
            raise TriageError("A report cannot duplicate itself.")
        try:
            get_report(session, staff, record.duplicate_of_id)
        except ReportNotFound:
            raise TriageError("There is no such report to mark as the original.") from None
    report.tactics = [ReportTactic(code=code) for code in sorted(set(record.tactics))]
    report.severity = record.severity
    report.credibility = record.credibility
    report.community = record.community
    report.province = record.province
    report.incident_month = record.incident_month
    report.perpetrator_type = record.perpetrator_type
    report.duplicate_of_id = record.duplicate_of_id
    report.triaged_at = now


def add_note(session: Session, report: Report, staff: StaffMember, content_key: crypto.ContentKey, text: str) -> Note:
    if not text.strip():
        raise TriageError("The note is empty.")
    note = Note(
        report_id=report.id,
        staff_member_id=staff.id,
        body_sealed=crypto.seal(content_key, text.strip().encode("utf-8"), NOTE_PURPOSE),
    )
    session.add(note)
    return note


def read_notes(session: Session, report: Report, content_key: crypto.ContentKey) -> list[dict[str, Any]]:
    notes = session.scalars(select(Note).where(Note.report_id == report.id).order_by(Note.id))
    return [
        {
            "id": note.id,
            "at": note.created_at,
            "by": note.staff_member_id,
            "text": damage.open_text(content_key, note.body_sealed, NOTE_PURPOSE, "note"),
        }
        for note in notes
    ]


def share_with(
    session: Session, report: Report, content_key: crypto.ContentKey, organization: Organization
) -> int:
    """Share a report with another member organization: wrap its key to that organization's readers."""
    if organization in report.organizations:
        raise TriageError("The report is already shared with that organization.")
    report.organizations.append(organization)
    readers = readers_of(session, [organization.id])
    for reader in readers:
        session.add(
            WrappedKey(
                report_id=report.id,
                staff_member_id=reader.id,
                wrapped=crypto.wrap_content_key(content_key, crypto.PublicKey.from_bytes(reader.public_key)),
            )
        )
    return len(readers)


def add_referral(
    session: Session,
    report: Report,
    staff: StaffMember,
    content_key: crypto.ContentKey,
    *,
    agency: str,
    file_number: str,
    outcome: str,
) -> Referral:
    if not report.consent_referral:
        raise ReferralNotAllowed()
    if agency not in AGENCIES:
        raise TriageError("Unknown agency.")
    details = json.dumps({"file_number": file_number.strip(), "outcome": outcome.strip()}, ensure_ascii=False)
    referral = Referral(
        report_id=report.id,
        staff_member_id=staff.id,
        agency=agency,
        details_sealed=crypto.seal(content_key, details.encode("utf-8"), REFERRAL_PURPOSE),
    )
    session.add(referral)
    if report.status in ("received", "under_review"):
        report.status = "referred"
    return referral


def read_referrals(session: Session, report: Report, content_key: crypto.ContentKey) -> list[dict[str, Any]]:
    referrals = session.scalars(select(Referral).where(Referral.report_id == report.id).order_by(Referral.id))
    result = []
    for referral in referrals:
        details = damage.open_json(content_key, referral.details_sealed, REFERRAL_PURPOSE, "referral")
        if not isinstance(details, dict):
            details = {"file_number": damage.Damaged(), "outcome": ""}
        result.append({"agency": referral.agency, "at": referral.created_at, **details})
    return result
