"""Registry pages: search, a person, their dossier and its sign-off; links from a report."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from portal import inputs
from portal.db import db
from portal.officials import export, labels, services
from portal.officials.forms import LinkForm, PersonForm, PostingForm, SourceForm
from portal.officials.models import Campaign, CampaignLink, Entity, Person
from portal.reports import triage
from portal.reports.models import Report
from portal.staff.auth import audit, init_blueprint, now, require_roles

bp = Blueprint("officials", __name__, url_prefix="/staff")
init_blueprint(bp)

REGISTRY_EDITORS = ("coalition_admin",)
DOSSIER_SIGNERS = ("coalition_admin", "org_admin")
#: People a registry search on a report's page offers at most; more of the name narrows it.
PEOPLE_OFFERED = 20


def _entities() -> list[Entity]:
    return list(db.session.scalars(select(Entity).order_by(Entity.kind, Entity.name_en)))


def _entity_choices(blank: bool = True) -> list[tuple[str, str]]:
    lang = str(get_locale() or "en")
    choices = [(str(e.id), e.name_in(lang)) for e in _entities()]
    return ([("", _("None"))] if blank else []) + choices


def _person(person_id: int) -> Person:
    person = db.session.get(Person, person_id)
    if person is None:
        abort(404)
    return person


@bp.get("/officials")
def registry():
    query = request.args.get("q", "")[:200]
    form = PersonForm(formdata=None)
    form.mission_id.choices = form.affiliation_id.choices = _entity_choices()
    return render_template(
        "officials/index.html", query=query, people=services.search_people(db.session, query),
        counts=services.linked_counts(db.session), entities=_entities(), form=form, labels=labels,
    )


def _person_fields(form: PersonForm) -> dict:
    return {
        "name_latin": (form.name_latin.data or "").strip(),
        "name_chinese": (form.name_chinese.data or "").strip(),
        "aliases": "\n".join(line.strip() for line in (form.aliases.data or "").splitlines() if line.strip()),
        "mission_id": int(form.mission_id.data) if form.mission_id.data else None,
        "title": (form.title.data or "").strip(),
        "rank": (form.rank.data or "").strip(),
        "status": form.status.data,
        "affiliation_id": int(form.affiliation_id.data) if form.affiliation_id.data else None,
        "affiliation_basis": (form.affiliation_basis.data or "").strip(),
        "requested_action": form.requested_action.data or "",
    }


@bp.post("/officials/people")
@require_roles(*REGISTRY_EDITORS)
def create_person():
    form = PersonForm()
    form.mission_id.choices = form.affiliation_id.choices = _entity_choices()
    if not form.validate():
        return render_template("officials/index.html", query="", people=services.search_people(db.session, ""),
                               counts=services.linked_counts(db.session), entities=_entities(), form=form,
                               labels=labels), 422
    person = services.create_person(db.session, _person_fields(form), staff_id=g.staff.id, now=now())
    db.session.commit()
    flash(_("Added to the registry."))
    return redirect(url_for("officials.person", person_id=person.id), code=303)


def _render_person(person: Person, status: int = 200, **forms):
    edit = forms.get("edit_form") or PersonForm(
        formdata=None, obj=person, mission_id=str(person.mission_id or ""), affiliation_id=str(person.affiliation_id or ""),
    )
    edit.mission_id.choices = edit.affiliation_id.choices = _entity_choices()
    posting = forms.get("posting_form") or PostingForm(formdata=None, prefix="posting")
    posting.entity_id.choices = _entity_choices(blank=False)
    dossier = services.build_dossier(db.session, person)
    readable = triage.visible_reports(g.staff).with_only_columns(Report.id)
    links = services.person_links(db.session, person, among=readable)
    history, signoff = services.history(db.session, person), _live_signoff(person)
    approvals = services.approvals(db.session, person)
    can_sign = g.staff.role in DOSSIER_SIGNERS
    # A signer is shown what they would approve beyond what was last signed off.
    changes = (services.changes_since_signed(db.session, person, dossier)
               if can_sign and not (signoff and signoff.signed_by) else None)
    emails = services.staff_emails(db.session, [
        *(version.changed_by for version in history),
        *(staff_id for approval in approvals for staff_id in (approval.prepared_by, approval.signed_by)),
        *((signoff.prepared_by, signoff.signed_by) if signoff else ()),
    ])
    named = {link.report_id for link in links} | {
        link.report_id for link in (changes.links_added + changes.links_removed if changes else ())
    }
    return render_template(
        "officials/person.html", person=person, dossier=dossier, links=links, labels=labels,
        history=history, signoff=signoff, approvals=approvals, changes=changes, who=_who(emails),
        readable_reports=set(db.session.scalars(readable.where(Report.id.in_(named)))) if named else set(),
        entity_names={entity.id: entity.name_in(str(get_locale() or "en")) for entity in _entities()},
        edit_form=edit, posting_form=posting, source_form=forms.get("source_form") or SourceForm(formdata=None, prefix="source"),
        can_edit=g.staff.role in REGISTRY_EDITORS, can_sign=can_sign,
    ), status


def _who(emails: dict[int, str]):
    """Name a staff member by email; one no longer in the portal as such, never by a number."""
    def who(staff_id: int | None) -> str:
        if staff_id is None:
            return "—"
        return emails.get(staff_id) or _("a staff member no longer in the portal")
    return who


def _live_signoff(person: Person):
    """The sign-off request for the dossier as it stands now, or None if there is none or it is stale."""
    signoff = services.current_signoff(db.session, person)
    return signoff if services.signoff_is_current(db.session, person, signoff) else None


@bp.get("/officials/people/<id:person_id>")
def person(person_id: int):
    return _render_person(_person(person_id))


@bp.post("/officials/people/<id:person_id>")
@require_roles(*REGISTRY_EDITORS)
def edit_person(person_id: int):
    person = _person(person_id)
    form = PersonForm()
    form.mission_id.choices = form.affiliation_id.choices = _entity_choices()
    if not form.validate():
        return _render_person(person, 422, edit_form=form)
    if services.update_person(db.session, person, _person_fields(form), staff_id=g.staff.id, now=now()):
        db.session.commit()
        flash(_("Saved as version %(version)d. A new sign-off is needed before the dossier can be exported.", version=person.version))
    return redirect(url_for("officials.person", person_id=person.id), code=303)


@bp.post("/officials/people/<id:person_id>/postings")
@require_roles(*REGISTRY_EDITORS)
def add_posting(person_id: int):
    person = _person(person_id)
    form = PostingForm(prefix="posting")
    form.entity_id.choices = _entity_choices(blank=False)
    if not form.validate():
        return _render_person(person, 422, posting_form=form)
    try:
        services.add_posting(db.session, person, entity_id=int(form.entity_id.data), title=form.title.data or "",
                             start=form.start.data, end=form.end.data, staff_id=g.staff.id, now=now())
    except services.RegistryError:
        db.session.rollback()
        form.end.errors = [_("A posting cannot end before it starts.")]
        return _render_person(person, 422, posting_form=form)
    db.session.commit()
    return redirect(url_for("officials.person", person_id=person.id), code=303)


@bp.post("/officials/people/<id:person_id>/sources")
@require_roles(*REGISTRY_EDITORS)
def add_source(person_id: int):
    person = _person(person_id)
    form = SourceForm(prefix="source")
    if not form.validate():
        return _render_person(person, 422, source_form=form)
    try:
        services.add_source(db.session, person, title=form.title.data, address=form.address.data or "",
                            published_on=form.published_on.data, staff_id=g.staff.id, now=now())
    except services.RegistryError:
        db.session.rollback()
        form.address.errors = [_("A source address starts with http:// or https://.")]
        return _render_person(person, 422, source_form=form)
    db.session.commit()
    return redirect(url_for("officials.person", person_id=person.id), code=303)


@bp.post("/officials/people/<id:person_id>/prepare")
@require_roles(*DOSSIER_SIGNERS)
def prepare(person_id: int):
    person = _person(person_id)
    services.prepare_for_signoff(db.session, person, g.staff.id)
    audit("dossier_prepared", target_type="person", target_id=person.id, version=person.version)
    db.session.commit()
    flash(_("Version %(version)d is ready for a second staff member's sign-off.", version=person.version))
    return redirect(url_for("officials.person", person_id=person.id), code=303)


@bp.post("/officials/people/<id:person_id>/sign")
@require_roles(*DOSSIER_SIGNERS)
def sign(person_id: int):
    person = _person(person_id)
    try:
        services.sign_off(db.session, person, g.staff.id, now())
    except services.RegistryError:
        db.session.rollback()
        flash(_("A second staff member, not the one who prepared it, must sign off the dossier as it is now."))
        return redirect(url_for("officials.person", person_id=person.id), code=303)
    audit("dossier_signed", target_type="person", target_id=person.id, version=person.version)
    db.session.commit()
    flash(_("Signed off. The dossier can now be exported."))
    return redirect(url_for("officials.person", person_id=person.id), code=303)


@bp.get("/officials/people/<id:person_id>/dossier.<fmt>")
@require_roles(*DOSSIER_SIGNERS)
def dossier(person_id: int, fmt: str):
    if fmt not in ("html", "pdf"):
        abort(404)
    person = _person(person_id)
    asked = request.args.get("lang")
    lang = asked if asked in export.LANGUAGES else str(get_locale() or "en")
    try:
        signoff = services.signed_signoff(db.session, person)
    except services.SignOffRequired:
        return render_template("officials/needs_signoff.html", person=person), 409
    emails = services.staff_emails(db.session, (signoff.prepared_by, signoff.signed_by))
    signatures = export.Signatures(
        prepared_by=emails.get(signoff.prepared_by, "—"), signed_by=emails.get(signoff.signed_by, "—"),
        signed_on=signoff.signed_at.date(), exported_on=now().date(),
    )
    data = services.build_dossier(db.session, person)
    render = export.render_pdf if fmt == "pdf" else export.render_html
    content = render(data, lang, signatures)
    try:
        record = services.record_export(db.session, person, exported_by=g.staff.id, fmt=fmt, content=content)
    except services.SignOffRequired:
        db.session.rollback()
        return render_template("officials/needs_signoff.html", person=person), 409
    audit("dossier_exported", target_type="person", target_id=person.id, version=person.version, sha256=record.sha256, format=fmt, lang=lang)
    db.session.commit()
    name = f"dossier-{person.id}-v{person.version}-{lang}.{fmt}"
    return Response(content, headers={
        "Content-Type": "application/pdf" if fmt == "pdf" else "text/html; charset=utf-8",
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "no-store",
    })


# --- from a report ------------------------------------------------------------------------------


def _readable_report(report_id: int):
    try:
        return triage.get_report(db.session, g.staff, report_id)
    except triage.ReportNotFound:
        abort(404)


def _person_named(value: str | None) -> Person | None:
    """The person a submitted link form names, if there is one."""
    person_id = inputs.parse_id(value)
    return db.session.get(Person, person_id) if person_id is not None else None


@bp.post("/reports/<id:report_id>/links")
def link(report_id: int):
    report = _readable_report(report_id)
    form = LinkForm()
    # Only the person the form names can be valid: the registry is never listed to check it.
    chosen = _person_named(form.person_id.data)
    form.person_id.choices = [(str(chosen.id), chosen.name_latin)] if chosen else []
    form.entity_id.choices = _entity_choices()
    if not form.validate() or bool(form.person_id.data) == bool(form.entity_id.data):
        flash(_("Choose one person or one entity, with involvement, confidence and basis."), "links")
        return redirect(url_for("staff.report", report_id=report.id, _anchor="links"), code=303)
    try:
        services.link_report(
            db.session, report,
            person=chosen,
            entity=db.session.get(Entity, int(form.entity_id.data)) if form.entity_id.data else None,
            involvement=form.involvement.data, confidence=form.confidence.data, basis=form.basis.data,
            staff_id=g.staff.id,
        )
    except services.RegistryError:
        flash(_("This report is already linked to them."), "links")
        return redirect(url_for("staff.report", report_id=report.id, _anchor="links"), code=303)
    audit("report_linked", target_type="report", target_id=report.id)
    db.session.commit()
    flash(_("Link saved."), "links")
    return redirect(url_for("staff.report", report_id=report.id, _anchor="links"), code=303)


@bp.post("/reports/<id:report_id>/campaigns")
def campaigns_of_report(report_id: int):
    report = _readable_report(report_id)
    chosen = inputs.parse_ids(request.form.getlist("campaigns"))
    known = {c.id for c in db.session.scalars(select(Campaign))}
    db.session.execute(CampaignLink.__table__.delete().where(CampaignLink.report_id == report.id))
    for campaign_id in sorted(chosen & known):
        db.session.add(CampaignLink(report_id=report.id, campaign_id=campaign_id))
    audit("report_linked", target_type="report", target_id=report.id, campaigns=sorted(chosen & known))
    db.session.commit()
    flash(_("Campaigns saved."), "links")
    return redirect(url_for("staff.report", report_id=report.id, _anchor="links"), code=303)


def _offered_people(query: str) -> tuple[list[Person], bool]:
    """People whose names match a search, at most PEOPLE_OFFERED, and whether more match."""
    if not services.fold(query):
        return [], False
    found = services.search_people(db.session, query, limit=PEOPLE_OFFERED + 1)
    return found[:PEOPLE_OFFERED], len(found) > PEOPLE_OFFERED


def _person_label(person: Person) -> str:
    names = f"{person.name_latin} {person.name_chinese}".strip()
    return f"{names} — {person.title}" if person.title else names


def report_panel(report) -> dict:  # noqa: ANN001
    """What the report page shows about officials and campaigns.

    A person is linked by searching the registry (``?q=`` on the report's page, a plain GET form
    that needs no JavaScript) and choosing one of the few people found: the page never lists the
    whole registry, however large it grows.
    """
    query = request.args.get("q", "")[:200]
    people, more_people = _offered_people(query)
    form = LinkForm(formdata=None)
    form.person_id.choices = [(str(person.id), _person_label(person)) for person in people]
    form.entity_id.choices = _entity_choices()
    lang = str(get_locale() or "en")
    chosen = set(db.session.scalars(select(CampaignLink.campaign_id).where(CampaignLink.report_id == report.id)))
    return {
        "incident_links": services.links_of_report(db.session, report),
        "link_form": form,
        "person_query": query,
        "people_found": people,
        "more_people": more_people,
        "people_offered": PEOPLE_OFFERED,
        "registry_labels": labels,
        "campaigns": [(c, c.title_in(lang), c.id in chosen)
                      for c in db.session.scalars(select(Campaign).order_by(Campaign.id))],
    }
