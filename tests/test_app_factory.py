"""The app factory refuses to start insecure."""

from __future__ import annotations

import json

import pytest

from portal import create_app
from portal.config import ConfigError, read_settings
from portal.instance import MissingInstanceSecrets, create_secrets, load_secrets


def test_the_app_refuses_to_start_without_instance_secrets(tmp_path):
    with pytest.raises(MissingInstanceSecrets, match="portal init"):
        create_app({"PORTAL_INSTANCE_PATH": str(tmp_path)})


def test_the_app_refuses_damaged_secrets(tmp_path):
    (tmp_path / "secrets.json").write_text(json.dumps({"session_key": "00"}))
    with pytest.raises(MissingInstanceSecrets, match="damaged"):
        create_app({"PORTAL_INSTANCE_PATH": str(tmp_path)})


def test_short_secrets_are_refused(tmp_path):
    create_secrets(tmp_path)
    data = json.loads((tmp_path / "secrets.json").read_text())
    data["lookup_key"] = "ab" * 8
    (tmp_path / "secrets.json").write_text(json.dumps(data))
    with pytest.raises(MissingInstanceSecrets):
        load_secrets(tmp_path)


def test_secrets_are_created_once_and_private(tmp_path):
    assert create_secrets(tmp_path) is True
    first = (tmp_path / "secrets.json").read_bytes()
    assert create_secrets(tmp_path) is False
    assert (tmp_path / "secrets.json").read_bytes() == first
    assert (tmp_path / "secrets.json").stat().st_mode & 0o777 == 0o600
    secrets = load_secrets(tmp_path)
    assert len({secrets.session_key, secrets.lookup_key, secrets.totp_key, secrets.rate_limit_key, secrets.audit_key, secrets.statistics_key}) == 6
    assert "session_key" not in repr(secrets) and secrets.session_key.hex() not in repr(secrets)


def test_settings_come_from_portal_environment_variables():
    settings = read_settings({"PORTAL_MAX_REQUEST_BYTES": "2048", "PORTAL_LEAVE_URL": "https://example.org/"})
    assert settings["MAX_REQUEST_BYTES"] == 2048
    assert settings["LEAVE_URL"] == "https://example.org/"
    assert settings["DATABASE_URL"] is None


def test_a_malformed_setting_is_reported_by_name():
    with pytest.raises(ConfigError, match="PORTAL_MAX_REQUEST_BYTES"):
        read_settings({"PORTAL_MAX_REQUEST_BYTES": "lots"})


def test_the_database_defaults_to_sqlite_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("PORTAL_DATABASE_URL", raising=False)
    create_secrets(tmp_path)
    app = create_app({"PORTAL_INSTANCE_PATH": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path.resolve() / 'portal.db'}"
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"]["hide_parameters"] is True


def test_init_adds_secrets_a_newer_release_needs_and_keeps_the_rest(tmp_path):
    create_secrets(tmp_path)
    data = json.loads((tmp_path / "secrets.json").read_text())
    del data["audit_key"]
    (tmp_path / "secrets.json").write_text(json.dumps(data))
    assert create_secrets(tmp_path) is False
    upgraded = json.loads((tmp_path / "secrets.json").read_text())
    assert len(bytes.fromhex(upgraded["audit_key"])) == 32
    assert {k: v for k, v in upgraded.items() if k != "audit_key"} == data
    assert (tmp_path / "secrets.json").stat().st_mode & 0o777 == 0o600
