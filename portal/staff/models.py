"""Server-side staff sessions and sign-in throttles."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import UTCDateTime, db


class StaffSession(db.Model):
    """A signed-in staff session (database store).

    Keyed by a hash of the session id, so a database dump yields no usable cookie; the private
    key is sealed under a per-session key that only the staff member's cookie holds.
    """

    __tablename__ = "staff_sessions"

    id_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    staff_member_id: Mapped[int] = mapped_column(
        ForeignKey("staff_members.id", ondelete="CASCADE"), index=True
    )
    sealed_private_key: Mapped[bytes] = mapped_column(LargeBinary)
    second_factor_done: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class SignInThrottle(db.Model):
    """Failed sign-ins per account name, keyed by a keyed hash of the email.

    Keyed by the email typed rather than by the account, so unknown emails are throttled exactly
    like real ones and the delays reveal nothing about who has an account.
    """

    __tablename__ = "sign_in_throttles"

    email_key: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
