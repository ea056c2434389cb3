"""What each staff member wants to hear by email, and the notifications waiting to be sent.

A waiting notification says only what kind of news it is, for whom, and on which day it happened:
no report, no organization, no exact time, so a copy of the database taken while one waits
tells nothing the staff member's wrapped keys and the reports' received days do not already.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import UTCDateTime, db, intpk

#: How a staff member hears about new work: not by email, an email each time, or one a day.
DELIVERIES = ("off", "immediate", "daily")
#: What happened. Nothing more specific is ever stored or sent.
KINDS = ("new_report", "reporter_replied")


class NotificationPreference(db.Model):
    """A staff member's choice; without a row they get no email (the dashboard counters remain)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (CheckConstraint("delivery IN ('off', 'immediate', 'daily')", name="delivery"),)

    staff_member_id: Mapped[int] = mapped_column(
        ForeignKey("staff_members.id", ondelete="CASCADE"), primary_key=True
    )
    delivery: Mapped[str] = mapped_column(String(16))
    # The language of their emails; None: English.
    locale: Mapped[str | None] = mapped_column(String(16), nullable=True)


class PendingNotification(db.Model):
    """One piece of news for one staff member, deleted once it has been sent (the outbox)."""

    __tablename__ = "pending_notifications"
    __table_args__ = (CheckConstraint("kind IN ('new_report', 'reporter_replied')", name="kind"),)

    id: Mapped[intpk]
    staff_member_id: Mapped[int] = mapped_column(
        ForeignKey("staff_members.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    # The day only, like a report's received day: an exact time could be matched with a
    # reporter's network records.
    day: Mapped[dt.date] = mapped_column(Date)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Set only by the timer's run after a failed attempt (backoff), never by a reporter's request.
    retry_after: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
