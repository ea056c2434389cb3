"""The server killed with SIGKILL while reporters submit (some with evidence files) and a triager
reads the dashboard: nothing is half-written. Every report in the database is whole and readable,
every file has all its chunks, no chunk or file is left without its owner, every receipt the server
handed out before the kill still opens its report, the audit chain verifies, and the portal starts
again and takes reports. Run on SQLite and, in CI's second pass, on PostgreSQL.
"""

from __future__ import annotations

import os
import random
import threading
import time

import pytest
from sqlalchemy import func, select

from tests.live import LivePortal, Reporter, StaffBrowser, unique_narrative

pytestmark = pytest.mark.slow

REPORTERS = 6
EVIDENCE = os.urandom(3 * 1024 * 1024 + 12_345)  # about 50 chunks: long enough to be cut mid-way


def keep_submitting(base: str, index: int, stop: threading.Event, accepted: dict[str, tuple[str, bool]]) -> None:
    """Submit until the server is gone; remember what each handed-out receipt was for."""
    number = 0
    while not stop.is_set():
        number += 1
        narrative = unique_narrative(f"crash {index}.{number}")
        with_file = index % 2 == 0
        try:
            receipt = Reporter(base).submit_report(narrative, [("statement.pdf", EVIDENCE)] if with_file else [])
        except (OSError, AssertionError):
            continue  # the kill, or a request it cut short: no receipt was shown
        accepted[receipt] = (narrative, with_file)


def keep_reading(staff: StaffBrowser, stop: threading.Event) -> None:
    """A triager's dashboard views, each an audit entry for the reports it decrypts."""
    while not stop.is_set():
        try:
            staff.get("/staff/")
        except OSError:
            pass
        time.sleep(0.05)


def load_then_kill(portal: LivePortal, staff: StaffBrowser, seconds: float) -> dict[str, tuple[str, bool]]:
    accepted: dict[str, tuple[str, bool]] = {}
    stop = threading.Event()
    threads = [
        threading.Thread(target=keep_submitting, args=(portal.url, i, stop, accepted)) for i in range(REPORTERS)
    ] + [threading.Thread(target=keep_reading, args=(staff, stop))]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    portal.kill()
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    return accepted


def damage_in(portal: LivePortal) -> dict[str, int]:
    """Count every kind of half-written state the database could hold."""
    from portal.db import db
    from portal.reports.models import Attachment, AttachmentChunk, Report, WrappedKey

    app = portal.app()
    with app.app_context():
        session = db.session
        chunks_per_file = (
            select(AttachmentChunk.attachment_id, func.count().label("n"))
            .group_by(AttachmentChunk.attachment_id)
            .subquery()
        )
        found = {
            "reports without answers": session.scalar(
                select(func.count()).select_from(Report).where(func.length(Report.answers_sealed) == 0)
            ),
            "reports without the recovery key's copy": session.scalar(
                select(func.count()).select_from(Report).where(
                    ~select(WrappedKey.id)
                    .where(WrappedKey.report_id == Report.id, WrappedKey.recovery_key_id.is_not(None))
                    .exists()
                )
            ),
            "files without their report": session.scalar(
                select(func.count()).select_from(Attachment).where(
                    ~select(Report.id).where(Report.id == Attachment.report_id).exists()
                )
            ),
            "files missing chunks": session.scalar(
                select(func.count())
                .select_from(Attachment)
                .outerjoin(chunks_per_file, chunks_per_file.c.attachment_id == Attachment.id)
                .where(func.coalesce(chunks_per_file.c.n, 0) != Attachment.chunk_count)
            ),
            "chunks without their file": session.scalar(
                select(func.count()).select_from(AttachmentChunk).where(
                    ~select(Attachment.id).where(Attachment.id == AttachmentChunk.attachment_id).exists()
                )
            ),
        }
        db.session.remove()
        db.engine.dispose()
    return found


def files_open_intact(portal: LivePortal, receipts: list[str]) -> bool:
    from portal import crypto
    from portal.db import db
    from portal.reports import attachments
    from portal.reports.models import Attachment, Report
    from portal.reports.services import content_key_for_reporter, receipt_lock

    app = portal.app()
    with app.app_context():
        for receipt in receipts:
            normalized = crypto.normalize_receipt(receipt)
            lookup = crypto.receipt_lookup_id(normalized, app.config["PORTAL_SECRETS"].lookup_key)
            report = db.session.scalars(select(Report).where(Report.lookup_id == lookup)).one()
            key = content_key_for_reporter(report, crypto.unlock_keypair(normalized, receipt_lock(report)))
            (attachment,) = db.session.scalars(select(Attachment).where(Attachment.report_id == report.id))
            if attachments.verify(db.session, attachment, key).details.size != len(EVIDENCE):
                return False
        db.session.remove()
        db.engine.dispose()
    return True


@pytest.fixture
def portal(tmp_path, live_database_url):
    portal = LivePortal(tmp_path / "portal", database_url=live_database_url).set_up()
    yield portal
    portal.kill()  # whatever an assertion left running


def test_a_killed_server_leaves_nothing_half_written(portal):
    staff = None
    accepted: dict[str, tuple[str, bool]] = {}
    rng = random.Random(os.getpid())
    for round_number in range(2):
        portal.start()
        # Checked once the portal is up again: a start-up may tidy what a dead process left.
        assert damage_in(portal) == dict.fromkeys(damage_in(portal), 0), f"after kill {round_number}"
        used_step = staff.last_step if staff else -1
        staff = StaffBrowser(portal.url, portal.otpauth_uri)  # a new port: the same person signs in
        staff.last_step = used_step  # and the authenticator never offers a used code again
        staff.sign_in()
        accepted |= load_then_kill(portal, staff, seconds=6 + rng.random() * 4)

    assert len(accepted) >= 4, "the load produced too few reports to say anything"
    opened = portal.narratives_opened_by(list(accepted))
    assert {r: opened[r] for r in accepted} == {r: narrative for r, (narrative, _f) in accepted.items()}
    assert files_open_intact(portal, [r for r, (_n, with_file) in accepted.items() if with_file])
    assert "Audit log intact" in portal.portal("audit", "verify")

    with portal.start():
        assert damage_in(portal) == dict.fromkeys(damage_in(portal), 0), "after the last kill"
        receipt = Reporter(portal.url).submit_report("After the restart")
    assert portal.narrative_opened_by(receipt) == "After the restart"
