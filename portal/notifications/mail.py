"""Writing and sending notification emails: plain text, through smtplib.

An email account is easier to seize, phish or subpoena than the server, so what is written here
is assumed to be read by the adversary: it says that something happened and where to sign in,
never what a report is about, which one, who sent it, or its tactic. The EHLO greeting and the
Message-ID name the sender's mail domain, not this machine.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from flask_babel import force_locale, ngettext
from flask_babel import gettext as _

from portal.config import ConfigError
from portal.notifications.services import Batch, DeliveryFailed

SECURITY_MODES = ("starttls", "tls", "none")


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str
    sender: str
    timeout: float
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def sender_domain(self) -> str:
        return self.sender.rpartition("@")[2] or "localhost"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SmtpSettings | None:
        """The mail server to use, or None when none is set up; refuse settings that cannot work
        or would send the password in the clear."""
        host = config.get("PORTAL_SMTP_HOST")
        if not host:
            return None
        security = config["PORTAL_SMTP_SECURITY"]
        if security not in SECURITY_MODES:
            raise ConfigError("PORTAL_SMTP_SECURITY must be starttls, tls or none")
        if security == "none" and not _is_loopback(host):
            # Staff addresses and the moments news arrives would cross the network in the clear.
            raise ConfigError("PORTAL_SMTP_SECURITY=none is only for a mail relay on this machine")
        sender = config.get("PORTAL_MAIL_FROM")
        if not sender or "@" not in sender or any(c in sender for c in "\r\n"):
            raise ConfigError("PORTAL_MAIL_FROM must be set to an email address when PORTAL_SMTP_HOST is")
        user = config.get("PORTAL_SMTP_USER") or None
        password = None
        if user:
            password_file = config.get("PORTAL_SMTP_PASSWORD_FILE")
            if not password_file:
                raise ConfigError("PORTAL_SMTP_USER needs PORTAL_SMTP_PASSWORD_FILE")
            try:
                password = Path(password_file).read_text("utf-8").strip()
            except OSError as exc:
                raise ConfigError("PORTAL_SMTP_PASSWORD_FILE cannot be read") from exc
        return cls(
            host=host,
            port=int(config["PORTAL_SMTP_PORT"]),
            security=security,
            sender=sender,
            timeout=float(config["PORTAL_SMTP_TIMEOUT_SECONDS"]),
            user=user,
            password=password,
        )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def send_message(settings: SmtpSettings, message: EmailMessage) -> None:
    """Hand one message to the mail server; raise DeliveryFailed, never smtplib's errors."""
    context = ssl.create_default_context()
    helo = settings.sender_domain
    try:
        if settings.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.host, settings.port, local_hostname=helo, timeout=settings.timeout, context=context
            )
        else:
            client = smtplib.SMTP(settings.host, settings.port, local_hostname=helo, timeout=settings.timeout)
        with client:
            if settings.security == "starttls":
                client.starttls(context=context)
            if settings.user:
                client.login(settings.user, settings.password or "")
            client.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryFailed(server_unavailable=False) from exc
    except (OSError, smtplib.SMTPException) as exc:  # unreachable, TLS, authentication, refused us
        raise DeliveryFailed(server_unavailable=True) from exc


# --- what the email says ----------------------------------------------------------------------------


def compose(batch: Batch, *, settings: SmtpSettings, public_url: str | None, now: dt.datetime) -> EmailMessage:
    """The email for one staff member's batch, in their language (English if none is stored)."""
    language = batch.locale or "en"
    with force_locale(language):
        subject, lines = _wording(batch)
        body = [_("Hello,"), "", *lines, ""]
        if public_url:
            body += [_("Sign in to the staff pages: %(url)s", url=f"{public_url}/staff/"), ""]
            body.append(_("You get these emails because you chose them. To change or stop them: %(url)s",
                          url=f"{public_url}/staff/notifications/"))
        else:
            body += [_("Sign in to the portal's staff pages to see more."), ""]
            body.append(_("You get these emails because you chose them. To change or stop them, open "
                          "Notifications in the portal's staff pages."))
        body += ["", _("These emails never say what a report is about, which report it is, or who sent it.")]
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = batch.email
    message["Subject"] = subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=settings.sender_domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    message.set_content("\n".join(body) + "\n")
    message["Content-Language"] = language.replace("_", "-")  # after set_content, which clears Content-*
    return message


def _wording(batch: Batch) -> tuple[str, list[str]]:
    new_reports = batch.counts.get("new_report", 0)
    replies = batch.counts.get("reporter_replied", 0)
    if batch.digest:
        subject = _("Your daily summary from the portal")
    elif new_reports == 1 and not replies:
        return _("A new report for your organization"), [_("A new report was shared with your organization.")]
    elif replies == 1 and not new_reports:
        return _("A reporter replied"), [_("A reporter replied on a report your organization can read.")]
    else:
        subject = _("New work on the portal")
    lines = [_("Since your last email from the portal:")]
    if new_reports:
        lines.append("- " + ngettext("%(num)d new report for your organization",
                                     "%(num)d new reports for your organization", new_reports))
    if replies:
        lines.append("- " + ngettext("%(num)d reply from a reporter", "%(num)d replies from reporters", replies))
    return subject, lines


def settings_check_message(settings: SmtpSettings, recipient: str, *, now: dt.datetime) -> EmailMessage:
    """A message that only proves the settings work (`portal notifications send-test`)."""
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = recipient
    message["Subject"] = "Portal test email"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=settings.sender_domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content("The portal can send notification emails with these settings.\n")
    return message
