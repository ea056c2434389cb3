"""Browser fixtures: Debian's Chromium driven by Playwright, against a live test server.

Browser tests are skipped when Chromium or Playwright is missing, unless PORTAL_REQUIRE_BROWSER is
set (CI sets it), in which case a missing browser fails the run instead of hiding them.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from portal.db import db

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
    BROWSER_MISSING = True
else:
    BROWSER_MISSING = False


def pytest_collection_modifyitems(config, items):  # noqa: ANN001
    if BROWSER_MISSING:
        skip = pytest.mark.skip(reason="Chromium or Playwright is not installed")
        for item in items:
            if "/e2e/" in str(item.fspath):
                item.add_marker(skip)


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


