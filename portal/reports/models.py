"""Reports and the wrapped copies of their content keys."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Table,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from portal.db import UTCDateTime, created_at, db, intpk
from portal.orgs.models import Organization, RecoveryKey, StaffMember

STATUSES = ("received", "under_review", "referred", "closed")
SEVERITIES = ("low", "medium", "high", "critical")
# HURIDOCS-style assessment of how credible the account is.
CREDIBILITIES = ("confirmed", "likely", "possible", "unlikely")
AGENCIES = ("rcmp", "police", "csis", "gac")

# Dashboard sort keys, higher first. The codes sort wrongly as text ('critical' < 'high' < 'low'
# < 'medium'; 'closed' before 'received'), so each report keeps its ranks as small integers that
# an index on (rank, id) can serve. Migration 0006 backfilled them with the same numbers.
STATUS_RANKS = {"received": 3, "under_review": 2, "referred": 1, "closed": 0}
SEVERITY_RANKS = {"critical": 4, "high": 3, "medium": 2, "low": 1}
UNASSESSED_RANK = 0  # no severity yet: after every assessed one


def status_rank(status: str) -> int:
    return STATUS_RANKS[status]


def severity_rank(severity: str | None) -> int:
    return SEVERITY_RANKS[severity] if severity is not None else UNASSESSED_RANK

report_organizations = Table(
    "report_organizations",
    db.metadata,
    Column("report_id", ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True),
    Column("organization_id", ForeignKey("organizations.id"), primary_key=True, index=True),
)


class Report(db.Model):
    """One report. Only workflow state and consent flags are readable without a key (§4.3)."""

    __tablename__ = "reports"
    __table_args__ = (
        CheckConstraint(
            "status IN ('received', 'under_review', 'referred', 'closed')", name="status"
        ),
        # One index per dashboard sort: a page is a range of it, never a sort of every report.
        Index("ix_reports_received_on_id", "received_on", "id"),
        Index("ix_reports_status_rank_id", "status_rank", "id"),
        Index("ix_reports_severity_rank_id", "severity_rank", "id"),
        # The filters the counters link to ("new", "unassigned") and "assigned to me", newest
        # first: a range too, with no row read only to be filtered out.
        Index("ix_reports_status_received_on_id", "status", "received_on", "id"),
        Index("ix_reports_assignee_id_received_on_id", "assignee_id", "received_on", "id"),
    )

    id: Mapped[intpk]
    # The day only: an exact time could be matched against a reporter's network records.
    received_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="received")
    # Kept in step with status and severity by the validators below (never set them directly).
    status_rank: Mapped[int] = mapped_column(
        SmallInteger, default=STATUS_RANKS["received"], server_default=text(str(STATUS_RANKS["received"]))
    )
    severity_rank: Mapped[int] = mapped_column(
        SmallInteger, default=UNASSESSED_RANK, server_default=text(str(UNASSESSED_RANK))
    )

    # How the receipt finds and unlocks the report; the receipt itself is never stored.
    lookup_id: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    receipt_verifier: Mapped[str] = mapped_column(String(255))
    reporter_public_key: Mapped[bytes] = mapped_column(LargeBinary)
    reporter_private_key_locked: Mapped[bytes] = mapped_column(LargeBinary)
    reporter_wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)

    # Everything the reporter typed, sealed under the content key.
    answers_sealed: Mapped[bytes] = mapped_column(LargeBinary)

    # Consent decides what the server may do without decrypting (statistics, referral, contact).
    consent_statistics: Mapped[bool] = mapped_column(Boolean)
    consent_referral: Mapped[bool] = mapped_column(Boolean)
    consent_contact: Mapped[bool] = mapped_column(Boolean)

    # Workflow and the staff-entered triage record: plaintext on purpose (§4.3), because filters
    # and statistics need them. Coarse codes only; never the reporter's own words.
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff_members.id", ondelete="SET NULL"))
    awaiting_reply: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    triaged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    severity: Mapped[str | None] = mapped_column(String(16))
    credibility: Mapped[str | None] = mapped_column(String(16))
    community: Mapped[str | None] = mapped_column(String(32), index=True)
    province: Mapped[str | None] = mapped_column(String(8), index=True)
    incident_month: Mapped[dt.date | None] = mapped_column(Date, index=True)
    perpetrator_type: Mapped[str | None] = mapped_column(String(32))
    duplicate_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("reports.id", ondelete="SET NULL"), index=True
    )
    # When the receipt last opened the report, to the hour: enough for a reporter to notice
    # someone else using it, too coarse to match against network records.
    receipt_last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    organizations: Mapped[list[Organization]] = relationship(secondary=report_organizations)
    wrapped_keys: Mapped[list[WrappedKey]] = relationship(
        back_populates="report", cascade="all, delete-orphan", passive_deletes=True
    )
    tactics: Mapped[list[ReportTactic]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="ReportTactic.code"
    )
    assignee: Mapped[StaffMember | None] = relationship(foreign_keys=[assignee_id])

    @property
    def tactic_codes(self) -> list[str]:
        return [tactic.code for tactic in self.tactics]

    @validates("status")
    def _rank_status(self, _key: str, status: str) -> str:
        self.status_rank = status_rank(status)
        return status

    @validates("severity")
    def _rank_severity(self, _key: str, severity: str | None) -> str | None:
        self.severity_rank = severity_rank(severity)
        return severity


class ReportTactic(db.Model):
    """A tactic code (§5) staff assigned to a report in triage; one row each, for GROUP BY."""

    __tablename__ = "report_tactics"

    report_id: Mapped[int] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(16), primary_key=True, index=True)


class StatusChange(db.Model):
    """A status change and its reason (sealed under the report's content key)."""

    __tablename__ = "report_status_changes"

    id: Mapped[intpk]
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    staff_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_members.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(20))
    reason_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[created_at]


class Note(db.Model):
    """An internal staff note about a report, sealed under the report's content key."""

    __tablename__ = "report_notes"

    id: Mapped[intpk]
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    staff_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_members.id", ondelete="SET NULL")
    )
    body_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[created_at]


class Referral(db.Model):
    """A referral to an agency; the file number and outcome are sealed like a note."""

    __tablename__ = "referrals"
    __table_args__ = (
        CheckConstraint("agency IN ('rcmp', 'police', 'csis', 'gac')", name="agency"),
    )

    id: Mapped[intpk]
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    staff_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_members.id", ondelete="SET NULL")
    )
    agency: Mapped[str] = mapped_column(String(16))
    details_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[created_at]


class WrappedKey(db.Model):
    """A report's content key wrapped (HPKE) to one staff member or to the recovery key."""

    __tablename__ = "wrapped_keys"
    __table_args__ = (
        UniqueConstraint("report_id", "staff_member_id", name="uq_wrapped_keys_report_staff"),
        UniqueConstraint("report_id", "recovery_key_id", name="uq_wrapped_keys_report_recovery"),
        CheckConstraint(
            "(staff_member_id IS NULL) <> (recovery_key_id IS NULL)", name="one_recipient"
        ),
    )

    id: Mapped[intpk]
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    staff_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_members.id", ondelete="CASCADE"), index=True
    )
    recovery_key_id: Mapped[int | None] = mapped_column(ForeignKey("recovery_keys.id"), index=True)
    wrapped: Mapped[bytes] = mapped_column(LargeBinary)

    report: Mapped[Report] = relationship(back_populates="wrapped_keys")
    staff_member: Mapped[StaffMember | None] = relationship()
    recovery_key: Mapped[RecoveryKey | None] = relationship()


class Message(db.Model):
    """A message between the reporter and staff, sealed under the report's content key.

    The reporter holds the content key too (through their own keypair, unlocked by the receipt),
    so a staff reply sealed this way is readable by the report's readers and by the reporter.
    """

    __tablename__ = "report_messages"
    __table_args__ = (CheckConstraint("author IN ('reporter', 'staff')", name="author"),)

    id: Mapped[intpk]
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(10))
    staff_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_members.id", ondelete="SET NULL")
    )
    body_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[created_at]


class Attachment(db.Model):
    """An evidence file: its name, type and SHA-256 sealed in ``details_sealed``, its bytes in
    chunks sealed under a per-file key, which is itself sealed under the report's content key.

    The chunks are written while the file arrives, before its report is stored, so a row starts
    *unattached*: no report, no sealed key, no details, counts at 0, ciphertext whose key is only
    in the receiving process's memory. The report's transaction attaches it
    (``portal.reports.attachments.store_attachment``); an unattached row is never read.
    """

    __tablename__ = "attachments"
    __table_args__ = (
        CheckConstraint(
            "report_id IS NULL OR (file_key_sealed IS NOT NULL AND details_sealed IS NOT NULL "
            "AND uploaded_by IS NOT NULL)",
            name="attached_whole",
        ),
    )

    id: Mapped[intpk]
    report_id: Mapped[int | None] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), index=True
    )
    file_key_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    details_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    stream_header: Mapped[bytes] = mapped_column(LargeBinary)
    chunk_count: Mapped[int] = mapped_column(Integer)
    # Ciphertext size, for the per-report limit; the ciphertext's size is visible anyway.
    stored_bytes: Mapped[int] = mapped_column(BigInteger)
    uploaded_by: Mapped[str | None] = mapped_column(String(10))
    # Also when an unattached row was begun: one older than any form can live is abandoned.
    created_at: Mapped[created_at]
    # While unattached: the process receiving it (portal.reports.receivers), so that what a dead
    # process was receiving can be told from what a live one is.
    receiver: Mapped[str | None] = mapped_column(String(16))


class AttachmentChunk(db.Model):
    """One sealed chunk of an attachment (64 KiB of plaintext at most)."""

    __tablename__ = "attachment_chunks"

    attachment_id: Mapped[int] = mapped_column(
        ForeignKey("attachments.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class CounterChange(db.Model):
    """A change to one organization's dashboard counters; their sum is the counters' value.

    Written only by database triggers (migration 0006) whenever a report is shared, unshared,
    changes status, assignee or "awaiting reply", or is deleted, so no writer can forget one.
    Writers only ever insert, so concurrent submissions never wait on one counter row; the
    dashboard folds an organization's rows into one now and then (``portal.reports.counters``).
    """

    __tablename__ = "dashboard_counter_changes"

    id: Mapped[intpk]
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    new_count: Mapped[int] = mapped_column(Integer)
    unassigned_count: Mapped[int] = mapped_column(Integer)
    awaiting_reply_count: Mapped[int] = mapped_column(Integer)
