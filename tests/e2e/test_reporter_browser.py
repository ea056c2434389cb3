"""The reporter's pages in a real browser (Debian's Chromium, driven by Playwright)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.db import db
from portal.reports.models import Report
from tests.e2e.conftest import new_page


def stored_reports() -> int:
    return db.session.scalar(select(func.count(Report.id)))


def test_a_report_can_be_sent_without_javascript(browser, live_portal, app):
    page = new_page(browser, javascript=False)
    page.goto(f"{live_portal}/report")
    page.check("#tactic-PRX-CONTACT")
    page.fill("#narrative", "Police visited my parents in Lhasa after I spoke at a vigil.")
    page.check("#consent_read")
    page.click("button[type=submit]")
    receipt = page.locator("#receipt").inner_text()
    assert len(receipt.replace(" ", "")) == 25
    page.click("text=I have saved my receipt")
    assert page.locator("h1").inner_text() == "Thank you. What happens next"
    assert stored_reports() == 1
    cookie = next(c for c in page.context.cookies() if c["name"] == "__Host-portal")
    assert cookie["secure"] and cookie["httpOnly"] and cookie["sameSite"] == "Strict"


def test_errors_keep_what_was_typed_in_the_browser(browser, live_portal, app):
    page = new_page(browser, javascript=False)
    page.goto(f"{live_portal}/report")
    page.fill("#narrative", "Text I wrote for a long time 我写了很久")
    page.fill("#city", "Richmond")
    page.click("button[type=submit]")
    assert page.locator(".error-summary").is_visible()
    assert page.input_value("#narrative") == "Text I wrote for a long time 我写了很久"
    assert page.input_value("#city") == "Richmond"
    page.click(".error-summary a[href='#tactics']")
    assert page.url.endswith("#tactics")
    assert stored_reports() == 0


def test_pages_run_under_the_content_security_policy(browser, live_portal):
    page = new_page(browser, javascript=True)
    for path in ("/", "/report", "/missing"):
        page.goto(f"{live_portal}{path}")
        # The stylesheet applied: the leave button has its colour, so nothing was blocked.
        colour = page.eval_on_selector("#leave-quickly", "e => getComputedStyle(e).backgroundColor")
        assert colour == "rgb(138, 28, 28)"
    assert page.csp_violations == []  # type: ignore[attr-defined]


def test_escape_twice_leaves_and_replaces_the_history_entry(browser, live_portal):
    page = new_page(browser, javascript=True)
    page.goto(f"{live_portal}/")
    page.goto(f"{live_portal}/report")
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    page.wait_for_url(f"{live_portal}/healthz")
    page.go_back()
    assert page.url == f"{live_portal}/"  # the report form is no longer in the history


def test_the_leave_button_works_without_javascript(browser, live_portal):
    page = new_page(browser, javascript=False)
    page.goto(f"{live_portal}/report")
    page.click("#leave-quickly")
    page.wait_for_url(f"{live_portal}/healthz")


@pytest.mark.parametrize("path", ["/", "/report"])
def test_pages_fit_a_320_pixel_screen(browser, live_portal, path):
    page = new_page(browser, javascript=False, width=320)
    page.goto(f"{live_portal}{path}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320


def test_files_and_follow_up_without_javascript(browser, live_portal, app, tmp_path):
    evidence = tmp_path / "threat-screenshot.png"
    evidence.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 2048)
    page = new_page(browser, javascript=False)
    page.goto(f"{live_portal}/report")
    page.check("#tactic-THR-VIOL")
    page.fill("#narrative", "A voice message threatening my sister.")
    page.set_input_files("#evidence", [str(evidence)])
    page.check("#consent_read")
    page.click("button[type=submit]")
    receipt = page.locator("#receipt").inner_text()

    page.goto(f"{live_portal}/follow-up")
    page.fill("#receipt", receipt.replace(" ", "-"))
    page.click("form[action='/follow-up'] button[type=submit]")
    page.wait_for_url(f"{live_portal}/follow-up/report")
    assert "threat-screenshot.png" in page.content()
    assert "Never before this visit" in page.content()
    page.fill("#text", "Another call came today.")
    page.click("form[action='/follow-up/messages'] button[type=submit]")
    assert "Another call came today." in page.content()
    assert page.csp_violations == []  # type: ignore[attr-defined]
