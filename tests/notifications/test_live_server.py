"""Through a real server: a report sent over HTTP to gunicorn reaches the reader's mailbox, content-free."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.db import db
from portal.notifications import services
from portal.orgs.models import StaffMember
from tests.live import STAFF_EMAIL, LivePortal, Reporter, unique_narrative
from tests.notifications import MAIL_FROM, PUBLIC_URL, wait_for_mail

pytestmark = pytest.mark.slow


def test_a_report_sent_to_gunicorn_emails_the_reader(tmp_path, live_database_url, mail_server):
    env = {
        "PORTAL_SMTP_HOST": "127.0.0.1",
        "PORTAL_SMTP_PORT": str(mail_server.port),
        "PORTAL_SMTP_SECURITY": "none",
        "PORTAL_MAIL_FROM": MAIL_FROM,
        "PORTAL_PUBLIC_URL": PUBLIC_URL,
    }
    portal = LivePortal(tmp_path / "portal", database_url=live_database_url, server="gunicorn-sync",
                        extra_env=env).set_up()
    app = portal.app()
    with app.app_context():
        reader = db.session.scalar(select(StaffMember).where(StaffMember.email == STAFF_EMAIL))
        services.set_preference(db.session, reader.id, delivery="immediate", locale=None)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()

    narrative = unique_narrative("notification")
    with portal.start():
        receipt = Reporter(portal.url).submit_report(narrative)
        [received] = wait_for_mail(mail_server, 1, timeout=30)
        assert portal.portal("notifications", "send").startswith("Sent 0 emails")  # nothing left

    assert received.recipients == [STAFF_EMAIL]
    assert received.message["Subject"] == "A new report for your organization"
    assert f"{PUBLIC_URL}/staff/" in received.body
    raw = received.raw.decode("utf-8", "replace")
    for needle in (narrative, receipt, receipt.replace(" ", ""), "THR-HARASS", "Toronto"):
        assert needle not in raw
    log = portal.log_file.read_text(errors="replace")
    assert "Traceback" not in log
    assert STAFF_EMAIL not in log
