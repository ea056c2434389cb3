"""Instance secrets: generated once by ``portal init``, kept in the instance folder, never defaulted.

They sign sessions and CSRF tokens, key the receipt lookup identifiers, and encrypt second-factor
secrets at rest. Back them up with the database: without ``lookup_key`` no receipt finds its report.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from portal import crypto

SECRETS_FILE = "secrets.json"
_FIELDS = ("session_key", "lookup_key", "totp_key", "rate_limit_key", "audit_key", "statistics_key")


class MissingInstanceSecrets(RuntimeError):
    """The instance folder has no secrets: the portal must not start with made-up ones."""


@dataclass(frozen=True, repr=False)
class InstanceSecrets:
    session_key: bytes
    lookup_key: bytes
    totp_key: bytes
    rate_limit_key: bytes
    audit_key: bytes
    # Keys the random rounding of published counts: stable, so re-running a report cannot
    # average the noise away.
    statistics_key: bytes

    def __repr__(self) -> str:
        return "<InstanceSecrets>"


def secrets_path(instance_path: Path) -> Path:
    return Path(instance_path) / SECRETS_FILE


def load_secrets(instance_path: Path) -> InstanceSecrets:
    """Read the instance secrets, or explain how to create them."""
    path = secrets_path(instance_path)
    try:
        raw = json.loads(path.read_text("utf-8"))
        values = {name: bytes.fromhex(raw[name]) for name in _FIELDS}
    except FileNotFoundError as exc:
        raise MissingInstanceSecrets(
            f"No instance secrets in {instance_path}. Run `portal init` first."
        ) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise MissingInstanceSecrets(f"The instance secrets file {path} is damaged.") from exc
    if any(len(value) < 32 for value in values.values()):
        raise MissingInstanceSecrets(f"The instance secrets file {path} is damaged.")
    return InstanceSecrets(**values)


def create_secrets(instance_path: Path) -> bool:
    """Write fresh secrets readable only by their owner; keep existing ones. True if created.

    A secrets file from an older release gains the secrets it lacks; existing ones never change,
    since receipts and sealed second-factor secrets depend on them.
    """
    instance_path = Path(instance_path)
    instance_path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = secrets_path(instance_path)
    if path.exists():
        return _add_missing_secrets(path)
    payload = {name: crypto.random_secret(32).hex() for name in _FIELDS}
    try:
        # O_EXCL: two `portal init` runs at once must not write two different sets.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _add_missing_secrets(path)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(payload, indent=2) + "\n")
    return True


def _add_missing_secrets(path: Path) -> bool:
    try:
        existing = json.loads(path.read_text("utf-8"))
    except ValueError as exc:
        raise MissingInstanceSecrets(f"The instance secrets file {path} is damaged.") from exc
    missing = [name for name in _FIELDS if name not in existing]
    if missing:
        existing.update({name: crypto.random_secret(32).hex() for name in missing})
        temporary = path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(existing, indent=2) + "\n")
        os.replace(temporary, path)
    load_secrets(path.parent)  # refuse to go on with a damaged file
    return False
