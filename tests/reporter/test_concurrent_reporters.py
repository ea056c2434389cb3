"""Reporters who submit at the same moment, against the README's own server (`portal run`) with the
production Argon2id cost: every one gets a receipt, every receipt opens its own report, and the
coalition's recovery key decrypts them all.

Before the portal moved to argon2-cffi, two overlapping derivations hung cryptography's Argon2id
and every later one failed with MemoryError: this test then got no receipt at all.
"""

from __future__ import annotations

import concurrent.futures
import os

import pytest

from tests.live import LivePortal, Reporter, unique_narrative

pytestmark = pytest.mark.slow

REPORTERS = 20


@pytest.fixture(params=["run", "gunicorn-threads"])
def live_run(request, tmp_path, live_database_url):
    """The README's embedded server, and gunicorn with threads (two processes of four each)."""
    portal = LivePortal(tmp_path / "portal", database_url=live_database_url, server=request.param).set_up()
    with portal.start():
        yield portal


def submit_and_come_back(base: str, index: int) -> tuple[str, str, str]:
    narrative = unique_narrative(f"reporter {index}")
    receipt = Reporter(base).submit_report(narrative)
    # Later, from another browser: the receipt signs them in to their report.
    reopened = Reporter(base).open_with_receipt(receipt)
    return narrative, receipt, reopened.body


def test_twenty_reporters_at_once_all_get_a_receipt_that_opens_their_report(live_run):
    with concurrent.futures.ThreadPoolExecutor(REPORTERS) as pool:
        results = list(pool.map(lambda i: submit_and_come_back(live_run.url, i), range(REPORTERS)))

    assert len({receipt for _n, receipt, _p in results}) == REPORTERS
    for narrative, receipt, page in results:
        assert "Your report" in page
        assert live_run.narrative_opened_by(receipt) == narrative  # its own report, no other
    sent = [narrative for narrative, _r, _p in results]

    exported = [record["answers"]["narrative"] for record in live_run.recovery_export()]
    assert sorted(exported) == sorted(sent)
    log = live_run.log_file.read_text(errors="replace")
    assert "Traceback" not in log and "MemoryError" not in log
    assert "127.0.0.1" not in log.replace(f"127.0.0.1:{live_run.port}", "")


def test_the_server_keeps_answering_after_a_burst(live_run):
    """The old failure broke every derivation after the first overlap, until a restart."""
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: Reporter(live_run.url).submit_report(unique_narrative()), range(4)))
    narrative = "After the burst " + os.urandom(4).hex()
    receipt = Reporter(live_run.url).submit_report(narrative)
    assert "Your report" in Reporter(live_run.url).open_with_receipt(receipt).body
    assert live_run.narrative_opened_by(receipt) == narrative


def test_wrong_receipts_at_once_are_each_counted_and_none_breaks(live_run):
    """The first failures of a minute used to race to insert the minute's counter row."""
    from sqlalchemy import func, select

    from portal import crypto
    from portal.db import db
    from portal.reporter.models import FollowUpWindow

    def wrong(_: int) -> int:
        reporter = Reporter(live_run.url)
        try:
            reporter.open_with_receipt(crypto.format_receipt(crypto.generate_receipt()))
        except AssertionError as refused:
            return int(str(refused).rsplit(" ", 1)[1])
        return 303

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(wrong, range(8)))
    assert statuses == [422] * 8
    with live_run.app().app_context():
        assert db.session.scalar(select(func.sum(FollowUpWindow.failures))) == 8
        db.session.remove()
        db.engine.dispose()
