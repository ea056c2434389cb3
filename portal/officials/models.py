"""People and entities of the registry, links from reports, dossier sign-offs, campaigns."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import UTCDateTime, created_at, db, intpk, utcnow

STATUSES = ("diplomatic", "consular", "none", "unknown")
INVOLVEMENTS = ("directly_carried_out", "gave_orders", "planned", "suspected")
CONFIDENCES = ("confirmed", "likely", "possible")
BASES = ("reporter_identified", "staff_corroborated", "documentary_evidence", "public_source")
ACTIONS = ("persona_non_grata", "refusal_of_accreditation", "immunity_waiver", "sanctions")


class Entity(db.Model):
    """A mission, ministry, department or proxy association."""

    __tablename__ = "entities"

    id: Mapped[intpk]
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    name_en: Mapped[str] = mapped_column(String(200))
    name_fr: Mapped[str] = mapped_column(String(200))
    name_zh: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100), default="")

    def name_in(self, lang: str) -> str:
        return self.name_fr if lang == "fr" else self.name_en


class Person(db.Model):
    """An official or agent. Every edit bumps ``version``; a dossier sign-off names a version."""

    __tablename__ = "people"
    __table_args__ = (
        CheckConstraint("status IN ('diplomatic', 'consular', 'none', 'unknown')", name="status"),
    )

    id: Mapped[intpk]
    name_latin: Mapped[str] = mapped_column(String(200))
    name_chinese: Mapped[str] = mapped_column(String(200), default="")
    aliases: Mapped[str] = mapped_column(Text, default="")  # one per line
    # Every name and alias, NFKC-folded and without spaces, for search in either script.
    search_text: Mapped[str] = mapped_column(Text, default="")
    mission_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id"))
    title: Mapped[str] = mapped_column(String(200), default="")
    rank: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(16), default="unknown")
    affiliation_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id"))
    affiliation_basis: Mapped[str] = mapped_column(Text, default="")
    requested_action: Mapped[str] = mapped_column(String(32), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    mission: Mapped[Entity | None] = relationship(foreign_keys=[mission_id])
    affiliation: Mapped[Entity | None] = relationship(foreign_keys=[affiliation_id])
    postings: Mapped[list[Posting]] = relationship(
        cascade="all, delete-orphan", order_by="Posting.start_date"
    )
    sources: Mapped[list[PublicSource]] = relationship(
        cascade="all, delete-orphan", order_by="PublicSource.published_on"
    )


class Posting(db.Model):
    __tablename__ = "postings"

    id: Mapped[intpk]
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id"))
    title: Mapped[str] = mapped_column(String(200), default="")
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)

    entity: Mapped[Entity] = relationship()


class PublicSource(db.Model):
    __tablename__ = "public_sources"

    id: Mapped[intpk]
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    address: Mapped[str] = mapped_column(String(500), default="")
    published_on: Mapped[dt.date | None] = mapped_column(Date)


class PersonVersion(db.Model):
    """What a person's record was at a version: who changed it and when (edits are history)."""

    __tablename__ = "person_versions"
    __table_args__ = (UniqueConstraint("person_id", "version", name="uq_person_versions_version"),)

    id: Mapped[intpk]
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[str] = mapped_column(Text)  # canonical JSON of the record at that version
    changed_by: Mapped[int | None] = mapped_column(Integer)
    changed_at: Mapped[created_at]


class IncidentLink(db.Model):
    """A report linked to a person or an entity, with degree of involvement and confidence."""

    __tablename__ = "incident_links"
    __table_args__ = (
        CheckConstraint("(person_id IS NULL) <> (entity_id IS NULL)", name="one_target"),
        CheckConstraint(
            "involvement IN ('directly_carried_out', 'gave_orders', 'planned', 'suspected')",
            name="involvement",
        ),
        CheckConstraint("confidence IN ('confirmed', 'likely', 'possible')", name="confidence"),
        CheckConstraint(
            "basis IN ('reporter_identified', 'staff_corroborated', 'documentary_evidence', 'public_source')",
            name="basis",
        ),
        UniqueConstraint("report_id", "person_id", name="uq_incident_links_report_person"),
        UniqueConstraint("report_id", "entity_id", name="uq_incident_links_report_entity"),
    )

    id: Mapped[intpk]
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    entity_id: Mapped[int | None] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"), index=True)
    involvement: Mapped[str] = mapped_column(String(32))
    confidence: Mapped[str] = mapped_column(String(16))
    basis: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[created_at]

    person: Mapped[Person | None] = relationship()
    entity: Mapped[Entity | None] = relationship()


class DossierSignoff(db.Model):
    """A second staff member's approval of one exact version of a person's dossier."""

    __tablename__ = "dossier_signoffs"
    __table_args__ = (UniqueConstraint("person_id", "version", name="uq_dossier_signoffs_version"),)

    id: Mapped[intpk]
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    # What was approved: a hash of the dossier's content, since linked incidents, triage codes and
    # consent can change without a new version of the person's record.
    content_sha256: Mapped[str] = mapped_column(String(64))
    prepared_by: Mapped[int] = mapped_column(Integer)
    signed_by: Mapped[int | None] = mapped_column(Integer)
    signed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[created_at]


class DossierApproval(db.Model):
    """What a second staff member signed off, kept for good: the next signer is shown what changed.

    A sign-off request is replaced when the dossier changes, and linked incidents are not part of
    the person's versioned record, so the approved content is kept here as it was signed.
    """

    __tablename__ = "dossier_approvals"

    id: Mapped[intpk]
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    # The exact canonical JSON whose SHA-256 the sign-off approved (so the two can be checked).
    content: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    # The links at sign-off, by report, with their codes only: which incidents were added or removed.
    links: Mapped[str] = mapped_column(Text)
    prepared_by: Mapped[int] = mapped_column(Integer)
    signed_by: Mapped[int] = mapped_column(Integer)
    signed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class DossierExport(db.Model):
    """Each export: which version, both signers, the format and a hash of exactly what left."""

    __tablename__ = "dossier_exports"

    id: Mapped[intpk]
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    prepared_by: Mapped[int] = mapped_column(Integer)
    signed_by: Mapped[int] = mapped_column(Integer)
    exported_by: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(8))
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[created_at]


class Campaign(db.Model):
    """One of the coalition letter's asks; reports link to it."""

    __tablename__ = "campaigns"

    id: Mapped[intpk]
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    title_en: Mapped[str] = mapped_column(String(300))
    title_fr: Mapped[str] = mapped_column(String(300))
    description_en: Mapped[str] = mapped_column(Text, default="")
    description_fr: Mapped[str] = mapped_column(Text, default="")

    def title_in(self, lang: str) -> str:
        return self.title_fr if lang == "fr" else self.title_en


class CampaignLink(db.Model):
    __tablename__ = "campaign_links"

    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True, index=True
    )
