"""The `portal` command, driven through CliRunner."""

from __future__ import annotations

import os
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from portal import crypto, demo
from portal.cli import main
from portal.db import db
from portal.orgs.models import Organization, RecoveryKey, StaffMember
from portal.orgs.services import open_totp_secret, staff_lock, totp_for
from portal.reports.models import Report
from tests.conftest import STAFF_PASSWORD


def invoke(runner, *args, input=None):
    return runner.invoke(main, list(args), input=input)


def test_org_add_creates_an_organization(runner):
    result = invoke(runner, "org", "add", "uyghur-rights", "Uyghur Rights Advocacy Project")
    assert result.exit_code == 0, result.output
    org = db.session.scalars(select(Organization)).one()
    assert (org.slug, org.name, org.is_default_recipient) == ("uyghur-rights", "Uyghur Rights Advocacy Project", False)


def test_org_add_can_mark_the_default_recipient(runner):
    result = invoke(runner, "org", "add", "intake", "Intake", "--default-recipient")
    assert result.exit_code == 0, result.output
    assert db.session.scalars(select(Organization)).one().is_default_recipient


def test_org_add_refuses_a_duplicate_slug(runner):
    invoke(runner, "org", "add", "intake", "Intake")
    result = invoke(runner, "org", "add", "intake", "Another")
    assert result.exit_code != 0
    assert "already exists" in result.output
    assert db.session.scalar(select(func.count(Organization.id))) == 1


@pytest.mark.parametrize("slug", ["Has Space", "UPPER", "-dash", "", "a" * 65])
def test_org_add_refuses_bad_slugs(runner, slug):
    result = invoke(runner, "org", "add", slug, "Name")
    assert result.exit_code != 0
    assert db.session.scalar(select(func.count(Organization.id))) == 0


def test_org_list(runner):
    invoke(runner, "org", "add", "intake", "Intake team", "--default-recipient")
    result = invoke(runner, "org", "list")
    assert result.exit_code == 0, result.output
    assert "intake\tIntake team (default recipient)" in result.output


def test_staff_add_creates_a_keypair_locked_by_the_password(runner, factory, app):
    factory.organization()
    result = invoke(
        runner, "staff", "add", "Triager@Example.org", "--org", "intake", "--role", "triager",
        "--password-stdin", input=STAFF_PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    staff = db.session.scalars(select(StaffMember)).one()
    assert staff.email == "triager@example.org"
    assert STAFF_PASSWORD not in result.output
    assert STAFF_PASSWORD.encode() not in staff.private_key_locked
    private_key = crypto.unlock_keypair(STAFF_PASSWORD, staff_lock(staff))
    assert private_key.public_key().to_bytes() == staff.public_key


def test_staff_add_prints_a_working_otpauth_uri(runner, factory, app):
    factory.organization()
    result = invoke(
        runner, "staff", "add", "t@example.org", "--org", "intake", "--role", "org_admin",
        "--password-stdin", input=STAFF_PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    uri = next(line for line in result.output.splitlines() if line.startswith("otpauth://totp/"))
    query = parse_qs(urlsplit(uri).query)
    staff = db.session.scalars(select(StaffMember)).one()
    totp_key = app.config["PORTAL_SECRETS"].totp_key
    secret = open_totp_secret(staff.totp_secret_sealed, totp_key)
    import base64
    import datetime as dt

    from portal.staff.services import accept_code

    scanned = base64.b32decode(query["secret"][0] + "=" * (-len(query["secret"][0]) % 8))
    assert scanned == secret
    assert secret not in staff.totp_secret_sealed
    # The code an authenticator app shows after scanning the URI is what sign-in accepts.
    now = dt.datetime.now(dt.UTC)
    assert accept_code(staff, totp_for(scanned).generate(int(now.timestamp())).decode(), totp_key=totp_key, now=now)


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["--org", "intake", "--role", "triager"], "short", "at least 12 characters"),
        (["--org", "nowhere", "--role", "triager"], STAFF_PASSWORD, "no organization"),
        (["--org", "intake", "--role", "emperor"], STAFF_PASSWORD, "emperor"),
    ],
)
def test_staff_add_refuses_bad_requests(runner, factory, args, password, message):
    factory.organization()
    result = invoke(runner, "staff", "add", "t@example.org", *args, "--password-stdin", input=password + "\n")
    assert result.exit_code != 0
    assert message in result.output
    assert db.session.scalar(select(func.count(StaffMember.id))) == 0


def test_staff_add_refuses_a_duplicate_email(runner, factory):
    factory.organization()
    factory.staff("t@example.org")
    result = invoke(
        runner, "staff", "add", "T@example.org", "--org", "intake", "--role", "triager",
        "--password-stdin", input=STAFF_PASSWORD + "\n",
    )
    assert result.exit_code != 0
    assert "already exists" in result.output


def test_recovery_init_keeps_only_the_public_half(runner, tmp_path):
    out = tmp_path / "recovery.key"
    result = invoke(runner, "keys", "recovery-init", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.stat().st_mode & 0o777 == 0o600
    private_key = crypto.dearmor_private_key(out.read_text())
    record = db.session.scalars(select(RecoveryKey)).one()
    assert record.public_key == private_key.public_key().to_bytes()
    assert record.fingerprint in result.output
    seed = private_key.to_bytes()[1:]
    for row in db.session.execute(select(RecoveryKey.public_key, RecoveryKey.fingerprint)):
        assert seed not in row.public_key


def test_recovery_init_refuses_a_second_key(runner, tmp_path):
    invoke(runner, "keys", "recovery-init", "--out", str(tmp_path / "a.key"))
    result = invoke(runner, "keys", "recovery-init", "--out", str(tmp_path / "b.key"))
    assert result.exit_code != 0
    assert "already exists" in result.output
    assert not (tmp_path / "b.key").exists()


def test_recovery_init_never_overwrites_a_file_and_stores_nothing_then(runner, tmp_path):
    existing = tmp_path / "keep.txt"
    existing.write_text("precious")
    result = invoke(runner, "keys", "recovery-init", "--out", str(existing))
    assert result.exit_code != 0
    assert existing.read_text() == "precious"
    assert db.session.scalar(select(func.count(RecoveryKey.id))) == 0


def test_recovery_export_refuses_a_foreign_key(runner, factory, tmp_path):
    factory.recovery_key()
    stranger = tmp_path / "stranger.key"
    stranger.write_text(crypto.armor_private_key(crypto.PrivateKey.generate()))
    out = tmp_path / "out.jsonl"
    result = invoke(runner, "recovery", "export", "--key", str(stranger), "--out", str(out))
    assert result.exit_code != 0
    assert "not this portal's recovery key" in result.output
    assert not out.exists()


def test_recovery_export_refuses_a_file_that_is_not_a_key(runner, factory, tmp_path):
    junk = tmp_path / "junk.key"
    junk.write_bytes(b"\xff\xfe not a key")
    result = invoke(runner, "recovery", "export", "--key", str(junk), "--out", str(tmp_path / "o"))
    assert result.exit_code != 0
    assert "not a recovery key" in result.output


def test_demo_loads_clearly_fake_data_once(runner, app, tmp_path):
    key_file = tmp_path / "demo.key"
    result = invoke(runner, "demo", "--recovery-out", str(key_file))
    assert result.exit_code == 0, result.output
    assert "DEMO" in result.output
    assert db.session.scalar(select(func.count(Report.id))) == demo.REPORT_COUNT
    for org in db.session.scalars(select(Organization)):
        assert "DEMO" in org.name
    for staff in db.session.scalars(select(StaffMember)):
        assert staff.email.endswith(".demo.invalid")
    assert key_file.exists()
    again = invoke(runner, "demo", "--recovery-out", str(tmp_path / "other.key"))
    assert again.exit_code == 0
    assert "already loaded" in again.output
    assert db.session.scalar(select(func.count(Report.id))) == demo.REPORT_COUNT


def test_demo_reports_open_with_the_demo_recovery_key(runner, tmp_path):
    key_file = tmp_path / "demo.key"
    invoke(runner, "demo", "--recovery-out", str(key_file))
    out = tmp_path / "export.jsonl"
    result = invoke(runner, "recovery", "export", "--key", str(key_file), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert out.read_text().count("[DEMO") == demo.REPORT_COUNT


def test_init_creates_secrets_once_and_migrates(tmp_path, monkeypatch, test_database):
    from click.testing import CliRunner

    instance = tmp_path / "instance"
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("PORTAL_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    runner = CliRunner()
    first = runner.invoke(main, ["init"])
    assert first.exit_code == 0, first.output
    secrets_file = instance / "secrets.json"
    assert secrets_file.stat().st_mode & 0o777 == 0o600
    content = secrets_file.read_bytes()
    second = runner.invoke(main, ["init"])
    assert second.exit_code == 0, second.output
    assert "kept them" in second.output
    assert secrets_file.read_bytes() == content
    assert (tmp_path / "fresh.db").exists()


def test_commands_explain_that_init_is_needed(tmp_path, monkeypatch):
    from click.testing import CliRunner

    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path / "empty"))
    result = CliRunner().invoke(main, ["org", "list"])
    assert result.exit_code != 0
    assert "portal init" in result.output
    assert not os.path.exists(tmp_path / "empty" / "secrets.json")


def test_command_line_changes_are_audited(runner, factory, tmp_path):
    from portal.audit.models import AuditEvent

    invoke(runner, "org", "add", "intake", "Intake")
    invoke(runner, "staff", "add", "t@example.org", "--org", "intake", "--role", "triager",
           "--password-stdin", input=STAFF_PASSWORD + "\n")
    key = tmp_path / "r.key"
    invoke(runner, "keys", "recovery-init", "--out", str(key))
    result = invoke(runner, "recovery", "export", "--key", str(key), "--out", str(tmp_path / "o.jsonl"))
    assert result.exit_code == 0, result.output
    actions = [event.action for event in db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]
    assert actions == ["organization_created", "staff_created", "recovery_export"]
    assert invoke(runner, "audit", "verify").exit_code == 0
