"""Notifications wired into the app: queued during reporters' requests, sent after them and by the timer.

Immediate notifications go out on a thread of their own once the request that queued them has
ended, so a reporter never waits for a mail server and a mail server that is down never fails
their request. Whatever that thread cannot send waits for `portal notifications send` (run from a
timer), which also sends the daily summaries and retries with growing delays.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor

from flask import Flask, current_app

from portal.db import db
from portal.notifications import services
from portal.notifications.mail import SmtpSettings, compose, send_message

log = logging.getLogger(__name__)
EXTENSION = "portal.notifications"


class Notifier:
    """The app's mail server settings and its one background sender."""

    def __init__(self, app: Flask, settings: SmtpSettings | None) -> None:
        self._app = app
        self.settings = settings
        self.public_url: str | None = app.config.get("PORTAL_PUBLIC_URL")
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None
        self._queued = False
        self._last: Future | None = None

    @property
    def enabled(self) -> bool:
        return self.settings is not None

    def send_due(self, *, digests: bool, record_failures: bool, ignore_backoff: bool = False) -> services.DeliveryReport:
        """Send what is due now (inside an app context)."""
        settings = self.settings
        if settings is None:
            raise RuntimeError("no mail server is set up")
        now = dt.datetime.now(dt.UTC)

        def send(batch: services.Batch) -> None:
            send_message(settings, compose(batch, settings=settings, public_url=self.public_url, now=now))

        report = services.deliver(
            db.session, send, now=now, digests=digests, record_failures=record_failures,
            ignore_backoff=ignore_backoff,
        )
        if report.emails_sent:
            log.info("sent %d notification emails", report.emails_sent)
        if report.emails_failed:
            # Never an address, and never smtplib's text, which may quote one.
            log.warning(
                "could not send %d notification emails (%s); they wait for the next attempt",
                report.emails_failed,
                "mail server unavailable" if report.server_unavailable else "recipient refused",
            )
        return report

    def send_soon(self) -> None:
        """Send due immediate notifications on the background thread (one run queued at most)."""
        with self._lock:
            if self._queued:
                return
            self._queued = True
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="portal-notifications")
            self._last = self._executor.submit(self._send_immediate)

    def wait(self, timeout: float | None = 30) -> None:
        """Let the background sender finish what it was given (tests, orderly shutdown)."""
        last = self._last
        if last is not None:
            last.result(timeout)

    def _send_immediate(self) -> None:
        with self._lock:
            self._queued = False  # news committed from now on needs a run of its own
        try:
            with self._app.app_context():
                # No failure is recorded here: its time would date the reporter's request.
                self.send_due(digests=False, record_failures=False)
        except Exception:
            log.exception("the notification sender failed; the timer's run will try again")


def _enable_email() -> None:
    services.enable_email(db.session)


def _send_after_request(error: BaseException | None) -> None:
    if services.take_immediate_queued(db.session):
        current_app.extensions[EXTENSION].send_soon()


def notifier() -> Notifier:
    return current_app.extensions[EXTENSION]


def init_app(app: Flask) -> None:
    """Check the mail settings (refusing ones that cannot work) and hook into requests."""
    settings = SmtpSettings.from_config(app.config)
    app.extensions[EXTENSION] = Notifier(app, settings)
    if settings is None:
        return  # no mail server: nothing is ever queued
    app.before_request(_enable_email)
    app.teardown_request(_send_after_request)
