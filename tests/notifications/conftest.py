"""The app of these tests sends mail to a local SMTP server started for each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.live import free_port
from tests.notifications import MailServer, settle, smtp_config


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    server = MailServer(free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def app(make_app, mail_server: MailServer) -> Iterator[Flask]:
    """The portal with SMTP set up (overrides the plain `app` of tests/conftest.py)."""
    app = make_app(**smtp_config(mail_server.port))
    with app.app_context():
        yield app
        settle(app)  # nothing may still be sending while the rows are deleted
