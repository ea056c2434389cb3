"""Malformed and hostile input gets a page a person can act on, never a server error.

One section per class of defect, each written as the behaviour it protects: ids that cannot be
ids are not found; numbers are ASCII digits within bounds, or refused; every form value is
checked before anything uses it; a text field sent as a file part is a missing field; a JSON body
is not a form; NUL is refused with a translated message and the form kept; the language switcher
only goes to a path of this site; a report whose sealed values are damaged still opens, with the
damage marked. The live fuzz (tests/test_fuzz_live.py) looks for what these do not name.
"""

from __future__ import annotations

import io
import json
import logging
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.db import db
from portal.forms import NUL_MESSAGE, PortalForm
from portal.officials.models import Campaign, CampaignLink, Person
from portal.orgs.models import Organization, StaffMember
from portal.reports.models import (
    Attachment,
    Message,
    Note,
    Referral,
    Report,
    StatusChange,
    WrappedKey,
)
from tests.conftest import STAFF_PASSWORD, hidden_value, open_report_form, sign_in, valid_report
from tests.followup import (
    intake_id,
    reporter_page,
    reporter_post,
    signed_in_reporter,
    staff_page,
    staff_post,
    submitted,
)

HUGE = "99999999999999999999"
DAMAGED = "Damaged: this could not be decrypted."


def arabic_indic(number: int) -> str:
    """The same number in Arabic-Indic digits, which int() and str.isdigit() both accept."""
    return "".join(chr(0x660 + int(digit)) for digit in str(number))


def signed_in_as(app: Flask, factory, role: str, email: str) -> FlaskClient:
    staff = factory.staff(email=email, role=role)
    client = app.test_client()
    sign_in(app, client, staff)
    return client


@pytest.fixture
def admin(app, factory, staff_client) -> FlaskClient:
    """A coalition administrator of the intake organization (which has a triager and a report)."""
    return signed_in_as(app, factory, "coalition_admin", "admin@example.org")


@pytest.fixture
def org_admin(app, factory, staff_client) -> FlaskClient:
    """An organization administrator who was there before the report (so holds its key)."""
    return signed_in_as(app, factory, "org_admin", "org-admin@example.org")


@pytest.fixture
def report_id(staff_client) -> int:
    client, _staff = staff_client
    report_id, _receipt = submitted(
        client.application.test_client(), [("statement.txt", b"what they sent me", "text/plain")],
        consent_referral="y",
    )
    return report_id


def csrf(client: FlaskClient, path: str = "/staff/password") -> str:
    return hidden_value(client.get(path).get_data(as_text=True), "csrf_token")


def no_errors_logged(caplog) -> bool:
    return not [record for record in caplog.records if record.levelno >= logging.ERROR]


# --- ids in paths: parsed once, by the route ------------------------------------------------------


@pytest.mark.parametrize("number", [HUGE, str(2**63), str(2**31), "0", "-1", "+1", "01", "1e3", "²", "１"])
def test_a_report_number_that_cannot_be_an_id_is_not_found(staff_client, report_id, number):
    client, _staff = staff_client
    for path in (f"/staff/reports/{number}", f"/staff/reports/{report_id}/files/{number}",
                 f"/staff/reports/{number}/files/1/without-metadata"):
        assert client.get(path).status_code == 404, path


def test_a_report_number_in_other_digits_does_not_open_the_report(staff_client, report_id):
    client, _staff = staff_client
    assert client.get(f"/staff/reports/{report_id}").status_code == 200
    assert client.get(f"/staff/reports/{arabic_indic(report_id)}").status_code == 404


def test_posting_to_an_id_too_large_for_the_database_is_not_found(admin, staff_client, report_id):
    token = csrf(admin)
    for path in (f"/staff/reports/{HUGE}/notes", f"/staff/admin/staff/{HUGE}/grant",
                 f"/staff/admin/staff/{HUGE}/deactivate", f"/staff/officials/people/{HUGE}/sign",
                 f"/staff/officials/people/{HUGE}/postings", f"/staff/reports/{HUGE}/campaigns"):
        assert admin.post(path, data={"csrf_token": token, "text": "x"}).status_code == 404, path
    for path in (f"/staff/officials/people/{HUGE}", f"/staff/officials/people/{HUGE}/dossier.pdf",
                 "/staff/campaigns/%00", "/staff/campaigns/Harassment-Operations"):
        assert admin.get(path).status_code == 404, path


def test_every_id_in_every_route_goes_through_the_id_converter(app):
    argument = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
    for rule in app.url_map.iter_rules():
        for converter, name in argument.findall(rule.rule):
            assert converter not in ("int", "float"), rule.rule
            if name == "id" or name.endswith("_id"):
                assert converter == "id", rule.rule


# --- numbers in query strings and forms -----------------------------------------------------------


@pytest.mark.parametrize("query", [f"actor={HUGE}", "actor=٣", "actor=-1", f"page={HUGE}", "page=²", "page=1e309"])
def test_an_audit_log_filter_that_is_not_a_number_is_ignored(admin, query):
    response = admin.get(f"/staff/admin/audit?{query}")
    assert response.status_code == 200
    assert "Audit" in response.get_data(as_text=True)


@pytest.mark.parametrize("query", ["after=%20", "before=%20", f"after=2025-01-01,{HUGE}", f"before={HUGE}",
                                   "after=2025-01-01,%D9%A3"])
def test_a_dashboard_page_link_that_is_not_valid_gives_the_first_page(staff_client, report_id, query):
    client, _staff = staff_client
    response = client.get(f"/staff/?{query}")
    assert response.status_code == 200
    assert f'href="/staff/reports/{report_id}"' in response.get_data(as_text=True)


@pytest.mark.parametrize("threshold", [HUGE, "١٠", "1e309", "%2B10"])
def test_a_statistics_threshold_that_is_not_a_number_is_explained(app, factory, staff_client, threshold):
    analyst = signed_in_as(app, factory, "analyst", "analyst@example.org")
    response = analyst.get(f"/staff/statistics?since=2025-01-01&until=2025-12-31&threshold={threshold}")
    assert response.status_code == 422


def test_a_whitespace_month_in_the_triage_form_means_no_month(staff_client, report_id):
    client, _staff = staff_client
    response = staff_post(client, report_id, "triage", {"tactics": "THR-HARASS", "month": "   "})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Report, report_id).incident_month is None


@pytest.mark.parametrize("duplicate_of", [HUGE, "٣", "-1", "1.5"])
def test_a_duplicate_report_number_that_is_not_one_is_explained(staff_client, report_id, duplicate_of):
    client, _staff = staff_client
    response = staff_post(client, report_id, "triage", {"tactics": "THR-HARASS", "duplicate_of": duplicate_of})
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(Report, report_id).triaged_at is None


def test_campaign_choices_that_are_not_campaign_ids_are_left_out(staff_client, report_id):
    client, _staff = staff_client
    campaign_id = db.session.scalar(select(Campaign.id).order_by(Campaign.id))
    response = staff_post(client, report_id, "campaigns", {"campaigns": ["²", HUGE, "-1", "٣", str(campaign_id)]})
    assert response.status_code == 303
    linked = db.session.scalars(select(CampaignLink.campaign_id).where(CampaignLink.report_id == report_id))
    assert list(linked) == [campaign_id]


def test_sharing_with_an_organization_named_in_other_digits_is_refused(staff_client, report_id, factory):
    client, _staff = staff_client
    second = factory.organization("second", "Second member organization", default=False)
    db.session.commit()
    response = staff_post(client, report_id, "share", {"organization": arabic_indic(second.id)})
    assert response.status_code == 422
    db.session.expire_all()
    assert [org.slug for org in db.session.get(Report, report_id).organizations] == ["intake"]


def test_a_grant_whose_count_is_not_a_number_grants_nothing(factory, org_admin, report_id):
    newcomer = factory.staff(email="newcomer@example.org")  # joined after the report: no key yet
    db.session.commit()
    for done in ("²", HUGE, "-1", "٣"):
        response = org_admin.post(f"/staff/admin/staff/{newcomer.id}/grant",
                                  data={"csrf_token": csrf(org_admin), "done": done})
        assert response.status_code == 400, done
        assert db.session.scalar(select(WrappedKey.id).where(WrappedKey.staff_member_id == newcomer.id)) is None
    response = org_admin.post(f"/staff/admin/staff/{newcomer.id}/grant", data={"csrf_token": csrf(org_admin), "done": "4"})
    assert response.status_code == 200
    assert "5 reports granted so far" in response.get_data(as_text=True)


# --- whitespace-only is empty: Optional() must not let it through to the view -----------------------


@pytest.mark.parametrize("query", ["campaign=%20%20%09", "status=%20", "assignee=%C2%A0", "sort=%20", "province=%20"])
def test_a_blank_dashboard_filter_is_no_filter(staff_client, report_id, query):
    client, _staff = staff_client
    response = client.get(f"/staff/?{query}")
    assert response.status_code == 200
    assert f'href="/staff/reports/{report_id}"' in response.get_data(as_text=True)


def test_a_blank_mission_and_affiliation_on_a_person_mean_none(admin):
    response = admin.post("/staff/officials/people", data={
        "csrf_token": csrf(admin), "name_latin": "Zhao Weiming", "status": "consular",
        "mission_id": "   ", "affiliation_id": "\t", "requested_action": " ",
    })
    assert response.status_code == 303
    person = db.session.scalars(select(Person)).one()
    assert (person.mission_id, person.affiliation_id, person.requested_action) == (None, None, "")


def test_a_blank_entity_in_a_report_link_links_nothing(staff_client, report_id):
    client, _staff = staff_client
    response = staff_post(client, report_id, "links", {
        "entity_id": "  ", "involvement": "suspected", "confidence": "possible", "basis": "reporter_identified",
    })
    assert response.status_code == 303
    assert "Choose one person or one entity" in client.get(response.headers["Location"]).get_data(as_text=True)


# --- a text field sent as a file part is a missing field ------------------------------------------


def test_a_narrative_sent_as_a_file_is_a_missing_narrative(client, factory, caplog):
    factory.portal_ready()
    _html, tokens = open_report_form(client)
    data = {**tokens, **valid_report(organizations=[str(intake_id())])}
    data["narrative"] = (io.BytesIO(b"They called my mother."), "narrative.txt")
    response = client.post("/report", data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Please describe what happened." in response.get_data(as_text=True)
    assert db.session.scalar(select(Report.id)) is None
    assert no_errors_logged(caplog)


@pytest.mark.parametrize(("path", "field", "others"), [
    ("/staff/login", "email", {"password": "x"}),
    ("/staff/admin/organizations", "slug", {"name": "Another member"}),
    ("/staff/officials/people", "name_latin", {"title": "Consul"}),
])
def test_a_staff_form_field_sent_as_a_file_is_refused_as_missing(admin, path, field, others, caplog):
    data = {"csrf_token": csrf(admin), **others, field: (io.BytesIO(b"text"), "field.txt")}
    response = admin.post(path, data=data, content_type="multipart/form-data")
    assert response.status_code == 422
    assert no_errors_logged(caplog)


def test_a_reporter_message_sent_as_a_file_is_refused_as_empty(client, factory, caplog):
    factory.portal_ready()
    _report_id, receipt = submitted(client)
    signed_in_reporter(client, receipt)
    token = hidden_value(reporter_page(client), "csrf_token")
    response = client.post("/follow-up/messages", content_type="multipart/form-data",
                           data={"csrf_token": token, "text": (io.BytesIO(b"hello"), "message.txt")})
    assert response.status_code == 422
    assert "The message is empty." in response.get_data(as_text=True)
    assert no_errors_logged(caplog)


# --- a JSON body is not a form ----------------------------------------------------------------------


@pytest.mark.parametrize("body", [{"email": 5, "password": ["x"]}, 10**30, "text", [1, 2], None])
def test_a_json_body_sent_to_a_form_is_an_empty_form(app, factory, client, body):
    factory.portal_ready()
    token = csrf(client, "/staff/login")
    for path in ("/staff/login", "/report"):
        response = client.post(path, data=json.dumps(body), content_type="application/json",
                               headers={"X-CSRFToken": token})
        assert response.status_code in (400, 422), (path, response.status_code)


# --- NUL: refused with a translated message, the form kept ------------------------------------------


def test_nul_in_the_sign_in_email_is_refused_with_a_message(client, staff_client):
    response = client.post("/staff/login", data={
        "csrf_token": csrf(client, "/staff/login"), "email": "triager@example.org\x00", "password": STAFF_PASSWORD,
    })
    assert response.status_code == 422
    assert str(NUL_MESSAGE) in response.get_data(as_text=True)


def test_nul_in_a_persons_name_is_refused_and_the_rest_kept(admin):
    response = admin.post("/staff/officials/people", data={
        "csrf_token": csrf(admin), "name_latin": "Wang\x00Bing", "title": "Deputy consul general", "status": "consular",
    })
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert str(NUL_MESSAGE) in html
    assert "Deputy consul general" in html
    assert db.session.scalar(select(Person.id)) is None


@pytest.mark.parametrize(("path", "data"), [
    ("/staff/admin/organizations", {"slug": "second", "name": "Second\x00member"}),
    ("/staff/admin/staff", {"email": "new\x00@example.org", "role": "triager"}),
])
def test_nul_in_an_administrators_form_is_refused(admin, path, data):
    response = admin.post(path, data={"csrf_token": csrf(admin), **data})
    assert response.status_code == 422
    assert str(NUL_MESSAGE) in response.get_data(as_text=True)
    assert db.session.scalar(select(Organization.id).where(Organization.slug == "second")) is None
    assert db.session.scalar(select(StaffMember.id).where(StaffMember.email.like("new%"))) is None


def test_nul_in_a_report_is_refused_and_everything_typed_kept(client, factory):
    factory.portal_ready()
    _html, tokens = open_report_form(client)
    data = {**tokens, **valid_report(organizations=[str(intake_id())], narrative="They called\x00 my mother.")}
    response = client.post("/report", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert str(NUL_MESSAGE) in html
    assert "Toronto" in html


@pytest.mark.parametrize("path", ["/staff/officials?q=Wang%00", "/staff/?official=Wang%00", "/staff/?q=a%00"])
def test_nul_in_a_search_finds_nothing_rather_than_failing(admin, path):
    assert admin.get(path).status_code == 200


def test_every_form_shares_the_portals_rules():
    """Each form class derives from PortalForm, so none forgets the rules above."""
    import importlib
    import pkgutil

    from flask_wtf import FlaskForm

    import portal

    for module in pkgutil.walk_packages(portal.__path__, "portal."):
        importlib.import_module(module.name)

    def subclasses(cls: type) -> set[type]:
        return {sub for direct in cls.__subclasses__() for sub in (direct, *subclasses(direct))}

    ours = [cls for cls in subclasses(FlaskForm) if cls.__module__.startswith("portal.")]
    assert ours
    assert [cls.__qualname__ for cls in ours if not issubclass(cls, PortalForm)] == []


# --- the language switcher goes to a path of this site only -----------------------------------------


@pytest.mark.parametrize("target", ["/%0d%0aSet-Cookie:%20x=y", "/report%0aLocation:%20x", "/%09/evil.example",
                                    "/%5Cevil.example", "//evil.example", "https://evil.example/", "/%00", "%0d%0a"])
def test_the_language_switcher_refuses_anything_but_a_plain_local_path(client, target):
    response = client.get(f"/lang/fr?next={target}")
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_the_language_switcher_returns_to_the_page_it_came_from(client):
    response = client.get("/lang/fr?next=/follow-up")
    assert response.headers["Location"] == "/follow-up"


# --- a report whose sealed values are damaged -------------------------------------------------------


def damage(row: object, column: str) -> None:
    sealed = getattr(row, column)
    setattr(row, column, sealed[:-1] + bytes([sealed[-1] ^ 1]))


def test_a_report_with_damaged_sealed_values_shows_the_rest_and_marks_the_damage(staff_client, report_id, caplog):
    client, _staff = staff_client
    for text in ("First note, about the calls.", "Second note, intact."):
        assert staff_post(client, report_id, "notes", {"text": text}).status_code == 303
    assert staff_post(client, report_id, "messages", {"text": "Our reply, intact."}).status_code == 303
    assert staff_post(client, report_id, "status", {"status": "under_review", "reason": "Reason."}).status_code == 303
    assert staff_post(client, report_id, "referrals", {"agency": "rcmp", "file_number": "F-1"}).status_code == 303
    db.session.expire_all()
    damage(db.session.scalars(select(Note).order_by(Note.id)).first(), "body_sealed")
    damage(db.session.scalars(select(StatusChange)).first(), "reason_sealed")
    damage(db.session.scalars(select(Referral)).first(), "details_sealed")
    damage(db.session.scalars(select(Attachment)).first(), "details_sealed")
    db.session.commit()

    html = staff_page(client, report_id)
    assert html.count(DAMAGED) >= 4  # the note, the reason, the referral, the file
    for intact in ("Second note, intact.", "Our reply, intact.", "They called my mother"):
        assert intact in html
    assert "First note, about the calls." not in html
    attachment = db.session.scalar(select(Attachment.id))
    assert client.get(f"/staff/reports/{report_id}/files/{attachment}").status_code == 422  # refused whole
    assert "Traceback" not in caplog.text


def test_a_report_whose_answers_are_damaged_still_opens_with_its_notes(staff_client, report_id):
    client, _staff = staff_client
    assert staff_post(client, report_id, "notes", {"text": "A note that still opens."}).status_code == 303
    db.session.expire_all()
    damage(db.session.get(Report, report_id), "answers_sealed")
    db.session.commit()
    html = staff_page(client, report_id)
    assert DAMAGED in html
    assert "A note that still opens." in html
    assert client.get("/staff/").status_code == 200  # the dashboard's excerpt is marked too


def test_a_reporter_sees_a_damaged_message_marked_and_the_others(client, staff_client):
    staff, _member = staff_client
    report_id, receipt = submitted(client)
    for text in ("First reply.", "Second reply."):
        assert staff_post(staff, report_id, "messages", {"text": text}).status_code == 303
    db.session.expire_all()
    damage(db.session.scalars(select(Message).order_by(Message.id)).first(), "body_sealed")
    db.session.commit()
    signed_in_reporter(client, receipt)
    html = reporter_page(client)
    assert DAMAGED in html and "Second reply." in html
    assert reporter_post(client, "/follow-up/messages", {"text": "Still works."}).status_code == 303
