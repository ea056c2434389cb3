"""Administration pages: adding staff and granting them access, organizations, the audit log."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

import portal.admin.views
from portal.audit.models import AuditEvent
from portal.db import db
from portal.orgs.models import Organization, StaffMember
from portal.reports.models import WrappedKey
from portal.reports.services import Consent, submit_report
from tests.conftest import (
    TEST_KDF,
    csrf_token_for,
    current_code,
    hidden_value,
    sign_in,
    valid_report,
)

NARRATIVE = "They called my mother in Urumqi and told her I must stop speaking."
NEW_PASSWORD = "lantern orchard velvet compass"


# --- small builders and readers ---------------------------------------------------------------


def org_id(slug: str = "intake") -> int:
    return db.session.scalar(select(Organization.id).where(Organization.slug == slug))


def file_report(app: Flask, narrative: str = NARRATIVE) -> int:
    """Store a report for the intake team, as the reporter form would."""
    return submit_report(
        db.session,
        answers={**valid_report(), "narrative": narrative},
        organization_ids=[org_id()],
        consent=Consent(statistics=True, referral=False, contact=False),
        lookup_key=app.config["PORTAL_SECRETS"].lookup_key,
        kdf=TEST_KDF,
        today=dt.date.today(),
    ).report_id


def signed_in(app: Flask, staff: StaffMember) -> FlaskClient:
    client = app.test_client()
    sign_in(app, client, staff)
    return client


def page(client: FlaskClient, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.status_code
    return response.get_data(as_text=True)


def post(
    client: FlaskClient,
    path: str,
    data: dict[str, object] | None = None,
    *,
    token_from: str = "/staff/",
):
    """POST as a browser would, with the CSRF token of a page the same client opened."""
    return client.post(
        path, data={"csrf_token": csrf_token_for(client, token_from), **(data or {})}
    )


def member(email: str) -> StaffMember | None:
    db.session.expire_all()  # the views share this session: read what they committed
    return db.session.scalar(select(StaffMember).where(StaffMember.email == email))


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def keys_held(staff: StaffMember) -> int:
    return db.session.scalar(select(func.count()).where(WrappedKey.staff_member_id == staff.id))


@pytest.fixture
def org_admin(app, factory) -> tuple[FlaskClient, StaffMember]:
    """A signed-in administrator of the intake organization; the portal accepts reports."""
    factory.portal_ready()
    admin = factory.staff("admin@example.org", role="org_admin")
    return signed_in(app, admin), admin


@pytest.fixture
def coalition_admin(app, factory) -> tuple[FlaskClient, StaffMember]:
    factory.portal_ready()
    admin = factory.staff("coalition@example.org", role="coalition_admin")
    return signed_in(app, admin), admin


def invite(client: FlaskClient, email: str, role: str = "triager"):
    return post(
        client,
        "/staff/admin/staff",
        {"email": email, "role": role},
        token_from="/staff/admin/staff",
    )


def setup_code_from(html: str) -> str:
    match = re.search(r'id="setup-code"[^>]*>([^<]+)<', html)
    assert match, "no setup code on the page"
    return match.group(1).strip()


# --- adding a staff member ----------------------------------------------------------------------


def role_radios(html: str) -> dict[str, str]:
    """The role radios as rendered: value -> the text of its label."""
    radios = re.findall(r'<input type="radio" name="role" id="([^"]+)" value="([^"]*)"', html)
    labels = dict(re.findall(r'<label for="([^"]+)">([^<]*)</label>', html))
    return {value: labels.get(radio_id, "").strip() for radio_id, value in radios}


def test_the_role_choices_on_the_page_have_values_and_labels_and_work(org_admin):
    client, _admin = org_admin
    page = client.get("/staff/admin/staff").get_data(as_text=True)

    radios = role_radios(page)

    assert radios == {"triager": "Triager", "org_admin": "Organization administrator", "analyst": "Analyst"}
    # Submit exactly what the page offers, as a browser would.
    response = invite(client, "analyst@example.org", role=next(v for v, label in radios.items() if label == "Analyst"))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert member("analyst@example.org").role == "analyst"


def test_an_added_member_gets_a_setup_code_shown_once_and_never_stored(org_admin):
    client, admin = org_admin

    response = invite(client, "new@example.org")

    assert response.status_code == 200
    code = setup_code_from(response.get_data(as_text=True))
    new = member("new@example.org")
    assert new.organization_id == admin.organization_id and new.role == "triager"
    assert new.needs_new_password and not new.totp_confirmed
    row = db.session.execute(select(StaffMember.__table__).where(StaffMember.id == new.id)).one()
    for column, value in row._mapping.items():
        stored = value if isinstance(value, bytes) else str(value).encode()
        assert code.encode() not in stored, column
        assert code.replace("-", "").encode() not in stored, column
    assert code not in page(client, "/staff/admin/staff")
    (event,) = events("staff_created")
    assert (event.actor_staff_id, event.target_id) == (admin.id, new.id)
    assert code not in event.details


def test_a_new_member_signs_in_with_the_setup_code_enrols_and_sets_a_password(app, org_admin):
    admin_client, _admin = org_admin
    code = setup_code_from(invite(admin_client, "new@example.org").get_data(as_text=True))
    new = member("new@example.org")
    client = app.test_client()

    signed = post(
        client,
        "/staff/login",
        {"email": "new@example.org", "password": code, "code": ""},
        token_from="/staff/login",
    )
    assert signed.status_code == 303
    assert signed.headers["Location"].endswith("/staff/enrol")

    enrol_page = page(client, "/staff/enrol")
    assert "<svg" in enrol_page
    assert client.get("/staff/").headers["Location"].endswith("/staff/enrol")  # nothing else yet
    enrolled = client.post(
        "/staff/enrol",
        data={"csrf_token": hidden_value(enrol_page, "csrf_token"), "code": current_code(app, new)},
    )
    assert enrolled.status_code == 303
    assert enrolled.headers["Location"].endswith("/staff/password")

    changed = post(
        client,
        "/staff/password",
        {"current_password": code, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        token_from="/staff/password",
    )
    assert changed.status_code == 303
    assert changed.headers["Location"].endswith("/staff/")
    assert "Reports" in page(client, "/staff/")
    new = member("new@example.org")
    assert new.totp_confirmed and not new.needs_new_password


def test_the_setup_code_no_longer_works_once_the_password_is_set(app, org_admin):
    admin_client, _admin = org_admin
    code = setup_code_from(invite(admin_client, "new@example.org").get_data(as_text=True))
    client = app.test_client()
    post(
        client,
        "/staff/login",
        {"email": "new@example.org", "password": code},
        token_from="/staff/login",
    )
    enrol_token = csrf_token_for(client, "/staff/enrol")
    client.post(
        "/staff/enrol",
        data={"csrf_token": enrol_token, "code": current_code(app, member("new@example.org"))},
    )
    post(
        client,
        "/staff/password",
        {"current_password": code, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        token_from="/staff/password",
    )
    new = member("new@example.org")
    new.totp_last_step = None  # a fresh code for the next sign-in; replay is tested elsewhere
    db.session.commit()

    other = app.test_client()
    refused = post(
        other,
        "/staff/login",
        {"email": "new@example.org", "password": code, "code": current_code(app, new)},
        token_from="/staff/login",
    )

    assert refused.status_code == 422
    sign_in(app, app.test_client(), new, password=NEW_PASSWORD)


def test_an_org_admin_cannot_make_anyone_a_coalition_admin(org_admin):
    client, _admin = org_admin
    assert 'value="coalition_admin"' not in page(client, "/staff/admin/staff")

    response = invite(client, "climber@example.org", role="coalition_admin")

    assert response.status_code == 422
    assert 'id="setup-code"' not in response.get_data(as_text=True)
    assert member("climber@example.org") is None
    assert events("staff_created") == []


def test_an_email_already_taken_is_refused(org_admin):
    client, _admin = org_admin

    response = invite(client, "triager@example.org")

    assert response.status_code == 422
    assert "already exists" in response.get_data(as_text=True)


# --- access to older reports --------------------------------------------------------------------


def test_a_granted_member_can_read_the_organizations_older_reports(app, org_admin, factory):
    """Acceptance: a member who joins later reads what was reported before, once granted."""
    admin_client, admin = org_admin
    report_id = file_report(app)
    newcomer = factory.staff("newcomer@example.org")
    newcomer_client = signed_in(app, newcomer)
    before = page(newcomer_client, f"/staff/reports/{report_id}", status=403)
    assert "its key has not been given to you yet" in before and NARRATIVE not in before

    granted = post(
        admin_client, f"/staff/admin/staff/{newcomer.id}/grant", token_from="/staff/admin/staff"
    )

    assert granted.status_code == 200
    assert "1 report granted so far." in granted.get_data(as_text=True)
    assert NARRATIVE in page(newcomer_client, f"/staff/reports/{report_id}")
    (event,) = events("access_granted")
    assert (event.actor_staff_id, event.target_id) == (admin.id, newcomer.id)


def test_the_staff_list_shows_how_many_reports_a_member_cannot_open(app, org_admin, factory):
    admin_client, _admin = org_admin
    file_report(app)
    file_report(app)
    newcomer = factory.staff("newcomer@example.org")

    html = page(admin_client, "/staff/admin/staff")

    row = re.search(r"<td>newcomer@example.org</td>(.*?)</tr>", html, re.S)
    assert row, "the newcomer is not listed"
    assert "<td>2</td>" in row.group(1)
    assert f'action="/staff/admin/staff/{newcomer.id}/grant"' in row.group(1)


def test_access_is_granted_in_batches_until_done(app, org_admin, factory, monkeypatch):
    monkeypatch.setattr(portal.admin.views, "GRANT_BATCH", 2)
    admin_client, _admin = org_admin
    for _ in range(5):
        file_report(app)
    newcomer = factory.staff("newcomer@example.org")

    first = post(
        admin_client, f"/staff/admin/staff/{newcomer.id}/grant", token_from="/staff/admin/staff"
    )

    html = first.get_data(as_text=True)
    assert first.status_code == 200
    assert 'id="grant-continue"' in html
    assert "2 reports granted so far." in html and "3 still to go." in html
    assert keys_held(newcomer) == 2

    for _round in range(5):  # a browser follows the Continue form until it disappears
        if 'id="grant-continue"' not in html:
            break
        response = admin_client.post(
            f"/staff/admin/staff/{newcomer.id}/grant",
            data={
                "csrf_token": hidden_value(html, "csrf_token"),
                "done": hidden_value(html, "done"),
            },
        )
        assert response.status_code == 200
        html = response.get_data(as_text=True)

    assert 'id="grant-continue"' not in html
    assert "5 reports granted so far." in html and "Done." in html
    assert keys_held(newcomer) == 5


# --- what an org_admin may not do ---------------------------------------------------------------


@pytest.fixture
def outsider(factory) -> StaffMember:
    """A triager of another member organization."""
    factory.organization("partner", "Partner organization", default=False)
    return factory.staff("partner@example.org", org="partner")


@pytest.mark.parametrize("action", ["grant", "deactivate"])
def test_an_org_admin_cannot_touch_a_member_of_another_organization(org_admin, outsider, action):
    client, _admin = org_admin

    response = post(
        client, f"/staff/admin/staff/{outsider.id}/{action}", token_from="/staff/admin/staff"
    )

    assert response.status_code == 404
    assert member("partner@example.org").is_active
    assert events("staff_deactivated") == [] and events("access_granted") == []


@pytest.mark.parametrize("path", ["/staff/admin/organizations", "/staff/admin/audit"])
def test_an_org_admin_cannot_open_coalition_pages(org_admin, path):
    client, _admin = org_admin

    assert client.get(path).status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/staff/admin/staff"),
        ("post", "/staff/admin/staff"),
        ("get", "/staff/admin/organizations"),
        ("post", "/staff/admin/organizations"),
        ("get", "/staff/admin/audit"),
        ("post", "/staff/admin/staff/{colleague}/grant"),
        ("post", "/staff/admin/staff/{colleague}/deactivate"),
    ],
)
def test_a_triager_gets_404_on_every_admin_page(app, factory, method, path):
    factory.portal_ready()
    triager = member("triager@example.org")
    colleague = factory.staff("colleague@example.org")
    client = signed_in(app, triager)
    url = path.format(colleague=colleague.id)

    if method == "get":
        response = client.get(url)
    else:
        response = post(
            client, url, {"email": "x@example.org", "role": "triager", "slug": "x", "name": "X"}
        )

    assert response.status_code == 404
    assert member("colleague@example.org").is_active
    assert member("x@example.org") is None
    assert db.session.scalar(select(Organization).where(Organization.slug == "x")) is None


# --- deactivating -------------------------------------------------------------------------------


def test_deactivating_a_member_ends_their_sessions_at_once(app, org_admin):
    admin_client, admin = org_admin
    triager = member("triager@example.org")
    triager_client = signed_in(app, triager)
    assert triager_client.get("/staff/").status_code == 200

    response = post(
        admin_client, f"/staff/admin/staff/{triager.id}/deactivate", token_from="/staff/admin/staff"
    )

    assert response.status_code == 303
    after = triager_client.get("/staff/")
    assert after.status_code == 302
    assert after.headers["Location"].endswith("/staff/login")
    assert not member("triager@example.org").is_active
    (event,) = events("staff_deactivated")
    assert (event.actor_staff_id, event.target_id) == (admin.id, triager.id)


def test_a_deactivated_member_cannot_sign_in_again(app, org_admin):
    admin_client, _admin = org_admin
    triager = member("triager@example.org")
    post(
        admin_client, f"/staff/admin/staff/{triager.id}/deactivate", token_from="/staff/admin/staff"
    )
    client = app.test_client()

    response = post(
        client,
        "/staff/login",
        {
            "email": "triager@example.org",
            "password": "correct horse battery staple",
            "code": current_code(app, triager),
        },
        token_from="/staff/login",
    )

    assert response.status_code == 422


def test_an_admin_cannot_deactivate_themselves(org_admin):
    client, admin = org_admin

    response = post(
        client, f"/staff/admin/staff/{admin.id}/deactivate", token_from="/staff/admin/staff"
    )

    assert response.status_code == 303
    assert member("admin@example.org").is_active
    assert client.get("/staff/admin/staff").status_code == 200


# --- organizations and the audit log ------------------------------------------------------------


def test_a_coalition_admin_adds_an_organization(coalition_admin):
    client, admin = coalition_admin

    response = post(
        client,
        "/staff/admin/organizations",
        {"slug": "hk-watch", "name": "Hong Kong Watch Canada"},
        token_from="/staff/admin/organizations",
    )

    assert response.status_code == 303
    organization = db.session.scalar(select(Organization).where(Organization.slug == "hk-watch"))
    assert organization.name == "Hong Kong Watch Canada" and not organization.is_default_recipient
    assert "Hong Kong Watch Canada" in page(client, "/staff/admin/organizations")
    (event,) = events("organization_created")
    assert (event.actor_staff_id, event.target_id) == (admin.id, organization.id)


def test_a_duplicate_organization_slug_is_refused_keeping_what_was_typed(coalition_admin):
    client, _admin = coalition_admin

    response = post(
        client,
        "/staff/admin/organizations",
        {"slug": "intake", "name": "Second intake team"},
        token_from="/staff/admin/organizations",
    )

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'value="intake"' in html and 'value="Second intake team"' in html
    assert "not yet taken" in html
    assert db.session.scalar(select(func.count()).where(Organization.slug == "intake")) == 1
    assert events("organization_created") == []


def test_the_audit_page_lists_events_and_filters_by_action(coalition_admin):
    client, _admin = coalition_admin
    post(
        client,
        "/staff/admin/organizations",
        {"slug": "hk-watch", "name": "Hong Kong Watch Canada"},
        token_from="/staff/admin/organizations",
    )

    everything = page(client, "/staff/admin/audit")
    filtered = page(client, "/staff/admin/audit?action=organization_created")

    assert "<td>sign_in</td>" in everything and "<td>organization_created</td>" in everything
    assert "<td>organization_created</td>" in filtered
    assert "<td>sign_in</td>" not in filtered
    assert "1 event" in filtered


@pytest.mark.parametrize(
    "query", ["action=bogus", "actor=abc", "since=not-a-date", "page=abc", "page=0"]
)
def test_a_malformed_audit_filter_is_ignored_not_an_error(coalition_admin, query):
    client, _admin = coalition_admin

    html = page(client, f"/staff/admin/audit?{query}")

    assert "<td>sign_in</td>" in html


@pytest.mark.parametrize("query", ["page=2&_method=POST", "page=2&endpoint=x"])
def test_unknown_audit_query_parameters_are_ignored_not_an_error(coalition_admin, query):
    # From page 2 on, the Previous link is built from the query string.
    client, _admin = coalition_admin

    html = page(client, f"/staff/admin/audit?{query}")

    assert 'href="/staff/admin/audit?page=1"' in html
