"""Administration: an organization's staff and their access, organizations, the audit log."""

from __future__ import annotations

import datetime as dt

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import func, select

from portal import inputs
from portal.db import db
from portal.orgs import services as orgs
from portal.orgs.models import READER_ROLES, Organization, StaffMember
from portal.reports.models import WrappedKey, report_organizations
from portal.staff import services
from portal.staff.auth import audit, init_blueprint, now, require_roles, session_store
from portal.staff.forms import ROLE_LABELS, AuditFilterForm, InviteForm, OrganizationForm
from portal.web import kept_filters

bp = Blueprint("admin", __name__, url_prefix="/staff/admin")
init_blueprint(bp)

STAFF_ADMINS = ("org_admin", "coalition_admin")
GRANT_BATCH = 100


def _member(staff_id: int) -> StaffMember:
    """A member of the admin's own organization, or 404."""
    member = db.session.get(StaffMember, staff_id)
    if member is None or member.organization_id != g.staff.organization_id:
        abort(404)
    return member


def _missing_access() -> dict[int, int]:
    """For each reader of the organization, how many of its reports they cannot open yet."""
    shared = (
        select(report_organizations.c.report_id)
        .where(report_organizations.c.organization_id == g.staff.organization_id)
        .subquery()
    )
    total = db.session.scalar(select(func.count()).select_from(shared)) or 0
    held = dict(
        db.session.execute(
            select(WrappedKey.staff_member_id, func.count())
            .where(WrappedKey.report_id.in_(select(shared.c.report_id)))
            .where(WrappedKey.staff_member_id.is_not(None))
            .group_by(WrappedKey.staff_member_id)
        ).all()
    )
    members = db.session.scalars(
        select(StaffMember.id).where(
            StaffMember.organization_id == g.staff.organization_id, StaffMember.role.in_(READER_ROLES)
        )
    )
    return {member_id: total - held.get(member_id, 0) for member_id in members}


def _allowed_roles() -> list[str]:
    # An organization's admin cannot make anyone a coalition administrator.
    return [role for role in ROLE_LABELS if g.staff.role == "coalition_admin" or role != "coalition_admin"]


@bp.route("/staff", methods=["GET", "POST"])
@require_roles(*STAFF_ADMINS)
def staff_list():
    form = InviteForm()
    form.role.choices = [(role, _(ROLE_LABELS[role])) for role in _allowed_roles()]
    status = 200
    if form.validate_on_submit():
        try:
            invited = services.invite_staff_member(
                db.session,
                email=form.email.data,
                organization=g.staff.organization,
                role=form.role.data,
                kdf=current_app.config["PORTAL_KDF"],
                totp_key=current_app.config["PORTAL_SECRETS"].totp_key,
                now=now(),
            )
        except orgs.OrgError:
            db.session.rollback()
            form.email.errors = [_("A staff member with that email already exists, or the address is not valid.")]
            status = 422
        else:
            audit("staff_created", target_type="staff", target_id=invited.staff.id, role=invited.staff.role)
            db.session.commit()
            # Shown once, here; never stored in a form the server can read back.
            return render_template("admin/invited.html", member=invited.staff, setup_code=invited.setup_code)
    elif form.is_submitted():
        status = 422
    members = db.session.scalars(
        select(StaffMember).where(StaffMember.organization_id == g.staff.organization_id).order_by(StaffMember.email)
    ).all()
    return (
        render_template(
            "admin/staff.html", form=form, members=members, missing=_missing_access(), role_labels=ROLE_LABELS
        ),
        status,
    )


@bp.post("/staff/<id:staff_id>/grant")
@require_roles(*STAFF_ADMINS)
def grant_access(staff_id: int):
    member = _member(staff_id)
    # How many the earlier batches granted (the page's hidden field): read before anything is written.
    done_before = inputs.parse_int(request.form.get("done", "0"), 0, inputs.LARGEST_ID)
    if done_before is None:
        abort(400)
    try:
        progress = services.grant_access_batch(
            db.session, admin=g.staff, admin_key=g.staff_key, member=member, batch_size=GRANT_BATCH,
            on_granted=lambda count: audit("access_granted", target_type="staff", target_id=member.id, reports=count),
        )
    except orgs.OrgError:
        db.session.rollback()
        abort(404)
    return render_template("admin/grant.html", member=member, progress=progress, done=done_before + progress.granted)


@bp.post("/staff/<id:staff_id>/deactivate")
@require_roles(*STAFF_ADMINS)
def deactivate(staff_id: int):
    member = _member(staff_id)
    if member.id == g.staff.id:
        flash(_("You cannot deactivate yourself."))
        return redirect(url_for("admin.staff_list"), code=303)
    member.is_active = False
    audit("staff_deactivated", target_type="staff", target_id=member.id)
    db.session.commit()
    session_store().delete_all_for(member.id)
    flash(_("%(email)s can no longer sign in.", email=member.email))
    return redirect(url_for("admin.staff_list"), code=303)


@bp.route("/organizations", methods=["GET", "POST"])
@require_roles("coalition_admin")
def organizations():
    form = OrganizationForm()
    status = 200
    if form.validate_on_submit():
        try:
            organization = orgs.add_organization(
                db.session, form.slug.data.strip(), form.name.data, default_recipient=form.default_recipient.data
            )
        except orgs.OrgError:
            form.slug.errors = [_("Use lowercase letters, digits and dashes, and a short name not yet taken.")]
            status = 422
        else:
            audit("organization_created", target_type="organization", target_id=organization.id)
            db.session.commit()
            flash(_("Organization added."))
            return redirect(url_for("admin.organizations"), code=303)
    elif form.is_submitted():
        status = 422
    rows = db.session.execute(
        select(Organization, func.count(report_organizations.c.report_id))
        .outerjoin(report_organizations, report_organizations.c.organization_id == Organization.id)
        .group_by(Organization.id)
        .order_by(Organization.name)
    ).all()
    return render_template("admin/organizations.html", form=form, rows=rows), status


@bp.get("/audit")
@require_roles("coalition_admin")
def audit_log():
    from portal.audit.services import ACTIONS, list_events

    form = AuditFilterForm(request.args)
    form.action.choices = [("", _("Any"))] + [(action, action) for action in ACTIONS]
    form.validate()
    valid = {name: (field.data if not field.errors else None) for name, field in form._fields.items()}
    since = dt.datetime.combine(valid["since"], dt.time(), dt.UTC) if valid["since"] else None
    until = dt.datetime.combine(valid["until"], dt.time.max, dt.UTC) if valid["until"] else None
    page = valid["page"] or 1
    events, total = list_events(
        db.session, action=valid["action"] or None, actor_id=valid["actor"], since=since, until=until, page=page, per_page=50
    )
    emails = dict(db.session.execute(select(StaffMember.id, StaffMember.email)).all())
    args = kept_filters(form)
    return render_template(
        "admin/audit.html", form=form, events=events, total=total, page=page,
        pages=max(1, -(-total // 50)), emails=emails, args=args,
    )


