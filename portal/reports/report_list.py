"""The staff dashboard's list: filters, sorts, and pages that cost the same wherever they are.

A page is found by seeking an index, never by skipping rows. Every sort orders by a pair
(key, report id), both in one direction, and has an index on (key, id): ``received_on`` for
newest and oldest, the rank columns for status and severity. The link to the next page carries
the last row's pair (``after=key,id``), the link to the previous page the first row's
(``before=key,id``); a page is then one range scan of that index, however deep it is.

A page's reports, their tactics, assignees and the staff member's wrapped keys come in a fixed
number of statements, and without the columns the list never shows (the receipt verifier, the
reporter's keys). Nothing here commits: the view audits what it decrypted and commits once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, select, tuple_
from sqlalchemy.orm import Session, joinedload, load_only, selectinload

from portal import crypto
from portal.inputs import parse_id
from portal.orgs.models import StaffMember
from portal.reports import damage
from portal.reports.models import (
    SEVERITY_RANKS,
    STATUS_RANKS,
    STATUSES,
    UNASSESSED_RANK,
    Report,
    ReportTactic,
    WrappedKey,
)
from portal.reports.triage import visible_reports
from portal.taxonomy import BOUNTY_TACTIC, TACTIC_CODES

PAGE_SIZE = 25
CURSOR_MAX_LENGTH = 40
EXCERPT_LENGTH = 140


class BadCursor(ValueError):
    """A page link that this sort cannot have produced: edited, truncated or for another sort."""


@dataclass(frozen=True)
class Cursor:
    """Where a page starts or ends: the sort key and id of a row at its edge."""

    key: Any
    report_id: int


def _date_key(text: str) -> dt.date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise BadCursor("not a date")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadCursor("not a date") from None


def _rank_key(ranks: Sequence[int]) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not text.isascii() or not text.isdigit() or int(text) not in ranks:
            raise BadCursor("not a rank")
        return int(text)

    return parse


@dataclass(frozen=True)
class Sort:
    """One way of ordering the list: by ``column`` then id, both descending or both ascending."""

    column: Any
    descending: bool
    parse_key: Callable[[str], Any]
    format_key: Callable[[Any], str]

    def order_by(self, backwards: bool = False) -> tuple[ColumnElement, ColumnElement]:
        descending = self.descending != backwards
        if descending:
            return self.column.desc(), Report.id.desc()
        return self.column.asc(), Report.id.asc()

    def beyond(self, cursor: Cursor, backwards: bool = False) -> ColumnElement[bool]:
        """Rows after ``cursor`` in this order (before it, ``backwards``): one index range."""
        pair = tuple_(self.column, Report.id)
        edge = tuple_(cursor.key, cursor.report_id)
        return pair < edge if self.descending != backwards else pair > edge

    def cursor_of(self, report: Report) -> Cursor:
        return Cursor(getattr(report, self.column.key), report.id)

    def parse(self, text: str) -> Cursor:
        if len(text) > CURSOR_MAX_LENGTH or text.count(",") != 1:
            raise BadCursor("not a cursor")
        key, _comma, id_text = text.partition(",")
        report_id = parse_id(id_text)
        if report_id is None:
            raise BadCursor("not a report id")
        return Cursor(self.parse_key(key), report_id)

    def format(self, cursor: Cursor) -> str:
        return f"{self.format_key(cursor.key)},{cursor.report_id}"


SORTS = {
    "newest": Sort(Report.received_on, True, _date_key, dt.date.isoformat),
    "oldest": Sort(Report.received_on, False, _date_key, dt.date.isoformat),
    # Received first, closed last; within a status or severity, the newest report first.
    "status": Sort(Report.status_rank, True, _rank_key(tuple(STATUS_RANKS.values())), str),
    # Critical, high, medium, low, then the reports nobody has assessed yet.
    "severity": Sort(
        Report.severity_rank, True, _rank_key((*SEVERITY_RANKS.values(), UNASSESSED_RANK)), str
    ),
}
DEFAULT_SORT = "newest"


@dataclass(frozen=True)
class DashboardFilters:
    status: str | None = None
    tactic: str | None = None
    community: str | None = None
    province: str | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    assignee: str | None = None  # a staff id, "me" or "none"
    bounty: bool = False
    #: Report-id queries the list is kept within, made by the packages that know those links
    #: (reports linked to an official, reports of a campaign).
    within: tuple[Select, ...] = ()
    sort: str = DEFAULT_SORT
    after: Cursor | None = None  # the page that follows this row
    before: Cursor | None = None  # the page that precedes this row


def sort_named(name: str | None) -> Sort:
    return SORTS.get(name or DEFAULT_SORT, SORTS[DEFAULT_SORT])


def filtered_reports(staff: StaffMember, filters: DashboardFilters) -> Select:
    query = visible_reports(staff)
    if filters.status in STATUSES:
        query = query.where(Report.status == filters.status)
    if filters.tactic in TACTIC_CODES:
        query = query.where(Report.tactics.any(ReportTactic.code == filters.tactic))
    if filters.bounty:
        query = query.where(Report.tactics.any(ReportTactic.code == BOUNTY_TACTIC))
    if filters.community:
        query = query.where(Report.community == filters.community)
    if filters.province:
        query = query.where(Report.province == filters.province)
    if filters.since:
        query = query.where(Report.received_on >= filters.since)
    if filters.until:
        query = query.where(Report.received_on <= filters.until)
    if filters.assignee == "none":
        query = query.where(Report.assignee_id.is_(None))
    elif filters.assignee == "me":
        query = query.where(Report.assignee_id == staff.id)
    elif filters.assignee and filters.assignee.isdigit():
        query = query.where(Report.assignee_id == int(filters.assignee))
    for report_ids in filters.within:
        query = query.where(Report.id.in_(report_ids))
    return query


@dataclass(frozen=True)
class DashboardPage:
    reports: list[Report]
    previous: str | None  # the ``before`` of the link to the previous page, if there is one
    next: str | None  # the ``after`` of the link to the next page, if there is one
    is_first: bool

    @property
    def is_everything(self) -> bool:
        """The first page holds every matching report: the one case where a count is free.

        Counting the matches of a page further on would mean visiting all of them, the very cost
        keyset pages avoid; the counters at the top of the dashboard say how much work there is.
        """
        return self.is_first and self.next is None


def _list_columns() -> Any:
    # The sealed answers are the one blob the list needs (for the excerpt); the reporter's keys
    # and receipt verifier stay on disk.
    return load_only(
        Report.id, Report.received_on, Report.status, Report.status_rank, Report.severity,
        Report.severity_rank, Report.assignee_id, Report.answers_sealed,
    )


def _one_page(session: Session, query: Select, sort: Sort, cursor: Cursor | None, backwards: bool) -> tuple[list[Report], bool]:
    """Up to PAGE_SIZE reports beyond ``cursor``, in display order, and whether more lie beyond."""
    if cursor is not None:
        query = query.where(sort.beyond(cursor, backwards))
    rows = list(
        session.scalars(
            query.options(
                _list_columns(),
                selectinload(Report.tactics),
                joinedload(Report.assignee).load_only(StaffMember.id, StaffMember.email),
            )
            .order_by(*sort.order_by(backwards))
            .limit(PAGE_SIZE + 1)
        ).unique()
    )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return (rows[::-1] if backwards else rows), more


def _any_beyond(session: Session, query: Select, sort: Sort, cursor: Cursor, backwards: bool) -> bool:
    beyond = query.with_only_columns(Report.id).where(sort.beyond(cursor, backwards)).limit(1)
    return session.scalar(beyond) is not None


def dashboard_page(session: Session, staff: StaffMember, filters: DashboardFilters) -> DashboardPage:
    sort = sort_named(filters.sort)
    query = filtered_reports(staff, filters)
    backwards = filters.before is not None and filters.after is None
    cursor = filters.before if backwards else filters.after
    reports, more_beyond = _one_page(session, query, sort, cursor, backwards)
    if not reports:
        return DashboardPage(reports=[], previous=None, next=None, is_first=cursor is None)
    first, last = sort.cursor_of(reports[0]), sort.cursor_of(reports[-1])
    # Fetching one row more says whether the list goes on ahead; whether it goes on behind (the
    # side the reader came from, where rows may have been deleted since) takes one more look.
    if backwards:
        has_previous, has_next = more_beyond, _any_beyond(session, query, sort, last, backwards=False)
    else:
        has_next = more_beyond
        has_previous = cursor is not None and _any_beyond(session, query, sort, first, backwards=True)
    return DashboardPage(
        reports=reports,
        previous=sort.format(first) if has_previous else None,
        next=sort.format(last) if has_next else None,
        is_first=cursor is None,
    )


def excerpt(answers: dict[str, Any], length: int = EXCERPT_LENGTH) -> str:
    text = " ".join(str(answers.get("narrative", "")).split())
    return text if len(text) <= length else text[: length - 1] + "…"


def excerpts(
    session: Session, staff: StaffMember, private_key: crypto.PrivateKey, reports: Sequence[Report]
) -> dict[int, str | None]:
    """The beginning of each account, or None where the staff member holds no key for it yet.

    Every wrapped key the page needs comes in one statement.
    """
    if not reports:
        return {}
    wrapped = dict(
        session.execute(
            select(WrappedKey.report_id, WrappedKey.wrapped).where(
                WrappedKey.staff_member_id == staff.id,
                WrappedKey.report_id.in_([report.id for report in reports]),
            )
        ).all()
    )
    result: dict[int, str | None] = {}
    for report in reports:
        try:
            content_key = crypto.unwrap_content_key(wrapped[report.id], private_key)
        except (KeyError, crypto.CryptoError):
            result[report.id] = None
            continue
        result[report.id] = excerpt(damage.readable_answers(report, content_key))
    return result
