"""The reporter's pages in a real browser (Debian's Chromium, driven by Playwright).

Skipped when Chromium or Playwright is missing, unless PORTAL_REQUIRE_BROWSER is set (CI sets it),
in which case a missing browser fails the run instead of hiding these tests.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from portal.db import db
from portal.reports.models import Report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

if sync_playwright is None or CHROMIUM is None:
    if os.environ.get("PORTAL_REQUIRE_BROWSER"):
        raise RuntimeError("PORTAL_REQUIRE_BROWSER is set but Chromium or Playwright is missing")
    pytestmark = pytest.mark.skip(reason="Chromium or Playwright is not installed")


@pytest.fixture
def live_portal(make_app) -> Iterator[str]:
    """Serve a test app on a free local port, with 'Leave quickly' pointing at a local page."""
    server = make_server("127.0.0.1", 0, None, threaded=True)  # bind first, to learn the port
    base = f"http://127.0.0.1:{server.server_port}"
    app = make_app(PORTAL_LEAVE_URL=f"{base}/healthz")
    server.app = app
    with app.app_context():
        from tests.conftest import Factory

        Factory(app).portal_ready()
        db.session.remove()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield base
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def new_page(browser: Browser, *, javascript: bool, width: int = 1024) -> Page:
    context = browser.new_context(java_script_enabled=javascript, viewport={"width": width, "height": 900})
    page = context.new_page()
    page.csp_violations = []  # type: ignore[attr-defined]
    page.on(
        "console",
        lambda message: "Content Security Policy" in message.text
        and page.csp_violations.append(message.text),  # type: ignore[attr-defined]
    )
    return page


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
