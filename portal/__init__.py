"""The portal: safe reporting of transnational repression, triage, and aggregate reporting."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from portal import crypto
from portal.config import default_instance_path, read_settings, sqlite_url
from portal.instance import load_secrets

PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Find templates/, static/ or migrations/: inside an installed wheel, or beside the package."""
    packaged = PACKAGE_DIR / name
    return packaged if packaged.is_dir() else PACKAGE_DIR.parent / name


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application; refuse to start without the instance secrets `portal init` makes."""
    settings = read_settings()
    # Tests may override settings by their PORTAL_* names, as the environment would.
    for key, value in (test_config or {}).items():
        if key.startswith("PORTAL_") and key.removeprefix("PORTAL_") in settings:
            settings[key.removeprefix("PORTAL_")] = value
    instance_path = Path(settings["INSTANCE_PATH"] or default_instance_path()).resolve()
    from portal.web import PortalRequest

    app = Flask(
        __name__,
        instance_path=str(instance_path),
        template_folder=str(resource_dir("templates")),
        static_folder=str(resource_dir("static")),
    )
    app.request_class = PortalRequest
    secrets = load_secrets(instance_path)
    app.config.update(
        {f"PORTAL_{name}": value for name, value in settings.items()},
        PORTAL_SECRETS=secrets,
        PORTAL_KDF=crypto.PRODUCTION_KDF,
        SECRET_KEY=secrets.session_key,
        SQLALCHEMY_DATABASE_URI=settings["DATABASE_URL"] or sqlite_url(instance_path),
        # Parameters are ciphertext at worst, but keep them out of every error message anyway.
        SQLALCHEMY_ENGINE_OPTIONS={"hide_parameters": True},
        MAX_CONTENT_LENGTH=settings["MAX_REPORT_FILES_BYTES"] + settings["MAX_REQUEST_BYTES"],
        MAX_FORM_MEMORY_SIZE=settings["MAX_REQUEST_BYTES"],
        WTF_CSRF_TIME_LIMIT=settings["FORM_TIME_LIMIT_SECONDS"],
        WTF_CSRF_SSL_STRICT=False,  # Referer is never sent (Referrer-Policy: no-referrer)
        SESSION_COOKIE_NAME="__Host-portal",
        SESSION_COOKIE_SECURE=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_PATH="/",
        PREFERRED_URL_SCHEME="https",
        BABEL_DEFAULT_LOCALE=settings["DEFAULT_LOCALE"],
        BABEL_TRANSLATION_DIRECTORIES=str(PACKAGE_DIR / "translations"),
    )
    if test_config:
        app.config.update(test_config)

    from portal import extensions, models, web  # noqa: F401  (models: every table registered)
    from portal.admin import views as admin_views
    from portal.notifications import sender as notifications_sender
    from portal.notifications import views as notifications_views
    from portal.officials import views as officials_views
    from portal.reporter import followup_views  # noqa: F401  (adds the follow-up pages)
    from portal.reporter import views as reporter_views
    from portal.staff import views as staff_views
    from portal.statistics import views as statistics_views

    extensions.init_app(app)
    web.init_app(app)
    notifications_sender.init_app(app)
    app.register_blueprint(reporter_views.bp)
    app.register_blueprint(staff_views.bp)
    app.register_blueprint(admin_views.bp)
    app.register_blueprint(officials_views.bp)
    app.register_blueprint(statistics_views.bp)
    app.register_blueprint(notifications_views.bp)
    return app
