"""Without a mail server set up nothing is queued and nothing breaks; bad mail settings stop the start."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from flask import Flask

from portal import create_app
from portal.cli import main
from portal.config import ConfigError
from portal.db import db
from portal.notifications import services
from portal.notifications.mail import SmtpSettings
from portal.orgs.models import StaffMember
from portal.reports.services import Consent, submit_report
from tests.conftest import TEST_KDF, send_report, valid_report
from tests.followup import reporter_post, signed_in_reporter, submitted
from tests.notifications import org_id, pending, smtp_config


@pytest.fixture
def app(make_app) -> Iterator[Flask]:
    """The portal as installed: no PORTAL_SMTP_HOST."""
    app = make_app()
    with app.app_context():
        yield app


def test_without_smtp_reports_and_replies_queue_nothing(app, client, factory, runner, staff_client):
    _staff, triager = staff_client
    # Chosen while a mail server was set up, say; it is not any more.
    services.set_preference(db.session, triager.id, delivery="immediate", locale=None)
    db.session.commit()

    _report_id, receipt = submitted(client)
    assert send_report(client, valid_report(organizations=[str(org_id())])).status_code == 200
    signed_in_reporter(client, receipt)
    assert reporter_post(client, "/follow-up/messages", {"text": "Another call today."}).status_code == 303
    assert pending() == []

    result = runner.invoke(main, ["notifications", "send"])
    assert result.exit_code == 0, result.output
    assert "No mail server is set up" in result.output


def test_without_smtp_the_page_says_the_counters_are_the_signal(app, staff_client):
    client, _staff = staff_client
    html = client.get("/staff/notifications/").get_data(as_text=True)
    assert "This portal does not send email" in html
    assert 'name="delivery"' not in html


def test_a_command_line_data_load_queues_nothing_a_web_request_would(app, factory):
    """`portal demo` files hundreds of reports through the same service: no flood of emails."""
    factory.portal_ready()
    triager = db.session.scalars(db.select(StaffMember)).one()
    services.set_preference(db.session, triager.id, delivery="immediate", locale=None)
    db.session.commit()

    def file_report() -> None:
        submit_report(
            db.session,
            answers={"narrative": "demo"},
            organization_ids=[org_id()],
            consent=Consent(statistics=True, referral=False, contact=False),
            lookup_key=app.config["PORTAL_SECRETS"].lookup_key,
            kdf=TEST_KDF,
            today=dt.date(2026, 1, 1),
        )

    file_report()
    assert pending() == []
    services.enable_email(db.session)  # what a web request does when SMTP is set up
    file_report()
    assert pending() == [("new_report", triager.id, 0)]


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"PORTAL_MAIL_FROM": None}, "PORTAL_MAIL_FROM"),
        ({"PORTAL_SMTP_HOST": "mail.example.org"}, "only for a mail relay on this machine"),
        ({"PORTAL_SMTP_SECURITY": "ssl"}, "starttls, tls or none"),
        ({"PORTAL_SMTP_USER": "portal"}, "PORTAL_SMTP_PASSWORD_FILE"),
        ({"PORTAL_SMTP_USER": "portal", "PORTAL_SMTP_PASSWORD_FILE": "/nonexistent/password"}, "cannot be read"),
    ],
)
def test_mail_settings_that_cannot_work_stop_the_app_from_starting(instance_path, changes, complaint):
    config = {"PORTAL_INSTANCE_PATH": str(instance_path), "PORTAL_KDF": TEST_KDF,
              "SQLALCHEMY_DATABASE_URI": "sqlite://", **smtp_config(2525), **changes}
    with pytest.raises(ConfigError, match=complaint):
        create_app(config)


def test_the_smtp_password_comes_from_a_file_and_is_never_shown(tmp_path):
    secret = tmp_path / "smtp-password"
    secret.write_text("s3cret-smtp-password\n")
    settings = SmtpSettings.from_config(
        {**smtp_config(587), "PORTAL_SMTP_HOST": "mail.example.org", "PORTAL_SMTP_SECURITY": "starttls",
         "PORTAL_SMTP_USER": "portal", "PORTAL_SMTP_PASSWORD_FILE": str(secret), "PORTAL_SMTP_TIMEOUT_SECONDS": 10}
    )
    assert settings.password == "s3cret-smtp-password"
    assert "s3cret" not in repr(settings)
