"""The staff dashboard and a report's page, through the test client, with CSRF protection on."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.db import db
from portal.orgs.models import Organization, StaffMember
from portal.reports.models import Note, Referral, Report, ReportTactic, StatusChange, WrappedKey
from portal.reports.services import Consent, submit_report
from tests.conftest import TEST_KDF, hidden_value, send_report, sign_in, valid_report

NARRATIVE = "They called my mother in Urumqi and told her I must stop speaking."


# --- small builders and readers ---------------------------------------------------------------


def org_id(slug: str = "intake") -> int:
    return db.session.scalar(select(Organization.id).where(Organization.slug == slug))


def file_report(
    app: Flask,
    narrative: str = NARRATIVE,
    *,
    orgs: tuple[str, ...] = ("intake",),
    received_on: dt.date | None = None,
    referral: bool = False,
) -> int:
    """Store a report as the reporter form would, without the round trip through the form."""
    submitted = submit_report(
        db.session,
        answers={**valid_report(), "narrative": narrative},
        organization_ids=[org_id(slug) for slug in orgs],
        consent=Consent(statistics=True, referral=referral, contact=False),
        lookup_key=app.config["PORTAL_SECRETS"].lookup_key,
        kdf=TEST_KDF,
        today=received_on or dt.date.today(),
    )
    return submitted.report_id


def change(report_id: int, *, tactics: tuple[str, ...] = (), **columns: object) -> None:
    """Put a report in a given workflow state, as earlier triage would have."""
    report = db.session.get(Report, report_id)
    for name, value in columns.items():
        setattr(report, name, value)
    if tactics:
        report.tactics = [ReportTactic(code=code) for code in tactics]
    db.session.commit()


def report_row(report_id: int) -> Report:
    db.session.expire_all()  # the views share this session: read what they committed
    return db.session.get(Report, report_id)


def signed_in(app: Flask, staff: StaffMember) -> FlaskClient:
    client = app.test_client()
    sign_in(app, client, staff)
    return client


def page(client: FlaskClient, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.status_code
    return response.get_data(as_text=True)


def post_on_report(client: FlaskClient, report_id: int, action: str, data: dict[str, object]):
    """Send one of the forms on a report's page, as a browser would, CSRF token included."""
    html = page(client, f"/staff/reports/{report_id}")
    return client.post(
        f"/staff/reports/{report_id}/{action}",
        data={"csrf_token": hidden_value(html, "csrf_token"), **data},
    )


def events(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        )
    )


def report_links(html: str) -> list[int]:
    return [int(number) for number in re.findall(r'href="/staff/reports/(\d+)"', html)]


def link_to(html: str, rel: str) -> str | None:
    """The page link marked rel="next" or rel="prev", as a browser would follow it."""
    match = re.search(rf'href="([^"]*)" rel="{rel}"', html)
    return match.group(1).replace("&amp;", "&") if match else None


def counter(html: str, name: str) -> int:
    match = re.search(rf"<strong>(\d+)</strong> {name}", html)
    assert match, f"no {name} counter on the page"
    return int(match.group(1))


# --- the dashboard ----------------------------------------------------------------------------


def test_the_dashboard_lists_the_organizations_reports_with_an_excerpt(app, staff_client, factory):
    client, _staff = staff_client
    factory.organization("partner", "Partner organization", default=False)
    factory.staff("partner@example.org", org="partner")
    ours = file_report(app, "Our account: a man photographed me at the vigil.")
    theirs = file_report(app, "Partner-only account: a visit at home.", orgs=("partner",))

    html = page(client, "/staff/")

    assert "Our account: a man photographed me at the vigil." in html
    assert report_links(html) == [ours]
    assert "Partner-only account" not in html
    assert theirs not in report_links(html)


def test_the_dashboard_counts_new_and_unassigned_reports(app, staff_client):
    client, staff = staff_client
    under_review, assigned, _waiting, closed = (file_report(app) for _ in range(4))
    change(under_review, status="under_review")
    change(assigned, assignee_id=staff.id)
    change(closed, status="closed")

    html = page(client, "/staff/")

    assert counter(html, "new") == 2  # assigned and waiting are still "received"
    assert counter(html, "unassigned") == 2  # under_review and waiting; closed ones do not count


@pytest.fixture
def three_reports(app, staff_client, factory):
    """Alpha: new and unassigned; Bravo: bounty, mine, under review; Charlie: closed, a colleague's."""
    colleague = factory.staff("colleague@example.org")
    _client, staff = staff_client
    alpha = file_report(app, "Account alpha.", received_on=dt.date(2025, 1, 10))
    bravo = file_report(app, "Account bravo.", received_on=dt.date(2025, 2, 10))
    charlie = file_report(app, "Account charlie.", received_on=dt.date(2025, 3, 10))
    change(bravo, status="under_review", assignee_id=staff.id, tactics=["LEG-BOUNTY", "THR-VIOL"])
    change(charlie, status="closed", assignee_id=colleague.id, tactics=["THR-HARASS"])
    return {"alpha": alpha, "bravo": bravo, "charlie": charlie}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("status=under_review", {"bravo"}),
        ("status=closed", {"charlie"}),
        ("tactic=THR-HARASS", {"charlie"}),
        ("tactic=LEG-BOUNTY", {"bravo"}),
        ("bounty=y", {"bravo"}),
        ("assignee=none", {"alpha"}),
        ("assignee=me", {"bravo"}),
        ("since=2025-02-01&until=2025-02-28", {"bravo"}),
        ("since=2025-02-11", {"charlie"}),
        ("until=2025-02-10", {"alpha", "bravo"}),
        ("status=closed&assignee=me", set()),
    ],
)
def test_dashboard_filters_keep_only_matching_reports(staff_client, three_reports, query, expected):
    client, _staff = staff_client

    html = page(client, f"/staff/?{query}")

    assert set(report_links(html)) == {three_reports[name] for name in expected}
    for name in three_reports:
        assert (f"Account {name}." in html) is (name in expected), name


def test_the_dashboard_filters_by_a_colleague_as_assignee(staff_client, three_reports):
    client, _staff = staff_client
    colleague_id = db.session.scalar(
        select(StaffMember.id).where(StaffMember.email == "colleague@example.org")
    )

    html = page(client, f"/staff/?assignee={colleague_id}")

    assert report_links(html) == [three_reports["charlie"]]


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("newest", ["charlie", "bravo", "alpha"]),
        ("oldest", ["alpha", "bravo", "charlie"]),
        ("status", ["alpha", "bravo", "charlie"]),  # received, under review, closed: the workflow
    ],
)
def test_the_dashboard_sorts_reports(staff_client, three_reports, sort, order):
    client, _staff = staff_client

    html = page(client, f"/staff/?sort={sort}")

    assert report_links(html) == [three_reports[name] for name in order]


def test_the_dashboard_pages_through_many_reports(app, staff_client):
    client, _staff = staff_client
    for number in range(26):
        file_report(app, f"Account number {number}.")

    first = page(client, "/staff/")
    next_link = link_to(first, "next")
    second = page(client, next_link)

    assert len(report_links(first)) == 25
    assert link_to(first, "prev") is None
    assert len(report_links(second)) == 1
    assert link_to(second, "next") is None
    assert not set(report_links(first)) & set(report_links(second))


def test_the_next_page_link_keeps_the_filters(app, staff_client):
    client, _staff = staff_client
    for _ in range(26):
        file_report(app)

    html = page(client, "/staff/?sort=oldest&status=received")

    link = link_to(html, "next")
    assert link, "no link to the next page"
    assert "sort=oldest" in link and "status=received" in link and "after=" in link


@pytest.mark.parametrize(
    "query",
    [
        "since=not-a-date",
        "until=2025-02-30",
        "page=abc",
        "page=0",
        "page=-3",
        "page=99999999999",
        "status=bogus",
        "tactic=NOT-A-CODE",
        "sort=bogus",
        "assignee=bogus",
        "assignee=999999",
        "community=%00",
    ],
)
def test_a_malformed_filter_is_ignored_not_an_error(app, staff_client, query):
    client, _staff = staff_client
    report_id = file_report(app)

    html = page(client, f"/staff/?{query}")

    assert report_links(html) == [report_id]


def test_a_malformed_date_filter_is_explained(app, staff_client):
    client, _staff = staff_client
    file_report(app)

    html = page(client, "/staff/?since=not-a-date")

    assert "Use the form YYYY-MM-DD." in html


@pytest.mark.parametrize("query", ["_method=POST", "endpoint=x", "_scheme=http", "_external=1"])
def test_unknown_query_parameters_are_ignored_not_an_error(app, staff_client, query):
    # With more than one page, the pagination links are built from the query string.
    client, _staff = staff_client
    for _ in range(26):
        file_report(app)

    html = page(client, f"/staff/?{query}")

    assert len(report_links(html)) == 25
    assert link_to(html, "next").startswith("/staff/?after=")


def test_the_dashboard_audits_what_it_decrypted(app, staff_client):
    client, staff = staff_client
    first, second = file_report(app), file_report(app)

    page(client, "/staff/")

    (event,) = [e for e in events("report_decrypted") if e.target_type == "report_list"]
    assert event.actor_staff_id == staff.id
    assert sorted(json.loads(event.details)["report_ids"]) == [first, second]


def test_the_dashboard_escapes_the_excerpt(app, staff_client):
    client, _staff = staff_client
    file_report(app, "Look: <script>alert(1)</script> and <b>bold</b>")

    html = page(client, "/staff/")

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html and "<b>bold" not in html


# --- one report -------------------------------------------------------------------------------


def test_the_report_page_shows_every_answer_decrypted(staff_client, client):
    staff_client_, _staff = staff_client
    send_report(
        client,
        valid_report(
            organizations=[str(org_id())],
            official_identified="Second secretary Zhang at the consulate",
            bounty="yes",
            bounty_details="A notice offering one million dollars",
            communities=["uyghur", "other"],
            community_other="Kazakh diaspora",
            contact_method="email",
            contact_details="reporter@example.net",
            consent_contact="y",
        ),
    )
    report_id = db.session.scalar(select(Report.id))

    html = page(staff_client_, f"/staff/reports/{report_id}")

    for typed in (
        NARRATIVE,
        "Toronto",
        "A man who said he was from the public security bureau.",
        "Second secretary Zhang at the consulate",
        "A notice offering one million dollars",
        "Kazakh diaspora",
        "I no longer go to community events.",
        "RCMP file 2025-1234",
        "reporter@example.net",
        "2025-10",
    ):
        assert typed in html, typed
    for shown in (
        "Repeated calls or messages (THR-HARASS)",
        "Relatives questioned or warned (PRX-CONTACT)",
        "Ontario",
        "Uyghur",
        "Police in China",
        "I censor what I say",
    ):
        assert shown in html, shown


def test_the_report_page_escapes_what_the_reporter_typed(staff_client, client):
    staff_client_, _staff = staff_client
    send_report(
        client,
        valid_report(
            organizations=[str(org_id())],
            narrative="Look: <script>alert(1)</script> and <b>bold</b>",
        ),
    )
    report_id = db.session.scalar(select(Report.id))

    html = page(staff_client_, f"/staff/reports/{report_id}")

    assert "Look: &lt;script&gt;alert(1)&lt;/script&gt; and &lt;b&gt;bold&lt;/b&gt;" in html
    assert "<script>alert(1)" not in html
    assert "<b>bold" not in html


def test_viewing_a_report_is_audited(app, staff_client):
    client, staff = staff_client
    report_id = file_report(app)

    page(client, f"/staff/reports/{report_id}")

    (event,) = [e for e in events("report_decrypted") if e.target_type == "report"]
    assert (event.actor_staff_id, event.target_id) == (staff.id, report_id)


def test_a_report_of_another_organization_is_not_found(app, staff_client, factory):
    client, _staff = staff_client
    factory.organization("partner", "Partner organization", default=False)
    factory.staff("partner@example.org", org="partner")
    theirs = file_report(app, orgs=("partner",))

    assert client.get(f"/staff/reports/{theirs}").status_code == 404
    assert client.get("/staff/reports/999999").status_code == 404


# --- status -------------------------------------------------------------------------------------

REASON = "Spoke with the lawyer of the reporter, who confirms the calls."


def test_changing_the_status_records_the_reason_encrypted(app, staff_client):
    client, staff = staff_client
    report_id = file_report(app)

    response = post_on_report(
        client, report_id, "status", {"status": "under_review", "reason": REASON}
    )

    assert response.status_code == 303
    assert report_row(report_id).status == "under_review"
    assert REASON in page(client, f"/staff/reports/{report_id}")
    (change,) = db.session.scalars(select(StatusChange).where(StatusChange.report_id == report_id))
    assert change.status == "under_review" and change.staff_member_id == staff.id
    assert REASON.encode() not in change.reason_sealed
    assert b"lawyer" not in change.reason_sealed
    (event,) = events("report_status_changed")
    assert (event.actor_staff_id, event.target_id) == (staff.id, report_id)
    assert REASON not in event.details


def test_a_status_change_without_a_reason_changes_nothing(app, staff_client):
    client, _staff = staff_client
    report_id = file_report(app)

    response = post_on_report(client, report_id, "status", {"status": "closed", "reason": "   "})

    assert response.status_code == 422
    assert "Please give a reason." in response.get_data(as_text=True)
    assert report_row(report_id).status == "received"
    assert db.session.scalar(select(func.count(StatusChange.id))) == 0
    assert events("report_status_changed") == []


# --- triage record ------------------------------------------------------------------------------

TRIAGE = {
    "tactics": ["THR-HARASS", "LEG-BOUNTY"],
    "severity": "high",
    "credibility": "likely",
    "community": "tibetan",
    "province": "BC",
    "month": "2025-09",
    "perpetrator_type": "prc_diplomat",
}


def test_the_triage_record_is_saved_as_plain_codes(app, staff_client):
    client, staff = staff_client
    original = file_report(app)
    report_id = file_report(app)

    response = post_on_report(
        client, report_id, "triage", {**TRIAGE, "duplicate_of": str(original)}
    )

    assert response.status_code == 303
    report = report_row(report_id)
    assert report.tactic_codes == ["LEG-BOUNTY", "THR-HARASS"]
    assert (report.severity, report.credibility) == ("high", "likely")
    assert (report.community, report.province, report.perpetrator_type) == (
        "tibetan",
        "BC",
        "prc_diplomat",
    )
    assert report.incident_month == dt.date(2025, 9, 1)
    assert report.duplicate_of_id == original
    assert report.triaged_at is not None
    (event,) = events("report_triaged")
    assert (event.actor_staff_id, event.target_id) == (staff.id, report_id)


def test_a_bad_month_keeps_what_was_typed_and_saves_nothing(app, staff_client):
    client, _staff = staff_client
    report_id = file_report(app)

    response = post_on_report(client, report_id, "triage", {**TRIAGE, "month": "2025-13"})

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'value="2025-13"' in html
    assert "Write the month as YYYY-MM" in html
    report = report_row(report_id)
    assert report.triaged_at is None and report.severity is None and report.tactic_codes == []
    assert events("report_triaged") == []


def test_a_report_of_another_organization_cannot_be_the_original(app, staff_client, factory):
    client, _staff = staff_client
    factory.organization("partner", "Partner organization", default=False)
    theirs = file_report(app, orgs=("partner",))
    report_id = file_report(app)

    response = post_on_report(client, report_id, "triage", {**TRIAGE, "duplicate_of": str(theirs)})

    assert response.status_code == 422
    assert "There is no such report to mark as the original." in response.get_data(as_text=True)
    report = report_row(report_id)
    assert report.duplicate_of_id is None and report.triaged_at is None


def test_a_report_cannot_duplicate_itself(app, staff_client):
    client, _staff = staff_client
    report_id = file_report(app)

    response = post_on_report(
        client, report_id, "triage", {**TRIAGE, "duplicate_of": str(report_id)}
    )

    assert response.status_code == 422
    report = report_row(report_id)
    assert report.duplicate_of_id is None and report.triaged_at is None


# --- notes --------------------------------------------------------------------------------------

NOTE = "Called back on Signal; the reporter fears for a brother in Kashgar."


def test_a_note_is_shown_encrypted_at_rest_and_audited(app, staff_client):
    client, staff = staff_client
    report_id = file_report(app)

    response = post_on_report(client, report_id, "notes", {"text": NOTE})

    assert response.status_code == 303
    assert "Called back on Signal; the reporter fears for a brother in Kashgar." in page(
        client, f"/staff/reports/{report_id}"
    )
    (note,) = db.session.scalars(select(Note).where(Note.report_id == report_id))
    assert NOTE.encode() not in note.body_sealed and b"Kashgar" not in note.body_sealed
    (event,) = events("note_added")
    assert (event.actor_staff_id, event.target_id) == (staff.id, report_id)
    assert "Kashgar" not in event.details


def test_an_empty_note_is_refused(app, staff_client):
    client, _staff = staff_client
    report_id = file_report(app)

    response = post_on_report(client, report_id, "notes", {"text": "  "})

    assert response.status_code == 422
    assert "The note is empty." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Note.id))) == 0


# --- assignment ---------------------------------------------------------------------------------


def test_a_report_is_assigned_to_a_colleague_who_holds_its_key(app, staff_client, factory):
    client, staff = staff_client
    colleague = factory.staff("colleague@example.org")
    report_id = file_report(app)

    response = post_on_report(client, report_id, "assign", {"assignee": str(colleague.id)})

    assert response.status_code == 303
    assert report_row(report_id).assignee_id == colleague.id
    (event,) = events("report_assigned")
    assert (event.actor_staff_id, event.target_id) == (staff.id, report_id)


def test_a_report_is_not_assigned_to_someone_who_cannot_read_it(app, staff_client, factory):
    client, _staff = staff_client
    report_id = file_report(app)
    newcomer = factory.staff("newcomer@example.org")  # joined after the report: no key

    response = post_on_report(client, report_id, "assign", {"assignee": str(newcomer.id)})

    assert response.status_code == 422
    assert report_row(report_id).assignee_id is None
    assert events("report_assigned") == []


# --- sharing ------------------------------------------------------------------------------------


def test_sharing_gives_the_other_organization_the_key(app, staff_client, factory):
    client, staff = staff_client
    partner_org = factory.organization("partner", "Partner organization", default=False)
    partner = factory.staff("partner@example.org", org="partner")
    partner_client = signed_in(app, partner)
    report_id = file_report(app)
    assert partner_client.get(f"/staff/reports/{report_id}").status_code == 404

    response = post_on_report(client, report_id, "share", {"organization": str(partner_org.id)})

    assert response.status_code == 303
    assert (
        db.session.scalar(
            select(func.count()).where(
                WrappedKey.report_id == report_id, WrappedKey.staff_member_id == partner.id
            )
        )
        == 1
    )
    assert NARRATIVE in page(partner_client, f"/staff/reports/{report_id}")
    (event,) = events("report_shared")
    assert (event.actor_staff_id, event.target_id) == (staff.id, report_id)
    assert json.loads(event.details)["organization"] == partner_org.id


# --- referrals ----------------------------------------------------------------------------------

FILE_NUMBER = "RCMP-2025-998877"


def test_a_referral_without_consent_is_refused(app, staff_client):
    client, _staff = staff_client
    report_id = file_report(app, referral=False)

    response = post_on_report(
        client, report_id, "referrals", {"agency": "rcmp", "file_number": FILE_NUMBER}
    )

    assert response.status_code == 422
    assert "did not consent to a referral" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Referral.id))) == 0
    assert report_row(report_id).status == "received"
    assert events("report_referred") == []


def test_a_referral_with_consent_is_recorded_sealed(app, staff_client):
    client, staff = staff_client
    report_id = file_report(app, referral=True)

    response = post_on_report(
        client,
        report_id,
        "referrals",
        {"agency": "rcmp", "file_number": FILE_NUMBER, "outcome": "Officer assigned"},
    )

    assert response.status_code == 303
    (referral,) = db.session.scalars(select(Referral).where(Referral.report_id == report_id))
    assert referral.agency == "rcmp"
    assert FILE_NUMBER.encode() not in referral.details_sealed
    assert report_row(report_id).status == "referred"
    assert FILE_NUMBER in page(client, f"/staff/reports/{report_id}")
    (event,) = events("report_referred")
    assert (event.actor_staff_id, event.target_id) == (staff.id, report_id)
    assert FILE_NUMBER not in event.details


# --- who may read -------------------------------------------------------------------------------


def test_a_member_without_the_key_sees_no_key_yet(app, staff_client, factory):
    report_id = file_report(app)
    newcomer = factory.staff("newcomer@example.org")  # joined after the report was sent
    newcomer_client = signed_in(app, newcomer)

    html = page(newcomer_client, f"/staff/reports/{report_id}", status=403)

    assert "its key has not been given to you yet" in html
    assert NARRATIVE not in html
    dashboard = page(newcomer_client, "/staff/")
    assert report_links(dashboard) == [report_id]
    assert "No key yet" in dashboard and NARRATIVE not in dashboard


def test_a_member_without_the_key_cannot_change_the_report(app, staff_client, factory):
    report_id = file_report(app)
    newcomer_client = signed_in(app, factory.staff("newcomer@example.org"))
    token = hidden_value(page(newcomer_client, "/staff/"), "csrf_token")

    response = newcomer_client.post(
        f"/staff/reports/{report_id}/status",
        data={"csrf_token": token, "status": "closed", "reason": "x"},
    )

    assert response.status_code == 403
    assert report_row(report_id).status == "received"


def test_an_analyst_sees_counters_but_no_report(app, staff_client, factory):
    analyst_client = signed_in(app, factory.staff("analyst@example.org", role="analyst"))
    report_id = file_report(app)

    html = page(analyst_client, "/staff/")

    assert "aggregate statistics only" in html
    assert 'class="counters"' in html
    assert NARRATIVE not in html and report_links(html) == []
    assert analyst_client.get(f"/staff/reports/{report_id}").status_code == 404


def test_an_analysts_counters_count_the_organizations_reports(app, staff_client, factory):
    analyst_client = signed_in(app, factory.staff("analyst@example.org", role="analyst"))
    file_report(app)
    file_report(app)

    html = page(analyst_client, "/staff/")

    assert counter(html, "new") == 2
    assert counter(html, "unassigned") == 2
