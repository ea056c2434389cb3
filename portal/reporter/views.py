"""Reporter pages: landing, the report form, the receipt."""

from __future__ import annotations

import datetime as dt
import logging
import secrets

from flask import Blueprint, current_app, render_template, request, session
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy import select

from portal import crypto
from portal.db import db
from portal.orgs.models import Organization
from portal.reports.forms import ReportForm
from portal.reports.services import (
    Consent,
    NotAcceptingReports,
    UnknownOrganization,
    accepting_reports,
    submit_report,
)
from portal.taxonomy import TACTIC_GROUPS
from portal.web import takes_evidence

log = logging.getLogger(__name__)
bp = Blueprint("reporter", __name__)

# One-time form tokens: a reload or double click of "Send" must not file the same report twice,
# and the receipt is shown only in the response to the one request that created it.
_FORM_TOKENS = "report_form_tokens"
_MAX_OPEN_FORMS = 5


def _organization_choices() -> list[tuple[int, str]]:
    rows = db.session.execute(
        select(Organization.id, Organization.name).order_by(
            Organization.is_default_recipient.desc(), Organization.name
        )
    )
    return [(row.id, row.name) for row in rows]


def _default_organizations() -> list[int]:
    return list(
        db.session.scalars(select(Organization.id).where(Organization.is_default_recipient.is_(True)))
    )


def _issue_form_token() -> str:
    token = secrets.token_urlsafe(16)
    tokens = [t for t in session.get(_FORM_TOKENS, []) if isinstance(t, str)][-(_MAX_OPEN_FORMS - 1):]
    session[_FORM_TOKENS] = [*tokens, token]
    return token


def _form_token_is_open(token: str | None) -> bool:
    tokens = session.get(_FORM_TOKENS, [])
    return bool(token) and isinstance(tokens, list) and token in tokens


def _close_form_token(token: str) -> None:
    session[_FORM_TOKENS] = [t for t in session.get(_FORM_TOKENS, []) if t != token]


def chosen_files() -> list:
    """The evidence files of this request, already sealed and written; empty file inputs skipped."""
    return [storage.stream for storage in request.files.getlist("evidence") if (storage.filename or "").strip()]


def file_limits() -> dict[str, str]:
    config = current_app.config
    return {
        "per_file": format_size(config["PORTAL_MAX_FILE_BYTES"]),
        "per_report": format_size(config["PORTAL_MAX_REPORT_FILES_BYTES"]),
    }


def format_size(size: int) -> str:
    if size >= 1024 * 1024:
        return _("%(size)s MB", size=format_decimal(round(size / (1024 * 1024))))
    return _("%(size)s KB", size=format_decimal(round(size / 1024)))


def _render_form(form: ReportForm, *, status: int = 200, notice: str | None = None):
    return (
        render_template(
            "reporter/report.html",
            form=form,
            tactic_groups=TACTIC_GROUPS,
            form_token=_issue_form_token(),
            notice=notice,
            limits=file_limits(),
            files_dropped=request.method == "POST" and bool(chosen_files()),
        ),
        status,
    )


@bp.get("/")
def index():
    return render_template("reporter/index.html")


@bp.get("/report")
def report_form():
    if not accepting_reports(db.session):
        return render_template("reporter/not_accepting.html"), 503
    form = ReportForm(organizations=_organization_choices(), formdata=None)
    form.organizations.data = _default_organizations()
    return _render_form(form)


@bp.post("/report")
@takes_evidence
def submit():
    if not accepting_reports(db.session):
        return render_template("reporter/not_accepting.html"), 503
    form = ReportForm(organizations=_organization_choices())
    if not form.validate_on_submit():
        return _render_form(form, status=422)
    form_token = request.form.get("form_token")
    if not _form_token_is_open(form_token):
        return render_template("reporter/already_sent.html"), 409
    uploads = chosen_files()
    if sum(upload.size for upload in uploads) > current_app.config["PORTAL_MAX_REPORT_FILES_BYTES"]:
        form.evidence_error = _("Together, these files are larger than the limit. Please send fewer or smaller files.")
        return _render_form(form, status=422)
    try:
        submitted = submit_report(
            db.session,
            answers=form.answers(),
            organization_ids=form.organizations.data,
            consent=Consent(
                statistics=form.consent_statistics.data,
                referral=form.consent_referral.data,
                contact=form.consent_contact.data,
            ),
            lookup_key=current_app.config["PORTAL_SECRETS"].lookup_key,
            kdf=current_app.config["PORTAL_KDF"],
            today=dt.datetime.now(dt.UTC).date(),
            uploads=uploads,
        )
    except NotAcceptingReports:
        return render_template("reporter/not_accepting.html"), 503
    except UnknownOrganization:
        return _render_form(form, status=422)
    _close_form_token(form_token)
    log.info("report received")  # no identifier, no content: only that one arrived
    return render_template(
        "reporter/receipt.html", receipt=crypto.format_receipt(submitted.receipt)
    )


@bp.post("/report/saved")
def receipt_saved():
    return render_template("reporter/next_steps.html")


@bp.errorhandler(CSRFError)
def form_expired(error: CSRFError):
    """Give an expired report form back with everything typed, rather than lose it."""
    if request.endpoint != "reporter.submit":
        return render_template("errors/csrf.html"), 400
    if not accepting_reports(db.session):
        return render_template("reporter/not_accepting.html"), 503
    form = ReportForm(organizations=_organization_choices(), meta={"csrf": False})
    form.validate()
    return _render_form(form, status=400, notice="expired")
