"""Staff notification emails, against a real SMTP server on a free local port (aiosmtpd)."""

from __future__ import annotations

import asyncio
import email
import time
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import select

from portal.db import db
from portal.notifications import services
from portal.notifications.models import PendingNotification
from portal.notifications.sender import EXTENSION
from portal.orgs.models import Organization

MAIL_FROM = "notifications@coalition.example"
PUBLIC_URL = "https://portal.coalition.example"


@dataclass
class Received:
    recipients: list[str]
    message: EmailMessage
    raw: bytes
    helo: str

    @property
    def body(self) -> str:
        return self.message.get_content()


@dataclass
class MailServer:
    """A real SMTP server in this process: what it accepted, in order."""

    port: int
    received: list[Received] = field(default_factory=list)
    delay: float = 0.0
    _controller: Controller | None = None

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201 (aiosmtpd's hook)
        if self.delay:
            await asyncio.sleep(self.delay)
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=policy.default)
        self.received.append(Received(list(envelope.rcpt_tos), message, raw, session.host_name or ""))
        return "250 Message accepted for delivery"

    def start(self) -> MailServer:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[Received]:
        return [item for item in self.received if address in item.recipients]


def smtp_config(port: int, **extra: object) -> dict[str, object]:
    return {
        "PORTAL_SMTP_HOST": "127.0.0.1",
        "PORTAL_SMTP_PORT": port,
        "PORTAL_SMTP_SECURITY": "none",
        "PORTAL_MAIL_FROM": MAIL_FROM,
        "PORTAL_PUBLIC_URL": PUBLIC_URL,
        **extra,
    }


def settle(app: Flask) -> None:
    """Wait until the background sender has done what the last request gave it."""
    app.extensions[EXTENSION].wait()


def wait_for_mail(server: MailServer, count: int, timeout: float = 10) -> list[Received]:
    deadline = time.monotonic() + timeout
    while len(server.received) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return server.received


def choose(factory, email_address: str, delivery: str, *, org: str = "intake", role: str = "triager",
           locale: str | None = None):
    """A staff member who chose this delivery on their settings page."""
    staff = factory.staff(email_address, org=org, role=role)
    services.set_preference(db.session, staff.id, delivery=delivery, locale=locale)
    db.session.commit()
    return staff


def org_id(slug: str = "intake") -> int:
    return db.session.scalar(select(Organization.id).where(Organization.slug == slug))


def pending() -> list[tuple[str, int, int]]:
    """(kind, staff member, attempts) of every notification waiting, in order."""
    db.session.expire_all()
    return [
        (row.kind, row.staff_member_id, row.attempts)
        for row in db.session.scalars(select(PendingNotification).order_by(PendingNotification.id))
    ]
