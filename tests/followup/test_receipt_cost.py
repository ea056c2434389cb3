"""What a receipt costs the server: one Argon2id derivation to submit, one to come back, whether
the receipt is right, wrong, malformed or a deleted report's; and reports locked by an earlier
release still open, then move to the current lock."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal import crypto
from portal.db import db
from portal.reports import followup
from portal.reports.models import Report
from portal.reports.services import receipt_lock
from tests.conftest import open_report_form
from tests.followup import grouped, open_follow_up, reporter_page, submitted
from tests.test_crypto import legacy_lock


def test_a_submission_costs_one_derivation(app, client, factory, derivations):
    factory.portal_ready()
    derivations.clear()
    open_report_form(client)  # the form itself costs nothing
    assert derivations == []
    submitted(client)
    assert len(derivations) == 1


@pytest.mark.parametrize("typed", ["right", "wrong", "deleted", "malformed"])
def test_coming_back_costs_one_derivation_whatever_is_typed(app, client, factory, derivations, typed):
    factory.portal_ready()
    report_id, receipt = submitted(client)
    crypto.decoy_lock(app.config["PORTAL_KDF"])  # made once per process, not per attempt
    if typed == "deleted":
        followup.delete_report(db.session, report_id)
        db.session.commit()
    text = {
        "right": grouped(receipt), "deleted": grouped(receipt),
        "wrong": grouped(crypto.generate_receipt()), "malformed": "12345-67890-abcde",
    }[typed]
    derivations.clear()
    response = open_follow_up(app.test_client(), text)
    assert response.status_code == (303 if typed == "right" else 422)
    assert len(derivations) == 1


def test_a_report_locked_by_an_earlier_release_opens_and_is_relocked(app, client, factory, derivations):
    factory.portal_ready()
    report_id, receipt = submitted(client)
    report = db.session.get(Report, report_id)
    reporter_key = crypto.unlock_keypair(receipt, receipt_lock(report))
    old = legacy_lock(reporter_key, receipt, app.config["PORTAL_KDF"])
    report.receipt_verifier, report.reporter_private_key_locked = old.verifier, old.locked_key
    db.session.commit()

    derivations.clear()
    first = app.test_client()
    assert open_follow_up(first, grouped(receipt)).status_code == 303
    assert "Your report" in reporter_page(first)
    assert len(derivations) == 3  # check and open the old lock, then make the new one

    db.session.expire_all()
    report = db.session.scalar(select(Report).where(Report.id == report_id))
    assert receipt_lock(report).is_current
    derivations.clear()
    assert open_follow_up(app.test_client(), grouped(receipt)).status_code == 303
    assert len(derivations) == 1


@pytest.mark.parametrize("flaw", ["no csrf token", "invalid form", "used form token"])
def test_cheaper_checks_refuse_a_submission_before_any_derivation(app, client, factory, derivations, flaw):
    from tests.conftest import valid_report
    from tests.followup import intake_id

    factory.portal_ready()
    _html, tokens = open_report_form(client)
    data = {**tokens, **valid_report(organizations=[str(intake_id())])}
    if flaw == "no csrf token":
        del data["csrf_token"]
    elif flaw == "invalid form":
        data["narrative"] = ""
    else:
        assert client.post("/report", data=data).status_code == 200
    derivations.clear()
    response = client.post("/report", data=data)
    assert response.status_code != 200 or 'id="receipt"' not in response.get_data(as_text=True)
    assert derivations == []


def test_a_follow_up_without_its_csrf_token_costs_no_derivation(app, client, factory, derivations):
    factory.portal_ready()
    _report_id, receipt = submitted(client)
    derivations.clear()
    response = app.test_client().post("/follow-up", data={"receipt": grouped(receipt)})
    assert response.status_code in (400, 422)
    assert derivations == []
