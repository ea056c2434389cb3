"""The audit log: events chain by keyed MACs, `portal audit verify` finds the first tampered event,
events commit with the change they record, and staff can page through them."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, text

from portal.audit import models as audit_models  # registers the table for the per-test cleanup
from portal.audit import services as audit
from portal.audit.models import AuditEvent
from portal.cli import main
from portal.db import db
from portal.orgs.models import Organization

assert audit_models.AuditEvent is AuditEvent


@pytest.fixture
def key(app) -> bytes:
    return app.config["PORTAL_SECRETS"].audit_key


@pytest.fixture
def record(key):
    """Record an event with the instance's audit key (uncommitted, as a service would)."""

    def record_event(action: str = "sign_in", **fields: object) -> AuditEvent:
        return audit.record_event(db.session, key=key, action=action, **fields)

    return record_event


@pytest.fixture
def three_events(record) -> None:
    record("sign_in", actor_id=7)
    record("report_decrypted", actor_id=7, target_type="report", target_id=41)
    record("sign_out", actor_id=7)
    db.session.commit()


def stored_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


def tamper(sql: str, **params: object) -> None:
    """Change the table behind the application's back, as someone with database access could."""
    db.session.execute(text(sql), params)
    db.session.commit()


def verify(runner):
    return runner.invoke(main, ["audit", "verify"])


# --- the chain -----------------------------------------------------------------------------


def test_events_chain_each_to_the_one_before(three_events, key):
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [event.seq for event in events] == [1, 2, 3]
    assert events[0].prev_mac == audit.GENESIS_MAC
    assert events[1].prev_mac == events[0].mac
    assert events[2].prev_mac == events[1].mac
    assert audit.verify_chain(db.session, key=key) == audit.ChainReport(ok=True, checked=3)


def test_an_empty_log_verifies(app, key):
    assert audit.verify_chain(db.session, key=key) == audit.ChainReport(ok=True, checked=0)


def test_verification_walks_the_log_in_batches(record, key, monkeypatch):
    monkeypatch.setattr(audit, "_VERIFY_BATCH", 2)
    for _ in range(5):
        record("sign_in", actor_id=1)
    db.session.commit()
    assert audit.verify_chain(db.session, key=key).checked == 5
    tamper("UPDATE audit_events SET actor_staff_id = 2 WHERE seq = 5")
    report = audit.verify_chain(db.session, key=key)
    assert (report.ok, report.checked, report.broken_at_seq) == (False, 4, 5)


def test_verify_command_reports_an_intact_log(three_events, runner):
    result = verify(runner)
    assert result.exit_code == 0, result.output
    assert "Audit log intact: 3 events checked." in result.output


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("details", '{"note":"nothing happened"}'),
        ("action", "sign_out"),
        ("actor_staff_id", 8),
        ("target_id", 42),
        ("occurred_at", dt.datetime(2020, 1, 1)),
    ],
)
def test_verify_command_names_an_edited_event(three_events, runner, column, value):
    tamper(f"UPDATE audit_events SET {column} = :value WHERE seq = 2", value=value)
    result = verify(runner)
    assert result.exit_code == 1
    assert "Audit log BROKEN at event 2: its contents were changed" in result.output


def test_verify_command_names_a_deleted_event(three_events, runner):
    tamper("DELETE FROM audit_events WHERE seq = 2")
    result = verify(runner)
    assert result.exit_code == 1
    assert "Audit log BROKEN at event 2: event 2 is missing" in result.output


def test_verify_command_notices_the_first_events_were_deleted(three_events, runner):
    tamper("DELETE FROM audit_events WHERE seq = 1")
    result = verify(runner)
    assert result.exit_code == 1
    assert "Audit log BROKEN at event 1: event 1 is missing" in result.output


def test_verify_command_notices_a_deletion_hidden_by_renumbering(three_events, runner):
    tamper("DELETE FROM audit_events WHERE seq = 2")
    tamper("UPDATE audit_events SET seq = 2 WHERE seq = 3")
    result = verify(runner)
    assert result.exit_code == 1
    assert "Audit log BROKEN at event 2: it does not follow event 1" in result.output


def test_verify_command_names_reordered_events(three_events, runner):
    # Three steps, since seq is unique at every statement.
    tamper("UPDATE audit_events SET seq = -2 WHERE seq = 2")
    tamper("UPDATE audit_events SET seq = 2 WHERE seq = 3")
    tamper("UPDATE audit_events SET seq = 3 WHERE seq = -2")
    result = verify(runner)
    assert result.exit_code == 1
    assert "Audit log BROKEN at event 2: it does not follow event 1" in result.output


def test_verify_command_rejects_a_chain_rebuilt_without_the_instance_key(three_events, runner):
    """Someone who can write to the database but lacks the audit key cannot cover their tracks."""
    forged_key = bytes(range(32))
    tamper("UPDATE audit_events SET details = :details WHERE seq = 2", details='{"note":"nothing"}')
    rebuild_chain_from(2, forged_key)
    result = verify(runner)
    assert result.exit_code == 1
    assert "Audit log BROKEN at event 2: its contents were changed" in result.output


def rebuild_chain_from(first_seq: int, forged_key: bytes) -> None:
    """Recompute every MAC from `first_seq` on, consistently, with the wrong key."""
    rows = db.session.execute(
        select(AuditEvent.__table__).where(AuditEvent.seq >= first_seq - 1).order_by(AuditEvent.seq)
    ).all()
    previous_mac = rows[0].mac
    for row in rows[1:]:
        mac = audit.event_mac(
            forged_key,
            previous_mac,
            seq=row.seq,
            occurred_at=row.occurred_at.replace(tzinfo=dt.UTC),
            actor_staff_id=row.actor_staff_id,
            action=row.action,
            target_type=row.target_type,
            target_id=row.target_id,
            details=row.details,
        )
        tamper(
            "UPDATE audit_events SET prev_mac = :prev_mac, mac = :mac WHERE seq = :seq",
            prev_mac=previous_mac,
            mac=mac,
            seq=row.seq,
        )
        previous_mac = mac


# --- recording -----------------------------------------------------------------------------


def test_an_unknown_action_is_refused(record):
    with pytest.raises(ValueError, match="unknown audit action"):
        record("viewed_reporter_ip")
    assert stored_count() == 0


def test_a_short_key_is_refused(app):
    with pytest.raises(ValueError, match="at least 32 bytes"):
        audit.record_event(db.session, key=b"short", action="sign_in")


def test_an_event_in_a_rolled_back_transaction_leaves_nothing(record):
    db.session.add(Organization(slug="intake", name="Intake"))
    record("organization_created", actor_id=3)
    db.session.rollback()
    assert stored_count() == 0
    assert db.session.scalar(select(func.count()).select_from(Organization)) == 0


def test_an_event_commits_with_the_change_it_records(record):
    organization = Organization(slug="intake", name="Intake")
    db.session.add(organization)
    db.session.flush()
    record(
        "organization_created", actor_id=3, target_type="organization", target_id=organization.id
    )
    with db.engine.connect() as elsewhere:
        assert elsewhere.scalar(select(func.count()).select_from(AuditEvent)) == 0
    db.session.commit()
    event = db.session.scalars(select(AuditEvent)).one()
    assert (event.target_type, event.target_id) == ("organization", organization.id)


def test_details_are_stored_as_canonical_json(record):
    record("report_status_changed", details={"to": "closed", "from": "received", "note": "café"})
    db.session.commit()
    stored = db.session.execute(text("SELECT details FROM audit_events")).scalar_one()
    assert stored == '{"from":"received","note":"café","to":"closed"}'
    assert json.loads(stored)["note"] == "café"


def test_an_event_without_details_stores_an_empty_object(record):
    assert record("sign_out").details == "{}"


def test_recorded_events_cannot_be_changed_through_the_orm(three_events):
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.seq == 2)).one()
    event.details = '{"note":"nothing happened"}'
    with pytest.raises(audit_models.AuditLogIsAppendOnly):
        db.session.flush()
    db.session.rollback()


def test_concurrent_appends_keep_one_unbroken_chain(app, key):
    """Writers that overlap still chain one after another: PostgreSQL's advisory lock, or
    SQLite's write lock taken before the chain head is read, serializes them."""
    writers, events_each = 4, 10
    start = threading.Barrier(writers)
    failures: list[BaseException] = []

    def write() -> None:
        try:
            with app.app_context():
                start.wait()
                for _ in range(events_each):
                    audit.record_event(db.session, key=key, action="sign_in")
                    time.sleep(0.002)  # hold the transaction open, so the writers overlap
                    db.session.commit()
                db.session.remove()
        except BaseException as exc:  # reported below, not lost in the thread
            failures.append(exc)

    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert audit.verify_chain(db.session, key=key) == audit.ChainReport(
        ok=True, checked=writers * events_each
    )


# --- listing -------------------------------------------------------------------------------


def ticking_clock(start: dt.datetime, step: dt.timedelta) -> Iterator[dt.datetime]:
    moment = start
    while True:
        yield moment
        moment += step


@pytest.fixture
def a_day_of_events(record, monkeypatch) -> dt.datetime:
    """Six events an hour apart from 09:00 UTC: staff 7 signs in and reads, staff 8 does too."""
    start = dt.datetime(2026, 11, 27, 9, tzinfo=dt.UTC)
    clock = ticking_clock(start, dt.timedelta(hours=1))
    monkeypatch.setattr(audit, "utcnow", lambda: next(clock))
    record("sign_in", actor_id=7)  # 09:00
    record("report_decrypted", actor_id=7, target_type="report", target_id=1)  # 10:00
    record("sign_in", actor_id=8)  # 11:00
    record("report_decrypted", actor_id=8, target_type="report", target_id=2)  # 12:00
    record("sign_out", actor_id=7)  # 13:00
    record("sign_out", actor_id=8)  # 14:00
    db.session.commit()
    return start


def seqs(events: list[AuditEvent]) -> list[int]:
    return [event.seq for event in events]


def test_list_events_shows_the_newest_first(a_day_of_events):
    events, total = audit.list_events(db.session)
    assert seqs(events) == [6, 5, 4, 3, 2, 1]
    assert total == 6


def test_list_events_filters_by_action(a_day_of_events):
    events, total = audit.list_events(db.session, action="report_decrypted")
    assert (seqs(events), total) == ([4, 2], 2)


def test_list_events_filters_by_actor(a_day_of_events):
    events, total = audit.list_events(db.session, actor_id=8)
    assert (seqs(events), total) == ([6, 4, 3], 3)


def test_list_events_filters_by_period_including_since_and_excluding_until(a_day_of_events):
    start = a_day_of_events
    events, total = audit.list_events(
        db.session, since=start + dt.timedelta(hours=1), until=start + dt.timedelta(hours=3)
    )
    assert (seqs(events), total) == ([3, 2], 2)


def test_list_events_combines_filters(a_day_of_events):
    events, total = audit.list_events(
        db.session, action="sign_out", actor_id=7, since=a_day_of_events
    )
    assert (seqs(events), total) == ([5], 1)


def test_list_events_paginates_with_the_total_on_every_page(a_day_of_events):
    pages = [audit.list_events(db.session, page=page, per_page=4) for page in (1, 2, 3)]
    assert [(seqs(events), total) for events, total in pages] == [
        ([6, 5, 4, 3], 6),
        ([2, 1], 6),
        ([], 6),
    ]


@pytest.mark.parametrize(("page", "per_page"), [(0, 50), (1, 0), (1, audit.MAX_PER_PAGE + 1)])
def test_list_events_refuses_impossible_pages(app, page, per_page):
    with pytest.raises(ValueError):
        audit.list_events(db.session, page=page, per_page=per_page)


def test_list_events_refuses_naive_datetimes(a_day_of_events):
    with pytest.raises(ValueError, match="timezone-aware"):
        audit.list_events(db.session, since=dt.datetime(2026, 11, 27))
