"""The staff side in a real browser: first sign-in with the code, the dashboard, a report."""

from __future__ import annotations

from sqlalchemy import select

from portal.db import db
from portal.orgs.models import StaffMember
from tests.conftest import STAFF_PASSWORD, current_code
from tests.e2e.conftest import new_page


def test_first_sign_in_needs_the_code_and_reaches_a_report(browser, live_portal, app):
    staff = db.session.scalars(select(StaffMember)).one()
    page = new_page(browser, javascript=True)
    # A report to look at, sent the way a reporter would.
    page.goto(f"{live_portal}/report")
    page.check("#tactic-DIG-HACK")
    page.fill("#narrative", "A phishing message pretending to be my bank <b>not bold</b>.")
    page.check("#consent_read")
    page.click("button[type=submit]")
    assert page.locator("#receipt").is_visible()

    page.goto(f"{live_portal}/staff/login")
    page.fill("#email", staff.email)
    page.fill("#password", STAFF_PASSWORD)
    page.click("button[type=submit]")
    assert "The email, password or code is not right." in page.content()  # the code is needed at once
    page.fill("#password", STAFF_PASSWORD)
    page.fill("#code", current_code(app, staff))
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_portal}/staff/")
    assert "phishing message" in page.locator("table.reports").inner_text()

    page.click("table.reports a")
    assert page.locator(".narrative").first.inner_text().endswith("<b>not bold</b>.")
    page.fill("#reason", "Looking into it")
    page.click("form[action$='/status#workflow'] button[type=submit]")
    assert "Looking into it" in page.content()
    assert page.csp_violations == []  # type: ignore[attr-defined]


def test_paging_the_dashboard_and_linking_an_official_found_by_search(browser, live_portal, app, monkeypatch):
    from portal.reports import report_list
    from tests.officials import add_person
    from tests.staff.test_report_pages import file_report

    monkeypatch.setattr(report_list, "PAGE_SIZE", 5)  # the live server runs in this process
    reports = [file_report(app, f"Account number {number}.") for number in range(12)]
    person = add_person(name_latin="Gao Fenglin", name_chinese="高峰林")
    staff = db.session.scalars(select(StaffMember)).one()
    staff.totp_confirmed = True
    db.session.commit()

    page = new_page(browser, javascript=False)  # paging and searching need no JavaScript
    page.goto(f"{live_portal}/staff/login")
    page.fill("#email", staff.email)
    page.fill("#password", STAFF_PASSWORD)
    page.fill("#code", current_code(app, staff))
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_portal}/staff/")

    def listed() -> list[int]:
        return [int(text) for text in page.locator("table.reports tbody td:first-child a").all_inner_texts()]

    newest_first = sorted(reports, reverse=True)
    forward = [listed()]
    while page.locator("a[rel=next]").count():
        page.click("a[rel=next]")
        forward.append(listed())
    assert forward == [newest_first[0:5], newest_first[5:10], newest_first[10:12]]
    page.click("a[rel=prev]")
    assert listed() == newest_first[5:10]
    page.click("a[rel=prev]")
    assert listed() == newest_first[0:5]
    assert page.locator("a[rel=prev]").count() == 0

    page.click(f"table.reports a[href='/staff/reports/{newest_first[0]}']")
    page.fill("#person-query", "高峰")
    page.click("form[role=search] button[type=submit]")
    page.check(f"input[name=person_id][value='{person.id}']")
    page.click("form[action$='/links#links'] button[type=submit]")
    assert page.locator(f"#h-links ~ ul a[href='/staff/officials/people/{person.id}']").inner_text() == "Gao Fenglin 高峰林"
    assert page.csp_violations == []  # type: ignore[attr-defined]
