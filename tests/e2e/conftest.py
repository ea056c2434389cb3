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


# --- against a real server process (tests/live.py): staff in the browser, downloads ------------


@pytest.fixture
def gunicorn_portal(tmp_path, live_database_url) -> Iterator:
    """A portal set up with the `portal` command and served by gunicorn, as in production."""
    from tests.live import LivePortal

    portal = LivePortal(tmp_path / "portal", database_url=live_database_url, server="gunicorn-sync").set_up()
    with portal.start():
        yield portal


class Authenticator:
    """A staff member's authenticator app: six-digit codes from the shared secret.

    Each time step is used at most once, as the portal refuses a code it has seen: asking for a
    second code waits for the next step (up to 30 s), so a journey gives each person one sign-in.
    """

    def __init__(self, secret: bytes) -> None:
        self.secret = secret
        self.last_step = -1

    @classmethod
    def from_uri(cls, otpauth_uri: str) -> Authenticator:
        """The app that scanned the ``otpauth://`` URI `portal staff add` printed."""
        from urllib.parse import parse_qs, urlsplit

        return cls.from_key_text(parse_qs(urlsplit(otpauth_uri).query)["secret"][0])

    @classmethod
    def from_key_text(cls, text: str) -> Authenticator:
        """The app into which the key shown on the enrolment page was typed (spaces and all)."""
        import base64

        encoded = "".join(text.split()).upper()
        return cls(base64.b32decode(encoded + "=" * (-len(encoded) % 8)))

    def code(self, *, again: bool = False) -> str:
        """The code the app shows now; with ``again``, the last one shown, if it is still current."""
        import time

        from portal.orgs.services import totp_for

        step = int(time.time()) // 30
        if not again:
            while step <= self.last_step:
                time.sleep(0.5)
                step = int(time.time()) // 30
        self.last_step = step
        return totp_for(self.secret).generate(step * 30).decode()


def staff_page(browser: Browser, *, javascript: bool = True) -> Page:
    """A staff member's own browser; a missing control fails in seconds rather than half a minute."""
    page = new_page(browser, javascript=javascript)
    page.set_default_timeout(15_000)
    return page


def sign_in_with_authenticator(page: Page, base: str, email: str, password: str, app: Authenticator) -> None:
    """Sign in as a person whose account was made with `portal staff add`: email, password and
    the code from the authenticator that holds the secret the command printed.

    Such an account's code is checked from the first sign-in. Older portals showed the
    enrolment page instead and took the code there; that page is completed if it appears.
    """
    from urllib.parse import urlsplit

    page.goto(f"{base}/staff/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.fill("#code", app.code())
    page.get_by_role("button", name="Sign in", exact=True).click()
    if urlsplit(page.url).path == "/staff/enrol":
        page.fill("#code", app.code(again=True))  # not used yet: the sign-in did not check it
        page.get_by_role("button", name="Confirm", exact=True).click()
    if urlsplit(page.url).path != "/staff/":
        raise AssertionError(f"{email} did not reach the dashboard but {page.url}: {main_text(page)[:500]}")


def main_text(page: Page) -> str:
    """What the page says, as the person reads it."""
    return page.locator("main").inner_text() if page.locator("main").count() else page.content()


def download(page: Page, link, *, timeout: float = 60):  # noqa: ANN001, ANN201 - Locator, Download
    """Click a link that should download a file; fail at once, with what the page showed, if the
    server answers an error instead."""
    import time
    from urllib.parse import urlsplit

    path = urlsplit(link.get_attribute("href")).path
    started, refused = [], []

    def on_response(response) -> None:  # noqa: ANN001
        if urlsplit(response.url).path == path and response.status >= 400:
            refused.append(response.status)

    def on_download(item) -> None:  # noqa: ANN001 - a Download
        started.append(item)

    page.on("download", on_download)
    page.on("response", on_response)
    try:
        link.click()
        deadline = time.monotonic() + timeout
        while not started and not refused and time.monotonic() < deadline:
            page.wait_for_timeout(50)
    finally:
        page.remove_listener("download", on_download)
        page.remove_listener("response", on_response)
    if not started:
        answer = f"HTTP {refused[0]}" if refused else f"nothing in {timeout} s"
        raise AssertionError(f"GET {path} downloaded {answer}; the browser shows: {main_text(page)[:300]!r}")
    return started[0]


def sha256_of(path) -> str:  # noqa: ANN001
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1024 * 1024):
            digest.update(block)
    return digest.hexdigest()
