"""Who may reach what: anonymous visitors, other organizations, and each role."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from portal import create_app
from portal.db import db
from portal.orgs.models import Organization
from portal.reports.models import WrappedKey
from tests.conftest import TEST_KDF, hidden_value, send_report, sign_in, valid_report


def staff_rules():
    """Every /staff/… route of the app, read from its URL map, so new routes are covered too."""
    import tempfile

    from portal.instance import create_secrets

    with tempfile.TemporaryDirectory() as instance:
        create_secrets(instance)
        app = create_app({"PORTAL_INSTANCE_PATH": instance, "PORTAL_KDF": TEST_KDF,
                          "SQLALCHEMY_DATABASE_URI": "sqlite://"})
        rules = [
            (rule.rule, method)
            for rule in app.url_map.iter_rules()
            if rule.rule.startswith("/staff") and rule.endpoint != "staff.login"
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
        ]
    return rules


STAFF_RULES = staff_rules()


def concrete(rule: str) -> str:
    return re.sub(r"<(?:\w+:)?\w+>", "1", rule)  # "1" is an id, a slug and a format alike


def test_the_rule_list_covers_the_staff_side():
    paths = {rule for rule, _ in STAFF_RULES}
    assert {"/staff/", "/staff/reports/<id:report_id>", "/staff/admin/staff", "/staff/admin/audit"} <= paths


@pytest.mark.parametrize(("rule", "method"), STAFF_RULES)
def test_every_staff_route_refuses_an_anonymous_visitor(app, client, factory, rule, method):
    factory.portal_ready()
    intake = db.session.scalar(select(Organization.id))
    send_report(client, valid_report(organizations=[str(intake)], narrative="SECRET NARRATIVE"))
    token = hidden_value(client.get("/staff/login").get_data(as_text=True), "csrf_token")
    if method == "GET":
        response = client.get(concrete(rule))
    else:
        response = client.open(concrete(rule), method=method, data={"csrf_token": token})
    assert response.status_code in (302, 303), response.status_code
    assert response.headers["Location"] == "/staff/login"
    assert "SECRET NARRATIVE" not in response.get_data(as_text=True)


# --- organizations are walled off from each other ------------------------------------------------


@pytest.fixture
def two_organizations(app, client, factory):
    """Organization A (intake) and B, each with a triager and an admin; one report for B only."""
    factory.organization("intake", "A", default=True)
    factory.organization("other", "B", default=False)
    a_triager = factory.staff("a@example.org", org="intake")
    a_admin = factory.staff("a-admin@example.org", org="intake", role="org_admin")
    factory.staff("b@example.org", org="other")
    b_admin = factory.staff("b-admin@example.org", org="other", role="org_admin")
    factory.recovery_key()
    other = db.session.scalar(select(Organization.id).where(Organization.slug == "other"))
    send_report(client, valid_report(organizations=[str(other)], narrative="B ONLY", consent_referral="y"))
    report_id = db.session.scalar(select(WrappedKey.report_id))
    return {"a_triager": a_triager, "a_admin": a_admin, "b_admin": b_admin, "report_id": report_id}


REPORT_ROUTES = [(rule, method) for rule, method in STAFF_RULES if "<id:report_id>" in rule]
MEMBER_ROUTES = [(rule, method) for rule, method in STAFF_RULES if "<id:staff_id>" in rule]


@pytest.mark.parametrize(("rule", "method"), REPORT_ROUTES)
def test_another_organizations_report_answers_404(app, two_organizations, rule, method):
    client = app.test_client()
    sign_in(app, client, two_organizations["a_admin"])
    path = concrete(rule.replace("<id:report_id>", str(two_organizations["report_id"])))
    token = hidden_value(client.get("/staff/").get_data(as_text=True), "csrf_token")
    data = {"csrf_token": token, "status": "closed", "reason": "x", "text": "note", "agency": "rcmp",
            "organization": "1", "assignee": "", "tactics": ["THR-HARASS"]}
    response = client.get(path) if method == "GET" else client.open(path, method=method, data=data)
    assert response.status_code == 404
    assert "B ONLY" not in response.get_data(as_text=True)


@pytest.mark.parametrize(("rule", "method"), MEMBER_ROUTES)
def test_an_org_admin_cannot_touch_another_organizations_staff(app, two_organizations, rule, method):
    client = app.test_client()
    sign_in(app, client, two_organizations["a_admin"])
    path = rule.replace("<id:staff_id>", str(two_organizations["b_admin"].id))
    token = hidden_value(client.get("/staff/").get_data(as_text=True), "csrf_token")
    response = client.open(path, method=method, data={"csrf_token": token})
    assert response.status_code == 404
    db.session.refresh(two_organizations["b_admin"])
    assert two_organizations["b_admin"].is_active


def test_the_dashboard_shows_only_the_own_organizations_reports(app, two_organizations):
    client = app.test_client()
    sign_in(app, client, two_organizations["a_triager"])
    html = client.get("/staff/").get_data(as_text=True)
    assert "B ONLY" not in html
    assert "0 reports" in html


# --- roles -----------------------------------------------------------------------------------------


ADMIN_PAGES = [rule for rule, method in STAFF_RULES if rule.startswith("/staff/admin") and method == "GET"]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_a_triager_cannot_manage_anything(app, two_organizations, path):
    client = app.test_client()
    sign_in(app, client, two_organizations["a_triager"])
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("path", ["/staff/admin/organizations", "/staff/admin/audit"])
def test_an_org_admin_cannot_reach_coalition_pages(app, two_organizations, path):
    client = app.test_client()
    sign_in(app, client, two_organizations["a_admin"])
    assert client.get(path).status_code == 404


def test_an_analyst_never_decrypts(app, client, factory):
    factory.portal_ready()
    analyst = factory.staff("analyst@example.org", role="analyst")
    intake = db.session.scalar(select(Organization.id))
    send_report(client, valid_report(organizations=[str(intake)], narrative="ANALYST MUST NOT SEE"))
    report_id = db.session.scalar(select(WrappedKey.report_id))
    assert db.session.scalar(select(WrappedKey).where(WrappedKey.staff_member_id == analyst.id)) is None
    browser = app.test_client()
    sign_in(app, browser, analyst)
    dashboard = browser.get("/staff/").get_data(as_text=True)
    assert "ANALYST MUST NOT SEE" not in dashboard
    assert "aggregate statistics only" in dashboard
    assert browser.get(f"/staff/reports/{report_id}").status_code == 404
