"""Each staff member chooses, on a page of their own, whether and how they hear about new work."""

from __future__ import annotations

from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.db import db
from portal.notifications import services
from tests.conftest import hidden_value, sign_in

PAGE = "/staff/notifications/"


def _post(client, **fields):
    token = hidden_value(client.get(PAGE).get_data(as_text=True), "csrf_token")
    return client.post(PAGE, data={"csrf_token": token, **fields})


def test_a_reader_chooses_a_daily_summary_in_french(app, staff_client):
    client, staff = staff_client
    html = client.get("/staff/").get_data(as_text=True)
    assert f'href="{PAGE}"' in html  # linked from every staff page

    page = client.get(PAGE)
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'name="delivery" id="delivery-0" value="off" checked' in body  # no email until chosen
    assert "never what a report is about" in body

    response = _post(client, delivery="daily", language="fr")
    assert response.status_code == 303
    assert response.headers["Location"] == PAGE
    choice = services.preference_of(db.session, staff.id)
    assert (choice.delivery, choice.locale) == ("daily", "fr")
    assert 'value="daily" checked' in client.get(PAGE).get_data(as_text=True)
    event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert (event.action, event.actor_staff_id) == ("notifications_changed", staff.id)

    assert _post(client, delivery="immediate", language="en").status_code == 303
    db.session.expire_all()
    assert services.preference_of(db.session, staff.id).delivery == "immediate"


def test_a_made_up_choice_is_refused(app, staff_client):
    client, staff = staff_client
    assert _post(client, delivery="hourly", language="en").status_code == 422
    assert _post(client, delivery="daily", language="xx").status_code == 422
    assert services.preference_of(db.session, staff.id) is None


def test_the_form_needs_its_csrf_token(app, staff_client):
    client, staff = staff_client
    assert client.post(PAGE, data={"delivery": "immediate", "language": "en"}).status_code == 400
    assert services.preference_of(db.session, staff.id) is None


def test_an_analyst_who_reads_no_reports_has_no_such_page(app, client, factory):
    factory.portal_ready()
    analyst = factory.staff("analyst@example.org", role="analyst")
    sign_in(app, client, analyst)
    assert client.get(PAGE).status_code == 404
    assert f'href="{PAGE}"' not in client.get("/staff/statistics").get_data(as_text=True)
