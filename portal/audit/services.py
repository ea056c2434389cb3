"""Appending to the audit log and proving it untouched. No web code.

Each event carries an HMAC-SHA256, under the instance's ``audit_key``, over the previous event's
MAC and its own fields; the first event follows 32 zero bytes. An edited, deleted or reordered
event therefore breaks the chain at that point. Because the MAC is keyed, someone who can write to
the database but does not hold the instance secrets cannot rebuild a consistent chain after
tampering, as they could with a plain hash chain.

What it does not defend against: removing the newest events (the chain that remains is intact),
or an attacker who also holds the instance secrets. Keep ``secrets.json`` off database hosts and
note the count `portal audit verify` prints now and then, somewhere the database cannot reach.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, func, select, text
from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent
from portal.db import utcnow

ACTIONS = (
    "sign_in",
    "sign_in_failed",
    "sign_out",
    "password_changed",
    "notifications_changed",
    "totp_enrolled",
    "report_decrypted",
    "report_status_changed",
    "report_triaged",
    "report_assigned",
    "report_shared",
    "report_referred",
    "note_added",
    "staff_created",
    "staff_deactivated",
    "access_granted",
    "organization_created",
    "recovery_export",
    "message_sent",
    "attachment_downloaded",
    "report_deleted",
    "report_linked",
    "dossier_prepared",
    "dossier_signed",
    "dossier_exported",
    "statistics_exported",
)

#: The MAC the first event follows.
GENESIS_MAC = bytes(32)
MIN_KEY_BYTES = 32
MAX_PER_PAGE = 200
# Any fixed number will do, as long as nothing else in the database uses it: ASCII "portaudi".
APPEND_LOCK_ID = 0x706F_7274_6175_6469
# Rows fetched per round trip while verifying: memory stays flat however long the log grows.
_VERIFY_BATCH = 1000
# Domain separation, and a version to change should the encoding ever have to.
_MAC_CONTEXT = b"portal audit event v1\n"


@dataclass(frozen=True)
class ChainReport:
    """The outcome of walking the chain: intact, or where it first breaks and why."""

    ok: bool
    checked: int
    broken_at_seq: int | None = None
    reason: str | None = None


def canonical_json(value: object) -> str:
    """One text for one value, so the MAC and the stored column never disagree."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def event_mac(
    key: bytes,
    prev_mac: bytes,
    *,
    seq: int,
    occurred_at: dt.datetime,
    actor_staff_id: int | None,
    action: str,
    target_type: str | None,
    target_id: int | None,
    details: str,
) -> bytes:
    """HMAC-SHA256 over the previous MAC (fixed length) and an unambiguous encoding of the fields."""
    fields = [
        seq,
        occurred_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        actor_staff_id,
        action,
        target_type,
        target_id,
        details,
    ]
    message = _MAC_CONTEXT + prev_mac + canonical_json(fields).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).digest()


def record_event(
    session: Session,
    *,
    key: bytes,
    action: str,
    actor_id: int | None = None,
    target_type: str | None = None,
    target_id: int | None = None,
    details: Mapping[str, object] | None = None,
) -> AuditEvent:
    """Append an event to the caller's transaction, without committing.

    The event and the change it records then commit together or not at all. ``details`` must
    never hold a secret, report content or a network address.
    """
    _check_key(key)
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    details_json = canonical_json(dict(details or {}))
    _serialize_appends(session)
    seq, prev_mac = _chain_head(session)
    event = AuditEvent(
        seq=seq,
        occurred_at=utcnow(),
        actor_staff_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        details=details_json,
        prev_mac=prev_mac,
    )
    event.mac = event_mac(
        key,
        prev_mac,
        seq=seq,
        occurred_at=event.occurred_at,
        actor_staff_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        details=details_json,
    )
    session.add(event)
    # Claim the sequence number now: a concurrent append fails here, not at some later commit.
    session.flush()
    return event


def _check_key(key: bytes) -> None:
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"the audit key must be at least {MIN_KEY_BYTES} bytes")


def _serialize_appends(session: Session) -> None:
    """Wait for other appends to commit, so each one reads the true chain head.

    The lock ends with the transaction. PostgreSQL has an advisory lock for it. SQLite has one
    write lock for the whole database: a write that changes nothing takes it (waiting its turn)
    before the head is read, where a plain read would let two appends claim the same ``seq``.
    """
    dialect = session.get_bind(AuditEvent).dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:lock_id)"), {"lock_id": APPEND_LOCK_ID})
    elif dialect == "sqlite":
        session.execute(text("UPDATE audit_events SET seq = seq WHERE 0"))


def _chain_head(session: Session) -> tuple[int, bytes]:
    """The next sequence number and the MAC it must follow."""
    # Columns, not entities: a stale object in the session must not stand in for the stored row.
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.mac).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    if last is None:
        return 1, GENESIS_MAC
    return last.seq + 1, bytes(last.mac)


def verify_chain(session: Session, *, key: bytes) -> ChainReport:
    """Walk the log in chain order and report the first edited, missing or reordered event."""
    _check_key(key)
    rows = session.execute(
        select(
            AuditEvent.seq,
            AuditEvent.occurred_at,
            AuditEvent.actor_staff_id,
            AuditEvent.action,
            AuditEvent.target_type,
            AuditEvent.target_id,
            AuditEvent.details,
            AuditEvent.prev_mac,
            AuditEvent.mac,
        )
        .order_by(AuditEvent.seq)
        .execution_options(yield_per=_VERIFY_BATCH)
    )
    checked, previous_mac = 0, GENESIS_MAC
    try:
        for row in rows:
            expected_seq = checked + 1
            reason = _broken_link(row, expected_seq, previous_mac, key)
            if reason:
                return ChainReport(
                    ok=False, checked=checked, broken_at_seq=expected_seq, reason=reason
                )
            checked, previous_mac = expected_seq, bytes(row.mac)
    finally:
        rows.close()
    return ChainReport(ok=True, checked=checked)


def _broken_link(row: Row[Any], expected_seq: int, previous_mac: bytes, key: bytes) -> str | None:
    """Why this row does not continue the chain, or None when it does."""
    if row.seq > expected_seq:
        return f"event {expected_seq} is missing (the next one is event {row.seq})"
    if row.seq != expected_seq:
        return f"an event numbered {row.seq} is out of sequence"
    if not hmac.compare_digest(bytes(row.prev_mac), previous_mac):
        if expected_seq == 1:
            return "the first event does not start the chain: earlier events were removed"
        return f"it does not follow event {expected_seq - 1}: events were removed or reordered"
    computed = event_mac(
        key,
        previous_mac,
        seq=row.seq,
        occurred_at=row.occurred_at,
        actor_staff_id=row.actor_staff_id,
        action=row.action,
        target_type=row.target_type,
        target_id=row.target_id,
        details=row.details,
    )
    if not hmac.compare_digest(bytes(row.mac), computed):
        return "its contents were changed, or it was not written with this instance's audit key"
    return None


def list_events(
    session: Session,
    *,
    action: str | None = None,
    actor_id: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    page: int = 1,
    per_page: int = 50,
) -> tuple[list[AuditEvent], int]:
    """One page of events, newest first, and how many match in all.

    ``since`` is inclusive and ``until`` exclusive, so consecutive periods never overlap; both
    must be timezone-aware.
    """
    if page < 1:
        raise ValueError("page numbers start at 1")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValueError(f"per_page must be between 1 and {MAX_PER_PAGE}")
    if any(moment is not None and moment.tzinfo is None for moment in (since, until)):
        raise ValueError("since and until must be timezone-aware")
    conditions = _event_filters(action=action, actor_id=actor_id, since=since, until=until)
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions))
    events = session.scalars(
        select(AuditEvent)
        .where(*conditions)
        .order_by(AuditEvent.seq.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return list(events), total or 0


def _event_filters(
    *,
    action: str | None,
    actor_id: int | None,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if action is not None:
        conditions.append(AuditEvent.action == action)
    if actor_id is not None:
        conditions.append(AuditEvent.actor_staff_id == actor_id)
    if since is not None:
        conditions.append(AuditEvent.occurred_at >= since)
    if until is not None:
        conditions.append(AuditEvent.occurred_at < until)
    return conditions
