"""Organizations, staff members and the coalition recovery key."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import UTCDateTime, created_at, db, intpk

ROLES = ("triager", "org_admin", "coalition_admin", "analyst")
#: Roles whose members read reports; analysts only ever see aggregate statistics.
READER_ROLES = ("triager", "org_admin", "coalition_admin")


class Organization(db.Model):
    __tablename__ = "organizations"

    id: Mapped[intpk]
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Pre-selected on the report form: the coalition's intake team.
    is_default_recipient: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[created_at]

    staff: Mapped[list[StaffMember]] = relationship(back_populates="organization")


class StaffMember(db.Model):
    __tablename__ = "staff_members"
    __table_args__ = (
        CheckConstraint(
            "role IN ('triager', 'org_admin', 'coalition_admin', 'analyst')", name="role"
        ),
    )

    id: Mapped[intpk]
    email: Mapped[str] = mapped_column(String(254), unique=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    password_verifier: Mapped[str] = mapped_column(String(255))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    # The HPKE private key, sealed under Argon2id(password); the server never holds it unlocked
    # outside a signed-in staff member's request.
    private_key_locked: Mapped[bytes] = mapped_column(LargeBinary)
    # TOTP secret sealed under the instance's totp_key: a database dump alone does not yield it.
    totp_secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    # Set once the staff member proved their authenticator works; until then sign-in enrols it.
    totp_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    # The last accepted TOTP time step: a code is accepted once, and never an older one.
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # Members created in the web interface sign in first with a one-time setup code that must be
    # replaced by their own password, before a deadline.
    needs_new_password: Mapped[bool] = mapped_column(Boolean, default=False)
    setup_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[created_at]

    organization: Mapped[Organization] = relationship(back_populates="staff")

    @property
    def reads_reports(self) -> bool:
        return self.is_active and self.role in READER_ROLES


class RecoveryKey(db.Model):
    """Public half of the coalition recovery key; the private half lives offline only."""

    __tablename__ = "recovery_keys"

    id: Mapped[intpk]
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[created_at]
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
