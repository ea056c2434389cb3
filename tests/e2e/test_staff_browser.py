"""The staff side in a real browser: first sign-in with enrolment, the dashboard, a report."""

from __future__ import annotations

from sqlalchemy import select

from portal.db import db
from portal.orgs.models import StaffMember
from tests.conftest import STAFF_PASSWORD, current_code
from tests.e2e.conftest import new_page


def test_first_sign_in_enrols_and_reaches_a_report(browser, live_portal, app):
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
    page.wait_for_url(f"{live_portal}/staff/enrol")
    qr = page.locator(".qr svg")
    assert qr.is_visible()
    assert qr.bounding_box()["width"] >= 100
    page.fill("#code", current_code(app, staff))
    page.click("form[action='/staff/enrol'] button[type=submit]")
    page.wait_for_url(f"{live_portal}/staff/")
    assert "phishing message" in page.locator("table.reports").inner_text()

    page.click("table.reports a")
    assert page.locator(".narrative").first.inner_text().endswith("<b>not bold</b>.")
    page.fill("#reason", "Looking into it")
    page.click("form[action$='/status'] button[type=submit]")
    assert "Looking into it" in page.content()
    assert page.csp_violations == []  # type: ignore[attr-defined]
