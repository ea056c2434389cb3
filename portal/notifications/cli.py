"""`portal notifications`: send what is due (from a timer), and check the mail settings."""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import with_appcontext

from portal.notifications.mail import settings_check_message
from portal.notifications.sender import notifier
from portal.notifications.services import DeliveryFailed


@click.group("notifications")
def notifications_group() -> None:
    """Staff notification emails."""


@notifications_group.command("send")
@click.option("--digests/--no-digests", default=True, show_default=True,
              help="Also send daily summaries of the days that are over (UTC).")
@click.option("--retry-now", is_flag=True, help="Try waiting emails now, whatever their retry time.")
@with_appcontext
def send_command(digests: bool, retry_now: bool) -> None:
    """Send due notification emails and retry failed ones; run it every few minutes."""
    sender = notifier()
    if not sender.enabled:
        click.echo("No mail server is set up (PORTAL_SMTP_HOST): nothing to send.")
        return
    report = sender.send_due(digests=digests, record_failures=True, ignore_backoff=retry_now)
    click.echo(f"Sent {report.emails_sent} emails ({report.notifications_sent} notifications).")
    if report.dropped:
        click.echo(f"Dropped {report.dropped} notifications that were stale or no longer wanted.")
    if report.emails_failed:
        reason = "the mail server is unavailable" if report.server_unavailable else "a recipient was refused"
        raise click.ClickException(f"{report.emails_failed} emails could not be sent ({reason}); they will be retried.")


@notifications_group.command("send-test")
@click.argument("recipient")
@with_appcontext
def send_test_command(recipient: str) -> None:
    """Send a test email to RECIPIENT, to check the mail settings."""
    from portal.notifications.mail import send_message

    sender = notifier()
    if sender.settings is None:
        raise click.ClickException("No mail server is set up (PORTAL_SMTP_HOST).")
    try:
        send_message(sender.settings, settings_check_message(sender.settings, recipient, now=dt.datetime.now(dt.UTC)))
    except DeliveryFailed as failure:
        reason = "the mail server is unavailable or refused us" if failure.server_unavailable else "the recipient was refused"
        raise click.ClickException(f"Could not send: {reason}.") from failure
    click.echo("Sent.")
