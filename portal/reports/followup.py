"""A reporter's return with their receipt: opening the report, messages, consent, deletion.

No web code. The receipt is checked against its Argon2id verifier and then forgotten; what keeps
the reporter signed in for a few minutes is a server-side session holding the report's content
key sealed under a key that only their cookie has.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from portal import crypto
from portal.db import count_one_more
from portal.notifications import services as notifications
from portal.reporter.models import FollowUpWindow, ReceiptThrottle, ReporterSession
from portal.reports import damage
from portal.reports.models import Attachment, AttachmentChunk, Message, Report, WrappedKey
from portal.reports.services import content_key_for_reporter, receipt_lock, relock_receipt
from portal.staff.services import delay_after
from portal.staff.sessions import hash_session_id, new_session_secrets, split_cookie

MESSAGE_PURPOSE = b"portal message v1"
SESSION_PURPOSE = b"portal reporter session v1"
IDLE_TIMEOUT = dt.timedelta(minutes=15)
LIFETIME = dt.timedelta(hours=1)
#: Failed receipts across everyone in one minute before all attempts wait for the next minute.
GLOBAL_FAILURES_PER_MINUTE = 120


class ReceiptNotRecognised(Exception):
    """No report opens with that receipt: wrong, mistyped, or deleted. Deliberately one error."""


class FollowUpThrottled(Exception):
    def __init__(self, retry_after: dt.timedelta) -> None:
        super().__init__("throttled")
        self.retry_after = retry_after


class MessageEmpty(ValueError):
    pass


@dataclass(frozen=True, repr=False)
class Opened:
    report: Report
    content_key: crypto.ContentKey
    previous_use: dt.datetime | None


def _to_the_hour(moment: dt.datetime) -> dt.datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _window(now: dt.datetime) -> dt.datetime:
    return now.replace(second=0, microsecond=0)


def _record_failure(session: Session, lookup_id: bytes, now: dt.datetime) -> None:
    failures = count_one_more(session, ReceiptThrottle, {"lookup_id": lookup_id})
    delay = delay_after(failures)
    session.execute(
        update(ReceiptThrottle)
        .where(ReceiptThrottle.lookup_id == lookup_id)
        .values(blocked_until=now + delay if delay else None)
    )
    count_one_more(session, FollowUpWindow, {"window_start": _window(now)})
    # Old windows are of no further use.
    session.execute(delete(FollowUpWindow).where(FollowUpWindow.window_start < _window(now) - dt.timedelta(hours=1)))
    session.commit()


def open_with_receipt(
    session: Session, typed: str, *, lookup_key: bytes, kdf: crypto.KdfParams, now: dt.datetime
) -> Opened:
    """Find and unlock the report a receipt belongs to, throttling guesses.

    Guesses are counted per lookup identifier (a keyed hash of the receipt: no address is ever
    involved) and across everyone per minute. A wrong receipt and a deleted report's receipt cost
    the same Argon2id work and raise the same error.
    """
    try:
        receipt: crypto.Receipt | None = crypto.normalize_receipt(typed)
    except crypto.InvalidReceiptFormat:
        receipt = None
    lookup_id = (
        crypto.receipt_lookup_id(receipt, lookup_key)
        if receipt is not None
        else crypto.keyed_digest(lookup_key, b"malformed receipt", typed.encode("utf-8", "replace")[:200])
    )
    window = session.get(FollowUpWindow, _window(now))
    if window is not None and window.failures >= GLOBAL_FAILURES_PER_MINUTE:
        raise FollowUpThrottled(_window(now) + dt.timedelta(minutes=1) - now)
    # Nothing is written before the slow derivation: on SQLite a write would hold the database's
    # one write lock through it. A failure is counted afterwards, in one statement.
    throttle = session.get(ReceiptThrottle, lookup_id)
    if throttle is not None and throttle.blocked_until is not None and throttle.blocked_until > now:
        session.rollback()
        raise FollowUpThrottled(throttle.blocked_until - now)

    report = session.scalar(select(Report).where(Report.lookup_id == lookup_id)) if receipt else None
    # One Argon2id derivation checks the receipt and, when it is right, opens the reporter's key.
    lock = receipt_lock(report) if report is not None else crypto.decoy_lock(kdf)
    reporter_key = crypto.unlock_keypair(receipt or "", lock)
    if reporter_key is None or report is None or receipt is None:
        _record_failure(session, lookup_id, now)
        raise ReceiptNotRecognised()
    if not lock.is_current:
        relock_receipt(report, reporter_key, receipt, kdf)
    content_key = content_key_for_reporter(report, reporter_key)
    previous = report.receipt_last_used_at
    report.receipt_last_used_at = _to_the_hour(now)
    session.execute(delete(ReceiptThrottle).where(ReceiptThrottle.lookup_id == lookup_id))
    session.commit()
    return Opened(report=report, content_key=content_key, previous_use=previous)


# --- reporter sessions --------------------------------------------------------------------------


def open_session(
    session: Session, opened: Opened, now: dt.datetime
) -> str:
    cookie, session_id, session_key = new_session_secrets()
    id_hash = hash_session_id(session_id)
    session.add(
        ReporterSession(
            id_hash=id_hash,
            report_id=opened.report.id,
            sealed_content_key=crypto.seal(session_key, opened.content_key, SESSION_PURPOSE + id_hash),
            previous_use_at=opened.previous_use,
            created_at=now,
            last_seen_at=now,
        )
    )
    session.commit()
    return cookie


def resume_session(session: Session, cookie: str | None, now: dt.datetime) -> tuple[ReporterSession, Report, crypto.ContentKey] | None:
    parts = split_cookie(cookie or "")
    if parts is None:
        return None
    session_id, session_key = parts
    id_hash = hash_session_id(session_id)
    row = session.get(ReporterSession, id_hash)
    if row is None:
        return None
    if now - row.last_seen_at > IDLE_TIMEOUT or now - row.created_at > LIFETIME:
        session.delete(row)
        session.commit()
        return None
    try:
        content_key = crypto.ContentKey(crypto.open_sealed(session_key, row.sealed_content_key, SESSION_PURPOSE + id_hash))
    except crypto.CryptoError:
        return None
    row.last_seen_at = now
    session.commit()
    report = session.get(Report, row.report_id)
    if report is None:
        return None
    return row, report, content_key


def end_session(session: Session, row: ReporterSession) -> None:
    session.delete(row)
    session.commit()


# --- messages -----------------------------------------------------------------------------------


def add_message(
    session: Session, report: Report, content_key: crypto.ContentKey, text: str, *, staff_member_id: int | None = None
) -> Message:
    """Seal a message; a reporter's raises the "awaiting reply" flag, a staff reply lowers it."""
    if not text.strip():
        raise MessageEmpty()
    author = "staff" if staff_member_id is not None else "reporter"
    message = Message(
        report_id=report.id,
        author=author,
        staff_member_id=staff_member_id,
        body_sealed=crypto.seal(content_key, text.strip().encode("utf-8"), MESSAGE_PURPOSE),
    )
    session.add(message)
    report.awaiting_reply = author == "reporter"
    if author == "reporter":
        notifications.record_reporter_reply(session, report.id)
    return message


def read_messages(session: Session, report: Report, content_key: crypto.ContentKey) -> list[dict]:
    messages = session.scalars(select(Message).where(Message.report_id == report.id).order_by(Message.id))
    return [
        {
            "author": message.author,
            "staff_member_id": message.staff_member_id,
            "at": message.created_at,
            "text": damage.open_text(content_key, message.body_sealed, MESSAGE_PURPOSE, "message"),
        }
        for message in messages
    ]


# --- deletion -----------------------------------------------------------------------------------


def delete_report(session: Session, report_id: int) -> None:
    """Crypto-shred a report: its wrapped keys go first, then every ciphertext, in one transaction.

    Without any wrapped copy of the content key, whatever ciphertext survives elsewhere (a backup,
    free pages) can no longer be read, not even with the recovery key. The caller commits, so an
    audit entry can share the transaction.
    """
    session.execute(delete(WrappedKey).where(WrappedKey.report_id == report_id))
    session.execute(
        update(Report)
        .where(Report.id == report_id)
        .values(reporter_wrapped_key=b"", reporter_private_key_locked=b"", answers_sealed=b"")
    )
    attachment_ids = select(Attachment.id).where(Attachment.report_id == report_id)
    session.execute(delete(AttachmentChunk).where(AttachmentChunk.attachment_id.in_(attachment_ids)))
    session.execute(delete(Attachment).where(Attachment.report_id == report_id))
    session.execute(delete(Message).where(Message.report_id == report_id))
    session.execute(delete(ReporterSession).where(ReporterSession.report_id == report_id))
    # The rest (notes, status history, referrals, tactics, organizations) cascades with the row.
    session.execute(delete(Report).where(Report.id == report_id))
