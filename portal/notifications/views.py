"""The staff member's notification settings page."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from portal.db import db
from portal.notifications import services
from portal.notifications.forms import NotificationSettingsForm
from portal.notifications.sender import notifier
from portal.orgs.models import READER_ROLES
from portal.staff.auth import audit, init_blueprint, require_roles
from portal.web import LANGUAGES

bp = Blueprint("notifications", __name__, url_prefix="/staff/notifications")
init_blueprint(bp)


@bp.route("/", methods=["GET", "POST"])
@require_roles(*READER_ROLES)
def settings():
    enabled = notifier().enabled
    if not enabled and request.method == "POST":
        abort(404)
    preference = services.preference_of(db.session, g.staff.id)
    current_language = str(get_locale() or "en")
    form = NotificationSettingsForm(
        delivery=preference.delivery if preference else "off",
        language=(preference.locale if preference and preference.locale in LANGUAGES else None)
        or (current_language if current_language in LANGUAGES else "en"),
    )
    if not enabled or not form.validate_on_submit():
        status = 422 if enabled and form.is_submitted() else 200
        return render_template("notifications/settings.html", form=form, enabled=enabled), status
    services.set_preference(db.session, g.staff.id, delivery=form.delivery.data, locale=form.language.data)
    audit("notifications_changed", target_type="staff", target_id=g.staff.id, delivery=form.delivery.data)
    db.session.commit()
    flash(_("Your notification settings were saved."))
    return redirect(url_for("notifications.settings"), code=303)
