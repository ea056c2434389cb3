"""Aggregate reports in the staff pages, and the campaign pages."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import get_locale
from sqlalchemy import select

from portal.db import db
from portal.officials.models import Campaign
from portal.staff.auth import audit, init_blueprint, require_roles
from portal.statistics import counting, report
from portal.statistics.forms import AggregateForm

bp = Blueprint("statistics", __name__, url_prefix="/staff")
init_blueprint(bp)

# Triagers work on single reports; aggregate reports are for analysts and administrators.
REPORT_MAKERS = ("analyst", "org_admin", "coalition_admin")


def rounding_key() -> bytes:
    return current_app.config["PORTAL_SECRETS"].statistics_key


def _titles(lang: str) -> dict[str, str]:
    return report.campaign_titles(db.session.scalars(select(Campaign)), lang)


def _lang() -> str:
    return str(get_locale() or "en")


@bp.get("/statistics")
@require_roles(*REPORT_MAKERS)
def aggregate():
    form = AggregateForm(request.args)
    if not request.args:
        return render_template("statistics/index.html", form=form, tables=None)
    if not form.validate():
        return render_template("statistics/index.html", form=form, tables=None), 422
    built = report.build_report(
        db.session, counting.Period(form.since.data, form.until.data), threshold=form.threshold.data,
        rounding_key=rounding_key() if form.rounding.data else None,
    )
    lang = _lang()
    fmt = request.args.get("format", "page")
    generated = dt.datetime.now(dt.UTC)
    if fmt == "page":
        tables = report.render_html(built, lang, _titles(lang), generated=generated, standalone=False)
        return render_template("statistics/index.html", form=form, tables=tables)
    if fmt not in ("csv", "pdf", "html"):
        abort(404)
    audit("statistics_exported", target_type="period", format=fmt,
          since=form.since.data.isoformat(), until=form.until.data.isoformat())
    db.session.commit()
    if fmt == "csv":
        body, mime = report.render_csv(built, lang, _titles(lang)), "text/csv; charset=utf-8"
    elif fmt == "pdf":
        body, mime = report.render_pdf(built, lang, _titles(lang), generated=generated), "application/pdf"
    else:
        body = report.render_html(built, lang, _titles(lang), generated=generated, standalone=True).encode("utf-8")
        mime = "text/html; charset=utf-8"
    name = f"aggregate-{form.since.data.isoformat()}-{form.until.data.isoformat()}-{lang}.{fmt}"
    return Response(body, headers={
        "Content-Type": mime, "Content-Disposition": f'attachment; filename="{name}"',
        "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox",
    })


@bp.get("/campaigns")
def campaigns():
    lang = _lang()
    rows = db.session.scalars(select(Campaign).order_by(Campaign.id)).all()
    return render_template("statistics/campaigns.html", campaigns=rows, lang=lang)


@bp.get("/campaigns/<slug:slug>")
def campaign(slug: str):
    found = db.session.scalar(select(Campaign).where(Campaign.slug == slug))
    if found is None:
        abort(404)
    lang = _lang()
    # Every eligible linked incident, ever: the same disclosure rules as the aggregate reports.
    period = counting.Period(dt.date(2000, 1, 1), dt.datetime.now(dt.UTC).date())
    built = report.build_report(db.session, period, campaign_id=found.id)
    kept = tuple(t for t in built.tables if t.key in ("tactic_group", "tactic", "month"))
    built = report.AggregateReport(built.period, built.threshold, built.rounding, kept, built.headline)
    tables = report.render_html(built, lang, _titles(lang), generated=dt.datetime.now(dt.UTC), standalone=False)
    return render_template("statistics/campaign.html", campaign=found, lang=lang, tables=tables)


