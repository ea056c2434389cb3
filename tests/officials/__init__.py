"""The officials registry, links from reports, campaigns and dossiers; with the helpers they share.

The views share the test's ``db.session``: setup changes are committed, and what a view committed
is read back after ``expire_all()``.
"""

from __future__ import annotations

import datetime as dt
import io
import re

from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.db import db
from portal.officials import services
from portal.officials.models import Entity, Person
from portal.orgs.models import Organization, StaffMember
from portal.reports.models import Report, ReportTactic
from portal.reports.services import Consent, submit_report
from tests.conftest import TEST_KDF, hidden_value, sign_in, valid_report

#: The two organizations and their names, which a person's page must never attribute reports to.
INTAKE, INTAKE_NAME = "intake", "Coalition intake team"
PARTNER, PARTNER_NAME = "partner", "Partner organization"


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def org_id(slug: str = INTAKE) -> int:
    return db.session.scalar(select(Organization.id).where(Organization.slug == slug))


def entity_id(slug: str) -> int:
    return db.session.scalar(select(Entity.id).where(Entity.slug == slug))


def signed_in(app: Flask, staff: StaffMember) -> FlaskClient:
    client = app.test_client()
    sign_in(app, client, staff)
    return client


def page(client: FlaskClient, path: str, status: int = 200) -> str:
    response = client.get(path)
    assert response.status_code == status, response.status_code
    return response.get_data(as_text=True)


def post(client: FlaskClient, path: str, data: dict[str, object] | None = None, *, form_page: str = "/staff/officials"):
    """Send a form as a browser would, with the CSRF token of a page this client can open."""
    token = hidden_value(page(client, form_page), "csrf_token")
    return client.post(path, data={"csrf_token": token, **(data or {})})


def add_person(staff_id: int | None = None, **fields: object) -> Person:
    """A person in the registry at version 1, as a coalition administrator would have added."""
    person = services.create_person(
        db.session, {"name_latin": "Zhao Weiming", **fields}, staff_id=staff_id, now=now()
    )
    db.session.commit()
    return person


def person_row(person_id: int) -> Person:
    db.session.expire_all()  # the views share this session: read what they committed
    return db.session.get(Person, person_id)


def file_report(
    app: Flask, *, orgs: tuple[str, ...] = (INTAKE,), statistics: bool = True, **answers: object
) -> int:
    """Store a report as the reporter form would, without the round trip through the form."""
    submitted = submit_report(
        db.session,
        answers=valid_report(**answers),
        organization_ids=[org_id(slug) for slug in orgs],
        consent=Consent(statistics=statistics, referral=False, contact=False),
        lookup_key=app.config["PORTAL_SECRETS"].lookup_key,
        kdf=TEST_KDF,
        today=dt.date.today(),
    )
    return submitted.report_id


def triaged(report_id: int, *, tactics: tuple[str, ...], province: str, month: dt.date) -> None:
    """Give a report the triage codes earlier triage would have recorded."""
    report = db.session.get(Report, report_id)
    report.tactics = [ReportTactic(code=code) for code in tactics]
    report.province = province
    report.incident_month = month
    db.session.commit()


def linked(
    report_id: int,
    person: Person,
    *,
    involvement: str = "directly_carried_out",
    confidence: str = "likely",
    basis: str = "reporter_identified",
) -> None:
    """Link a report to a person, as a reader of the report would have."""
    services.link_report(
        db.session,
        db.session.get(Report, report_id),
        person=person,
        involvement=involvement,
        confidence=confidence,
        basis=basis,
        staff_id=None,
    )
    db.session.commit()


def report_links(html: str) -> list[int]:
    return [int(number) for number in re.findall(r'href="/staff/reports/(\d+)"', html)]


def people_found(html: str) -> list[int]:
    return [int(number) for number in re.findall(r'href="/staff/officials/people/(\d+)"', html)]


def events(action: str) -> list[AuditEvent]:
    return list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq))
    )


# --- dossiers: prepare, sign off, export ------------------------------------------------------


def person_page(person_id: int) -> str:
    return f"/staff/officials/people/{person_id}"


def prepare(client, person_id: int):
    return post(client, f"{person_page(person_id)}/prepare", form_page=person_page(person_id))


def sign(client, person_id: int):
    return post(client, f"{person_page(person_id)}/sign", form_page=person_page(person_id))


def export(client, person_id: int, fmt: str):
    return client.get(f"{person_page(person_id)}/dossier.{fmt}")


def signed_off(app, preparer, signer, person_id: int):
    """Prepare and sign off the person's current version; return both members' clients."""
    preparer_client, signer_client = signed_in(app, preparer), signed_in(app, signer)
    assert prepare(preparer_client, person_id).status_code == 303
    assert sign(signer_client, person_id).status_code == 303
    return preparer_client, signer_client


def exported(client, person_id: int, fmt: str) -> bytes:
    response = export(client, person_id, fmt)
    assert response.status_code == 200, response.status_code
    return response.get_data()


def pdf_text(content: bytes) -> str:
    """The text of a PDF, whitespace collapsed, so wrapped lines read as one."""
    reader = PdfReader(io.BytesIO(content))
    return " ".join(" ".join(p.extract_text() for p in reader.pages).split())
