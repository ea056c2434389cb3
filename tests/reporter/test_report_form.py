"""The report form, end to end through the test client, with CSRF protection on."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from portal.db import db
from portal.orgs.models import Organization
from portal.reports.models import Report, WrappedKey
from tests.conftest import hidden_value, open_report_form, receipt_from, send_report, valid_report


@pytest.fixture
def ready(factory):
    factory.portal_ready()
    return factory


def intake_id() -> int:
    return db.session.scalar(select(Organization.id).where(Organization.slug == "intake"))


def report_count() -> int:
    return db.session.scalar(select(func.count(Report.id)))


def test_csrf_protection_is_on(app):
    assert app.config.get("WTF_CSRF_ENABLED", True) is True


def test_the_form_shows_every_field_of_the_brief(client, ready):
    html, _ = open_report_form(client)
    for name in (
        "tactics", "narrative", "when_precision", "when_start", "when_end", "province", "city",
        "target", "communities", "community_other", "perpetrators", "perpetrator_details",
        "official_identified", "bounty", "bounty_details", "impacts", "impact_details",
        "reported_to", "reported_details", "organizations", "consent_read",
        "consent_statistics", "consent_referral", "consent_contact", "contact_method",
        "contact_details",
    ):
        assert f'name="{name}"' in html, name
    for code in ("PHY-ASSAULT", "LEG-BOUNTY", "INS-STATION", "OTHER-UNSURE", "MOB-DOCS"):
        assert f'value="{code}"' in html


def test_the_intake_team_is_chosen_by_default(client, ready):
    html, _ = open_report_form(client)
    assert re.search(rf'name="organizations"[^>]*value="{intake_id()}" checked', html)


def test_a_full_submission_gives_a_receipt_once(client, ready):
    response = send_report(client, valid_report(organizations=[str(intake_id())]))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    receipt = receipt_from(html)
    assert re.fullmatch(r"\d{5}( \d{5}){4}", receipt)
    assert "I have saved my receipt" in html
    assert report_count() == 1

    saved = client.post("/report/saved", data={"csrf_token": hidden_value(html, "csrf_token")})
    assert saved.status_code == 200
    page = saved.get_data(as_text=True)
    assert "What happens next" in page
    assert "1-800-420-5805" in page and "911" in page


def test_the_stored_report_is_wrapped_to_readers_and_recovery(client, ready, factory):
    factory.staff("second@example.org")
    factory.staff("analyst@example.org", role="analyst")
    send_report(client, valid_report(organizations=[str(intake_id())]))
    report = db.session.scalars(select(Report)).one()
    recipients = db.session.scalars(select(WrappedKey).where(WrappedKey.report_id == report.id)).all()
    staff = sorted(key.staff_member.email for key in recipients if key.staff_member)
    # Analysts never decrypt a report, so nothing is wrapped to them.
    assert staff == ["second@example.org", "triager@example.org"]
    assert sum(1 for key in recipients if key.recovery_key_id) == 1
    assert report.consent_statistics is True and report.consent_referral is False
    assert report.status == "received"


def test_only_chosen_organizations_get_the_key(client, ready, factory):
    factory.organization("other", "Other member", default=False)
    factory.staff("outsider@example.org", org="other")
    send_report(client, valid_report(organizations=[str(intake_id())]))
    emails = {
        key.staff_member.email for key in db.session.scalars(select(WrappedKey)) if key.staff_member
    }
    assert "outsider@example.org" not in emails


def test_reloading_the_sent_form_does_not_file_it_twice(client, ready):
    _html, tokens = open_report_form(client)
    data = {**tokens, **valid_report(organizations=[str(intake_id())])}
    assert client.post("/report", data=data).status_code == 200
    again = client.post("/report", data=data)
    assert again.status_code == 409
    assert "already been sent" in again.get_data(as_text=True)
    assert 'id="receipt"' not in again.get_data(as_text=True)
    assert report_count() == 1


def test_invalid_input_keeps_everything_typed(client, ready):
    data = valid_report(
        organizations=[str(intake_id())],
        narrative="",
        when_precision="day",
        when_start="2025-13-45",
        city="Montréal — 蒙特利尔",
        contact_method="email",
        contact_details="not-an-email",
        consent_contact="y",
    )
    response = send_report(client, data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'class="error-summary"' in html
    assert 'href="#narrative"' in html and 'href="#when_start"' in html
    assert 'href="#contact_details"' in html
    assert "Please describe what happened." in html
    assert 'value="Montréal — 蒙特利尔"' in html
    assert 'value="2025-13-45"' in html
    assert 'value="not-an-email"' in html
    assert 'value="THR-HARASS" checked' in html
    assert re.search(r'value="uyghur" checked', html)
    assert 'aria-invalid="true"' in html
    assert report_count() == 0


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"tactics": []}, "tactics", "Please choose at least one"),
        ({"narrative": "   "}, "narrative", "Please describe what happened."),
        ({"narrative": "x" * 50_001}, "narrative", "under 50000 characters"),
        ({"consent_read": ""}, "consent_read", "no one could read your report"),
        ({"organizations": []}, "organizations", "at least one organization"),
        ({"when_precision": "year", "when_start": "2025-10-01"}, "when_start", "Please give the year"),
        ({"when_precision": "day", "when_start": "2999-01-01"}, "when_start", "in the future"),
        ({"when_precision": "range", "when_start": "2025-05", "when_end": "2024"}, "when_end", "not be before"),
        ({"contact_method": "phone", "contact_details": "+1 555 0100"}, "consent_contact", "also tick"),
        ({"tactics": ["NOT-A-CODE"]}, "tactics", ""),
        ({"province": "XX"}, "province", ""),
    ],
)
def test_each_rule_is_explained_beside_its_field(client, ready, changes, field, message):
    data = valid_report(organizations=[str(intake_id())])
    data.update(changes)
    response = send_report(client, data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert f'href="#{field}"' in html
    assert message in html
    assert report_count() == 0


def test_dates_are_stored_in_a_canonical_form(client, ready, factory):
    response = send_report(
        client,
        valid_report(organizations=[str(intake_id())], when_precision="range", when_start="２０２４/3", when_end="2025.1.9"),
    )
    assert response.status_code == 200


def test_an_unknown_organization_is_refused(client, ready):
    response = send_report(client, valid_report(organizations=["99999"]))
    assert response.status_code == 422
    assert report_count() == 0


def test_a_missing_csrf_token_gives_the_form_back_with_what_was_typed(client, ready):
    _html, tokens = open_report_form(client)
    data = valid_report(organizations=[str(intake_id())], narrative="Words I must not lose 言葉")
    response = client.post("/report", data={"form_token": tokens["form_token"], **data})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "This form had expired" in html
    assert "Words I must not lose 言葉" in html
    assert report_count() == 0
    # The page carries a fresh token, so sending it again works.
    again = client.post("/report", data={"csrf_token": hidden_value(html, "csrf_token"),
                                         "form_token": hidden_value(html, "form_token"), **data})
    assert again.status_code == 200
    assert report_count() == 1


def test_an_expired_csrf_token_is_explained(app, ready):
    client = app.test_client()
    _html, tokens = open_report_form(client)
    app.config["WTF_CSRF_TIME_LIMIT"] = -1  # every token is now too old
    response = client.post("/report", data={**tokens, **valid_report(organizations=[str(intake_id())])})
    assert response.status_code == 400
    assert "This form had expired" in response.get_data(as_text=True)
    assert report_count() == 0


def test_other_forms_without_a_token_get_the_explanation_page(client, ready):
    response = client.post("/report/saved", data={})
    assert response.status_code == 400
    assert "This form has expired" in response.get_data(as_text=True)


def test_the_form_says_reports_are_not_accepted_without_a_recovery_key(client, factory):
    factory.organization()
    factory.staff()
    for response in (client.get("/report"), client.post("/report", data=valid_report())):
        assert response.status_code == 503
        assert "not accepting reports yet" in response.get_data(as_text=True)
    assert report_count() == 0


def test_the_form_says_reports_are_not_accepted_without_organizations(client, factory):
    factory.recovery_key()
    response = client.get("/report")
    assert response.status_code == 503
    assert "not accepting reports yet" in response.get_data(as_text=True)
