"""Queueing and delivering staff notifications through the outbox. No web code, no SMTP.

A reporter's action (a new report, a reply) queues one row per staff member who can read the
report and wants email, in the same transaction as the action itself: the news is sent if and
only if what it announces was stored. Delivering claims rows by deleting them in a short
transaction of their own, so two senders never send the same row and no database lock is held
while a mail server answers; a failed send puts them back, for a later attempt.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import delete, insert, or_, select, true
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from portal.notifications.models import DELIVERIES, NotificationPreference, PendingNotification
from portal.orgs.models import READER_ROLES, StaffMember
from portal.reports.models import WrappedKey

#: Set on a database session whose actions may queue email (the app does, when SMTP is set up).
#: Sessions without it (the command line loading demo data, say) queue nothing.
EMAIL_ENABLED = "portal.notifications.email_enabled"
#: Set on a session that queued a notification to be sent at once, for the sender to pick up.
IMMEDIATE_QUEUED = "portal.notifications.immediate_queued"

#: After the n-th failed attempt the next waits FIRST_RETRY * 2**(n-1), at most LONGEST_RETRY.
FIRST_RETRY = dt.timedelta(minutes=5)
LONGEST_RETRY = dt.timedelta(hours=6)
#: News older than this is dropped unsent: by then the dashboard has told the staff member.
STALE_AFTER = dt.timedelta(days=7)


class UnknownDelivery(ValueError):
    """Not one of off / immediate / daily."""


class DeliveryFailed(Exception):
    """An email could not be sent.

    ``server_unavailable``: the mail server could not be reached or refused us, so every other
    email of this run would fail too; otherwise only this recipient was refused.
    """

    def __init__(self, *, server_unavailable: bool) -> None:
        super().__init__("delivery failed")
        self.server_unavailable = server_unavailable


@dataclass(frozen=True)
class Batch:
    """One email's worth of news for one staff member: only counts of each kind."""

    staff_member_id: int
    email: str
    locale: str | None
    digest: bool
    counts: dict[str, int]


@dataclass
class DeliveryReport:
    emails_sent: int = 0
    notifications_sent: int = 0
    emails_failed: int = 0
    dropped: int = 0
    server_unavailable: bool = False


@dataclass(frozen=True)
class _Claimed:
    kind: str
    day: dt.date
    attempts: int
    retry_after: dt.datetime | None


@dataclass
class _Due:
    email: str
    locale: str | None
    digest: bool
    ids: list[int] = field(default_factory=list)


# --- preferences ----------------------------------------------------------------------------------


def preference_of(session: Session, staff_member_id: int) -> NotificationPreference | None:
    return session.get(NotificationPreference, staff_member_id)


def set_preference(session: Session, staff_member_id: int, *, delivery: str, locale: str | None) -> None:
    """Store a staff member's choice in one statement (two tabs saving at once both succeed)."""
    if delivery not in DELIVERIES:
        raise UnknownDelivery(delivery)
    dialect = session.get_bind().dialect.name
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = NotificationPreference.__table__
    statement = upsert(table).values(staff_member_id=staff_member_id, delivery=delivery, locale=locale)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.staff_member_id], set_={"delivery": delivery, "locale": locale}
        )
    )
    if delivery == "off":
        # Nothing more reaches their mailbox, not even what was already waiting.
        session.execute(delete(PendingNotification).where(PendingNotification.staff_member_id == staff_member_id))


# --- queueing ---------------------------------------------------------------------------------


def enable_email(session: Session) -> None:
    session.info[EMAIL_ENABLED] = True


def email_enabled(session: Session) -> bool:
    return bool(session.info.get(EMAIL_ENABLED))


def take_immediate_queued(session: Session) -> bool:
    """Whether this session queued something to send at once since last asked."""
    return bool(session.info.pop(IMMEDIATE_QUEUED, False))


def record_new_report(session: Session, report_id: int, *, today: dt.date) -> None:
    """Queue "a new report for your organization" for each of its readers who wants email."""
    _record(session, "new_report", report_id, today)


def record_reporter_reply(session: Session, report_id: int, *, today: dt.date | None = None) -> None:
    """Queue "a reporter replied" for each reader of the report who wants email."""
    _record(session, "reporter_replied", report_id, today or dt.datetime.now(dt.UTC).date())


def _record(session: Session, kind: str, report_id: int, today: dt.date) -> None:
    if not email_enabled(session):
        return
    # Readers are the staff holding a wrapped copy of the report's key: whoever it was shared
    # with, however it came to them; only those still active in a reading role.
    readers = session.execute(
        select(StaffMember.id, NotificationPreference.delivery)
        .join(WrappedKey, WrappedKey.staff_member_id == StaffMember.id)
        .join(NotificationPreference, NotificationPreference.staff_member_id == StaffMember.id)
        .where(
            WrappedKey.report_id == report_id,
            StaffMember.is_active.is_(True),
            StaffMember.role.in_(READER_ROLES),
            NotificationPreference.delivery != "off",
        )
        .order_by(StaffMember.id)
    ).all()
    for staff_member_id, delivery in readers:
        session.add(PendingNotification(staff_member_id=staff_member_id, kind=kind, day=today, attempts=0))
        if delivery == "immediate":
            session.info[IMMEDIATE_QUEUED] = True


# --- delivering -------------------------------------------------------------------------------


def deliver(
    session: Session,
    send: Callable[[Batch], None],
    *,
    now: dt.datetime,
    digests: bool = True,
    record_failures: bool = True,
    ignore_backoff: bool = False,
) -> DeliveryReport:
    """Send what is due: each staff member's immediate news, and with ``digests`` their daily
    summary of the days that are over (UTC). One email per staff member per run.

    ``record_failures`` writes the attempt count and the time of the next attempt on rows that
    failed; the sender that runs right after a reporter's request does not, because that time
    would date the request more closely than the day the server otherwise keeps.
    ``ignore_backoff`` tries waiting rows now (once the mail server has been fixed).
    """
    report = DeliveryReport(dropped=_drop_undeliverable(session, now))
    session.commit()
    for staff_member_id, due in _due(session, now, digests, ignore_backoff).items():
        claimed = _claim(session, due.ids)
        session.commit()
        if not claimed:
            continue  # another sender took them
        batch = Batch(
            staff_member_id=staff_member_id,
            email=due.email,
            locale=due.locale,
            digest=due.digest,
            counts=dict(Counter(row.kind for row in claimed)),
        )
        try:
            send(batch)
        except DeliveryFailed as failure:
            _put_back(session, staff_member_id, claimed, now=now, record_failure=record_failures)
            session.commit()
            report.emails_failed += 1
            if failure.server_unavailable:
                report.server_unavailable = True
                break
            continue
        except BaseException:
            # Not the mail server's doing (a bug, an interrupt): keep the news for a later run.
            session.rollback()
            _put_back(session, staff_member_id, claimed, now=now, record_failure=record_failures)
            session.commit()
            raise
        report.emails_sent += 1
        report.notifications_sent += len(claimed)
    return report


def retry_delay(attempts: int) -> dt.timedelta:
    """How long to wait after the n-th failed attempt."""
    return min(FIRST_RETRY * 2 ** max(0, attempts - 1), LONGEST_RETRY)


def _drop_undeliverable(session: Session, now: dt.datetime) -> int:
    """Delete news nobody should get any more: stale, or for someone who no longer wants it or
    may no longer read reports."""
    wanted = select(StaffMember.id).join(
        NotificationPreference, NotificationPreference.staff_member_id == StaffMember.id
    ).where(
        StaffMember.is_active.is_(True),
        StaffMember.role.in_(READER_ROLES),
        NotificationPreference.delivery != "off",
    )
    result = session.execute(
        delete(PendingNotification).where(
            or_(
                PendingNotification.day < (now - STALE_AFTER).date(),
                PendingNotification.staff_member_id.not_in(wanted),
            )
        ),
        execution_options={"synchronize_session": False},
    )
    return result.rowcount or 0


def _due(session: Session, now: dt.datetime, digests: bool, ignore_backoff: bool) -> dict[int, _Due]:
    deliveries = ["immediate", "daily"] if digests else ["immediate"]
    retry_after = PendingNotification.retry_after
    ready = true() if ignore_backoff else or_(retry_after.is_(None), retry_after <= now)
    rows = session.execute(
        select(
            PendingNotification.id,
            PendingNotification.staff_member_id,
            StaffMember.email,
            NotificationPreference.locale,
            NotificationPreference.delivery,
        )
        .join(StaffMember, StaffMember.id == PendingNotification.staff_member_id)
        .join(NotificationPreference, NotificationPreference.staff_member_id == StaffMember.id)
        .where(
            NotificationPreference.delivery.in_(deliveries),
            StaffMember.is_active.is_(True),
            StaffMember.role.in_(READER_ROLES),
            ready,
            # A daily summary covers whole days: today's news waits for tomorrow's.
            or_(NotificationPreference.delivery == "immediate", PendingNotification.day < now.date()),
        )
        .order_by(PendingNotification.staff_member_id, PendingNotification.id)
    ).all()
    due: dict[int, _Due] = {}
    for row_id, staff_member_id, email, locale, delivery in rows:
        entry = due.setdefault(staff_member_id, _Due(email=email, locale=locale, digest=delivery == "daily"))
        entry.ids.append(row_id)
    session.commit()  # end the reading transaction before anything is sent
    return due


def _claim(session: Session, ids: Iterable[int]) -> list[_Claimed]:
    """Take these rows out of the outbox; only one sender ever gets each."""
    result = session.execute(
        delete(PendingNotification)
        .where(PendingNotification.id.in_(list(ids)))
        .returning(
            PendingNotification.kind,
            PendingNotification.day,
            PendingNotification.attempts,
            PendingNotification.retry_after,
        ),
        execution_options={"synchronize_session": False},
    )
    return [_Claimed(*row) for row in result]


def _put_back(
    session: Session, staff_member_id: int, claimed: list[_Claimed], *, now: dt.datetime, record_failure: bool
) -> None:
    values = []
    for row in claimed:
        attempts, retry_after = row.attempts, row.retry_after
        if record_failure:
            attempts += 1
            retry_after = now + retry_delay(attempts)
        values.append(
            {"staff_member_id": staff_member_id, "kind": row.kind, "day": row.day,
             "attempts": attempts, "retry_after": retry_after}
        )
    session.execute(insert(PendingNotification), values)
