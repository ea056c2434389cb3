"""Every setting the portal reads, with its default and a line of help.

Settings are data: the table below is the single list. Each is read from the environment variable
``PORTAL_<NAME>``; ``docs/operations.md`` documents each one (a test keeps the two in step).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ConfigError(Exception):
    """A setting has a value the portal cannot use."""


def _int(value: str) -> int:
    return int(value)


def _str(value: str) -> str:
    return value


def _url(value: str) -> str:
    if not value.startswith(("https://", "http://")) or any(c in value for c in " \r\n"):
        raise ValueError("not an http(s) URL")
    return value.rstrip("/")


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    help: str
    parse: Callable[[str], Any] = _str


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "INSTANCE_PATH",
        None,
        "Folder holding the instance secrets and, by default, the SQLite database. "
        "Default: the Flask instance folder next to the package.",
    ),
    Setting(
        "DATABASE_URL",
        None,
        "SQLAlchemy URL of the database, e.g. postgresql+psycopg://user@host/portal. "
        "Default: SQLite file portal.db in the instance folder.",
    ),
    Setting(
        "REDIS_URL",
        None,
        "Optional Redis URL shared by several app processes for sessions and rate limits.",
    ),
    Setting(
        "MAX_REQUEST_BYTES",
        1024 * 1024,
        "Largest amount of form text accepted in one request, in bytes, files aside; more gets "
        "the 413 page.",
        _int,
    ),
    Setting(
        "MAX_FILE_BYTES",
        50 * 1024 * 1024,
        "Largest evidence file accepted, in bytes.",
        _int,
    ),
    Setting(
        "MAX_REPORT_FILES_BYTES",
        200 * 1024 * 1024,
        "Largest total of evidence files for one report, in bytes (at submission and later).",
        _int,
    ),
    Setting(
        "FORM_TIME_LIMIT_SECONDS",
        4 * 3600,
        "How long a form stays valid after it was opened (CSRF token lifetime). A reporter whose "
        "form expired gets it back with everything typed, to send again.",
        _int,
    ),
    Setting(
        "LEAVE_URL",
        "https://weather.gc.ca/",
        "Innocuous page the 'Leave quickly' control goes to.",
    ),
    Setting(
        "DEFAULT_LOCALE",
        "en",
        "Language used when neither the switcher nor the browser chooses one.",
    ),
    # --- staff notification emails (portal.notifications) ---
    Setting(
        "SMTP_HOST",
        None,
        "Mail server that sends staff their content-free notification emails. Unset: no email; "
        "the dashboard counters are the signal.",
    ),
    Setting("SMTP_PORT", 587, "Port of the mail server.", _int),
    Setting(
        "SMTP_SECURITY",
        "starttls",
        "How the connection to the mail server is protected: starttls, tls (implicit TLS, usually "
        "port 465) or none (only for a relay on this machine).",
    ),
    Setting("SMTP_USER", None, "User name for the mail server, if it asks for one."),
    Setting(
        "SMTP_PASSWORD_FILE",
        None,
        "File holding the mail server password (kept out of the environment); needed with SMTP_USER.",
    ),
    Setting("SMTP_TIMEOUT_SECONDS", 10, "How long to wait for the mail server before retrying later.", _int),
    Setting("MAIL_FROM", None, "From address of notification emails; needed with SMTP_HOST."),
    Setting(
        "PUBLIC_URL",
        None,
        "Address of the portal as staff reach it, e.g. https://portal.example.org, for the sign-in "
        "link in notification emails. Unset: the emails carry no link.",
        _url,
    ),
)


def read_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return every setting from ``PORTAL_*`` variables, parsed, with defaults filled in."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(f"PORTAL_{setting.name}")
        if raw is None or raw == "":
            values[setting.name] = setting.default
            continue
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"PORTAL_{setting.name} has an invalid value") from exc
    return values


def default_instance_path() -> Path:
    """The folder used when ``PORTAL_INSTANCE_PATH`` is not set."""
    configured = os.environ.get("PORTAL_INSTANCE_PATH")
    if configured:
        return Path(configured).resolve()
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file():  # running from a source checkout
        return checkout / "instance"
    return Path(sys.prefix) / "var" / "portal-instance"


def sqlite_url(instance_path: Path) -> str:
    return f"sqlite:///{instance_path / 'portal.db'}"
