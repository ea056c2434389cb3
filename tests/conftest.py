"""Shared fixtures: a migrated database (SQLite, or PostgreSQL when PORTAL_TEST_DATABASE_URL is set),
an app per test with cheap Argon2id parameters, clients, the CLI runner and small factories."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from portal import create_app, crypto
from portal.db import db
from portal.instance import create_secrets
from portal.orgs import services as orgs
from portal.orgs.models import StaffMember

#: Cheap Argon2id for speed; production parameters are exercised by tests marked `slow`.
TEST_KDF = crypto.KdfParams(memory_kib=64, iterations=1, lanes=1)
STAFF_PASSWORD = "correct horse battery staple"
#: Filled by migrations and kept between tests.
SEEDED_TABLES = frozenset({"entities", "campaigns"})


def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    configured = os.environ.get("PORTAL_TEST_DATABASE_URL")
    if configured:
        return configured
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'portal.db'}"


@pytest.fixture(scope="session")
def instance_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("instance")
    create_secrets(path)
    return path


@pytest.fixture(scope="session")
def test_database(tmp_path_factory: pytest.TempPathFactory, instance_path: Path) -> str:
    """Migrate the test database once per run, starting from an empty schema."""
    url = database_url(tmp_path_factory)
    if url.startswith("postgresql"):
        reset_postgres_schema(url)
    app = create_app(_config(instance_path, url))
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()
    return url


def reset_postgres_schema(url: str) -> None:
    """Empty the test database. Only one whose name says it is for tests, so a mistyped URL
    can never wipe a real portal."""
    name = make_url(url).database or ""
    if "test" not in name and "_ci_" not in name:
        raise pytest.UsageError(f"refusing to reset {name!r}: the test database name must contain 'test'")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _config(instance_path: Path, url: str, **extra: object) -> dict[str, object]:
    return {
        "TESTING": True,
        "PORTAL_INSTANCE_PATH": str(instance_path),
        "SQLALCHEMY_DATABASE_URI": url,
        "PORTAL_KDF": TEST_KDF,
        **extra,
    }


@pytest.fixture
def make_app(instance_path: Path, test_database: str) -> Iterator:
    """Build apps on the shared test database; rows are deleted after the test."""
    apps: list[Flask] = []

    def factory(**extra: object) -> Flask:
        app = create_app(_config(instance_path, test_database, **extra))
        # Tests keep an app context open (for db access), and Flask lets requests reuse it, so
        # `g` would carry one request's state into the next. Give each request a clean `g`, as
        # production does.
        app.before_request_funcs.setdefault(None, []).insert(0, _fresh_g)
        apps.append(app)
        return app

    yield factory
    for app in apps[:1]:
        with app.app_context():
            db.session.rollback()
            with db.engine.begin() as connection:
                for table in reversed(db.metadata.sorted_tables):
                    if table.name not in SEEDED_TABLES:
                        connection.execute(table.delete())
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _fresh_g() -> None:
    from flask import g

    for name in list(vars(g)):
        delattr(g, name)


@pytest.fixture
def app(make_app) -> Iterator[Flask]:
    app = make_app()
    with app.app_context():
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    # https, so the Secure __Host- cookie behaves as in a browser.
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """Invoke `portal.cli.main` against the test app: ``runner.invoke(main, [...])``."""
    return app.test_cli_runner()


@contextmanager
def postgres_database_beside_the_test_one(tag: str) -> Iterator[str]:
    """A fresh PostgreSQL database next to PORTAL_TEST_DATABASE_URL's, dropped afterwards."""
    url = make_url(os.environ["PORTAL_TEST_DATABASE_URL"])
    name = f"{url.database}_{tag}_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def live_database_url() -> Iterator[str | None]:
    """A database of its own for a server process: None (SQLite in its instance folder), or a fresh
    PostgreSQL database beside the test one when the suite runs on PostgreSQL, dropped afterwards."""
    if not os.environ.get("PORTAL_TEST_DATABASE_URL"):
        yield None
        return
    with postgres_database_beside_the_test_one("live") as url:
        yield url


@pytest.fixture
def derivations(monkeypatch):
    """Count every Argon2id computation, whichever function asks for it."""
    calls = []
    real = crypto.argon2_raw

    class Counting:
        Type = real.Type

        @staticmethod
        def hash_secret_raw(*args, **kwargs):
            calls.append("raw")
            return real.hash_secret_raw(*args, **kwargs)

        @staticmethod
        def verify_secret(*args, **kwargs):
            calls.append("verify")
            return real.verify_secret(*args, **kwargs)

    monkeypatch.setattr(crypto, "argon2_raw", Counting)
    return calls



# --- factories -----------------------------------------------------------------------------


class Factory:
    """Small builders for organizations, staff and the recovery key."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.recovery_private_key: crypto.PrivateKey | None = None

    def organization(self, slug: str = "intake", name: str = "Coalition intake team", default: bool = True):
        return orgs.add_organization(db.session, slug, name, default_recipient=default)

    def staff(self, email: str = "triager@example.org", org: str = "intake", role: str = "triager"):
        return orgs.add_staff_member(
            db.session,
            email=email,
            organization_slug=org,
            role=role,
            password=STAFF_PASSWORD,
            kdf=TEST_KDF,
            totp_key=self.app.config["PORTAL_SECRETS"].totp_key,
        ).staff

    def recovery_key(self) -> crypto.PrivateKey:
        def keep(private_key: crypto.PrivateKey) -> None:
            self.recovery_private_key = private_key

        orgs.create_recovery_key(db.session, keep)
        assert self.recovery_private_key is not None
        return self.recovery_private_key

    def portal_ready(self) -> None:
        """An intake organization with one triager, and a recovery key: reports are accepted."""
        self.organization()
        self.staff()
        self.recovery_key()


@pytest.fixture
def factory(app: Flask) -> Factory:
    return Factory(app)


# --- reading pages -------------------------------------------------------------------------


def hidden_value(html: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html) or re.search(
        rf'value="([^"]*)"[^>]*name="{name}"', html
    )
    assert match, f"no hidden field {name} in the page"
    return match.group(1)


def valid_report(**overrides: object) -> dict[str, object]:
    """Form data for a complete, valid report (organizations filled in by the caller)."""
    data: dict[str, object] = {
        "tactics": ["THR-HARASS", "PRX-CONTACT"],
        "narrative": "They called my mother in Urumqi and told her I must stop speaking.",
        "when_precision": "month",
        "when_start": "2025-10",
        "when_end": "",
        "province": "ON",
        "city": "Toronto",
        "target": "me",
        "communities": ["uyghur"],
        "community_other": "",
        "perpetrators": ["china_police"],
        "perpetrator_details": "A man who said he was from the public security bureau.",
        "official_identified": "",
        "bounty": "no",
        "bounty_details": "",
        "impacts": ["fear", "self_censorship"],
        "impact_details": "I no longer go to community events.",
        "reported_to": ["rcmp"],
        "reported_details": "RCMP file 2025-1234",
        "consent_read": "y",
        "consent_statistics": "y",
        "contact_method": "none",
        "contact_details": "",
    }
    data.update(overrides)
    return data


def open_report_form(client: FlaskClient) -> tuple[str, dict[str, str]]:
    """GET the form; return its HTML and the hidden tokens a browser would send back."""
    response = client.get("/report")
    assert response.status_code == 200, response.status_code
    html = response.get_data(as_text=True)
    return html, {
        "csrf_token": hidden_value(html, "csrf_token"),
        "form_token": hidden_value(html, "form_token"),
    }


def send_report(client: FlaskClient, data: dict[str, object]):
    """Fill in and send the report form as a browser would, CSRF token included."""
    _html, tokens = open_report_form(client)
    return client.post("/report", data={**tokens, **data})


def receipt_from(html: str) -> str:
    match = re.search(r'id="receipt"[^>]*>([^<]+)<', html)
    assert match, "no receipt on the page"
    return match.group(1).strip()


# --- staff sign-in ----------------------------------------------------------------------------


def current_code(app: Flask, staff, *, at=None) -> str:
    """The code the staff member's authenticator shows now (or at a given time)."""
    import datetime as dt

    from portal.orgs.services import open_totp_secret, totp_for

    secret = open_totp_secret(staff.totp_secret_sealed, app.config["PORTAL_SECRETS"].totp_key)
    moment = at or dt.datetime.now(dt.UTC)
    return totp_for(secret).generate(int(moment.timestamp())).decode()


def sign_in(app: Flask, client: FlaskClient, staff, password: str = STAFF_PASSWORD):
    """Sign a staff member in through the login form, enrolling their authenticator if needed."""
    db.session.refresh(staff)
    if not staff.totp_confirmed:
        staff.totp_confirmed = True
    staff.totp_last_step = None  # each test signs in afresh; replay is tested on its own
    db.session.commit()
    html = client.get("/staff/login").get_data(as_text=True)
    response = client.post(
        "/staff/login",
        data={
            "csrf_token": hidden_value(html, "csrf_token"),
            "email": staff.email,
            "password": password,
            "code": current_code(app, staff),
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    return response


def csrf_token_for(client: FlaskClient, path: str = "/staff/login") -> str:
    return hidden_value(client.get(path).get_data(as_text=True), "csrf_token")


@pytest.fixture
def staff_client(app: Flask, factory: Factory):
    """A signed-in triager of the intake organization, with the portal ready for reports."""
    factory.portal_ready()
    staff = db.session.scalars(select(StaffMember)).one()
    client = app.test_client()
    sign_in(app, client, staff)
    return client, staff
