"""Migration 0006 on a database holding reports: ranks and counters filled in, nothing lost going
up or down, and the counters' triggers gone after a downgrade."""

from __future__ import annotations

import datetime as dt

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from portal.db import db
from tests import test_migrations

# The same fixtures as the other migration tests: an empty database of the run's kind, an app on it.
empty_database_url = test_migrations.empty_database_url
migration_app = test_migrations.migration_app

# (status, severity, assigned, awaiting reply, organizations) of the reports already there.
REPORTS = (
    ("received", None, False, False, ("intake",)),
    ("received", "critical", True, True, ("intake", "partner")),
    ("under_review", "low", False, False, ("intake",)),
    ("referred", "high", True, False, ("partner",)),
    ("closed", "medium", False, True, ("intake", "partner")),
)
STATUS_RANK = {"received": 3, "under_review": 2, "referred": 1, "closed": 0}
SEVERITY_RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1, None: 0}


def insert_data_of_0005() -> dict[str, int]:
    """Organizations, a staff member, a recovery key, reports, their shares and wrapped keys."""
    execute = db.session.execute
    for slug in ("intake", "partner"):
        execute(text("INSERT INTO organizations (slug, name, is_default_recipient, created_at) "
                     "VALUES (:slug, :slug, false, :now)"), {"slug": slug, "now": dt.datetime(2025, 1, 1)})
    orgs = dict(execute(text("SELECT slug, id FROM organizations")).all())
    execute(text(
        "INSERT INTO staff_members (email, organization_id, role, password_verifier, public_key, private_key_locked, "
        "totp_secret_sealed, totp_confirmed, needs_new_password, is_active, created_at) VALUES ('t@example.org', :org, "
        "'triager', 'x', :blob, :blob, :blob, true, false, true, :now)"
    ), {"org": orgs["intake"], "blob": b"\x01", "now": dt.datetime(2025, 1, 1)})
    staff_id = execute(text("SELECT id FROM staff_members")).scalar_one()
    execute(text("INSERT INTO recovery_keys (public_key, fingerprint, created_at) VALUES (:blob, 'f', :now)"),
            {"blob": b"\x02", "now": dt.datetime(2025, 1, 1)})
    recovery_id = execute(text("SELECT id FROM recovery_keys")).scalar_one()
    for number, (status, severity, assigned, awaiting, shared) in enumerate(REPORTS, start=1):
        execute(text(
            "INSERT INTO reports (id, received_on, status, lookup_id, receipt_verifier, reporter_public_key, "
            "reporter_private_key_locked, reporter_wrapped_key, answers_sealed, consent_statistics, consent_referral, "
            "consent_contact, assignee_id, awaiting_reply, severity) VALUES (:id, :day, :status, :lookup, 'v', :blob, "
            ":blob, :blob, :blob, true, false, false, :assignee, :awaiting, :severity)"
        ), {"id": number, "day": dt.date(2025, 1, number), "status": status, "lookup": bytes([number]) * 32,
            "blob": b"\x03", "assignee": staff_id if assigned else None, "awaiting": awaiting, "severity": severity})
        for slug in shared:
            execute(text("INSERT INTO report_organizations (report_id, organization_id) VALUES (:r, :o)"),
                    {"r": number, "o": orgs[slug]})
        execute(text("INSERT INTO wrapped_keys (report_id, recovery_key_id, wrapped) VALUES (:r, :k, :w)"),
                {"r": number, "k": recovery_id, "w": b"\x04"})
    db.session.commit()
    return orgs


def expected_counters(slug: str) -> tuple[int, int, int]:
    mine = [report for report in REPORTS if slug in report[4]]
    return (
        sum(status == "received" for status, *_ in mine),
        sum(not assigned and status != "closed" for status, _s, assigned, *_ in mine),
        sum(awaiting for *_, awaiting, _o in mine),
    )


def counters_of(organization_id: int) -> tuple[int, int, int]:
    row = db.session.execute(text(
        "SELECT COALESCE(SUM(new_count), 0), COALESCE(SUM(unassigned_count), 0), "
        "COALESCE(SUM(awaiting_reply_count), 0) FROM dashboard_counter_changes WHERE organization_id = :org"
    ), {"org": organization_id}).one()
    return tuple(int(value) for value in row)


def kept_rows() -> tuple[int, int, int]:
    return tuple(db.session.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()
                 for table in ("reports", "report_organizations", "wrapped_keys"))


def test_0006_fills_ranks_and_counters_and_goes_back_down_keeping_every_row(migration_app):
    upgrade(revision="0005")
    orgs = insert_data_of_0005()
    before = kept_rows()
    db.session.remove()  # a migration waits for every other open transaction on its tables

    upgrade(revision="0006")

    ranks = db.session.execute(text("SELECT id, status_rank, severity_rank FROM reports ORDER BY id")).all()
    assert [(rank_s, rank_v) for _id, rank_s, rank_v in ranks] == [
        (STATUS_RANK[status], SEVERITY_RANK[severity]) for status, severity, *_ in REPORTS
    ]
    for slug, organization_id in orgs.items():
        assert counters_of(organization_id) == expected_counters(slug)
    assert kept_rows() == before  # on SQLite, rebuilding `reports` would have cascaded them away

    # The triggers work on the rows that were already there.
    db.session.execute(text("UPDATE reports SET status = 'closed', status_rank = 0 WHERE id = 1"))
    db.session.commit()
    assert counters_of(orgs["intake"]) == (expected_counters("intake")[0] - 1, expected_counters("intake")[1] - 1,
                                           expected_counters("intake")[2])

    db.session.remove()
    downgrade(revision="0005")

    assert kept_rows() == before
    columns = {row[1] if db.engine.dialect.name == "sqlite" else row[0] for row in db.session.execute(text(
        "PRAGMA table_info(reports)" if db.engine.dialect.name == "sqlite"
        else "SELECT column_name FROM information_schema.columns WHERE table_name = 'reports'"
    ))}
    assert "status_rank" not in columns and "severity_rank" not in columns
    # No trigger is left to write into a table that is gone.
    db.session.execute(text("UPDATE reports SET status = 'received' WHERE id = 1"))
    db.session.execute(text("DELETE FROM reports WHERE id = 2"))
    db.session.commit()
    db.session.remove()

    upgrade()
    # Counted afresh from what is left: reports 1 (received again), 3, 4 and 5.
    assert counters_of(orgs["intake"]) == (1, 2, 1)
    assert counters_of(orgs["partner"]) == (0, 0, 1)
