"""Who is signed in: the staff session cookie, role checks, and the audit hook for staff actions."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from flask import Response, abort, current_app, g, redirect, request, url_for

from portal.db import db
from portal.orgs.models import StaffMember
from portal.staff import sessions

COOKIE_NAME = "__Host-staff"
# Pages a half-signed-in member may reach: enrolling the authenticator, setting the password.
_ENROLMENT_ENDPOINTS = {"staff.enrol", "staff.logout"}
_PASSWORD_ENDPOINTS = {"staff.password", "staff.logout"}
_PUBLIC_ENDPOINTS = {"staff.login"}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def session_store() -> sessions.SessionStore:
    """Redis when configured (several app processes), else the database."""
    url = current_app.config.get("PORTAL_REDIS_URL")
    if not url:
        return sessions.DatabaseSessionStore(db.session)
    client = current_app.extensions.get("portal_redis")
    if client is None:
        import redis

        client = redis.Redis.from_url(url)
        current_app.extensions["portal_redis"] = client
    return sessions.RedisSessionStore(client)


def set_session_cookie(response: Response, value: str) -> None:
    response.set_cookie(COOKIE_NAME, value, secure=True, httponly=True, samesite="Strict", path="/")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE_NAME, secure=True, httponly=True, samesite="Strict", path="/")


def load_staff_session() -> Response | None:
    """Before every staff page: find the signed-in member, or send them to sign in."""
    g.staff = None
    g.staff_key = None
    g.staff_session = None
    resumed = sessions.resume_session(session_store(), request.cookies.get(COOKIE_NAME), now=now())
    if resumed is not None:
        staff = db.session.get(StaffMember, resumed.record.staff_member_id)
        if staff is not None and staff.is_active:
            g.staff, g.staff_key, g.staff_session = staff, resumed.private_key, resumed
    if request.endpoint in _PUBLIC_ENDPOINTS:
        return None
    if g.staff is None:
        return redirect(url_for("staff.login"), code=303 if request.method == "POST" else 302)
    if not resumed.record.second_factor_done:
        if request.endpoint not in _ENROLMENT_ENDPOINTS:
            return redirect(url_for("staff.enrol"), code=303)
    elif g.staff.needs_new_password and request.endpoint not in _PASSWORD_ENDPOINTS:
        return redirect(url_for("staff.password"), code=303)
    return None


def require_roles(*roles: str) -> Callable:
    """Let only these roles in; others get 404, which says nothing about what exists."""

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if g.staff is None or g.staff.role not in roles:
                abort(404)
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles  # type: ignore[attr-defined]  (tests send each route its roles)
        return wrapped

    return decorator


def audit(action: str, *, target_type: str | None = None, target_id: int | None = None, **details: Any) -> None:
    """Add an audit event to the current transaction, attributed to the signed-in member."""
    from portal.audit.services import record_event

    record_event(
        db.session,
        key=current_app.config["PORTAL_SECRETS"].audit_key,
        action=action,
        actor_id=g.staff.id if getattr(g, "staff", None) is not None else details.pop("actor_id", None),
        target_type=target_type,
        target_id=target_id,
        details=details or None,
    )


def init_blueprint(blueprint: Any) -> None:
    """Every page of a staff or admin blueprint requires a signed-in member."""
    blueprint.before_request(load_staff_session)
