"""New reports and reporters' replies reach the staff who chose email, and say nothing about the report."""

from __future__ import annotations

import datetime as dt
import logging
import re
import socket

from sqlalchemy import select, update

from portal.cli import main
from portal.db import db
from portal.notifications import services
from portal.notifications.models import PendingNotification
from portal.reports.models import Report
from portal.taxonomy import TACTIC_CODES, TACTIC_GROUPS
from tests.conftest import receipt_from, send_report, valid_report
from tests.followup import reporter_post, signed_in_reporter, staff_post, submitted
from tests.notifications import (
    MAIL_FROM,
    PUBLIC_URL,
    choose,
    org_id,
    pending,
    settle,
    wait_for_mail,
)

NARRATIVE = "NARRATIVE-MARKER-4417 They photographed me at the vigil outside the consulate."
ANSWER = "REPLY-MARKER-9021 The calls came again from the same number."


def _ready(factory):
    factory.organization("intake", "Coalition intake team", default=True)
    factory.organization("other", "Other member", default=False)
    factory.recovery_key()


def _report(client, **overrides):
    response = send_report(client, valid_report(organizations=[str(org_id())], **overrides))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def test_a_new_report_emails_each_reader_who_chose_it_once_and_nobody_else(app, client, factory, mail_server):
    _ready(factory)
    at_once = choose(factory, "at-once@intake.example", "immediate")
    daily = choose(factory, "daily@intake.example", "daily")
    choose(factory, "off@intake.example", "off")
    factory.staff("never-chose@intake.example")  # no choice made: no email
    gone = choose(factory, "gone@intake.example", "immediate")
    gone.is_active = False
    choose(factory, "analyst@intake.example", "immediate", role="analyst")  # never reads reports
    choose(factory, "other-org@other.example", "immediate", org="other")
    db.session.commit()

    _report(client, narrative=NARRATIVE)
    settle(app)

    assert [item.recipients for item in mail_server.received] == [["at-once@intake.example"]]
    assert mail_server.received[0].message["Subject"] == "A new report for your organization"
    # The daily reader's news waits for tomorrow's summary; nobody else has any.
    assert pending() == [("new_report", daily.id, 0)]
    assert at_once.id not in {staff for _kind, staff, _attempts in pending()}


def test_the_email_names_no_content_tactic_reporter_receipt_or_report(app, client, factory, mail_server):
    _ready(factory)
    choose(factory, "reader@intake.example", "immediate")
    response = _report(client, narrative=NARRATIVE, city="Markham", perpetrator_details="PERP-MARKER-77")
    receipt = receipt_from(response.get_data(as_text=True))
    report_id = db.session.scalar(select(Report.id))
    settle(app)

    [received] = mail_server.received
    raw = received.raw.decode("utf-8", "replace")
    secrets_typed = [NARRATIVE, "NARRATIVE-MARKER-4417", "Markham", "PERP-MARKER-77", receipt,
                     receipt.replace(" ", ""), "Urumqi", "Uyghur", "uyghur"]
    chosen = {"THR-HARASS", "PRX-CONTACT"}  # valid_report's tactics
    labels = [label for _g, _l, codes in TACTIC_GROUPS for code, label in codes if code in chosen]
    for needle in [*secrets_typed, *TACTIC_CODES, *labels, "Coalition intake team", f"/reports/{report_id}"]:
        assert needle not in raw, needle
    # No number at all in what it says, so no report number either.
    assert not re.search(r"\d", received.body.replace(PUBLIC_URL, ""))
    assert f"{PUBLIC_URL}/staff/" in received.body
    assert f"{PUBLIC_URL}/staff/notifications/" in received.body
    assert received.message["From"] == MAIL_FROM
    assert received.message["Auto-Submitted"] == "auto-generated"
    # The server's own name stays out of the greeting and the message id.
    assert received.helo == "coalition.example"
    assert received.message["Message-ID"].endswith("@coalition.example>")
    assert socket.gethostname() not in raw


def test_a_reporters_reply_emails_the_readers_and_a_staff_reply_does_not(app, client, factory, mail_server, staff_client):
    staff, triager = staff_client
    services.set_preference(db.session, triager.id, delivery="immediate", locale=None)
    db.session.commit()
    report_id, receipt = submitted(client)
    settle(app)
    assert len(mail_server.received) == 1  # the new report

    assert staff_post(staff, report_id, "messages", {"text": "Could you tell us when it started?"}).status_code == 303
    settle(app)
    assert len(mail_server.received) == 1  # staff's own reply: no email

    signed_in_reporter(client, receipt)
    assert reporter_post(client, "/follow-up/messages", {"text": ANSWER}).status_code == 303
    settle(app)
    assert len(mail_server.received) == 2
    reply = mail_server.received[1]
    assert reply.recipients == [triager.email]
    assert reply.message["Subject"] == "A reporter replied"
    assert "REPLY-MARKER-9021" not in reply.raw.decode("utf-8", "replace")
    assert pending() == []


def test_a_daily_summary_groups_a_days_news_into_one_email_the_day_after(app, client, factory, mail_server, runner):
    _ready(factory)
    daily = choose(factory, "daily@intake.example", "daily")
    other = choose(factory, "daily-too@intake.example", "daily")
    _report_id, receipt = submitted(client)
    _report(client)
    _report(client)
    signed_in_reporter(client, receipt)
    assert reporter_post(client, "/follow-up/messages", {"text": ANSWER}).status_code == 303
    settle(app)
    assert mail_server.received == []
    assert len(pending()) == 8

    result = runner.invoke(main, ["notifications", "send"])
    assert result.exit_code == 0, result.output
    assert mail_server.received == []  # today is not over yet

    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    db.session.execute(update(PendingNotification).values(day=yesterday))
    db.session.commit()
    result = runner.invoke(main, ["notifications", "send"])
    assert result.exit_code == 0, result.output
    assert "Sent 2 emails (8 notifications)" in result.output

    by_recipient = {item.recipients[0]: item for item in mail_server.received}
    assert set(by_recipient) == {daily.email, other.email}
    summary = by_recipient[daily.email]
    assert summary.message["Subject"] == "Your daily summary from the portal"
    assert "- 3 new reports for your organization" in summary.body
    assert "- 1 reply from a reporter" in summary.body
    assert "REPLY-MARKER-9021" not in summary.raw.decode("utf-8", "replace")
    assert pending() == []

    result = runner.invoke(main, ["notifications", "send"])
    assert "Sent 0 emails" in result.output
    assert len(mail_server.received) == 2  # sent rows are gone: nothing twice


def test_with_the_mail_server_down_the_report_is_taken_and_the_timer_retries(app, client, factory, mail_server, runner, caplog):
    _ready(factory)
    reader = choose(factory, "reader@intake.example", "immediate")
    mail_server.stop()
    caplog.set_level(logging.INFO)

    response = _report(client)
    assert 'id="receipt"' in response.get_data(as_text=True)
    settle(app)
    # Put back untouched: the request's sender writes no time that would date the report.
    assert pending() == [("new_report", reader.id, 0)]
    assert db.session.scalar(select(PendingNotification.retry_after)) is None

    result = runner.invoke(main, ["notifications", "send"])
    assert result.exit_code == 1
    assert "could not be sent (the mail server is unavailable)" in result.output
    assert pending() == [("new_report", reader.id, 1)]
    retry_after = db.session.scalar(select(PendingNotification.retry_after))
    assert dt.timedelta(minutes=4) < retry_after - dt.datetime.now(dt.UTC) <= dt.timedelta(minutes=5)

    mail_server.start()
    result = runner.invoke(main, ["notifications", "send"])
    assert result.exit_code == 0, result.output
    assert mail_server.received == []  # still backing off
    result = runner.invoke(main, ["notifications", "send", "--retry-now"])
    assert result.exit_code == 0, result.output
    assert [item.recipients for item in wait_for_mail(mail_server, 1)] == [[reader.email]]
    assert pending() == []
    portal_log = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("portal"))
    assert "could not send 1 notification emails (mail server unavailable)" in portal_log
    assert reader.email not in portal_log and "intake.example" not in portal_log


def test_backoff_grows_and_stops_growing():
    assert [services.retry_delay(n) for n in (1, 2, 3)] == [
        dt.timedelta(minutes=5), dt.timedelta(minutes=10), dt.timedelta(minutes=20)
    ]
    assert services.retry_delay(30) == services.LONGEST_RETRY


def test_a_slow_mail_server_does_not_hold_up_the_reporter(app, client, factory, mail_server):
    import time

    _ready(factory)
    choose(factory, "reader@intake.example", "immediate")
    mail_server.delay = 5
    started = time.monotonic()
    _report(client)
    assert time.monotonic() - started < 4
    settle(app)
    assert len(mail_server.received) == 1


def test_news_for_someone_who_stopped_or_left_is_dropped_unsent(app, client, factory, mail_server, runner):
    _ready(factory)
    stopping = choose(factory, "stopping@intake.example", "daily")
    leaving = choose(factory, "leaving@intake.example", "daily")
    _report(client)
    assert len(pending()) == 2

    services.set_preference(db.session, stopping.id, delivery="off", locale=None)
    leaving.is_active = False
    db.session.commit()
    assert pending() == [("new_report", leaving.id, 0)]
    db.session.execute(update(PendingNotification).values(day=dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)))
    db.session.commit()
    result = runner.invoke(main, ["notifications", "send"])
    assert result.exit_code == 0, result.output
    assert "Dropped 1" in result.output
    assert mail_server.received == [] and pending() == []


def test_two_senders_never_send_the_same_notification(app, client, factory, mail_server):
    _ready(factory)
    choose(factory, "reader@intake.example", "immediate")
    mail_server.stop()
    _report(client)
    settle(app)
    mail_server.start()
    sent: list = []

    def send(batch):
        sent.append(batch)
        # Another sender running meanwhile finds nothing left to take.
        inner = services.deliver(db.session, lambda _b: sent.append("twice"), now=dt.datetime.now(dt.UTC))
        assert inner.emails_sent == 0

    report = services.deliver(db.session, send, now=dt.datetime.now(dt.UTC))
    assert report.emails_sent == 1 and len(sent) == 1
    assert sent[0].counts == {"new_report": 1}


def test_the_email_is_written_in_the_language_the_reader_chose(app, client, factory, mail_server):
    from flask_babel import force_locale, gettext

    _ready(factory)
    choose(factory, "fr@intake.example", "immediate", locale="fr")
    choose(factory, "en@intake.example", "immediate")
    _report(client)
    settle(app)

    [french] = mail_server.to("fr@intake.example")
    [english] = mail_server.to("en@intake.example")
    assert french.message["Content-Language"] == "fr"
    assert english.message["Content-Language"] == "en"
    with force_locale("fr"):
        assert french.message["Subject"] == gettext("A new report for your organization")
    assert english.message["Subject"] == "A new report for your organization"


def test_a_refused_recipient_waits_alone_while_the_others_are_sent(app, client, factory, mail_server, runner):
    _ready(factory)
    refused = choose(factory, "refused@intake.example", "daily")
    fine = choose(factory, "fine@intake.example", "daily")
    _report(client)
    db.session.execute(update(PendingNotification).values(day=dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)))
    db.session.commit()

    refused_address = refused.email

    async def handle_RCPT(server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN202
        if address == refused_address:
            return "550 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    mail_server.handle_RCPT = handle_RCPT
    result = runner.invoke(main, ["notifications", "send"])
    assert result.exit_code == 1
    assert "a recipient was refused" in result.output
    assert [item.recipients for item in mail_server.received] == [[fine.email]]
    assert pending() == [("new_report", refused.id, 1)]
