"""Deleting a report, by the reporter or by staff: every row of it goes, its wrapped keys too."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select, text

from portal import crypto
from portal.audit.models import AuditEvent
from portal.cli import main
from portal.db import db
from portal.reports.models import AttachmentChunk, Report
from tests.followup import (
    NOT_RECOGNISED,
    attachment_ids,
    grouped,
    open_follow_up,
    reporter_post,
    signed_in_reporter,
    staff_post,
    submitted,
    visible_text,
)

#: Every table that holds a part of a report, by the column that names the report.
REPORT_TABLES = {
    "reports": "id",
    "wrapped_keys": "report_id",
    "report_organizations": "report_id",
    "report_messages": "report_id",
    "attachments": "report_id",
    "report_notes": "report_id",
    "report_status_changes": "report_id",
    "referrals": "report_id",
    "reporter_sessions": "report_id",
    "report_tactics": "report_id",
    "incident_links": "report_id",
    "campaign_links": "report_id",
}


def rows_of(report_id: int, attachments: list[int]) -> dict[str, int]:
    """How many rows each table holds for this report, and for its files' chunks.

    The files are named by the ids they had, so that chunks left behind by a deleted attachment
    row would still be counted.
    """
    db.session.expire_all()
    counts = {
        table: db.session.execute(
            text(f"SELECT count(*) FROM {table} WHERE {column} = :r"), {"r": report_id}
        ).scalar_one()
        for table, column in REPORT_TABLES.items()
    }
    counts["attachment_chunks"] = db.session.scalar(
        select(func.count())
        .select_from(AttachmentChunk)
        .where(AttachmentChunk.attachment_id.in_(attachments))
    )
    return counts


def test_every_table_with_a_report_id_is_checked(app):
    """A table added later that holds report data must be added to REPORT_TABLES too."""
    with_report_id = {
        table.name for table in db.metadata.sorted_tables if "report_id" in table.columns
    }
    assert with_report_id <= set(REPORT_TABLES)


@dataclass(frozen=True)
class Filed:
    id: int
    receipt: str
    attachments: list[int]

    def rows(self) -> dict[str, int]:
        return rows_of(self.id, self.attachments)


def _an_entity() -> int:
    from portal.officials.models import Entity

    return db.session.scalar(select(Entity.id).order_by(Entity.id).limit(1))


def _a_campaign() -> int:
    from portal.officials.models import Campaign

    return db.session.scalar(select(Campaign.id).order_by(Campaign.id).limit(1))


def a_full_report(client, staff, reporter_client) -> Filed:
    """A report with a row in every table: a file, messages both ways, a note, a status change,
    triage, a referral, links to an entity and a campaign, and the reporter signed in."""
    report_id, receipt = submitted(
        client, [("evidence.txt", b"a file" * 100, "text/plain")], consent_referral="y"
    )
    for action, data in (
        ("status", {"status": "under_review", "reason": "Reading it now."}),
        ("triage", {"tactics": ["THR-HARASS"], "severity": "high"}),
        ("notes", {"text": "Call back next week."}),
        ("referrals", {"agency": "rcmp", "file_number": "2025-1234"}),
        ("messages", {"text": "We have read your report."}),
        ("links", {"entity_id": str(_an_entity()), "person_id": "", "involvement": "suspected",
                   "confidence": "possible", "basis": "reporter_identified"}),
        ("campaigns", {"campaigns": [str(_a_campaign())]}),
    ):
        assert staff_post(staff, report_id, action, data).status_code == 303, action
    signed_in_reporter(reporter_client, receipt)
    response = reporter_post(reporter_client, "/follow-up/messages", {"text": "Thank you."})
    assert response.status_code == 303
    filed = Filed(report_id, receipt, attachment_ids(report_id))
    assert all(filed.rows().values()), filed.rows()  # so that "none left" means something
    return filed


@pytest.fixture
def two_reports(app, client, staff_client) -> tuple[Filed, Filed]:
    """The reporter's full report (signed in on `client`), and another that must survive."""
    staff, _member = staff_client
    doomed = a_full_report(app.test_client(), staff, client)
    survivor = a_full_report(app.test_client(), staff, app.test_client())
    return doomed, survivor


def exported_ids(runner, factory, tmp_path) -> list[int]:
    """Report ids `portal recovery export` writes out with the recovery key."""
    key_file = tmp_path / "recovery.key"
    key_file.write_text(crypto.armor_private_key(factory.recovery_private_key))
    out = tmp_path / f"export-{len(list(tmp_path.glob('export-*')))}.jsonl"  # never overwritten
    result = runner.invoke(main, ["recovery", "export", "--key", str(key_file), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return [json.loads(line)["report_id"] for line in out.read_text("utf-8").splitlines()]


def assert_gone_for_good(app, runner, factory, tmp_path, doomed: Filed, survivor: Filed) -> None:
    assert doomed.rows() == dict.fromkeys(doomed.rows(), 0)  # wrapped keys included
    assert all(survivor.rows().values())
    assert exported_ids(runner, factory, tmp_path) == [survivor.id]
    response = open_follow_up(app.test_client(), grouped(doomed.receipt))
    assert response.status_code == 422
    assert NOT_RECOGNISED in visible_text(response.get_data(as_text=True))


def deletions_audited() -> list[int | None]:
    return list(
        db.session.scalars(
            select(AuditEvent.target_id).where(AuditEvent.action == "report_deleted")
        )
    )


def test_a_reporter_deletes_their_report_and_nothing_of_it_is_left(
    app, client, runner, factory, two_reports, tmp_path
):
    doomed, survivor = two_reports
    assert exported_ids(runner, factory, tmp_path) == [doomed.id, survivor.id]
    assert "I understand that my report" in client.get("/follow-up/delete").get_data(as_text=True)

    response = reporter_post(client, "/follow-up/delete", {"confirm": "y"})

    assert response.status_code == 200
    assert "Your report is gone" in response.get_data(as_text=True)
    cookies = response.headers.getlist("Set-Cookie")
    assert any(cookie.startswith("__Host-reporter=;") for cookie in cookies)
    assert client.get("/follow-up/report").status_code == 303  # the session went with it
    assert_gone_for_good(app, runner, factory, tmp_path, doomed, survivor)


def test_staff_delete_a_report_and_nothing_of_it_is_left(
    app, client, runner, factory, staff_client, two_reports, tmp_path
):
    staff, _member = staff_client
    doomed, survivor = two_reports

    response = staff_post(staff, doomed.id, "delete", {"confirm": "y"})

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/staff/")
    assert client.get("/follow-up/report").status_code == 303  # the reporter's session ended
    assert_gone_for_good(app, runner, factory, tmp_path, doomed, survivor)
    assert deletions_audited() == [doomed.id]
    result = runner.invoke(main, ["audit", "verify"])
    assert result.exit_code == 0, result.output


def test_a_reporter_must_tick_the_box_to_delete(client, two_reports):
    doomed, _survivor = two_reports
    before = doomed.rows()

    response = reporter_post(client, "/follow-up/delete", {})

    assert response.status_code == 422
    assert "Please tick the box to confirm." in response.get_data(as_text=True)
    assert doomed.rows() == before


def test_staff_must_tick_the_box_to_delete(staff_client, two_reports):
    staff, _member = staff_client
    doomed, _survivor = two_reports
    before = doomed.rows()

    response = staff_post(staff, doomed.id, "delete", {})

    assert response.status_code == 422
    assert "Please tick the box to confirm." in response.get_data(as_text=True)
    assert doomed.rows() == before
    assert deletions_audited() == []
    assert db.session.get(Report, doomed.id) is not None
