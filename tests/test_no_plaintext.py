"""A report's words never reach the disk: not the database file, not a dump, not the instance folder.

And the same report opens intact with a staff member's key and with the offline recovery key.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from portal import crypto
from portal.cli import main
from portal.db import db
from portal.orgs.models import Organization, StaffMember
from portal.orgs.services import staff_lock
from portal.reports import services as reports
from portal.reports.models import Report
from tests.conftest import STAFF_PASSWORD, send_report, valid_report

FREE_TEXT_FIELDS = (
    "narrative", "city", "community_other", "perpetrator_details", "official_identified",
    "bounty_details", "impact_details", "reported_details",
)


@pytest.fixture
def marked_report(client, factory):
    """Submit a report whose every free-text field holds its own unique marker."""
    factory.portal_ready()
    markers = {name: f"MARK{name.upper()}{secrets.token_hex(6)}" for name in FREE_TEXT_FIELDS}
    contact_marker = f"mark{secrets.token_hex(6)}"
    markers["contact_details"] = f"{contact_marker}@example.org"
    intake = db.session.scalar(select(Organization.id).where(Organization.slug == "intake"))
    data = valid_report(
        organizations=[str(intake)],
        contact_method="email",
        consent_contact="y",
        **{name: f"before {value} after" for name, value in markers.items() if name != "contact_details"},
        contact_details=markers["contact_details"],
    )
    response = send_report(client, data)
    assert response.status_code == 200, response.get_data(as_text=True)
    db.session.expire_all()
    return markers, data


def assert_no_marker(blob: bytes, markers: dict[str, str], where: str) -> None:
    for name, marker in markers.items():
        for encoding in ("utf-8", "utf-16-le"):
            assert marker.encode(encoding) not in blob, f"{name} found in {where} ({encoding})"
    # The reporter's choices are answers too: no tactic code may appear either.
    assert b"THR-HARASS" not in blob, f"a tactic code found in {where}"


def is_sqlite(app) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite")


def test_no_marker_in_the_sqlite_file(app, marked_report):
    if not is_sqlite(app):
        pytest.skip("this run uses PostgreSQL")
    markers, _ = marked_report
    db.session.remove()
    db.engine.dispose()  # close connections so everything is in the main file
    path = Path(make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database)
    checked = 0
    for candidate in path.parent.iterdir():
        if candidate.name.startswith(path.name):
            assert_no_marker(candidate.read_bytes(), markers, candidate.name)
            checked += 1
    assert checked >= 1


def test_no_marker_in_a_pg_dump(app, marked_report):
    if is_sqlite(app):
        pytest.skip("this run uses SQLite")
    markers, _ = marked_report
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(drivername="postgresql")
    dump = subprocess.run(
        ["pg_dump", "--no-owner", url.render_as_string(hide_password=False)],
        check=True,
        capture_output=True,
    ).stdout
    assert b"CREATE TABLE public.reports" in dump
    assert_no_marker(dump, markers, "pg_dump output")


def test_no_marker_in_the_instance_folder(app, marked_report):
    markers, _ = marked_report
    for root, _dirs, files in os.walk(app.instance_path):
        for name in files:
            assert_no_marker((Path(root) / name).read_bytes(), markers, name)


def test_the_report_opens_intact_with_a_staff_key(app, marked_report):
    markers, data = marked_report
    staff = db.session.scalars(select(StaffMember)).one()
    report = db.session.scalars(select(Report)).one()
    private_key = crypto.unlock_keypair(STAFF_PASSWORD, staff_lock(staff))
    answers = reports.read_answers(
        report, reports.content_key_for_staff(db.session, report, staff, private_key)
    )
    for name, marker in markers.items():
        assert marker in answers[name]
    assert answers["tactics"] == data["tactics"]
    assert answers["consent_read"] is True


def test_the_report_opens_intact_with_the_recovery_key(app, runner, marked_report, factory, tmp_path):
    markers, data = marked_report
    key_file = tmp_path / "recovery.key"
    key_file.write_text(crypto.armor_private_key(factory.recovery_private_key))
    out = tmp_path / "export.jsonl"
    result = runner.invoke(main, ["recovery", "export", "--key", str(key_file), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Exported 1 reports" in result.output
    assert out.stat().st_mode & 0o077 == 0
    (record,) = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    for name, marker in markers.items():
        assert marker in record["answers"][name]
    assert record["answers"]["narrative"] == data["narrative"]
    assert record["organizations"] == ["intake"]
    assert record["consent"] == {"statistics": True, "referral": False, "contact": True}


def test_the_reporter_can_open_their_own_report_with_the_receipt(app, client, factory):
    factory.portal_ready()
    intake = db.session.scalar(select(Organization.id).where(Organization.slug == "intake"))
    html = send_report(client, valid_report(organizations=[str(intake)])).get_data(as_text=True)
    from tests.conftest import receipt_from

    receipt = crypto.normalize_receipt(receipt_from(html))
    lookup = crypto.receipt_lookup_id(receipt, app.config["PORTAL_SECRETS"].lookup_key)
    report = db.session.scalars(select(Report).where(Report.lookup_id == lookup)).one()
    reporter_key = crypto.unlock_keypair(receipt, reports.receipt_lock(report))
    answers = reports.read_answers(report, reports.content_key_for_reporter(report, reporter_key))
    assert answers["narrative"] == valid_report()["narrative"]
    assert crypto.unlock_keypair(crypto.generate_receipt(), reports.receipt_lock(report)) is None
