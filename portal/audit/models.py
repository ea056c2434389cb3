"""Audit events: one row per staff action, each chained to the one before by a keyed MAC."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, LargeBinary, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import UTCDateTime, db, intpk


class AuditLogIsAppendOnly(RuntimeError):
    """Code tried to change or delete a recorded audit event through the ORM."""


class AuditEvent(db.Model):
    """Who did what to which record, and when. Staff actions only: never a reporter's network,
    never report content, never a secret (§4.7)."""

    __tablename__ = "audit_events"

    id: Mapped[intpk]
    # The chain order, 1, 2, 3, …; unique, so two concurrent appends can never fork the chain.
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # No foreign key: removing a staff member must not break, or cascade into, the chain.
    actor_staff_id: Mapped[int | None] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[int | None] = mapped_column(Integer)
    # Canonical JSON (sorted keys, no spaces), so the MAC covers exactly the stored text.
    details: Mapped[str] = mapped_column(Text)
    prev_mac: Mapped[bytes] = mapped_column(LargeBinary(32))
    mac: Mapped[bytes] = mapped_column(LargeBinary(32))


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_changes(_mapper: object, _connection: object, target: AuditEvent) -> None:
    """Catch a careless update or delete early; `portal audit verify` catches the rest."""
    raise AuditLogIsAppendOnly(f"audit event {target.seq} cannot be changed or deleted")
