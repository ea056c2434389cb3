"""Dossiers: a second staff member signs off each version before it leaves, exports are hashed,
deterministic and audited, and no dossier carries what a reporter wrote."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from sqlalchemy import func, select

from portal.cli import main
from portal.db import db
from portal.officials.models import DossierExport, DossierSignoff, Person
from portal.orgs.models import StaffMember
from portal.reports.models import Report
from tests.conftest import send_report, valid_report
from tests.officials import (
    INTAKE_NAME,
    PARTNER,
    PARTNER_NAME,
    add_person,
    entity_id,
    events,
    export,
    exported,
    file_report,
    linked,
    org_id,
    pdf_text,
    person_page,
    person_row,
    post,
    prepare,
    sign,
    signed_in,
    signed_off,
    triaged,
)


@pytest.fixture
def triager(preparer):
    return db.session.scalars(select(StaffMember).where(StaffMember.role == "triager")).one()


def exports() -> list[DossierExport]:
    db.session.expire_all()
    return list(db.session.scalars(select(DossierExport).order_by(DossierExport.id)))


# --- sign-off -------------------------------------------------------------------------------


def test_a_dossier_without_a_second_signer_is_refused(app, preparer):
    person = add_person(preparer.id, name_chinese="赵伟明", status="consular")
    client = signed_in(app, preparer)

    assert export(client, person.id, "pdf").status_code == 409  # nobody asked for a sign-off
    assert prepare(client, person.id).status_code == 303
    assert export(client, person.id, "pdf").status_code == 409  # prepared, not signed
    assert sign(client, person.id).status_code == 303  # refused: the preparer cannot sign
    assert export(client, person.id, "pdf").status_code == 409
    assert export(client, person.id, "html").status_code == 409

    (signoff,) = db.session.scalars(select(DossierSignoff))
    assert signoff.signed_by is None
    assert exports() == []
    assert events("dossier_signed") == [] and events("dossier_exported") == []


def test_a_signed_off_dossier_exports_with_its_hash_signers_and_version(app, preparer, signer):
    person = add_person(preparer.id, name_chinese="赵伟明", status="consular")
    preparer_client, signer_client = signed_off(app, preparer, signer, person.id)

    pdf = export(preparer_client, person.id, "pdf")
    html = export(signer_client, person.id, "html")

    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    assert pdf.get_data().startswith(b"%PDF-")
    assert html.status_code == 200 and html.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "attachment" in pdf.headers["Content-Disposition"]
    pdf_row, html_row = exports()
    assert (pdf_row.format, pdf_row.exported_by) == ("pdf", preparer.id)
    assert (html_row.format, html_row.exported_by) == ("html", signer.id)
    assert pdf_row.sha256 == hashlib.sha256(pdf.get_data()).hexdigest()
    assert html_row.sha256 == hashlib.sha256(html.get_data()).hexdigest()
    for row in (pdf_row, html_row):
        assert (row.person_id, row.version) == (person.id, 1)
        assert (row.prepared_by, row.signed_by) == (preparer.id, signer.id)


@pytest.mark.parametrize("fmt", ["pdf", "html"])
def test_exporting_the_same_dossier_twice_gives_the_same_bytes(app, preparer, signer, fmt):
    person = add_person(preparer.id, name_chinese="赵伟明", status="diplomatic",
                        mission_id=entity_id("embassy-ottawa"), requested_action="persona_non_grata")
    linked(file_report(app), person)
    client, _signer_client = signed_off(app, preparer, signer, person.id)

    first = exported(client, person.id, fmt)
    second = exported(client, person.id, fmt)

    assert first == second
    assert len({row.sha256 for row in exports()}) == 1


def test_an_edit_after_sign_off_needs_a_new_sign_off(app, preparer, signer):
    person = add_person(preparer.id, name_chinese="赵伟明", title="Consul", status="consular")
    preparer_client, signer_client = signed_off(app, preparer, signer, person.id)
    exported(preparer_client, person.id, "pdf")

    response = post(
        preparer_client, person_page(person.id),
        {"name_latin": "Zhao Weiming", "name_chinese": "赵伟明", "title": "Consul general", "status": "consular"},
        form_page=person_page(person.id),
    )

    assert response.status_code == 303
    assert person_row(person.id).version == 2
    assert export(preparer_client, person.id, "pdf").status_code == 409
    assert export(signer_client, person.id, "html").status_code == 409
    assert prepare(preparer_client, person.id).status_code == 303
    assert sign(signer_client, person.id).status_code == 303
    assert "Consul general" in pdf_text(exported(preparer_client, person.id, "pdf"))
    assert [row.version for row in exports()] == [1, 2]


# --- what a dossier may contain ---------------------------------------------------------------

#: Unique words in what each reporter typed; none may ever appear in a dossier.
MARKERS = {
    consent: {
        "narrative": f"Narrative marker {consent} qz7 — they called my mother.",
        "city": f"Citymarker{consent}qz7",
        "perpetrator_details": f"Perpetrator marker {consent} qz7",
        "contact_details": f"contact-{consent}-qz7@example.net",
    }
    for consent in ("counted", "private")
}


def reported(client, consent: str, **overrides: object) -> int:
    """Send a report through the form with this consent's markers; return its id."""
    data = valid_report(
        organizations=[str(org_id())], contact_method="email", consent_contact="y",
        **MARKERS[consent], **overrides,
    )
    if consent == "private":
        del data["consent_statistics"]
    assert send_report(client, data).status_code == 200
    return db.session.scalar(select(func.max(Report.id)))


def summary_rows(html: str) -> list[tuple[str, ...]]:
    """The rows of the dossier's incident summaries (month, province, tactics, involvement, confidence)."""
    if "Incident summaries" not in html:
        return []
    section = html.split("Incident summaries", 1)[1].split("Public sources", 1)[0]
    rows = re.findall(r"<tr>((?:<td>.*?</td>)+)</tr>", section)
    return [tuple(re.findall(r"<td>(.*?)</td>", row)) for row in rows]


def test_a_dossier_summarizes_only_counted_reports_and_never_carries_a_reporters_words(
    app, client, preparer, signer
):
    counted = reported(client, "counted")
    private = reported(client, "private")
    assert db.session.get(Report, counted).consent_statistics is True
    assert db.session.get(Report, private).consent_statistics is False
    triaged(counted, tactics=("THR-HARASS", "LEG-BOUNTY"), province="BC", month=dt.date(2025, 9, 1))
    triaged(private, tactics=("THR-VIOL",), province="QC", month=dt.date(2025, 4, 1))
    person = add_person(preparer.id, name_chinese="赵伟明", status="consular")
    linked(counted, person, involvement="gave_orders", confidence="confirmed")
    linked(private, person, involvement="planned", confidence="possible")
    staff_client, _signer_client = signed_off(app, preparer, signer, person.id)

    html = exported(staff_client, person.id, "html").decode("utf-8")
    pdf = exported(staff_client, person.id, "pdf")
    text = pdf_text(pdf)

    assert summary_rows(html) == [(
        "September 2025", "British Columbia", "Arrest warrant or bounty; Repeated calls or messages",
        "Gave orders", "Confirmed",
    )]
    summary = text.split("Incident summaries", 1)[1]
    for shown in ("September 2025", "British Columbia", "Arrest warrant or bounty", "Gave orders", "Confirmed"):
        assert shown in summary, shown
    for absent in ("QC", "Quebec"):  # the private report's province: it is counted, never summarized
        assert absent not in html and absent not in text, absent
    assert "2 reported incidents are linked to this person." in html
    for consent, answers in MARKERS.items():
        for field, marker in answers.items():
            for word in {marker, *re.findall(r"\S*qz7\S*", marker)}:
                assert word not in html, (consent, field)
                assert word not in text, (consent, field)
                assert word.encode() not in pdf, (consent, field)


def test_a_dossier_counts_every_organizations_reports_without_naming_them(app, preparer, signer, factory):
    factory.organization(PARTNER, PARTNER_NAME, default=False)
    person = add_person(preparer.id, status="consular")
    linked(file_report(app), person)
    linked(file_report(app, orgs=(PARTNER,)), person)
    client, _signer_client = signed_off(app, preparer, signer, person.id)

    html = exported(client, person.id, "html").decode("utf-8")
    text = pdf_text(exported(client, person.id, "pdf"))

    assert "2 reported incidents are linked to this person." in html
    assert "2 reported incidents are linked to this person." in text
    for name in (INTAKE_NAME, PARTNER_NAME):
        assert name not in html and name not in text


# --- legal basis, requested action, Chinese script ------------------------------------------


def test_a_diplomats_dossier_cites_vcdr_articles_9_and_41_and_the_requested_action(app, preparer, signer):
    person = add_person(preparer.id, name_chinese="赵伟明", status="diplomatic",
                        mission_id=entity_id("embassy-ottawa"), requested_action="persona_non_grata")
    client, _signer_client = signed_off(app, preparer, signer, person.id)

    text = pdf_text(exported(client, person.id, "pdf"))

    assert "Vienna Convention on Diplomatic Relations, Article 9" in text
    assert "Vienna Convention on Diplomatic Relations, Article 41" in text
    assert "Consular Relations" not in text
    assert "Requested action: Declare persona non grata" in text
    assert "Embassy of the People's Republic of China in Ottawa" in text


def test_a_consular_officers_dossier_cites_vccr_article_23_and_the_requested_action(app, preparer, signer):
    person = add_person(preparer.id, name_chinese="赵伟明", status="consular",
                        mission_id=entity_id("consulate-vancouver"),
                        requested_action="refusal_of_accreditation")
    client, _signer_client = signed_off(app, preparer, signer, person.id)

    text = pdf_text(exported(client, person.id, "pdf"))
    html = exported(client, person.id, "html").decode("utf-8")

    assert "Vienna Convention on Consular Relations, Article 23" in text
    assert "Diplomatic Relations" not in text
    assert "Requested action: Refuse accreditation" in text
    assert "Vienna Convention on Consular Relations, Article 23" in html
    assert "Requested action: Refuse accreditation" in html


def test_a_chinese_name_is_readable_in_the_pdf(app, preparer, signer):
    person = add_person(preparer.id, name_chinese="赵伟明", aliases="趙偉明", status="consular")
    client, _signer_client = signed_off(app, preparer, signer, person.id)

    text = pdf_text(exported(client, person.id, "pdf"))

    assert "Dossier: Zhao Weiming 赵伟明" in text
    assert "趙偉明" in text


# --- audit and access -----------------------------------------------------------------------


def test_preparing_signing_and_exporting_are_audited_and_the_log_verifies(app, preparer, signer):
    person = add_person(preparer.id, status="consular")
    preparer_client, signer_client = signed_off(app, preparer, signer, person.id)
    pdf = exported(signer_client, person.id, "pdf")

    (prepared,) = events("dossier_prepared")
    (signed,) = events("dossier_signed")
    (exported_event,) = events("dossier_exported")
    assert (prepared.actor_staff_id, prepared.target_type, prepared.target_id) == (preparer.id, "person", person.id)
    assert (signed.actor_staff_id, signed.target_id) == (signer.id, person.id)
    assert (exported_event.actor_staff_id, exported_event.target_id) == (signer.id, person.id)
    assert hashlib.sha256(pdf).hexdigest() in exported_event.details
    result = app.test_cli_runner().invoke(main, ["audit", "verify"])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("method", "action"),
    [("post", "prepare"), ("post", "sign"), ("get", "dossier.pdf"), ("get", "dossier.html")],
)
def test_a_triager_cannot_prepare_sign_or_export_a_dossier(app, preparer, triager, method, action):
    person = add_person(preparer.id, status="consular")
    if action != "prepare":
        prepare(signed_in(app, preparer), person.id)
    client = signed_in(app, triager)

    if method == "post":
        response = post(client, f"{person_page(person.id)}/{action}", form_page=person_page(person.id))
    else:
        response = client.get(f"{person_page(person.id)}/{action}")

    assert response.status_code == 404
    db.session.expire_all()
    assert all(s.signed_by is None for s in db.session.scalars(select(DossierSignoff)))
    assert exports() == []
    assert events("dossier_signed") == [] and events("dossier_exported") == []


def test_a_signed_off_dossier_whose_content_changed_needs_a_new_sign_off(app, preparer, signer):
    """Linking another report changes what would be exported, though not the person's version."""
    person = add_person(name_latin="Content Change", status="diplomatic")
    linked(file_report(app), person)
    preparer_client, _signer_client = signed_off(app, preparer, signer, person.id)
    assert export(preparer_client, person.id, "pdf").status_code == 200
    linked(file_report(app), person)
    assert export(preparer_client, person.id, "pdf").status_code == 409
    # Prepared and signed again, it exports.
    signed_off(app, preparer, signer, person.id)
    assert export(preparer_client, person.id, "pdf").status_code == 200


def test_a_signed_off_dossier_cannot_be_signed_again(app, preparer, signer, factory):
    from portal.officials import services

    third = factory.staff("third@example.org", role="org_admin")
    person = add_person(name_latin="Sign Twice", status="consular")
    signed_off(app, preparer, signer, person.id)
    with pytest.raises(services.RegistryError):
        services.sign_off(db.session, db.session.get(Person, person.id), third.id, dt.datetime.now(dt.UTC))
