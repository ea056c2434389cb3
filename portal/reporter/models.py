"""Reporter sessions and the throttles that guard receipts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import UTCDateTime, db


class ReporterSession(db.Model):
    """A reporter signed in with their receipt; like a staff session, the content key is sealed
    under a key only the reporter's cookie holds, and the receipt itself is kept nowhere."""

    __tablename__ = "reporter_sessions"

    id_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    sealed_content_key: Mapped[bytes] = mapped_column(LargeBinary)
    # When the receipt was used before this visit, to show the reporter.
    previous_use_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ReceiptThrottle(db.Model):
    """Failed receipt attempts per lookup identifier, whether or not a report has it."""

    __tablename__ = "receipt_throttles"

    lookup_id: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    blocked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class FollowUpWindow(db.Model):
    """Failed receipt attempts across everyone, per minute: a ceiling on guessing overall."""

    __tablename__ = "follow_up_windows"

    window_start: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
