"""Staff pages: sign-in, enrolment, password, the dashboard and a report."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote as url_quote

import segno
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select
from werkzeug.utils import secure_filename

from portal import taxonomy
from portal.db import db
from portal.officials import services as registry
from portal.orgs.models import Organization, StaffMember
from portal.orgs.services import OrgError
from portal.reports import attachments, counters, damage, followup, report_list, triage
from portal.reports.models import Attachment
from portal.staff import services, sessions
from portal.staff.auth import (
    audit,
    clear_session_cookie,
    init_blueprint,
    now,
    session_store,
    set_session_cookie,
)
from portal.staff.forms import (
    AGENCY_LABELS,
    CREDIBILITY_LABELS,
    SEVERITY_LABELS,
    STATUS_LABELS,
    AssignForm,
    DeleteReportForm,
    EnrolForm,
    FilterForm,
    LoginForm,
    NoteForm,
    PasswordForm,
    ReferralForm,
    ReplyForm,
    ShareForm,
    StatusForm,
    TriageForm,
)
from portal.web import kept_filters, too_many_attempts

log = logging.getLogger(__name__)
bp = Blueprint("staff", __name__, url_prefix="/staff")
init_blueprint(bp)


def _secrets():
    return current_app.config["PORTAL_SECRETS"]


# --- signing in and out -------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
def login():
    if g.staff is not None and request.method == "GET":
        return redirect(url_for("staff.dashboard"))
    form = LoginForm()
    if not form.validate_on_submit():
        return render_template("staff/login.html", form=form), (422 if form.is_submitted() else 200)
    try:
        signed_in = services.sign_in(
            db.session,
            email=form.email.data,
            password=form.password.data,
            code=form.code.data or "",
            rate_limit_key=_secrets().rate_limit_key,
            totp_key=_secrets().totp_key,
            kdf=current_app.config["PORTAL_KDF"],
            now=now(),
        )
    except services.SignInThrottled as throttled:
        form.form_errors.append(too_many_attempts(throttled.retry_after))
        return render_template("staff/login.html", form=form), 429
    except services.SignInFailed:
        _audit_failed_sign_in(form.email.data)
        form.form_errors.append(_("The email, password or code is not right."))
        return render_template("staff/login.html", form=form), 422

    store = session_store()
    store.delete_expired(now())  # tidy abandoned sessions; each sign-in pays a little
    opened = sessions.open_session(
        store,
        staff_member_id=signed_in.staff.id,
        private_key=signed_in.private_key,
        second_factor_done=not signed_in.needs_enrolment,
        now=now(),
    )
    g.staff = signed_in.staff
    audit("sign_in", target_type="staff", target_id=signed_in.staff.id)
    db.session.commit()
    target = "staff.enrol" if signed_in.needs_enrolment else "staff.dashboard"
    response = redirect(url_for(target), code=303)
    set_session_cookie(response, opened.cookie_value)
    return response


def _audit_failed_sign_in(email: str) -> None:
    # Recorded against the account when one exists; the typed email is not stored otherwise.
    staff = db.session.scalar(select(StaffMember).where(StaffMember.email == email.strip().lower()))
    audit("sign_in_failed", target_type="staff", target_id=staff.id if staff else None)
    db.session.commit()


@bp.post("/logout")
def logout():
    session_store().delete(g.staff_session.id_hash)
    audit("sign_out", target_type="staff", target_id=g.staff.id)
    db.session.commit()
    response = redirect(url_for("staff.login"), code=303)
    clear_session_cookie(response)
    return response


def _qr_svg(uri: str) -> Markup:
    # Rendered here, inline: no image request, no third-party service ever sees the secret.
    svg = segno.make(uri, error="m").svg_inline(scale=4, title=_("QR code for your authenticator app"))
    return Markup(svg)  # noqa: S704 - segno's own markup, nothing user-supplied


@bp.route("/enrol", methods=["GET", "POST"])
def enrol():
    if g.staff_session.record.second_factor_done:
        return redirect(url_for("staff.dashboard"))
    form = EnrolForm()
    status = 200
    if form.validate_on_submit():
        try:
            services.confirm_enrolment(db.session, g.staff, form.code.data, totp_key=_secrets().totp_key, now=now())
        except services.InvalidCode:
            form.code.errors = [*form.code.errors, _("That code is not right, or was already used. Wait for the next one.")]
            status = 422
        else:
            sessions.complete_second_factor(session_store(), g.staff_session)
            audit("totp_enrolled", target_type="staff", target_id=g.staff.id)
            db.session.commit()
            target = "staff.password" if g.staff.needs_new_password else "staff.dashboard"
            return redirect(url_for(target), code=303)
    elif form.is_submitted():
        status = 422
    uri = services.otpauth_uri(g.staff, _secrets().totp_key)
    return (
        render_template(
            "staff/enrol.html",
            form=form,
            qr=_qr_svg(uri),
            secret=services.totp_secret_text(g.staff, _secrets().totp_key),
        ),
        status,
    )


@bp.route("/password", methods=["GET", "POST"])
def password():
    form = PasswordForm()
    if not form.validate_on_submit():
        return render_template("staff/password.html", form=form), (422 if form.is_submitted() else 200)
    try:
        services.change_password(
            db.session,
            g.staff,
            private_key=g.staff_key,
            current_password=form.current_password.data,
            new_password=form.new_password.data,
            kdf=current_app.config["PORTAL_KDF"],
        )
    except services.SignInFailed:
        db.session.rollback()
        form.current_password.errors = [_("That is not your current password.")]
        return render_template("staff/password.html", form=form), 422
    except OrgError as error:
        db.session.rollback()
        form.new_password.errors = [_translated_org_error(error)]
        return render_template("staff/password.html", form=form), 422
    audit("password_changed", target_type="staff", target_id=g.staff.id)
    db.session.commit()
    # A stolen session must not outlive the password that was stolen with it.
    session_store().delete_all_for(g.staff.id, keep=g.staff_session.id_hash)
    flash(_("Your password was changed. Your other sessions were signed out."))
    return redirect(url_for("staff.dashboard"), code=303)


def _translated_org_error(error: OrgError) -> str:
    text = str(error)
    if "too common" in text:
        return _("That password is too common; please choose another.")
    if "at least" in text:
        return _("At least 12 characters.")
    if "must differ" in text:
        return _("The new password must differ from the current one.")
    return text


# --- dashboard ----------------------------------------------------------------------------------


@bp.get("/")
def dashboard():
    counts = counters.organization_counters(db.session, g.staff.organization_id)
    if not triage.can_read_reports(g.staff):
        return _committed(render_template("staff/dashboard.html", counts=counts, page=None, form=None))
    form = FilterForm(request.args)
    form.assignee.choices = _assignee_filter_choices()
    form.campaign.choices = [("", _("Any"))] + [
        (str(campaign.id), campaign.title_in(str(get_locale()))) for campaign in registry.all_campaigns(db.session)
    ]
    form.validate()
    within, officials_found = _registry_filters(form)
    page = report_list.dashboard_page(db.session, g.staff, form.filters(within))
    excerpts = report_list.excerpts(db.session, g.staff, g.staff_key, page.reports)
    opened_ids = [report_id for report_id, text in excerpts.items() if text is not None]
    if opened_ids:
        audit("report_decrypted", target_type="report_list", view="dashboard", report_ids=opened_ids)
    # Page links keep the filters and sort, never the position they came from.
    args = {name: value for name, value in kept_filters(form).items() if name not in ("after", "before")}
    return _committed(render_template(
        "staff/dashboard.html", counts=counts, form=form, page=page, excerpts=excerpts, args=args,
        officials_found=officials_found,
    ))


#: How many registry people a dashboard name search may match before it asks for more of the name.
OFFICIALS_PER_SEARCH = 20


def _registry_filters(form: FilterForm) -> tuple[tuple, list | None]:
    """Keep the list within reports linked to the officials named, or to the chosen campaign."""
    within = []
    officials_found = None
    if form.official.data and not form.official.errors:
        officials_found = registry.search_people(db.session, form.official.data, limit=OFFICIALS_PER_SEARCH)
        within.append(registry.reports_linked_to(person.id for person in officials_found))
    if form.campaign.data and not form.campaign.errors:
        within.append(registry.reports_in_campaign(int(form.campaign.data)))
    return tuple(within), officials_found


def _committed(html: str) -> str:
    """Commit once the page is rendered: committing first would expire every row it shows, and
    reading them again would cost a query per report."""
    db.session.commit()
    return html


def _assignee_filter_choices() -> list[tuple[str, str]]:
    colleagues = db.session.scalars(
        select(StaffMember).where(StaffMember.organization_id == g.staff.organization_id).order_by(StaffMember.email)
    )
    return [("", _("Anyone")), ("me", _("Me")), ("none", _("Nobody"))] + [
        (str(member.id), member.email) for member in colleagues
    ]


# --- one report ---------------------------------------------------------------------------------


def _load(report_id: int):
    try:
        report = triage.get_report(db.session, g.staff, report_id)
    except triage.ReportNotFound:
        abort(404)
    try:
        content_key, answers = triage.open_report(db.session, g.staff, g.staff_key, report)
    except triage.NoKeyForReport:
        return report, None, None
    return report, content_key, answers


def _triage_form_for(report, answers: dict[str, Any]) -> TriageForm:  # noqa: ANN001
    """The stored triage record; before the first one, what the reporter answered, to confirm."""
    if report.triaged_at is None:
        record = triage.suggested_record(answers)
    else:
        record = triage.TriageRecord(
            tactics=report.tactic_codes, severity=report.severity, credibility=report.credibility,
            community=report.community, province=report.province, incident_month=report.incident_month,
            perpetrator_type=report.perpetrator_type, duplicate_of_id=report.duplicate_of_id,
        )
    return TriageForm(
        formdata=None,
        tactics=record.tactics,
        severity=record.severity or "",
        credibility=record.credibility or "",
        community=record.community or "",
        province=record.province or "",
        month=record.incident_month.strftime("%Y-%m") if record.incident_month else "",
        perpetrator_type=record.perpetrator_type or "",
        duplicate_of=record.duplicate_of_id,
    )


def _forms_for(report, answers: dict[str, Any], **given: Any) -> dict[str, Any]:
    forms: dict[str, Any] = {
        "status_form": given.get("status_form") or StatusForm(formdata=None, status=report.status),
        "assign_form": given.get("assign_form") or AssignForm(formdata=None, assignee=str(report.assignee_id or "")),
        "triage_form": given.get("triage_form") or _triage_form_for(report, answers),
        "note_form": given.get("note_form") or NoteForm(formdata=None),
        "share_form": given.get("share_form") or ShareForm(formdata=None),
        "referral_form": given.get("referral_form") or ReferralForm(formdata=None),
        "reply_form": given.get("reply_form") or ReplyForm(formdata=None),
        "delete_form": given.get("delete_form") or DeleteReportForm(formdata=None),
    }
    forms["assign_form"].assignee.choices = [("", _("Nobody"))] + [
        (str(member.id), member.email) for member in triage.assignable_staff(db.session, report)
    ]
    forms["share_form"].organization.choices = _share_choices(report)
    # Several forms share one page: their fields need ids of their own for labels to find them.
    forms["note_form"].text.id = "note-text"
    forms["reply_form"].text.id = "reply-text"
    return forms


def _share_choices(report) -> list[tuple[int, str]]:  # noqa: ANN001
    """Member organizations the report is not shared with yet."""
    others = db.session.scalars(
        select(Organization).where(Organization.id.not_in([org.id for org in report.organizations])).order_by(Organization.name)
    )
    return [(org.id, org.name) for org in others]


def officials_panel(report) -> dict[str, Any]:  # noqa: ANN001
    from portal.officials.views import report_panel  # the registry's blueprint owns that panel

    return report_panel(report)


def _render_report(report, content_key, answers, status: int = 200, **forms: Any):
    if content_key is None:
        return render_template("staff/no_key.html", report=report), 403
    audit("report_decrypted", target_type="report", target_id=report.id)
    db.session.commit()
    staff_emails = dict(db.session.execute(select(StaffMember.id, StaffMember.email)).all())
    return (
        render_template(
            "staff/report.html",
            report=report,
            answers=answers,
            history=triage.status_history(db.session, report, content_key),
            notes=triage.read_notes(db.session, report, content_key),
            referrals=triage.read_referrals(db.session, report, content_key),
            messages=followup.read_messages(db.session, report, content_key),
            **officials_panel(report),
            files=[
                (item, damage.attachment_details(item, content_key))
                for item in db.session.scalars(
                    select(Attachment).where(Attachment.report_id == report.id).order_by(Attachment.id)
                )
            ],
            staff_emails=staff_emails,
            **_forms_for(report, answers, **forms),
        ),
        status,
    )


@bp.get("/reports/<id:report_id>")
def report(report_id: int):
    return _render_report(*_load(report_id))


def _after_change(report_id: int, message: str, section: str):
    """Back to the section the change came from, with its confirmation shown there."""
    db.session.commit()
    flash(message, section)
    return redirect(url_for("staff.report", report_id=report_id, _anchor=section), code=303)


def _invalid(report, content_key, answers, **forms: Any):
    db.session.rollback()
    return _render_report(report, content_key, answers, status=422, **forms)


@bp.post("/reports/<id:report_id>/status")
def change_status(report_id: int):
    report, content_key, answers = _load(report_id)
    form = StatusForm()
    if content_key is None or not form.validate():
        return _invalid(report, content_key, answers, status_form=form)
    triage.set_status(db.session, report, g.staff, content_key, form.status.data, form.reason.data)
    audit("report_status_changed", target_type="report", target_id=report.id, status=form.status.data)
    return _after_change(report.id, _("Status changed."), "workflow")


@bp.post("/reports/<id:report_id>/assign")
def assign(report_id: int):
    report, content_key, answers = _load(report_id)
    form = AssignForm()
    form.assignee.choices = [("", "")] + [(str(m.id), m.email) for m in triage.assignable_staff(db.session, report)]
    if content_key is None or not form.validate():
        return _invalid(report, content_key, answers, assign_form=form)
    assignee = int(form.assignee.data) if form.assignee.data else None
    triage.assign(db.session, report, assignee)
    audit("report_assigned", target_type="report", target_id=report.id, assignee=assignee)
    return _after_change(report.id, _("Assignment saved."), "workflow")


@bp.post("/reports/<id:report_id>/triage")
def save_triage(report_id: int):
    report, content_key, answers = _load(report_id)
    form = TriageForm()
    if content_key is None or not form.validate():
        return _invalid(report, content_key, answers, triage_form=form)
    record = triage.TriageRecord(
        tactics=form.tactics.data or [],
        severity=form.severity.data or None,
        credibility=form.credibility.data or None,
        community=form.community.data or None,
        province=form.province.data or None,
        incident_month=form.month_date(),
        perpetrator_type=form.perpetrator_type.data or None,
        duplicate_of_id=form.duplicate_of.data,
    )
    try:
        triage.record_triage(db.session, report, g.staff, record, now())
    except triage.TriageError:
        form.duplicate_of.errors = [_("There is no such report to mark as the original.")]
        return _invalid(report, content_key, answers, triage_form=form)
    audit("report_triaged", target_type="report", target_id=report.id, tactics=record.tactics)
    return _after_change(report.id, _("Triage record saved."), "triage")


@bp.post("/reports/<id:report_id>/notes")
def add_note(report_id: int):
    report, content_key, answers = _load(report_id)
    form = NoteForm()
    if content_key is None or not form.validate():
        return _invalid(report, content_key, answers, note_form=form)
    note = triage.add_note(db.session, report, g.staff, content_key, form.text.data)
    db.session.flush()
    audit("note_added", target_type="report", target_id=report.id, note=note.id)
    return _after_change(report.id, _("Note added."), "notes")


@bp.post("/reports/<id:report_id>/share")
def share(report_id: int):
    report, content_key, answers = _load(report_id)
    form = ShareForm()
    form.organization.choices = _share_choices(report)
    if content_key is None or not form.validate():
        return _invalid(report, content_key, answers, share_form=form)
    organization = db.session.get(Organization, form.organization.data)
    readers = triage.share_with(db.session, report, content_key, organization)
    audit("report_shared", target_type="report", target_id=report.id, organization=organization.id, readers=readers)
    return _after_change(report.id, _("Shared with %(name)s.", name=organization.name), "share")


@bp.post("/reports/<id:report_id>/referrals")
def refer(report_id: int):
    report, content_key, answers = _load(report_id)
    form = ReferralForm()
    if content_key is None or not form.validate():
        return _invalid(report, content_key, answers, referral_form=form)
    try:
        triage.add_referral(
            db.session, report, g.staff, content_key,
            agency=form.agency.data, file_number=form.file_number.data or "", outcome=form.outcome.data or "",
        )
    except triage.ReferralNotAllowed:
        form.agency.errors = [_("The reporter did not consent to a referral.")]
        return _invalid(report, content_key, answers, referral_form=form)
    audit("report_referred", target_type="report", target_id=report.id, agency=form.agency.data)
    return _after_change(report.id, _("Referral recorded."), "referrals")




_TAXONOMY_LABELS = {
    "tactic": {code: label for _g, _l, tactics in taxonomy.TACTIC_GROUPS for code, label in tactics},
    "province": dict(taxonomy.PROVINCES),
    "community": dict(taxonomy.COMMUNITIES),
    "perpetrator": dict(taxonomy.PERPETRATORS),
    "target": dict(taxonomy.TARGETS),
    "impact": dict(taxonomy.IMPACTS),
    "authority": dict(taxonomy.AUTHORITIES),
    "bounty": dict(taxonomy.BOUNTY_ANSWERS),
    "contact": dict(taxonomy.CONTACT_METHODS),
    "precision": dict(taxonomy.DATE_PRECISIONS),
    "status": STATUS_LABELS,
    "severity": SEVERITY_LABELS,
    "credibility": CREDIBILITY_LABELS,
    "agency": AGENCY_LABELS,
}


def label(kind: str, code: Any) -> str:
    """The translated label of a stored code; the code itself if it is unknown."""
    text = _TAXONOMY_LABELS.get(kind, {}).get(code)
    return _(text) if text else str(code)


@bp.app_context_processor
def _staff_template_helpers() -> dict[str, Any]:
    return {"label": label, "tactic_groups": taxonomy.TACTIC_GROUPS}



@bp.post("/reports/<id:report_id>/messages")
def reply(report_id: int):
    report, content_key, answers = _load(report_id)
    form = ReplyForm()
    if content_key is None or not form.validate():
        return _invalid(report, content_key, answers, reply_form=form)
    followup.add_message(db.session, report, content_key, form.text.data, staff_member_id=g.staff.id)
    audit("message_sent", target_type="report", target_id=report.id)
    return _after_change(report.id, _("Your reply was sent. The reporter will see it with their receipt code."), "messages")


def _attachment(report_id: int, attachment_id: int):
    report, content_key, _answers = _load(report_id)
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or attachment.report_id != report.id or content_key is None:
        abort(404)
    return report, content_key, attachment


def _download_headers(name: str, content_type: str = "application/octet-stream") -> dict[str, str]:
    """Always a download, never rendered: a file from a stranger must not run in the portal."""
    fallback = secure_filename(name) or "evidence"
    quoted = url_quote(name.replace("/", "_").replace("\\", "_"), safe="")
    return {
        "Content-Type": content_type,
        "Content-Disposition": f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quoted}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "no-store",
    }


@bp.get("/reports/<id:report_id>/files/<id:attachment_id>")
def download(report_id: int, attachment_id: int):
    report, content_key, attachment = _attachment(report_id, attachment_id)
    try:
        # The whole file is checked first, so a damaged one is refused rather than half-sent.
        sealed = attachments.verify(db.session, attachment, content_key)
    except attachments.AttachmentDamaged:
        log.error("attachment %s failed verification", attachment.id)
        return render_template("staff/damaged.html", report=report), 422
    audit("attachment_downloaded", target_type="report", target_id=report.id, attachment=attachment.id)
    db.session.commit()
    headers = _download_headers(sealed.details.name)
    headers["Content-Length"] = str(sealed.details.size)
    # The body is sent after this request's session is gone: it reads on a connection of its own.
    return Response(attachments.stream_plaintext(db.engine, sealed), headers=headers)


@bp.get("/reports/<id:report_id>/files/<id:attachment_id>/without-metadata")
def download_without_metadata(report_id: int, attachment_id: int):
    report, content_key, attachment = _attachment(report_id, attachment_id)
    try:
        details = attachments.verify(db.session, attachment, content_key).details
        data = b"".join(attachments.plaintext(db.session, attachment, content_key))
    except attachments.AttachmentDamaged:
        return render_template("staff/damaged.html", report=report), 422
    cleaned = attachments.without_metadata(data)
    if cleaned is None:
        abort(404)
    audit("attachment_downloaded", target_type="report", target_id=report.id, attachment=attachment.id, cleaned=True)
    db.session.commit()
    body, mime = cleaned
    stem = details.name.rsplit(".", 1)
    name = f"{stem[0]}-clean.{stem[1]}" if len(stem) == 2 else f"{details.name}-clean"
    return Response(body, headers=_download_headers(name))


@bp.post("/reports/<id:report_id>/delete")
def delete_report(report_id: int):
    report, content_key, answers = _load(report_id)
    form = DeleteReportForm()
    if content_key is None or not form.validate():
        return _invalid(report, content_key, answers, delete_form=form)
    # The audit entry stays: it records that a deletion happened, never what was deleted.
    audit("report_deleted", target_type="report", target_id=report.id)
    followup.delete_report(db.session, report.id)
    db.session.commit()
    flash(_("Report %(id)s was deleted.", id=report_id))
    return redirect(url_for("staff.dashboard"), code=303)
