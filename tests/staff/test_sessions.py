"""Server-side staff sessions: timeouts, sign-out everywhere, and a private key neither half reveals."""

from __future__ import annotations

import base64
import datetime as dt
import os

import pytest
from sqlalchemy import select, update

from portal import crypto
from portal.db import db
from portal.orgs.models import StaffMember
from portal.orgs.services import staff_lock
from portal.staff import sessions
from portal.staff.models import StaffSession
from tests.conftest import STAFF_PASSWORD, hidden_value, sign_in

NEW_PASSWORD = "lantern orbit velvet harbour"


def staff_cookie(client) -> str:
    return client.get_cookie("__Host-staff").value


def age_sessions(**changes: dt.timedelta) -> None:
    values = {column: dt.datetime.now(dt.UTC) - delta for column, delta in changes.items()}
    db.session.execute(update(StaffSession).values(**values))
    db.session.commit()


def test_an_idle_session_ends_after_30_minutes(app, staff_client):
    client, _staff = staff_client
    age_sessions(last_seen_at=dt.timedelta(minutes=29))
    assert client.get("/staff/").status_code == 200
    age_sessions(last_seen_at=dt.timedelta(minutes=31))
    assert client.get("/staff/").status_code == 302
    assert db.session.scalars(select(StaffSession)).all() == []


def test_a_session_ends_after_12_hours_even_when_busy(app, staff_client):
    client, _staff = staff_client
    age_sessions(created_at=dt.timedelta(hours=12, minutes=1), last_seen_at=dt.timedelta(minutes=1))
    assert client.get("/staff/").status_code == 302


def test_a_forged_or_damaged_cookie_is_ignored(app, staff_client):
    client, _staff = staff_client
    cookie = staff_cookie(client)
    for forged in ("", "not-base64!!", cookie[:-4] + "AAAA", base64.urlsafe_b64encode(os.urandom(64)).decode()):
        client.set_cookie("__Host-staff", forged)
        assert client.get("/staff/").status_code == 302


def change_password(client, current: str, new: str):
    page = client.get("/staff/password").get_data(as_text=True)
    return client.post(
        "/staff/password",
        data={"csrf_token": hidden_value(page, "csrf_token"), "current_password": current,
              "new_password": new, "confirm": new},
    )


def test_a_password_change_relocks_the_key_and_ends_other_sessions(app, staff_client):
    client, staff = staff_client
    other = app.test_client()
    sign_in(app, other, staff)
    assert other.get("/staff/").status_code == 200

    response = change_password(client, STAFF_PASSWORD, NEW_PASSWORD)
    assert response.status_code == 303
    assert client.get("/staff/").status_code == 200  # this session goes on
    assert other.get("/staff/").status_code == 302  # the other one is gone
    db.session.refresh(staff)
    assert crypto.unlock_keypair(NEW_PASSWORD, staff_lock(staff)) is not None
    assert crypto.unlock_keypair(STAFF_PASSWORD, staff_lock(staff)) is None


@pytest.mark.parametrize(
    ("current", "new", "message"),
    [
        ("not my password at all", NEW_PASSWORD, "not your current password"),
        (STAFF_PASSWORD, "short", "At least 12 characters"),
        (STAFF_PASSWORD, "qwerty123456", "too common"),
    ],
)
def test_a_bad_password_change_changes_nothing(app, staff_client, current, new, message):
    client, staff = staff_client
    before = staff.private_key_locked
    response = change_password(client, current, new)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    db.session.refresh(staff)
    assert staff.private_key_locked == before


def test_neither_the_session_store_nor_the_cookie_alone_holds_the_key(app, staff_client):
    client, staff = staff_client
    private_key = crypto.unlock_keypair(STAFF_PASSWORD, staff_lock(staff)).to_bytes()
    cookie = base64.urlsafe_b64decode(staff_cookie(client) + "==")
    session_id, session_key = cookie[:32], cookie[32:]
    row = db.session.scalars(select(StaffSession)).one()
    stored = b"".join([row.id_hash, row.sealed_private_key])
    # The store has neither the key, nor the cookie's halves that would open it.
    for secret in (private_key, private_key[1:65], private_key[65:], session_key, session_id):
        assert secret not in stored
    # The cookie carries no key material either: only an id and the per-session key.
    for secret in (private_key[1:65], private_key[65:]):
        assert secret not in cookie
    # The sealed key opens only with the cookie's session key.
    with pytest.raises(crypto.CryptoError):
        crypto.open_sealed(os.urandom(32), row.sealed_private_key, b"portal staff session v1" + row.id_hash)
    assert crypto.open_sealed(session_key, row.sealed_private_key, b"portal staff session v1" + row.id_hash) == private_key


# --- the Redis store behaves like the database store ------------------------------------------------


def redis_client():
    redis = pytest.importorskip("redis")
    url = os.environ.get("PORTAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        if os.environ.get("CI"):
            raise
        pytest.skip("no Redis server")
    return client, url


@pytest.fixture
def redis_app(make_app, factory):
    client, url = redis_client()
    prefix_keys = client.keys("portal:staff-session:*")
    if prefix_keys:
        client.delete(*prefix_keys)
    app = make_app(PORTAL_REDIS_URL=url)
    yield app, client
    leftover = client.keys("portal:staff-session:*")
    if leftover:
        client.delete(*leftover)


def test_redis_sessions_sign_in_and_out_without_touching_the_database(redis_app, factory):
    app, redis = redis_app
    factory.portal_ready()
    client = app.test_client()
    with app.app_context():
        staff = db.session.scalars(select(StaffMember)).one()
        sign_in(app, client, staff)
        assert client.get("/staff/").status_code == 200
        assert db.session.scalars(select(StaffSession)).all() == []
        assert len(redis.keys("portal:staff-session:*")) == 2  # the session and the member's index
        other = app.test_client()
        sign_in(app, other, staff)
        change_password(client, STAFF_PASSWORD, NEW_PASSWORD)
        assert client.get("/staff/").status_code == 200
        assert other.get("/staff/").status_code == 302
        page = client.get("/staff/").get_data(as_text=True)
        client.post("/staff/logout", data={"csrf_token": hidden_value(page, "csrf_token")})
        assert client.get("/staff/").status_code == 302


def test_the_redis_store_expires_idle_sessions(redis_app):
    _app, redis = redis_app
    store = sessions.RedisSessionStore(redis)
    now = dt.datetime.now(dt.UTC)
    opened = sessions.open_session(
        store, staff_member_id=7, private_key=crypto.PrivateKey.generate(), second_factor_done=True,
        now=now - dt.timedelta(minutes=31),
    )
    assert sessions.resume_session(store, opened.cookie_value, now=now) is None
    assert store.load(opened.id_hash) is None
    assert redis.ttl(f"portal:staff-session:{opened.id_hash.hex()}") == -2
