"""Creating organizations, staff members and the recovery key. No web code."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal import crypto
from portal.orgs.models import ROLES, Organization, RecoveryKey, StaffMember

MIN_PASSWORD_CHARS = 12
TOTP_ISSUER = "Portal"
_TOTP_PURPOSE = b"portal totp secret v1"
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class OrgError(Exception):
    """A request about organizations or staff that cannot be carried out; str() says why."""


@dataclass(frozen=True, repr=False)
class NewStaffMember:
    staff: StaffMember
    otpauth_uri: str


def add_organization(
    session: Session, slug: str, name: str, *, default_recipient: bool = False
) -> Organization:
    if not _SLUG.match(slug):
        raise OrgError("The slug must be lowercase letters, digits and dashes.")
    if not name.strip():
        raise OrgError("The name must not be empty.")
    organization = Organization(slug=slug, name=name.strip(), is_default_recipient=default_recipient)
    session.add(organization)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise OrgError(f"An organization with the slug {slug!r} already exists.") from exc
    return organization


@functools.cache
def _common_passwords() -> frozenset[str]:
    text = (Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt").read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def is_common_password(password: str) -> bool:
    """True for a listed password, the same with digits or symbols tacked on, or one repeated."""
    lowered = password.lower()
    common = _common_passwords()
    stripped = lowered.rstrip("0123456789!@#$%^&*()_-+=.?~ ").lstrip("0123456789!@#$%^&*()_-+=.?~ ")
    if lowered in common or (len(stripped) >= 4 and stripped in common):
        return True
    for size in range(1, len(lowered) // 2 + 1):
        unit = lowered[:size]
        if len(lowered) % size == 0 and unit * (len(lowered) // size) == lowered:
            return True  # "abcabcabcabc", "aaaaaaaaaaaa"
    return False


def check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise OrgError(f"The password must be at least {MIN_PASSWORD_CHARS} characters long.")
    if is_common_password(password):
        raise OrgError("That password is too common; please choose another.")


def seal_totp_secret(secret: bytes, totp_key: bytes) -> bytes:
    return crypto.seal(totp_key, secret, _TOTP_PURPOSE)


def open_totp_secret(sealed: bytes, totp_key: bytes) -> bytes:
    return crypto.open_sealed(totp_key, sealed, _TOTP_PURPOSE)


def totp_for(secret: bytes) -> TOTP:
    """RFC 6238 defaults that every authenticator app understands: SHA-1, 6 digits, 30 s."""
    return TOTP(secret, 6, SHA1(), 30)


def new_staff_member(
    *, email: str, organization: Organization, role: str, secret: str, kdf: crypto.KdfParams,
    totp_key: bytes, **flags: object,
) -> StaffMember:
    """A member with a fresh HPKE keypair and TOTP secret, both locked: the private key under
    Argon2id(secret) (their password, or a one-time setup code), the TOTP secret under the
    instance key."""
    private_key = crypto.PrivateKey.generate()
    staff = StaffMember(
        email=email,
        organization=organization,
        role=role,
        public_key=private_key.public_key().to_bytes(),
        totp_secret_sealed=seal_totp_secret(crypto.random_secret(20), totp_key),
        **flags,
    )
    set_staff_lock(staff, crypto.lock_keypair(private_key, secret, kdf))
    return staff


def staff_lock(staff: StaffMember) -> crypto.SecretLock:
    """The password's verifier and the private key it locks, as stored."""
    return crypto.SecretLock(verifier=staff.password_verifier, locked_key=staff.private_key_locked)


def set_staff_lock(staff: StaffMember, lock: crypto.SecretLock) -> None:
    staff.password_verifier = lock.verifier
    staff.private_key_locked = lock.locked_key


def add_staff_member(
    session: Session,
    *,
    email: str,
    organization_slug: str,
    role: str,
    password: str,
    kdf: crypto.KdfParams,
    totp_key: bytes,
) -> NewStaffMember:
    """Create a staff member with a fresh HPKE keypair locked under their password."""
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise OrgError("That is not an email address.")
    if role not in ROLES:
        raise OrgError(f"The role must be one of: {', '.join(ROLES)}.")
    check_password_strength(password)
    organization = session.scalar(select(Organization).where(Organization.slug == organization_slug))
    if organization is None:
        raise OrgError(f"There is no organization with the slug {organization_slug!r}.")

    staff = new_staff_member(
        email=email, organization=organization, role=role, secret=password, kdf=kdf, totp_key=totp_key
    )
    session.add(staff)
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise OrgError("A staff member with that email already exists.") from exc
    uri = totp_for(open_totp_secret(staff.totp_secret_sealed, totp_key)).get_provisioning_uri(email, TOTP_ISSUER)
    return NewStaffMember(staff=staff, otpauth_uri=uri)


def create_recovery_key(
    session: Session, deliver: Callable[[crypto.PrivateKey], None]
) -> RecoveryKey:
    """Make the coalition recovery keypair; only the public half is stored.

    ``deliver`` receives the private half (to write it where the administrator takes it away); the
    public half is committed only if delivery succeeded, so no report is ever wrapped to a key
    that nobody holds.
    """
    if session.scalar(select(RecoveryKey.id).where(RecoveryKey.retired_at.is_(None))) is not None:
        raise OrgError("A recovery key already exists.")
    private_key = crypto.PrivateKey.generate()
    public_key = private_key.public_key()
    record = RecoveryKey(public_key=public_key.to_bytes(), fingerprint=public_key.fingerprint())
    session.add(record)
    try:
        session.flush()
        deliver(private_key)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return record
