"""What every page shares: language choice, security headers, error pages, health check."""

from __future__ import annotations

import datetime as dt
import io
import logging
import threading
import unicodedata
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Request,
    Response,
    current_app,
    redirect,
    render_template,
    request,
    session,
)
from flask_babel import get_locale, ngettext
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.serving import WSGIRequestHandler

from portal import inputs
from portal.db import db
from portal.reports import attachments
from portal.reports.receivers import Receivers

log = logging.getLogger(__name__)

#: Languages with complete catalogues, in the order the switcher shows them, each in its own script.
LANGUAGES = {"en": "English", "fr": "Français"}
RTL_LANGUAGES = frozenset({"ug", "ar", "fa", "he"})

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
    "object-src 'none'"
)

bp = Blueprint("site", __name__)


View = TypeVar("View", bound=Callable)


def takes_evidence(view: View) -> View:
    """Mark a view whose request may carry evidence files: only there are files sealed and stored."""
    view.takes_evidence = True  # type: ignore[attr-defined]
    return view


class _DroppedFile(io.RawIOBase):
    """Where a file goes that the request has no use for: nowhere, not even sealed."""

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return 0


class PortalRequest(Request):
    """Requests whose evidence files are sealed as they arrive and written once, to the database."""

    @property
    def max_content_length(self) -> int | None:  # type: ignore[override]
        # Only multipart requests carry files; anything else is form text, held in memory, so it
        # gets the much smaller text limit.
        if self.mimetype == "multipart/form-data":
            return current_app.config["MAX_CONTENT_LENGTH"]
        return current_app.config["MAX_FORM_MEMORY_SIZE"]

    @cached_property
    def evidence_uploads(self) -> list[attachments.EncryptingUpload]:
        """The files this request is receiving, in order, attached or not."""
        return []

    def _load_form_data(self) -> None:
        try:
            super()._load_form_data()
        finally:
            # Read whole or broken off, no file may still be writing: on PostgreSQL its COPY holds
            # the request's connection, which could not even roll back until the COPY is ended.
            for upload in self.evidence_uploads:
                upload.stop_writing()

    def _get_file_stream(self, total_content_length, content_type, filename=None, content_length=None):  # noqa: ANN001, ANN202
        view = current_app.view_functions.get(self.endpoint or "")
        # An empty file input still sends a part; the views skip it, so it is never stored.
        if not getattr(view, "takes_evidence", False) or not (filename or "").strip():
            return _DroppedFile()
        config = current_app.config
        writer = attachments.writer_for(
            db.session(),
            dt.timedelta(seconds=config["PORTAL_FORM_TIME_LIMIT_SECONDS"]),
            current_app.extensions[_RECEIVERS].mine(),
        )
        upload = attachments.EncryptingUpload(filename, content_type, config["PORTAL_MAX_FILE_BYTES"], writer)
        self.evidence_uploads.append(upload)
        return upload


_RECEIVERS = "portal.receivers"
_TIDIED = "portal.receivers.tidied"
_tidying = threading.Lock()


def _tidy_after_dead_receivers() -> None:
    """At a process's first request: delete what processes that died were receiving."""
    if current_app.extensions.get(_TIDIED):
        return
    with _tidying:
        if current_app.extensions.get(_TIDIED):
            return
        current_app.extensions[_TIDIED] = True
        try:
            gone = attachments.delete_left_by_dead_receivers(db.engine, current_app.extensions[_RECEIVERS])
        except SQLAlchemyError:  # a database not migrated yet holds no uploads either
            log.warning("could not look for uploads left by dead processes", exc_info=True)
            return
        if gone:
            log.info("deleted %d unattached uploads left by processes that died", gone)


def _end_uploads(error: BaseException | None) -> None:
    """Drop, with the request, every file it received that the view did not attach."""
    uploads = request.evidence_uploads
    if not uploads:
        return
    # The view has committed what it kept. Its transaction ends here, as it would when the session
    # is removed, so that (on SQLite) no lock of it is held while the rest is deleted.
    db.session.rollback()
    for upload in uploads:
        try:
            upload.discard()
        except Exception:
            # Left unattached, the file is unreadable, and a later upload deletes it.
            log.exception("could not delete an unattached upload")


def select_locale() -> str:
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or current_app.config["BABEL_DEFAULT_LOCALE"]


def _safe_next(target: str | None) -> str:
    """Only follow a path on this site, so the switcher cannot be turned into an open redirect.

    Whitespace and control characters are refused too: CR/LF cannot go into a header, and browsers
    drop tabs and newlines from a URL, so a slash, a tab and ``/evil.example`` would lead off-site.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    if any(char == "\\" or char.isspace() or unicodedata.category(char)[0] == "C" for char in target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


def too_many_attempts(retry_after) -> str:  # noqa: ANN001
    """The one message for a throttled sign-in or receipt, in whole minutes."""
    minutes = max(1, int(retry_after.total_seconds() + 59) // 60)
    return ngettext(
        "Too many attempts. Please wait %(num)d minute and try again.",
        "Too many attempts. Please wait %(num)d minutes and try again.",
        minutes,
    )


def kept_filters(form) -> dict[str, str]:  # noqa: ANN001
    """A search form's values to carry into page links: only the form's own fields, never
    arbitrary names, so a query string cannot choose url_for's arguments."""
    return {
        name: request.args[name]
        for name in form._fields
        if name != "page" and request.args.get(name)
    }


@bp.get("/lang/<code>")
def choose_language(code: str) -> Response:
    if code in LANGUAGES:
        session["lang"] = code
    return redirect(_safe_next(request.args.get("next")), code=303)


@bp.get("/healthz")
def healthz() -> Response:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        log.exception("health check: database unreachable")
        return Response("database unavailable\n", status=503, mimetype="text/plain")
    return Response("ok\n", mimetype="text/plain")


def _set_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers["Referrer-Policy"] = "no-referrer"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Cross-Origin-Resource-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if request.is_secure:
        headers["Strict-Transport-Security"] = "max-age=63072000"
    # Pages may hold what someone typed or read: never let a shared computer's cache keep them.
    if request.endpoint != "static":
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return response


ERROR_MESSAGES = {
    400: (_l("Something in that request was not right"), _l("Please go back and try again.")),
    404: (_l("Page not found"), _l("There is no page at this address.")),
    405: (_l("That action is not possible here"), _l("Please go back and use the buttons on the page.")),
    413: (
        _l("What you sent is too large"),
        _l("The portal could not accept it. Please shorten the text or send fewer or smaller files."),
    ),
    500: (
        _l("Something went wrong on our side"),
        _l("Nothing you sent has been shown to anyone. Please try again in a few minutes."),
    ),
}


def render_error(code: int) -> tuple[str, int]:
    title, detail = ERROR_MESSAGES.get(code, ERROR_MESSAGES[400])
    return render_template("errors/error.html", code=code, title=title, detail=detail), code


def _handle_http_error(error: HTTPException) -> tuple[str, int] | HTTPException:
    if error.code is None or error.code < 400:
        return error
    code = error.code if error.code in ERROR_MESSAGES else (400 if error.code < 500 else 500)
    return render_error(code)


def _handle_upload_too_large(error: Exception) -> tuple[str, int]:
    return render_error(413)


def _handle_csrf_error(error: CSRFError) -> tuple[str, int]:
    # The report form answers this itself (it gives the typed answers back); other forms land here.
    return render_template("errors/csrf.html"), 400


def _handle_unexpected_error(error: Exception) -> tuple[str, int]:
    # The traceback goes to the server log; the person sees nothing of it.
    log.exception("unhandled error on %s %s", request.method, request.endpoint)
    db.session.rollback()
    return render_error(500)


def _template_globals() -> dict[str, object]:
    locale = str(get_locale() or "en")
    return {
        "languages": LANGUAGES,
        "current_locale": locale,
        "text_direction": "rtl" if locale.split("_")[0] in RTL_LANGUAGES else "ltr",
        "leave_url": current_app.config["PORTAL_LEAVE_URL"],
    }


class AnonymousRequestHandler(WSGIRequestHandler):
    """Development server handler whose log lines never carry a client's address."""

    def address_string(self) -> str:
        return "-"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The request line can hold a path someone typed; log the status only.
        self.log("info", "%s", code)


def init_app(app: Flask) -> None:
    # Before any route is added: routes name their ids <id:...> and campaigns <slug:...>.
    app.url_map.converters.update(id=inputs.IdConverter, slug=inputs.SlugConverter)
    app.register_blueprint(bp)
    app.after_request(_set_security_headers)
    app.context_processor(_template_globals)
    app.extensions[_RECEIVERS] = Receivers(Path(app.instance_path) / "receiving")
    app.before_request(_tidy_after_dead_receivers)
    app.teardown_request(_end_uploads)
    app.register_error_handler(attachments.UploadTooLarge, _handle_upload_too_large)
    app.register_error_handler(CSRFError, _handle_csrf_error)
    app.register_error_handler(HTTPException, _handle_http_error)
    app.register_error_handler(Exception, _handle_unexpected_error)
