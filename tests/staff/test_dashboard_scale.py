"""The dashboard at scale: keyset pages, sort orders, hostile page links, exact counters, and a
fixed number of SQL statements per page; through the test client, with CSRF protection on."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, event, func, select
from sqlalchemy.orm import Session

from portal.db import db
from portal.orgs.models import Organization, StaffMember
from portal.reports import counters, report_list
from portal.reports.models import CounterChange, Report, report_organizations, status_rank
from tests.followup import reporter_post, signed_in_reporter, staff_post, submitted
from tests.staff.test_report_pages import (
    change,
    file_report,
    link_to,
    page,
    report_links,
    signed_in,
)

BAD_LINK = "That page link is not valid, so here is the first page."
#: The orders a triager expects, written out independently of the rank columns.
WORKFLOW = ["received", "under_review", "referred", "closed"]
SEVERITY_ORDER = ["critical", "high", "medium", "low", None]


def reports_by_id() -> dict[int, Report]:
    db.session.expire_all()
    return {report.id: report for report in db.session.scalars(select(Report))}


def expected_order(sort: str) -> list[int]:
    """Every report in the order the dashboard must show them, computed here from the codes."""
    rows = reports_by_id().values()
    keys = {
        "newest": lambda r: (-r.received_on.toordinal(), -r.id),
        "oldest": lambda r: (r.received_on.toordinal(), r.id),
        "status": lambda r: (WORKFLOW.index(r.status), -r.id),
        "severity": lambda r: (SEVERITY_ORDER.index(r.severity), -r.id),
    }
    return [report.id for report in sorted(rows, key=keys[sort])]


def walk(client: FlaskClient, first: str, rel: str) -> list[list[int]]:
    """Follow the "next" (or "prev") links from a page; the reports of each page visited."""
    pages, path = [], first
    while path is not None:
        html = page(client, path)
        assert BAD_LINK not in html
        pages.append(report_links(html))
        path = link_to(html, rel)
        assert len(pages) < 20, "the links go round in circles"
    return pages


@pytest.fixture
def small_pages(monkeypatch):
    """Pages of four, so a dozen reports make several pages."""
    monkeypatch.setattr(report_list, "PAGE_SIZE", 4)


@pytest.fixture
def tied_reports(app, staff_client):
    """Eleven reports on two days, over every status and severity, with many ties."""
    days = (dt.date(2025, 3, 1), dt.date(2025, 3, 2))
    statuses = ["received", "closed", "under_review", "referred"]
    severities = [None, "low", "critical", "medium", "high", None]
    ids = []
    for number in range(11):
        report_id = file_report(app, f"Account {number}.", received_on=days[number % 2])
        change(report_id, status=statuses[number % 4], severity=severities[number % 6])
        ids.append(report_id)
    return ids


# --- order ----------------------------------------------------------------------------------------


def test_severity_sorts_critical_high_medium_low_then_unassessed(app, staff_client):
    client, _staff = staff_client
    made = {}
    for severity in ("medium", None, "low", "critical", "high"):
        report_id = file_report(app)
        made[severity] = report_id
        if severity is not None:
            response = staff_post(client, report_id, "triage", {"severity": severity})
            assert response.status_code == 303
    unassessed_later = file_report(app)  # ties are broken newest first

    html = page(client, "/staff/?sort=severity")

    assert report_links(html) == [made["critical"], made["high"], made["medium"], made["low"],
                                  unassessed_later, made[None]]


def test_changing_the_severity_moves_the_report(app, staff_client):
    client, _staff = staff_client
    first, second = file_report(app), file_report(app)
    staff_post(client, first, "triage", {"severity": "critical"})
    staff_post(client, second, "triage", {"severity": "low"})
    assert report_links(page(client, "/staff/?sort=severity")) == [first, second]

    staff_post(client, first, "triage", {"severity": ""})

    assert report_links(page(client, "/staff/?sort=severity")) == [second, first]


def test_status_sorts_in_the_order_of_the_work(app, staff_client):
    client, _staff = staff_client
    made = {}
    for status in ("closed", "referred", "received", "under_review"):
        made[status] = file_report(app)
        if status != "received":
            staff_post(client, made[status], "status", {"status": status, "reason": "Next step."})

    html = page(client, "/staff/?sort=status")

    assert report_links(html) == [made[status] for status in WORKFLOW]


# --- keyset pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("sort", list(report_list.SORTS))
def test_pages_forward_then_back_cover_every_report_once_in_order(staff_client, small_pages, tied_reports, sort):
    client, _staff = staff_client

    forward = walk(client, f"/staff/?sort={sort}", "next")
    last_page_link = f"/staff/?sort={sort}"
    for _ in forward[:-1]:
        last_page_link = link_to(page(client, last_page_link), "next")
    backward = walk(client, last_page_link, "prev")

    assert [len(reports) for reports in forward] == [4, 4, 3]
    assert [report_id for reports in forward for report_id in reports] == expected_order(sort)
    assert backward == forward[::-1]


def test_a_filter_pages_through_its_own_reports(staff_client, small_pages, tied_reports):
    client, _staff = staff_client
    closed = [report_id for report_id in expected_order("newest") if reports_by_id()[report_id].status == "closed"]
    for report_id in closed[:2]:
        change(report_id, status="received")
    received = [report_id for report_id in expected_order("newest") if reports_by_id()[report_id].status == "received"]

    forward = walk(client, "/staff/?status=received", "next")

    assert [report_id for reports in forward for report_id in reports] == received
    assert len(forward) == 2


def test_page_links_keep_the_sort_and_filters(staff_client, small_pages, tied_reports):
    client, _staff = staff_client

    html = page(client, "/staff/?sort=severity&province=ON&bounty=y&after=3,999")
    first = page(client, "/staff/?sort=oldest")
    second = page(client, link_to(first, "next"))

    assert BAD_LINK not in html
    assert "sort=oldest" in link_to(first, "next") and "after=" in link_to(first, "next")
    assert "sort=oldest" in link_to(second, "prev") and "before=" in link_to(second, "prev")
    assert 'href="/staff/?sort=oldest">First page</a>' in second


def test_the_first_page_has_no_previous_page_and_counts_what_fits_on_it(app, staff_client):
    client, _staff = staff_client
    for _ in range(3):
        file_report(app)

    html = page(client, "/staff/")

    assert link_to(html, "prev") is None and link_to(html, "next") is None
    assert "3 reports" in html
    assert "First page" not in html


def test_a_page_beyond_the_last_report_says_so_and_links_to_the_first(app, staff_client):
    client, _staff = staff_client
    newest = file_report(app, received_on=dt.date(2025, 5, 1))

    html = page(client, f"/staff/?after=2025-05-01,{newest}")

    assert report_links(html) == []
    assert "No reports on this page." in html
    assert 'href="/staff/">First page</a>' in html


def test_a_report_deleted_between_pages_does_not_break_the_next_link(app, staff_client, small_pages):
    client, _staff = staff_client
    for number in range(9):
        file_report(app, f"Account {number}.")
    first = page(client, "/staff/")
    boundary = report_links(first)[-1]
    staff_post(client, boundary, "delete", {"confirm": "y"})

    second = page(client, link_to(first, "next"))

    assert report_links(second) == expected_order("newest")[3:7]


@pytest.mark.parametrize(
    "query",
    [
        "after=garbage",
        "after=2025-13-01,5",
        "after=2025-02-30,5",
        "after=2025-1-01,5",
        "after=2025-01-01,abc",
        "after=2025-01-01,-1",
        "after=2025-01-01,0",
        "after=2025-01-01,99999999999999999999",
        "after=2025-01-01,2147483648",
        "after=" + "9" * 5000,
        "after=2025-01-01,5,6",
        "after=2025-01-01",
        "after=,5",
        "after=%00,5",
        "after=2025-01-01,%D9%A3",  # an Arabic-Indic digit: a digit, but not a report id
        "sort=severity&after=2025-01-01,5",  # a date where a rank belongs
        "sort=severity&after=7,5",  # no such rank
        "sort=status&after=-1,5",
        "after=3,5",  # a rank where a date belongs
        "before=garbage",
        "before=2025-01-01,1e3",
        "after=2025-01-01,5&before=nonsense",
        "sort=bogus&after=zz",
    ],
)
def test_a_hostile_page_link_shows_the_first_page_and_says_why(app, staff_client, query):
    client, _staff = staff_client
    report_id = file_report(app)

    response = client.get(f"/staff/?{query}")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert BAD_LINK in html
    assert report_links(html) == [report_id]


def test_the_bad_page_link_message_is_translated(app, staff_client):
    client, _staff = staff_client
    file_report(app)
    client.get("/lang/fr")

    html = page(client, "/staff/?after=garbage")

    assert BAD_LINK not in html
    assert "Ce lien de page n’est pas valide" in html


def test_an_empty_cursor_is_simply_the_first_page(app, staff_client):
    client, _staff = staff_client
    report_id = file_report(app)

    html = page(client, "/staff/?after=&before=")

    assert BAD_LINK not in html
    assert report_links(html) == [report_id]


# --- statements per page ----------------------------------------------------------------------------


def statements_for(client: FlaskClient, path: str) -> int:
    client.get(path)  # the first view may fold the counters; count a steady one
    sent = []

    def count(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        response = client.get(path)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(sent)


def add_reports(app: Flask, count: int, assignees: list[StaffMember]) -> None:
    """Reports with tactics and assignees varied, so loading any of them lazily would show."""
    tactics = (("THR-HARASS",), ("PRX-CONTACT", "DIG-HACK"), ("LEG-BOUNTY", "THR-VIOL", "PHY-STALK"))
    for number in range(count):
        report_id = file_report(app, f"Account {number}.")
        change(report_id, tactics=tactics[number % 3], assignee_id=assignees[number % len(assignees)].id,
               severity=("low", "high", None)[number % 3])


def test_a_page_costs_the_same_statements_for_5_and_50_reports(app, staff_client, factory, monkeypatch):
    client, staff = staff_client
    colleagues = [staff] + [factory.staff(f"colleague{n}@example.org") for n in range(4)]
    monkeypatch.setattr(report_list, "PAGE_SIZE", 50)
    add_reports(app, 5, colleagues)
    with_five = statements_for(client, "/staff/")
    assert len(report_links(page(client, "/staff/"))) == 5

    add_reports(app, 45, colleagues)
    with_fifty = statements_for(client, "/staff/")
    assert len(report_links(page(client, "/staff/"))) == 50

    assert with_five == with_fifty
    assert with_fifty <= 15


def test_a_deep_page_costs_the_same_statements_as_the_first(app, staff_client, small_pages):
    client, _staff = staff_client
    for _ in range(13):
        file_report(app)
    first = page(client, "/staff/")
    deep = page(client, link_to(page(client, link_to(first, "next")), "next"))

    assert statements_for(client, link_to(first, "next")) == statements_for(client, link_to(deep, "prev"))


def test_the_list_does_not_load_the_receipt_verifier_or_the_reporters_keys(app, staff_client):
    client, _staff = staff_client
    file_report(app)
    sent = []

    def keep(_conn, _cursor, statement, *_args) -> None:  # noqa: ANN001
        sent.append(statement)

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        page(client, "/staff/")
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)

    selected = " ".join(statement for statement in sent if "FROM reports" in statement)
    assert "reports.answers_sealed" in selected
    for column in ("receipt_verifier", "reporter_private_key_locked", "reporter_wrapped_key", "lookup_id"):
        assert f"reports.{column}" not in selected


# --- counters -------------------------------------------------------------------------------------


def shown_counters(client: FlaskClient) -> tuple[int, int, int]:
    html = page(client, "/staff/")
    found = [re.search(rf"<strong>(\d+)</strong> {name}", html) for name in ("new", "unassigned", "awaiting reply")]
    assert all(found), "a counter is missing"
    return tuple(int(match.group(1)) for match in found)  # type: ignore[union-attr]


def recounted(slug: str = "intake") -> tuple[int, int, int]:
    """The counters the slow way: every report of the organization, counted now."""
    db.session.expire_all()
    shared = (
        select(Report)
        .join(report_organizations, report_organizations.c.report_id == Report.id)
        .join(Organization, Organization.id == report_organizations.c.organization_id)
        .where(Organization.slug == slug)
    )
    reports = list(db.session.scalars(shared))
    return (
        sum(r.status == "received" for r in reports),
        sum(r.assignee_id is None and r.status != "closed" for r in reports),
        sum(bool(r.awaiting_reply) for r in reports),
    )


def assert_counters(client: FlaskClient, expected: tuple[int, int, int], slug: str = "intake") -> None:
    assert shown_counters(client) == expected
    assert recounted(slug) == expected


@pytest.fixture
def partner(app, factory, staff_client):
    factory.organization("partner", "Partner organization", default=False)
    member = factory.staff("partner@example.org", org="partner")
    return signed_in(app, member)


def test_a_submission_through_the_form_counts_as_new_and_unassigned(client, staff_client):
    staff, _member = staff_client
    assert_counters(staff, (0, 0, 0))

    submitted(client)
    submitted(client)

    assert_counters(staff, (2, 2, 0))


@pytest.mark.parametrize(
    ("status", "expected"),
    [("under_review", (0, 1, 0)), ("referred", (0, 1, 0)), ("closed", (0, 0, 0)), ("received", (1, 1, 0))],
)
def test_a_status_change_moves_the_counters(app, staff_client, status, expected):
    client, _staff = staff_client
    report_id = file_report(app)
    assert_counters(client, (1, 1, 0))

    assert staff_post(client, report_id, "status", {"status": status, "reason": "Next step."}).status_code == 303

    assert_counters(client, expected)


def test_reopening_a_closed_report_counts_it_again(app, staff_client):
    client, _staff = staff_client
    report_id = file_report(app)
    staff_post(client, report_id, "status", {"status": "closed", "reason": "Done."})
    assert_counters(client, (0, 0, 0))

    staff_post(client, report_id, "status", {"status": "under_review", "reason": "New evidence."})

    assert_counters(client, (0, 1, 0))


def test_assigning_and_unassigning_move_the_unassigned_counter(app, staff_client):
    client, staff = staff_client
    report_id = file_report(app)

    staff_post(client, report_id, "assign", {"assignee": str(staff.id)})
    assert_counters(client, (1, 0, 0))
    staff_post(client, report_id, "assign", {"assignee": ""})
    assert_counters(client, (1, 1, 0))


def test_a_referral_takes_the_report_out_of_new(app, staff_client):
    client, _staff = staff_client
    report_id = file_report(app, referral=True)

    response = staff_post(client, report_id, "referrals", {"agency": "rcmp", "file_number": "2025-1", "outcome": ""})

    assert response.status_code == 303
    assert_counters(client, (0, 1, 0))


def test_a_reporters_message_awaits_a_reply_until_staff_answer(client, staff_client):
    staff, _member = staff_client
    report_id, receipt = submitted(client)
    signed_in_reporter(client, receipt)

    assert reporter_post(client, "/follow-up/messages", {"text": "Any news?"}).status_code == 303
    assert_counters(staff, (1, 1, 1))
    assert reporter_post(client, "/follow-up/messages", {"text": "And another thing."}).status_code == 303
    assert_counters(staff, (1, 1, 1))
    assert staff_post(staff, report_id, "messages", {"text": "We are on it."}).status_code == 303
    assert_counters(staff, (1, 1, 0))


def test_sharing_counts_the_report_for_the_other_organization_too(app, staff_client, partner):
    client, _staff = staff_client
    report_id = file_report(app)
    partner_id = db.session.scalar(select(Organization.id).where(Organization.slug == "partner"))
    assert_counters(partner, (0, 0, 0), "partner")

    assert staff_post(client, report_id, "share", {"organization": str(partner_id)}).status_code == 303

    assert_counters(partner, (1, 1, 0), "partner")
    assert_counters(client, (1, 1, 0))
    staff_post(client, report_id, "status", {"status": "closed", "reason": "Done."})
    assert_counters(partner, (0, 0, 0), "partner")
    assert_counters(client, (0, 0, 0))


def test_deleting_a_report_takes_it_out_of_every_organizations_counters(app, staff_client, partner):
    client, _staff = staff_client
    report_id = file_report(app, orgs=("intake", "partner"))
    kept = file_report(app)
    assert_counters(partner, (1, 1, 0), "partner")

    assert staff_post(client, report_id, "delete", {"confirm": "y"}).status_code == 303

    assert_counters(client, (1, 1, 0))
    assert_counters(partner, (0, 0, 0), "partner")
    assert kept in report_links(page(client, "/staff/"))


def test_a_reporter_deleting_their_report_takes_it_out_of_the_counters(client, staff_client):
    staff, _member = staff_client
    _report_id, receipt = submitted(client)
    signed_in_reporter(client, receipt)
    reporter_post(client, "/follow-up/messages", {"text": "Please forget it."})
    assert_counters(staff, (1, 1, 1))

    html = client.get("/follow-up/delete").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    response = client.post("/follow-up/delete", data={"csrf_token": token, "confirm": "y"})

    assert response.status_code in (200, 303)
    assert_counters(staff, (0, 0, 0))


def test_removing_a_staff_member_leaves_their_reports_unassigned(app, staff_client, factory):
    client, _staff = staff_client
    colleague = factory.staff("colleague@example.org")
    report_id = file_report(app)
    staff_post(client, report_id, "assign", {"assignee": str(colleague.id)})
    assert_counters(client, (1, 0, 0))

    # Through the foreign key's ON DELETE SET NULL, which no application code sees.
    db.session.execute(delete(StaffMember).where(StaffMember.id == colleague.id))
    db.session.commit()

    assert_counters(client, (1, 1, 0))


def test_counters_are_folded_into_one_row_and_stay_exact(app, staff_client, monkeypatch):
    client, staff = staff_client
    monkeypatch.setattr(counters, "FOLD_AFTER", 3)
    ids = [file_report(app) for _ in range(5)]
    for report_id in ids[:2]:
        staff_post(client, report_id, "assign", {"assignee": str(staff.id)})

    assert_counters(client, (5, 3, 0))
    intake = db.session.scalar(select(Organization.id).where(Organization.slug == "intake"))
    assert db.session.scalar(select(func.count()).where(CounterChange.organization_id == intake)) == 1

    staff_post(client, ids[2], "status", {"status": "closed", "reason": "Done."})
    assert_counters(client, (4, 2, 0))


def test_an_analyst_sees_the_counters_and_no_report(app, staff_client, factory):
    _client, _staff = staff_client
    file_report(app)
    analyst = signed_in(app, factory.staff("analyst@example.org", role="analyst"))

    html = page(analyst, "/staff/")

    assert shown_counters(analyst) == (1, 1, 0)
    assert report_links(html) == []


def test_counters_stay_exact_when_shares_and_changes_of_one_report_overlap(app, staff_client, factory):
    """Pairs of transactions at once on the same report: one shares it, the other changes it."""
    _client, staff = staff_client
    factory.organization("partner", "Partner organization", default=False)
    partner_id = db.session.scalar(select(Organization.id).where(Organization.slug == "partner"))
    reports = [file_report(app) for _ in range(6)]
    changes = ({"status": "closed"}, {"assignee_id": staff.id}, {"awaiting_reply": True},
               {"status": "under_review"}, {"status": "referred", "assignee_id": staff.id}, {"awaiting_reply": True})
    start = threading.Barrier(2 * len(reports))
    failures: list[BaseException] = []
    engine = db.engine

    def in_own_transaction(work) -> None:  # noqa: ANN001
        try:
            with Session(engine) as session:
                start.wait(timeout=30)
                work(session)
                session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below, in the test's thread
            failures.append(exc)

    def share(report_id: int):
        return lambda session: session.execute(
            report_organizations.insert().values(report_id=report_id, organization_id=partner_id))

    def alter(report_id: int, values: dict):
        ranked = {**values, "status_rank": status_rank(values["status"])} if "status" in values else values
        return lambda session: session.execute(
            Report.__table__.update().where(Report.id == report_id).values(**ranked))

    threads = [threading.Thread(target=in_own_transaction, args=(work,))
               for report_id, values in zip(reports, changes, strict=True)
               for work in (share(report_id), alter(report_id, values))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    for slug, organization_id in (("intake", None), ("partner", partner_id)):
        organization_id = organization_id or db.session.scalar(select(Organization.id).where(Organization.slug == slug))
        db.session.expire_all()
        assert counters.organization_counters(db.session, organization_id) == counters.Counters(*recounted(slug))
