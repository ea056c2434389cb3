"""Staff sign-in, second factor, passwords and access grants. No web code."""

from __future__ import annotations

import base64
import datetime as dt
import secrets as pysecrets
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal import crypto
from portal.db import count_one_more
from portal.orgs.models import READER_ROLES, Organization, StaffMember
from portal.orgs.services import (
    OrgError,
    check_password_strength,
    new_staff_member,
    open_totp_secret,
    set_staff_lock,
    staff_lock,
    totp_for,
)
from portal.reports.models import Report, WrappedKey, report_organizations
from portal.staff.models import SignInThrottle

TOTP_STEP_SECONDS = 30
# Accept the previous and next code too: phone clocks drift.
TOTP_WINDOW = 1
FREE_FAILURES = 3
MAX_DELAY = dt.timedelta(hours=1)
SETUP_CODE_LIFETIME = dt.timedelta(days=3)


class SignInFailed(Exception):
    """Wrong email, password or code: deliberately one error, whatever the cause."""


class SignInThrottled(Exception):
    """Too many failures for this email; try again later."""

    def __init__(self, retry_after: dt.timedelta) -> None:
        super().__init__("throttled")
        self.retry_after = retry_after


class InvalidCode(Exception):
    """A second-factor code that is wrong, or was already used."""


@dataclass(frozen=True, repr=False)
class SignedIn:
    staff: StaffMember
    private_key: crypto.PrivateKey
    needs_enrolment: bool


# --- throttling -------------------------------------------------------------------------------


def _email_key(email: str, rate_limit_key: bytes) -> bytes:
    return crypto.keyed_digest(rate_limit_key, b"sign-in email", email.strip().lower().encode("utf-8"))


def _blocked_until(session: Session, email_key: bytes) -> dt.datetime | None:
    throttle = session.get(SignInThrottle, email_key)
    return throttle.blocked_until if throttle is not None else None


def delay_after(failures: int) -> dt.timedelta:
    """Growing delays: three free tries, then 15 s, 30 s, 1 min … up to an hour."""
    if failures < FREE_FAILURES:
        return dt.timedelta(0)
    return min(dt.timedelta(seconds=15 * 2 ** (failures - FREE_FAILURES)), MAX_DELAY)


def _record_failure(session: Session, email_key: bytes, now: dt.datetime) -> None:
    failures = count_one_more(session, SignInThrottle, {"email_key": email_key})
    delay = delay_after(failures)
    session.execute(
        update(SignInThrottle)
        .where(SignInThrottle.email_key == email_key)
        .values(blocked_until=now + delay if delay else None)
    )
    session.commit()


# --- passwords and codes ----------------------------------------------------------------------


def _matching_step(secret: bytes, code: str, now: dt.datetime) -> int | None:
    code = "".join(code.split())
    if len(code) != 6 or not code.isdigit():
        return None
    totp = totp_for(secret)
    current = int(now.timestamp()) // TOTP_STEP_SECONDS
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        try:
            totp.verify(code.encode("ascii"), step * TOTP_STEP_SECONDS)
        except Exception:  # cryptography raises InvalidToken
            continue
        return step
    return None


def accept_code(staff: StaffMember, code: str, *, totp_key: bytes, now: dt.datetime) -> bool:
    """Check a TOTP code and burn its time step, so the same code never works twice."""
    step = _matching_step(open_totp_secret(staff.totp_secret_sealed, totp_key), code, now)
    if step is None or (staff.totp_last_step is not None and step <= staff.totp_last_step):
        return False
    staff.totp_last_step = step
    return True


def otpauth_uri(staff: StaffMember, totp_key: bytes, issuer: str = "Portal") -> str:
    return totp_for(open_totp_secret(staff.totp_secret_sealed, totp_key)).get_provisioning_uri(
        staff.email, issuer
    )


def totp_secret_text(staff: StaffMember, totp_key: bytes) -> str:
    """The secret as authenticator apps want it typed: base32, in groups of four."""
    encoded = base64.b32encode(open_totp_secret(staff.totp_secret_sealed, totp_key)).decode().rstrip("=")
    return " ".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


# --- sign-in ----------------------------------------------------------------------------------


def sign_in(
    session: Session,
    *,
    email: str,
    password: str,
    code: str,
    rate_limit_key: bytes,
    totp_key: bytes,
    kdf: crypto.KdfParams,
    now: dt.datetime,
) -> SignedIn:
    """Check email, password and second factor; unlock the staff private key.

    Every failure raises the same :class:`SignInFailed` and costs the same Argon2id check, whether
    the email exists or not. A staff member who has not enrolled an authenticator yet is let
    through with ``needs_enrolment`` and must enrol before anything else.

    Only a one-time setup code (an invited member's first sign-in) lets a member in without a
    second-factor code, to enrol. Everyone else gives a code from the first sign-in: an account
    made with the CLI already has the secret the CLI printed, so its password alone must never
    reach the page that shows that secret, or whoever learnt the password first would own the
    second factor.
    """
    email_key = _email_key(email, rate_limit_key)
    blocked_until = _blocked_until(session, email_key)
    if blocked_until is not None and blocked_until > now:
        session.rollback()
        raise SignInThrottled(blocked_until - now)

    staff = session.scalar(
        select(StaffMember).where(StaffMember.email == email.strip().lower(), StaffMember.is_active.is_(True))
    )
    # One Argon2id derivation checks the password and opens the private key; an unknown email
    # costs the same against a decoy.
    lock = staff_lock(staff) if staff is not None else crypto.decoy_lock(kdf)
    private_key = crypto.unlock_keypair(password, lock)
    password_ok = private_key is not None and staff is not None
    if password_ok and staff.needs_new_password and (
        staff.setup_expires_at is None or staff.setup_expires_at < now
    ):
        password_ok = False  # an expired setup code
    if not password_ok:
        _record_failure(session, email_key, now)
        raise SignInFailed()
    enrolling_with_setup_code = staff.needs_new_password and not staff.totp_confirmed
    if not enrolling_with_setup_code:
        if not accept_code(staff, code, totp_key=totp_key, now=now):
            _record_failure(session, email_key, now)
            raise SignInFailed()
        staff.totp_confirmed = True  # a right code proves the authenticator holds the secret

    if not lock.is_current:
        set_staff_lock(staff, crypto.lock_keypair(private_key, password, kdf))
    session.execute(delete(SignInThrottle).where(SignInThrottle.email_key == email_key))
    session.commit()
    return SignedIn(staff=staff, private_key=private_key, needs_enrolment=not staff.totp_confirmed)


def confirm_enrolment(session: Session, staff: StaffMember, code: str, *, totp_key: bytes, now: dt.datetime) -> None:
    if not accept_code(staff, code, totp_key=totp_key, now=now):
        session.rollback()
        raise InvalidCode()
    staff.totp_confirmed = True
    session.commit()


def change_password(
    session: Session,
    staff: StaffMember,
    *,
    private_key: crypto.PrivateKey,
    current_password: str,
    new_password: str,
    kdf: crypto.KdfParams,
) -> None:
    """Re-lock the private key under a new password. The caller ends the other sessions."""
    if crypto.unlock_keypair(current_password, staff_lock(staff)) is None:
        raise SignInFailed()
    if new_password == current_password:
        raise OrgError("The new password must differ from the current one.")
    check_password_strength(new_password)
    set_staff_lock(staff, crypto.lock_keypair(private_key, new_password, kdf))
    staff.needs_new_password = False
    staff.setup_expires_at = None


# --- staff created in the web interface -------------------------------------------------------


@dataclass(frozen=True, repr=False)
class InvitedStaff:
    staff: StaffMember
    setup_code: str


def generate_setup_code() -> str:
    """100 bits, in groups of five letters and digits people can read out."""
    raw = base64.b32encode(pysecrets.token_bytes(15)).decode("ascii").lower()
    return "-".join(raw[i : i + 6] for i in range(0, len(raw), 6))


def invite_staff_member(
    session: Session,
    *,
    email: str,
    organization: Organization,
    role: str,
    kdf: crypto.KdfParams,
    totp_key: bytes,
    now: dt.datetime,
) -> InvitedStaff:
    """Create a member who signs in once with a setup code, then sets a password and a TOTP app.

    The keypair exists from the start (locked under the setup code), so the admin can grant
    access to older reports at once.
    """
    from portal.orgs.services import _EMAIL, ROLES  # one definition of what is valid

    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise OrgError("That is not an email address.")
    if role not in ROLES:
        raise OrgError("Unknown role.")
    setup_code = generate_setup_code()
    staff = new_staff_member(
        email=email, organization=organization, role=role, secret=setup_code, kdf=kdf, totp_key=totp_key,
        totp_confirmed=False, needs_new_password=True, setup_expires_at=now + SETUP_CODE_LIFETIME,
    )
    session.add(staff)
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise OrgError("A staff member with that email already exists.") from exc
    return InvitedStaff(staff=staff, setup_code=setup_code)


# --- granting access to an organization's older reports -----------------------------------------


@dataclass(frozen=True)
class GrantProgress:
    granted: int
    remaining: int
    unavailable: int  # reports the granting admin cannot open themselves


def _missing_for(member: StaffMember):
    has_key = select(WrappedKey.report_id).where(WrappedKey.staff_member_id == member.id)
    return (
        select(Report.id)
        .join(report_organizations, report_organizations.c.report_id == Report.id)
        .where(report_organizations.c.organization_id == member.organization_id)
        .where(Report.id.not_in(has_key))
    )


def grant_access_batch(
    session: Session,
    *,
    admin: StaffMember,
    admin_key: crypto.PrivateKey,
    member: StaffMember,
    batch_size: int = 100,
    on_granted: Callable[[int], None] | None = None,
) -> GrantProgress:
    """Wrap the content keys of up to ``batch_size`` of the organization's reports to ``member``.

    Keys are re-wrapped from the admin's own unlocked key: the server never holds a key that
    could do this alone. Reports the admin cannot open are skipped and counted.
    """
    if member.organization_id != admin.organization_id or member.role not in READER_ROLES:
        raise OrgError("Access can only be granted to readers of your own organization.")
    member_public = crypto.PublicKey.from_bytes(member.public_key)
    admin_wrapped = dict(
        session.execute(
            select(WrappedKey.report_id, WrappedKey.wrapped)
            .where(WrappedKey.staff_member_id == admin.id)
            .where(WrappedKey.report_id.in_(_missing_for(member)))
            .order_by(WrappedKey.report_id)
            .limit(batch_size)
        ).all()
    )
    for report_id, wrapped in admin_wrapped.items():
        content_key = crypto.unwrap_content_key(wrapped, admin_key)
        session.add(
            WrappedKey(
                report_id=report_id,
                staff_member_id=member.id,
                wrapped=crypto.wrap_content_key(content_key, member_public),
            )
        )
    if on_granted is not None:
        on_granted(len(admin_wrapped))
    session.commit()
    missing = session.scalar(select(func.count()).select_from(_missing_for(member).subquery()))
    admin_can_open = session.scalar(
        select(func.count())
        .select_from(WrappedKey)
        .where(WrappedKey.staff_member_id == admin.id, WrappedKey.report_id.in_(_missing_for(member)))
    )
    return GrantProgress(
        granted=len(admin_wrapped), remaining=admin_can_open, unavailable=missing - admin_can_open
    )
