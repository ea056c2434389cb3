"""The dashboard's counters: new, unassigned and awaiting reply, for one organization.

The database keeps them exact. Triggers (migration 0006) append a row to
``dashboard_counter_changes`` for every change that moves a counter, whoever makes it: a
submission, a share, a status change, an assignment, a message, a deletion, a staff member's
removal through ``ON DELETE SET NULL``. A counter is the sum of its organization's rows.

Reading sums those rows. Once an organization has more than FOLD_AFTER of them, the read folds
them into one, so a view reads a few dozen rows at most, whatever the number of reports. The fold
deletes exactly the rows it then adds up (DELETE ... RETURNING), so it stays exact beside
concurrent writers and concurrent folds: a row committed meanwhile is neither summed nor deleted.
Nothing here commits; the view does.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from portal.reports.models import CounterChange

#: Rows an organization may gather before a read folds them: about a day's changes for a busy
#: organization, a fraction of a millisecond to sum.
FOLD_AFTER = 64


@dataclass(frozen=True)
class Counters:
    new: int
    unassigned: int
    awaiting_reply: int


def organization_counters(session: Session, organization_id: int) -> Counters:
    rows, new, unassigned, awaiting_reply = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(CounterChange.new_count), 0),
            func.coalesce(func.sum(CounterChange.unassigned_count), 0),
            func.coalesce(func.sum(CounterChange.awaiting_reply_count), 0),
        ).where(CounterChange.organization_id == organization_id)
    ).one()
    if rows > FOLD_AFTER:
        fold(session, organization_id)
    return Counters(new=int(new), unassigned=int(unassigned), awaiting_reply=int(awaiting_reply))


def fold(session: Session, organization_id: int) -> None:
    """Replace the organization's rows by one row holding their sum."""
    removed = session.execute(
        delete(CounterChange)
        .where(CounterChange.organization_id == organization_id)
        .returning(CounterChange.new_count, CounterChange.unassigned_count, CounterChange.awaiting_reply_count)
        .execution_options(synchronize_session=False)
    ).all()
    if removed:
        session.add(
            CounterChange(
                organization_id=organization_id,
                new_count=sum(row[0] for row in removed),
                unassigned_count=sum(row[1] for row in removed),
                awaiting_reply_count=sum(row[2] for row in removed),
            )
        )
