"""Staff signing in at the same moment, on a real server with the production Argon2id cost: each
sign-in is one derivation that checks the password and opens the private key, and overlapping
ones all complete (they hung, then failed with MemoryError, on cryptography's Argon2id)."""

from __future__ import annotations

import concurrent.futures

import pytest

from tests.live import STAFF_EMAIL, LivePortal, StaffBrowser

pytestmark = pytest.mark.slow

AT_ONCE = 8


def test_eight_sign_ins_at_once_all_open_a_session(tmp_path, live_database_url):
    portal = LivePortal(tmp_path / "portal", database_url=live_database_url).set_up()
    emails = [f"member{n}@example.org" for n in range(AT_ONCE)]
    browsers = [StaffBrowser(portal.url, portal.add_staff(email), email=email) for email in emails]
    with portal.start():
        for browser in browsers:
            browser.base = portal.url

        def sign_in(browser: StaffBrowser) -> int:
            return browser.form_post(
                "/staff/login", {"email": browser.email, "password": browser.password, "code": browser.current_code()}
            ).status

        with concurrent.futures.ThreadPoolExecutor(AT_ONCE) as pool:
            statuses = list(pool.map(sign_in, browsers))
        assert statuses == [303] * AT_ONCE
        for browser in browsers:
            assert browser.get("/staff/").status == 200  # each holds a session of its own
    assert "Traceback" not in portal.log_file.read_text(errors="replace")


def test_wrong_passwords_at_once_are_each_counted_and_none_breaks(tmp_path, live_database_url):
    """Two failures at the same moment once both found no throttle row and both inserted one:
    a unique-key error, and HTTP 500 for the second."""
    from sqlalchemy import select

    from portal.db import db
    from portal.staff.models import SignInThrottle

    portal = LivePortal(tmp_path / "portal", database_url=live_database_url).set_up()
    with portal.start():
        def wrong(_: int) -> int:
            browser = StaffBrowser(portal.url, portal.otpauth_uri)
            return browser.form_post("/staff/login", {"email": STAFF_EMAIL, "password": "not it at all", "code": ""}).status

        with concurrent.futures.ThreadPoolExecutor(AT_ONCE) as pool:
            statuses = list(pool.map(wrong, range(AT_ONCE)))
    assert set(statuses) <= {422, 429} and 422 in statuses
    with portal.app().app_context():
        assert db.session.scalars(select(SignInThrottle.failures)).one() == statuses.count(422)
        db.session.remove()
        db.engine.dispose()
