"""Coming back with the receipt: status, messages, more files, consent, deletion."""

from __future__ import annotations

import datetime as dt

from flask import current_app, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from portal.db import db
from portal.extensions import csrf
from portal.reporter.forms import ConsentForm, DeleteForm, MessageForm, ReceiptForm
from portal.reporter.views import bp, chosen_files, file_limits
from portal.reports import attachments, damage, followup
from portal.reports.models import Attachment
from portal.web import takes_evidence, too_many_attempts

COOKIE_NAME = "__Host-reporter"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _set_cookie(response, value: str) -> None:  # noqa: ANN001
    response.set_cookie(COOKIE_NAME, value, secure=True, httponly=True, samesite="Strict", path="/")


def _clear_cookie(response) -> None:  # noqa: ANN001
    response.delete_cookie(COOKIE_NAME, secure=True, httponly=True, samesite="Strict", path="/")


def _current():
    """The reporter's open session, or None; loads it once per request."""
    if "reporter" not in g:
        g.reporter = followup.resume_session(db.session, request.cookies.get(COOKIE_NAME), _now())
    return g.reporter


def _session_over():
    flash(_("For your safety, your session ended. Please enter your receipt code again."))
    response = redirect(url_for("reporter.follow_up"), code=303)
    _clear_cookie(response)
    return response


@bp.route("/follow-up", methods=["GET", "POST"])
def follow_up():
    if request.method == "GET" and _current() is not None:
        return redirect(url_for("reporter.follow_up_report"))
    form = ReceiptForm()
    if not form.validate_on_submit():
        return render_template("reporter/follow_up.html", form=form), (422 if form.is_submitted() else 200)
    try:
        opened = followup.open_with_receipt(
            db.session,
            form.receipt.data,
            lookup_key=current_app.config["PORTAL_SECRETS"].lookup_key,
            kdf=current_app.config["PORTAL_KDF"],
            now=_now(),
        )
    except followup.FollowUpThrottled as throttled:
        form.receipt.errors = [too_many_attempts(throttled.retry_after)]
        return render_template("reporter/follow_up.html", form=form), 429
    except followup.ReceiptNotRecognised:
        form.receipt.errors = [_("No report opens with this receipt code. Please check it and try again.")]
        return render_template("reporter/follow_up.html", form=form), 422
    cookie = followup.open_session(db.session, opened, _now())
    response = redirect(url_for("reporter.follow_up_report"), code=303)
    _set_cookie(response, cookie)
    return response


def _render_report(status: int = 200, **forms):
    row, report, content_key = _current()
    return (
        render_template(
            "reporter/follow_up_report.html",
            report=report,
            previous_use=row.previous_use_at,
            messages=followup.read_messages(db.session, report, content_key),
            files=[
                damage.attachment_details(item, content_key)
                for item in report_attachments(report.id)
            ],
            message_form=forms.get("message_form") or MessageForm(formdata=None),
            consent_form=forms.get("consent_form")
            or ConsentForm(
                formdata=None,
                statistics=report.consent_statistics,
                referral=report.consent_referral,
                contact=report.consent_contact,
            ),
            limits=file_limits(),
            files_error=forms.get("files_error"),
        ),
        status,
    )


def report_attachments(report_id: int):
    return db.session.scalars(select(Attachment).where(Attachment.report_id == report_id).order_by(Attachment.id))


@bp.get("/follow-up/report")
def follow_up_report():
    if _current() is None:
        return _session_over()
    return _render_report()


@bp.post("/follow-up/messages")
def follow_up_message():
    if _current() is None:
        return _session_over()
    _row, report, content_key = _current()
    form = MessageForm()
    if not form.validate():
        return _render_report(status=422, message_form=form)
    followup.add_message(db.session, report, content_key, form.text.data)
    db.session.commit()
    flash(_("Your message was sent."))
    return redirect(url_for("reporter.follow_up_report"), code=303)


@bp.post("/follow-up/files")
@csrf.exempt  # checked below, once the reporter's session is resumed
@takes_evidence
def follow_up_files():
    if _current() is None:
        return _session_over()
    # Resuming the session commits. Only now is the body read (the CSRF check reads it), because
    # the files it carries must be attached in the transaction that received them.
    csrf.protect()
    _row, report, content_key = _current()
    uploads = chosen_files()
    if not uploads:
        return _render_report(status=422, files_error=_("Please choose at least one file."))
    already = attachments.file_bytes_of(db.session, report.id)
    if already + sum(upload.size for upload in uploads) > current_app.config["PORTAL_MAX_REPORT_FILES_BYTES"]:
        return _render_report(status=422, files_error=_("Together with the files already sent, these are larger than the limit."))
    try:
        for upload in uploads:
            attachments.store_attachment(
                db.session, report_id=report.id, content_key=content_key, upload=upload, uploaded_by="reporter"
            )
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    flash(ngettext("%(num)d file was added.", "%(num)d files were added.", len(uploads)))
    return redirect(url_for("reporter.follow_up_report"), code=303)


@bp.post("/follow-up/consent")
def follow_up_consent():
    if _current() is None:
        return _session_over()
    _row, report, _key = _current()
    form = ConsentForm()
    if not form.validate():
        return _render_report(status=422, consent_form=form)
    report.consent_statistics = form.statistics.data
    report.consent_referral = form.referral.data
    report.consent_contact = form.contact.data
    db.session.commit()
    flash(_("Your choices were saved."))
    return redirect(url_for("reporter.follow_up_report"), code=303)


@bp.route("/follow-up/delete", methods=["GET", "POST"])
def follow_up_delete():
    if _current() is None:
        return _session_over()
    _row, report, _key = _current()
    form = DeleteForm()
    if not form.validate_on_submit():
        return render_template("reporter/delete.html", form=form), (422 if form.is_submitted() else 200)
    followup.delete_report(db.session, report.id)
    db.session.commit()
    response = make_response(render_template("reporter/deleted.html"))
    _clear_cookie(response)
    return response


@bp.post("/follow-up/end")
def follow_up_end():
    current = _current()
    if current is not None:
        followup.end_session(db.session, current[0])
    response = redirect(url_for("reporter.index"), code=303)
    _clear_cookie(response)
    return response
