"""Coming back with the receipt: replies, messages and files, throttled guesses, short sessions."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
import zlib
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from portal import crypto
from portal.db import db
from portal.reporter import followup_views
from portal.reporter.models import FollowUpWindow, ReceiptThrottle, ReporterSession
from portal.reports import followup
from portal.reports.models import Message, Report
from tests.conftest import receipt_from
from tests.followup import (
    NOT_RECOGNISED,
    download_link,
    grouped,
    now,
    open_follow_up,
    reporter_page,
    reporter_post,
    send_report_with_files,
    signed_in_reporter,
    staff_page,
    staff_post,
    submitted,
    visible_text,
)

REPLY = "Thank you. Could you tell us which month the calls started?"
ANSWER = "The calls started in October, always from a +86 number."


def full_width(text: str) -> str:
    """Digits as a Chinese input method types them (U+FF10…U+FF19)."""
    return "".join(chr(ord(char) + 0xFEE0) if char.isdigit() else char for char in text)


def awaiting_reply(client) -> int:
    html = client.get("/staff/").get_data(as_text=True)
    match = re.search(r"<strong>(\d+)</strong> awaiting reply", html)
    assert match, "no awaiting-reply counter on the dashboard"
    return int(match.group(1))


# --- the whole return, end to end -------------------------------------------------------------


def test_a_reporter_comes_back_reads_a_reply_answers_and_adds_a_file_staff_download_intact(
    client, staff_client
):
    staff, _member = staff_client
    statement = b"Statement: the visit on 3 October.\n" * 50
    recording = bytes(range(256)) * 700  # several stream chunks
    report_id, receipt = submitted(
        client, [("statement.txt", statement, "text/plain"), ("call.m4a", recording, "audio/mp4")]
    )

    # Typed sloppily: spaces and dashes in odd places.
    response = open_follow_up(client, f"  {grouped(receipt, ' - ')} --")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/follow-up/report")
    html = reporter_page(client)
    assert "statement.txt" in html and "call.m4a" in html

    assert staff_post(staff, report_id, "messages", {"text": REPLY}).status_code == 303
    assert REPLY in reporter_page(client)

    assert reporter_post(client, "/follow-up/messages", {"text": ANSWER}).status_code == 303
    assert ANSWER in staff_page(staff, report_id)

    added = b"<html><script>alert('opened in the portal')</script></html>"
    response = reporter_post(
        client, "/follow-up/files", files=[("screenshot.html", added, "text/html")]
    )
    assert response.status_code == 303
    assert "screenshot.html" in reporter_page(client)

    html = staff_page(staff, report_id)
    for name, original in (
        ("statement.txt", statement),
        ("call.m4a", recording),
        ("screenshot.html", added),
    ):
        download = staff.get(download_link(html, report_id, name))
        assert download.status_code == 200
        assert hashlib.sha256(download.data).hexdigest() == hashlib.sha256(original).hexdigest()
        assert download.headers["Content-Disposition"].startswith("attachment;")
        assert download.headers["X-Content-Type-Options"] == "nosniff"
        # Never a type a browser renders or runs, whatever the reporter's browser claimed.
        assert download.mimetype == "application/octet-stream", name


def test_a_receipt_typed_with_full_width_digits_opens_the_report(client, factory):
    factory.portal_ready()
    _report_id, receipt = submitted(client)

    response = open_follow_up(client, full_width(grouped(receipt, "\u3000")))

    assert response.status_code == 303
    assert "Your report" in reporter_page(client)


# --- wrong receipts and throttling ------------------------------------------------------------


def test_wrong_deleted_and_malformed_receipts_get_the_same_answer(app, client, factory):
    factory.portal_ready()
    deleted_id, deleted_receipt = submitted(client)
    followup.delete_report(db.session, deleted_id)

    answers = [
        open_follow_up(app.test_client(), typed)
        for typed in (
            grouped(crypto.generate_receipt()),
            grouped(deleted_receipt),
            "12345-67890-abcde",
        )
    ]

    assert [answer.status_code for answer in answers] == [422, 422, 422]
    wrong, deleted, malformed = (visible_text(answer.get_data(as_text=True)) for answer in answers)
    assert NOT_RECOGNISED in wrong
    assert deleted == wrong
    assert malformed == wrong


def test_a_receipt_waits_after_three_failures_while_others_still_open(client, factory):
    factory.portal_ready()
    _report_id, receipt = submitted(client)
    wrong = grouped(crypto.generate_receipt())

    assert [open_follow_up(client, wrong).status_code for _ in range(3)] == [422, 422, 422]
    fourth = open_follow_up(client, wrong)

    assert fourth.status_code == 429
    assert "Too many attempts. Please wait 1 minute and try again." in fourth.get_data(as_text=True)
    # Guesses are counted per receipt: the reporter's own still opens.
    assert open_follow_up(client, grouped(receipt)).status_code == 303


def test_the_global_ceiling_makes_everyone_wait_for_the_next_minute(
    app, client, factory, monkeypatch
):
    factory.portal_ready()
    _report_id, receipt = submitted(client)
    clock = [now().replace(second=5, microsecond=0)]  # well inside one minute's window
    monkeypatch.setattr(followup_views, "_now", lambda: clock[0])
    monkeypatch.setattr(followup, "GLOBAL_FAILURES_PER_MINUTE", 2)

    guesser = app.test_client()
    assert open_follow_up(guesser, grouped(crypto.generate_receipt())).status_code == 422
    assert open_follow_up(guesser, grouped(crypto.generate_receipt())).status_code == 422

    refused = open_follow_up(client, grouped(receipt))
    assert refused.status_code == 429
    assert "Too many attempts" in refused.get_data(as_text=True)

    clock[0] += dt.timedelta(minutes=1)
    assert open_follow_up(client, grouped(receipt)).status_code == 303


def test_the_throttle_tables_hold_lookup_ids_only(app, factory):
    factory.portal_ready()
    address = "203.0.113.77"
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    wrong = crypto.generate_receipt()
    for _ in range(2):
        assert open_follow_up(client, grouped(wrong, "-")).status_code == 422

    assert {column.name for column in ReceiptThrottle.__table__.columns} == {
        "lookup_id",
        "failures",
        "blocked_until",
    }
    assert {column.name for column in FollowUpWindow.__table__.columns} == {
        "window_start",
        "failures",
    }
    lookup = crypto.receipt_lookup_id(wrong, app.config["PORTAL_SECRETS"].lookup_key)
    assert list(db.session.scalars(select(ReceiptThrottle.lookup_id))) == [lookup]
    stored = b"".join(
        value if isinstance(value, bytes) else str(value).encode()
        for model in (ReceiptThrottle, FollowUpWindow)
        for row in db.session.execute(select(model.__table__)).all()
        for value in row
    )
    for secret in (wrong, wrong[:10], wrong[-10:], address):
        assert secret.encode() not in stored
    assert bytes(int(part) for part in address.split(".")) not in stored


# --- what the reporter sees, and what never leaves the page ---------------------------------


def test_the_page_says_when_the_receipt_was_last_used(client, factory):
    factory.portal_ready()
    report_id, receipt = submitted(client)
    hour_before = now().replace(minute=0, second=0, microsecond=0)

    signed_in_reporter(client, receipt)
    assert "Never before this visit" in reporter_page(client)
    assert reporter_post(client, "/follow-up/end").status_code == 303

    used = db.session.get(Report, report_id).receipt_last_used_at
    assert hour_before <= used <= now()
    assert (used.minute, used.second, used.microsecond) == (0, 0, 0)  # to the hour, no finer
    signed_in_reporter(client, receipt)
    html = reporter_page(client)
    assert f"{used:%Y-%m-%d}, around {used:%H}:00 UTC" in html
    assert "Never before this visit" not in html


def decoded_forms(cookie_value: str) -> list[str]:
    """A cookie value as sent, URL-decoded, and each dot-separated part base64- (and zlib-) decoded."""
    forms = [cookie_value, unquote(cookie_value)]
    for part in unquote(cookie_value).lstrip(".").split("."):
        try:
            raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        except (binascii.Error, ValueError):
            continue
        forms.append(raw.decode("latin-1"))
        try:
            forms.append(zlib.decompress(raw).decode("latin-1"))
        except zlib.error:
            pass
    return forms


def test_the_receipt_is_never_in_a_cookie_or_a_url(client, factory):
    factory.portal_ready()
    response = send_report_with_files(client)
    responses = [response]
    receipt = crypto.normalize_receipt(receipt_from(response.get_data(as_text=True)))
    responses.append(open_follow_up(client, grouped(receipt)))
    responses.append(client.get("/follow-up/report"))
    responses.append(reporter_post(client, "/follow-up/messages", {"text": ANSWER}))
    responses.append(client.get("/follow-up/report"))
    responses.append(reporter_post(client, "/follow-up/end"))

    pieces = (receipt, receipt[:10], receipt[-10:], grouped(receipt))
    cookies_seen = set()
    for response in responses:
        for header in response.headers.getlist("Set-Cookie"):
            name, value = header.split(";", 1)[0].split("=", 1)
            cookies_seen.add(name)
            for form in decoded_forms(value):
                assert not any(piece in form for piece in pieces), name
        assert not any(piece in response.headers.get("Location", "") for piece in pieces)
        for url in re.findall(r'(?:href|action|src)="([^"]*)"', response.get_data(as_text=True)):
            assert not any(piece in unquote(url) for piece in pieces), url
    assert {"__Host-portal", "__Host-reporter"} <= cookies_seen


# --- reporter sessions ------------------------------------------------------------------------


def only_session() -> ReporterSession:
    db.session.expire_all()
    return db.session.scalars(select(ReporterSession)).one()


@pytest.mark.parametrize(
    ("idle", "age", "still_open"),
    [
        (dt.timedelta(minutes=14), dt.timedelta(minutes=50), True),
        (
            dt.timedelta(minutes=16),
            dt.timedelta(minutes=20),
            False,
        ),  # idle for more than 15 minutes
        (dt.timedelta(minutes=1), dt.timedelta(minutes=61), False),  # older than one hour
    ],
    ids=["active", "idle", "too-old"],
)
def test_a_reporter_session_ends_when_idle_or_too_old(client, factory, idle, age, still_open):
    factory.portal_ready()
    _report_id, receipt = submitted(client)
    signed_in_reporter(client, receipt)
    row = only_session()
    row.created_at = now() - age
    row.last_seen_at = now() - idle
    db.session.commit()

    response = client.get("/follow-up/report")

    if still_open:
        assert response.status_code == 200
        return
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/follow-up")
    assert db.session.scalars(select(ReporterSession)).all() == []
    assert "your session ended" in client.get("/follow-up").get_data(as_text=True)


def test_close_my_report_ends_the_session(client, factory):
    factory.portal_ready()
    _report_id, receipt = submitted(client)
    signed_in_reporter(client, receipt)
    assert "Close my report" in reporter_page(client)

    response = reporter_post(client, "/follow-up/end")

    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    cleared = [
        h for h in response.headers.getlist("Set-Cookie") if h.startswith("__Host-reporter=")
    ]
    assert cleared and "Expires=Thu, 01 Jan 1970" in cleared[0]
    assert db.session.scalars(select(ReporterSession)).all() == []
    assert client.get("/follow-up/report").status_code == 303


# --- messages and consent ---------------------------------------------------------------------


def test_a_reporter_message_awaits_a_reply_until_staff_answer(client, staff_client):
    staff, _member = staff_client
    report_id, receipt = submitted(client)
    signed_in_reporter(client, receipt)
    assert awaiting_reply(staff) == 0

    assert reporter_post(client, "/follow-up/messages", {"text": ANSWER}).status_code == 303
    assert awaiting_reply(staff) == 1

    assert staff_post(staff, report_id, "messages", {"text": REPLY}).status_code == 303
    assert awaiting_reply(staff) == 0


def test_messages_are_sealed_in_the_database(client, staff_client):
    staff, _member = staff_client
    report_id, receipt = submitted(client)
    signed_in_reporter(client, receipt)
    from_reporter, from_staff = "REPORTERMARK they came again", "STAFFMARK we have your message"

    reporter_post(client, "/follow-up/messages", {"text": from_reporter})
    staff_post(staff, report_id, "messages", {"text": from_staff})

    sealed = db.session.scalars(
        select(Message.body_sealed).where(Message.report_id == report_id)
    ).all()
    assert len(sealed) == 2
    for blob in sealed:
        assert b"REPORTERMARK" not in blob and b"STAFFMARK" not in blob
    html = reporter_page(client)
    assert from_reporter in html and from_staff in html


def test_an_empty_message_is_refused(client, factory):
    factory.portal_ready()
    _report_id, receipt = submitted(client)
    signed_in_reporter(client, receipt)

    response = reporter_post(client, "/follow-up/messages", {"text": ""})

    assert response.status_code == 422
    assert "The message is empty." in response.get_data(as_text=True)
    assert db.session.scalars(select(Message)).all() == []


def test_a_reporter_changes_their_consent(client, factory):
    factory.portal_ready()
    report_id, receipt = submitted(client)  # statistics yes, referral no, contact no
    signed_in_reporter(client, receipt)

    response = reporter_post(client, "/follow-up/consent", {"referral": "y", "contact": "y"})

    assert response.status_code == 303
    db.session.expire_all()
    report = db.session.get(Report, report_id)
    assert (report.consent_statistics, report.consent_referral, report.consent_contact) == (
        False,
        True,
        True,
    )
    assert "Your choices were saved." in reporter_page(client)
