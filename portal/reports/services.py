"""Submitting and opening reports. No web code: views call these and turn errors into pages."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import crypto
from portal.notifications import services as notifications
from portal.orgs.models import READER_ROLES, Organization, RecoveryKey, StaffMember
from portal.reports.attachments import EncryptingUpload, store_attachment
from portal.reports.models import Report, WrappedKey

ANSWERS_PURPOSE = b"portal report answers v1"


class NotAcceptingReports(Exception):
    """No recovery key or no organization exists yet: a report could end up unreadable."""


class UnknownOrganization(Exception):
    """The report names an organization that does not exist."""


@dataclass(frozen=True)
class Consent:
    statistics: bool
    referral: bool
    contact: bool


@dataclass(frozen=True, repr=False)
class SubmittedReport:
    report_id: int
    receipt: crypto.Receipt


def active_recovery_key(session: Session) -> RecoveryKey | None:
    return session.scalar(
        select(RecoveryKey).where(RecoveryKey.retired_at.is_(None)).order_by(RecoveryKey.id.desc())
    )


def accepting_reports(session: Session) -> bool:
    """Reports are taken only once someone outside the server can always read them."""
    has_organization = session.scalar(select(Organization.id).limit(1)) is not None
    return has_organization and active_recovery_key(session) is not None


def readers_of(session: Session, organization_ids: Sequence[int]) -> list[StaffMember]:
    """Staff allowed to decrypt reports shared with these organizations."""
    return list(
        session.scalars(
            select(StaffMember)
            .where(
                StaffMember.organization_id.in_(organization_ids),
                StaffMember.is_active.is_(True),
                StaffMember.role.in_(READER_ROLES),
            )
            .order_by(StaffMember.id)
        )
    )


def _encode_answers(answers: dict[str, Any]) -> bytes:
    return json.dumps(answers, ensure_ascii=False, sort_keys=True).encode("utf-8")


def submit_report(
    session: Session,
    *,
    answers: dict[str, Any],
    organization_ids: Sequence[int],
    consent: Consent,
    lookup_key: bytes,
    kdf: crypto.KdfParams,
    today: dt.date,
    uploads: Sequence[EncryptingUpload] = (),
) -> SubmittedReport:
    """Seal a report for its readers and the recovery key, and store it in one transaction.

    The content key is wrapped to every reading staff member of the chosen organizations, to the
    coalition recovery key, and to a fresh reporter keypair that only the receipt unlocks. Evidence
    files already sealed on arrival are stored in the same transaction: all or nothing.
    """
    recovery = active_recovery_key(session)
    if recovery is None:
        raise NotAcceptingReports()
    organizations = list(
        session.scalars(select(Organization).where(Organization.id.in_(organization_ids)))
    )
    if not organizations or len(organizations) != len(set(organization_ids)):
        raise UnknownOrganization()

    content_key = crypto.new_content_key()
    receipt = crypto.generate_receipt()
    reporter_key = crypto.PrivateKey.generate()

    receipt_lock = crypto.lock_keypair(reporter_key, receipt, kdf)
    report = Report(
        received_on=today,
        status="received",
        lookup_id=crypto.receipt_lookup_id(receipt, lookup_key),
        receipt_verifier=receipt_lock.verifier,
        reporter_public_key=reporter_key.public_key().to_bytes(),
        reporter_private_key_locked=receipt_lock.locked_key,
        reporter_wrapped_key=crypto.wrap_content_key(content_key, reporter_key.public_key()),
        answers_sealed=crypto.seal(content_key, _encode_answers(answers), ANSWERS_PURPOSE),
        consent_statistics=consent.statistics,
        consent_referral=consent.referral,
        consent_contact=consent.contact,
        organizations=organizations,
    )
    for reader in readers_of(session, [org.id for org in organizations]):
        report.wrapped_keys.append(
            WrappedKey(
                staff_member=reader,
                wrapped=crypto.wrap_content_key(
                    content_key, crypto.PublicKey.from_bytes(reader.public_key)
                ),
            )
        )
    report.wrapped_keys.append(
        WrappedKey(
            recovery_key=recovery,
            wrapped=crypto.wrap_content_key(
                content_key, crypto.PublicKey.from_bytes(recovery.public_key)
            ),
        )
    )
    try:
        session.add(report)
        session.flush()
        for upload in uploads:
            store_attachment(
                session, report_id=report.id, content_key=content_key, upload=upload, uploaded_by="reporter"
            )
        notifications.record_new_report(session, report.id, today=today)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return SubmittedReport(report_id=report.id, receipt=receipt)


def read_answers(report: Report, content_key: crypto.ContentKey) -> dict[str, Any]:
    """Decrypt what the reporter typed."""
    plaintext = crypto.open_sealed(content_key, report.answers_sealed, ANSWERS_PURPOSE)
    return json.loads(plaintext.decode("utf-8"))


def content_key_for_staff(
    session: Session, report: Report, staff: StaffMember, private_key: crypto.PrivateKey
) -> crypto.ContentKey:
    wrapped = session.scalar(
        select(WrappedKey.wrapped).where(
            WrappedKey.report_id == report.id, WrappedKey.staff_member_id == staff.id
        )
    )
    if wrapped is None:
        raise crypto.CryptoError("this report is not shared with this staff member")
    return crypto.unwrap_content_key(wrapped, private_key)


def receipt_lock(report: Report) -> crypto.SecretLock:
    """The receipt's verifier and the reporter's locked private key, as stored."""
    return crypto.SecretLock(verifier=report.receipt_verifier, locked_key=report.reporter_private_key_locked)


def relock_receipt(report: Report, reporter_key: crypto.PrivateKey, receipt: crypto.Receipt, kdf: crypto.KdfParams) -> None:
    """Move a report opened with an older lock to the current one (one derivation per use)."""
    lock = crypto.lock_keypair(reporter_key, receipt, kdf)
    report.receipt_verifier = lock.verifier
    report.reporter_private_key_locked = lock.locked_key


def content_key_for_reporter(report: Report, reporter_key: crypto.PrivateKey) -> crypto.ContentKey:
    return crypto.unwrap_content_key(report.reporter_wrapped_key, reporter_key)


class RecoveryKeyUnknown(Exception):
    """The key file given is not this portal's recovery key."""


def recovery_export(session: Session, private_key: crypto.PrivateKey) -> Iterator[dict[str, Any]]:
    """Decrypt every report wrapped to this recovery key (the disaster-recovery path)."""
    fingerprint = private_key.public_key().fingerprint()
    recovery = session.scalar(select(RecoveryKey).where(RecoveryKey.fingerprint == fingerprint))
    if recovery is None:
        raise RecoveryKeyUnknown()
    rows = session.execute(
        select(Report, WrappedKey.wrapped)
        .join(WrappedKey, WrappedKey.report_id == Report.id)
        .where(WrappedKey.recovery_key_id == recovery.id)
        .order_by(Report.id)
        .execution_options(yield_per=100)
    )
    for report, wrapped in rows:
        content_key = crypto.unwrap_content_key(wrapped, private_key)
        yield {
            "report_id": report.id,
            "received_on": report.received_on.isoformat(),
            "status": report.status,
            "organizations": sorted(org.slug for org in report.organizations),
            "consent": {
                "statistics": report.consent_statistics,
                "referral": report.consent_referral,
                "contact": report.consent_contact,
            },
            "answers": read_answers(report, content_key),
        }
