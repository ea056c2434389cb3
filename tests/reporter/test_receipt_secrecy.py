"""The receipt and the report's words stay out of cookies, URLs and logs."""

from __future__ import annotations

import base64
import logging
import zlib

import pytest
from sqlalchemy import select

from portal import crypto
from portal.db import db
from portal.orgs.models import Organization
from tests.conftest import receipt_from, send_report, valid_report


def decoded_session_cookie(response) -> str:
    cookie = response.headers["Set-Cookie"].split(";", 1)[0].split("=", 1)[1]
    compressed = cookie.startswith(".")  # itsdangerous marks zlib-compressed payloads so
    payload = cookie.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return (zlib.decompress(raw) if compressed else raw).decode("utf-8", "replace")


@pytest.fixture
def intake(factory):
    factory.portal_ready()
    return db.session.scalar(select(Organization.id).where(Organization.slug == "intake"))


def test_the_receipt_is_not_in_the_cookie_or_a_redirect(client, intake):
    response = send_report(client, valid_report(organizations=[str(intake)]))
    receipt = crypto.normalize_receipt(receipt_from(response.get_data(as_text=True)))
    assert response.status_code == 200  # shown in the response itself, not after a redirect
    assert "Location" not in response.headers
    session = decoded_session_cookie(response)
    assert "report_form_tokens" in session  # the cookie was read, and it holds no receipt
    assert receipt not in session and receipt[:10] not in session


def test_nothing_a_reporter_typed_reaches_the_log(client, intake, caplog):
    caplog.set_level(logging.DEBUG)
    narrative = "LOGMARKER a very particular sentence"
    response = send_report(client, valid_report(organizations=[str(intake)], narrative=narrative))
    receipt = crypto.normalize_receipt(receipt_from(response.get_data(as_text=True)))
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "report received" in logged
    assert "LOGMARKER" not in logged
    assert receipt not in logged.replace(" ", "")


@pytest.mark.slow
def test_a_submission_with_production_argon2id_parameters(make_app):
    """The whole flow once with the real cost (64 MiB), not the test suite's cheap setting."""
    app = make_app(PORTAL_KDF=crypto.PRODUCTION_KDF)
    with app.app_context():
        from tests.conftest import Factory

        Factory(app).portal_ready()
        intake = db.session.scalar(select(Organization.id).where(Organization.slug == "intake"))
        client = app.test_client()
        response = send_report(client, valid_report(organizations=[str(intake)]))
        assert response.status_code == 200
        from portal.reports.models import Report

        report = db.session.scalars(select(Report)).one()
        assert "m=65536,t=3,p=4" in report.receipt_verifier
        receipt = crypto.normalize_receipt(receipt_from(response.get_data(as_text=True)))
        from portal.reports.services import receipt_lock

        assert crypto.unlock_keypair(receipt, receipt_lock(report)) is not None
