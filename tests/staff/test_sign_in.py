"""Staff sign-in: password and second factor, generic errors, throttling, replay, enrolment."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from portal import crypto
from portal.audit.models import AuditEvent
from portal.db import db
from portal.orgs.services import is_common_password
from portal.staff import services
from portal.staff.models import SignInThrottle, StaffSession
from tests.conftest import STAFF_PASSWORD, TEST_KDF, current_code, hidden_value, sign_in

GENERIC_ERROR = "The email, password or code is not right."


@pytest.fixture
def member(factory):
    factory.organization()
    staff = factory.staff()
    staff.totp_confirmed = True
    db.session.commit()
    return staff


def attempt(client, email, password, code=""):
    html = client.get("/staff/login").get_data(as_text=True)
    return client.post(
        "/staff/login",
        data={"csrf_token": hidden_value(html, "csrf_token"), "email": email, "password": password, "code": code},
    )


def test_a_member_signs_in_with_password_and_code(app, client, member):
    response = attempt(client, member.email, STAFF_PASSWORD, current_code(app, member))
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.action == "sign_in")).one().actor_staff_id == member.id


def test_the_staff_cookie_is_locked_down(app, client, member):
    response = attempt(client, member.email, STAFF_PASSWORD, current_code(app, member))
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("__Host-staff="))
    for flag in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert flag in cookie
    assert "Domain=" not in cookie and "Expires=" not in cookie


@pytest.mark.parametrize(
    "change",
    [
        {"password": "wrong password entirely"},
        {"code": "000000"},
        {"code": ""},
        {"email": "nobody@example.org"},
    ],
)
def test_every_failure_gets_the_same_answer(app, client, member, change):
    fields = {"email": member.email, "password": STAFF_PASSWORD, "code": current_code(app, member), **change}
    response = attempt(client, **fields)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert GENERIC_ERROR in html
    assert client.get("/staff/").status_code == 302


@pytest.mark.parametrize("email", ["nobody@example.org", "member"])
def test_a_sign_in_costs_one_argon2id_derivation_whether_the_email_exists_or_not(app, member, derivations, email):
    crypto.decoy_lock(app.config["PORTAL_KDF"])  # made once per process, not per attempt
    derivations.clear()
    with pytest.raises(services.SignInFailed):
        services.sign_in(
            db.session, email=member.email if email == "member" else email, password="whatever", code="",
            rate_limit_key=app.config["PORTAL_SECRETS"].rate_limit_key,
            totp_key=app.config["PORTAL_SECRETS"].totp_key, kdf=app.config["PORTAL_KDF"],
            now=dt.datetime.now(dt.UTC),
        )
    assert len(derivations) == 1


def test_a_used_code_is_refused_the_second_time(app, client, member):
    code = current_code(app, member)
    assert attempt(client, member.email, STAFF_PASSWORD, code).status_code == 303
    other = app.test_client()
    replay = attempt(other, member.email, STAFF_PASSWORD, code)
    assert replay.status_code == 422
    assert GENERIC_ERROR in replay.get_data(as_text=True)


def test_an_older_code_is_refused_after_a_newer_one(app, member):
    now = dt.datetime.now(dt.UTC)
    older = current_code(app, member, at=now - dt.timedelta(seconds=30))
    totp_key = app.config["PORTAL_SECRETS"].totp_key
    assert services.accept_code(member, current_code(app, member, at=now), totp_key=totp_key, now=now)
    assert not services.accept_code(member, older, totp_key=totp_key, now=now)


def test_codes_from_a_neighbouring_time_step_are_accepted(app, member):
    now = dt.datetime.now(dt.UTC)
    late = current_code(app, member, at=now - dt.timedelta(seconds=30))
    assert services.accept_code(member, late, totp_key=app.config["PORTAL_SECRETS"].totp_key, now=now)


def test_growing_delays_after_repeated_failures(app, client, member):
    for _ in range(services.FREE_FAILURES):
        assert attempt(client, member.email, "wrong password entirely").status_code == 422
    # Now even the right password waits: the delay is not lifted by guessing well.
    right = attempt(client, member.email, STAFF_PASSWORD, current_code(app, member))
    assert right.status_code == 429
    assert "Too many attempts" in right.get_data(as_text=True)
    throttle = db.session.scalars(select(SignInThrottle)).one()
    assert throttle.failures == services.FREE_FAILURES
    assert member.email.encode() not in throttle.email_key


def test_delays_grow_and_are_capped():
    delays = [services.delay_after(n) for n in range(0, 15)]
    assert delays[: services.FREE_FAILURES] == [dt.timedelta(0)] * services.FREE_FAILURES
    assert delays[services.FREE_FAILURES] == dt.timedelta(seconds=15)
    assert all(later >= earlier for earlier, later in zip(delays, delays[1:], strict=False))
    assert delays[-1] == services.MAX_DELAY


def test_unknown_emails_are_throttled_exactly_like_real_ones(app, client, member):
    for _ in range(services.FREE_FAILURES):
        attempt(client, "nobody@example.org", "wrong password entirely")
    assert attempt(client, "nobody@example.org", "wrong password entirely").status_code == 429


def test_a_success_resets_the_count(app, client, member):
    for _ in range(services.FREE_FAILURES - 1):
        attempt(client, member.email, "wrong password entirely")
    assert attempt(client, member.email, STAFF_PASSWORD, current_code(app, member)).status_code == 303
    assert db.session.scalars(select(SignInThrottle)).all() == []
    attempt(app.test_client(), member.email, "wrong password entirely")
    assert db.session.scalars(select(SignInThrottle)).one().failures == 1


def test_failed_sign_ins_are_audited(app, client, member):
    attempt(client, member.email, "wrong password entirely")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "sign_in_failed")).one()
    assert event.target_id == member.id
    assert "wrong password" not in (event.details or "")


def test_a_cli_made_account_needs_its_code_from_the_first_sign_in(app, client, factory):
    factory.organization()
    staff = factory.staff()  # made by the CLI, which printed the authenticator's secret

    without_code = attempt(client, staff.email, STAFF_PASSWORD)
    wrong_code = attempt(client, staff.email, STAFF_PASSWORD, "000000")

    for refused in (without_code, wrong_code):
        assert refused.status_code == 422
        assert GENERIC_ERROR in refused.get_data(as_text=True)
    # The password alone never reaches the page that shows the secret.
    assert client.get("/staff/enrol").status_code == 302
    assert "secret=" not in without_code.get_data(as_text=True)

    signed_in = attempt(client, staff.email, STAFF_PASSWORD, current_code(app, staff))
    assert signed_in.headers["Location"] == "/staff/"
    db.session.refresh(staff)
    assert staff.totp_confirmed


def invited_member(app, factory):
    from portal.orgs.models import Organization

    factory.organization()
    organization = db.session.scalars(select(Organization)).one()
    return services.invite_staff_member(
        db.session, email="new@example.org", organization=organization, role="triager",
        kdf=TEST_KDF,
        totp_key=app.config["PORTAL_SECRETS"].totp_key, now=dt.datetime.now(dt.UTC),
    )


def test_an_invited_member_enrols_with_the_setup_code(app, client, factory):
    invited = invited_member(app, factory)
    db.session.commit()
    staff = invited.staff

    response = attempt(client, staff.email, invited.setup_code)

    assert response.headers["Location"] == "/staff/enrol"
    assert client.get("/staff/").headers["Location"] == "/staff/enrol"
    page = client.get("/staff/enrol").get_data(as_text=True)
    assert "<svg" in page and "<img" not in page
    wrong = client.post("/staff/enrol", data={"csrf_token": hidden_value(page, "csrf_token"), "code": "000000"})
    assert wrong.status_code == 422
    done = client.post("/staff/enrol", data={"csrf_token": hidden_value(page, "csrf_token"), "code": current_code(app, staff)})
    assert done.headers["Location"] == "/staff/password"
    db.session.refresh(staff)
    assert staff.totp_confirmed


def test_once_enrolled_the_setup_code_alone_no_longer_signs_in(app, client, factory):
    invited = invited_member(app, factory)
    invited.staff.totp_confirmed = True  # enrolled, but the password not chosen yet
    db.session.commit()

    response = attempt(client, invited.staff.email, invited.setup_code)

    assert response.status_code == 422
    assert attempt(client, invited.staff.email, invited.setup_code, current_code(app, invited.staff)).status_code == 303


def test_sign_out_wipes_the_session(app, client, member):
    sign_in(app, client, member)
    assert db.session.scalars(select(StaffSession)).all()
    page = client.get("/staff/").get_data(as_text=True)
    response = client.post("/staff/logout", data={"csrf_token": hidden_value(page, "csrf_token")})
    assert response.status_code == 303
    assert db.session.scalars(select(StaffSession)).all() == []
    assert client.get("/staff/").status_code == 302
    cleared = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("__Host-staff="))
    assert re.search(r"Expires=Thu, 01 Jan 1970", cleared)


@pytest.mark.parametrize("password", ["qwerty123456", "Password1234!", "abcabcabcabc", "iloveyou2020!!"])
def test_common_passwords_are_refused(password):
    assert is_common_password(password)


def test_a_long_uncommon_password_is_fine():
    assert not is_common_password("lantern orbit velvet harbour")


def test_the_delay_ends_on_its_own(app, client, member):
    for _ in range(services.FREE_FAILURES):
        attempt(client, member.email, "wrong password entirely")
    throttle = db.session.scalars(select(SignInThrottle)).one()
    throttle.blocked_until = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    db.session.commit()
    assert attempt(client, member.email, STAFF_PASSWORD, current_code(app, member)).status_code == 303


def test_an_expired_setup_code_does_not_sign_in(app, client, factory):
    from portal.orgs.models import Organization

    factory.organization()
    organization = db.session.scalars(select(Organization)).one()
    invited = services.invite_staff_member(
        db.session, email="new@example.org", organization=organization, role="triager",
        kdf=app.config["PORTAL_KDF"], totp_key=app.config["PORTAL_SECRETS"].totp_key,
        now=dt.datetime.now(dt.UTC) - services.SETUP_CODE_LIFETIME - dt.timedelta(minutes=1),
    )
    db.session.commit()
    response = attempt(client, "new@example.org", invited.setup_code)
    assert response.status_code == 422
    assert GENERIC_ERROR in response.get_data(as_text=True)


def test_a_successful_sign_in_costs_one_derivation(app, client, member, derivations):
    derivations.clear()
    assert attempt(client, member.email, STAFF_PASSWORD, current_code(app, member)).status_code == 303
    assert len(derivations) == 1


def test_an_account_locked_by_an_earlier_release_signs_in_and_is_relocked(app, client, member, derivations):
    from portal.orgs.services import set_staff_lock, staff_lock
    from tests.test_crypto import legacy_lock

    private_key = crypto.unlock_keypair(STAFF_PASSWORD, staff_lock(member))
    set_staff_lock(member, legacy_lock(private_key, STAFF_PASSWORD, app.config["PORTAL_KDF"]))
    db.session.commit()

    assert attempt(client, member.email, STAFF_PASSWORD, current_code(app, member)).status_code == 303
    assert client.get("/staff/").status_code == 200
    db.session.refresh(member)
    assert staff_lock(member).is_current
    assert crypto.unlock_keypair(STAFF_PASSWORD, staff_lock(member)).to_bytes() == private_key.to_bytes()
