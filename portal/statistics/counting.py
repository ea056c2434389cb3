"""Counting eligible incidents in SQL, for the aggregate reports. No web code.

Only triaged reports whose reporter agreed to be counted, that are not marked as a duplicate of
another report and that staff did not judge "unlikely", are counted; a report marked as a
duplicate is counted once, through its original. Every figure is a GROUP BY in the database:
nothing here loops over reports in Python, so a million records cost one pass per table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, case, distinct, func, select
from sqlalchemy.orm import Session

from portal.officials.models import Campaign, CampaignLink, IncidentLink, Person
from portal.reports.models import Report, ReportTactic
from portal.taxonomy import TACTIC_GROUPS

UNKNOWN = "unknown"
GROUP_OF_CODE = {code: group for group, _label, tactics in TACTIC_GROUPS for code, _ in tactics}


@dataclass(frozen=True)
class Period:
    since: dt.date
    until: dt.date

    def __post_init__(self) -> None:
        if self.until < self.since:
            raise ValueError("the period ends before it starts")


def eligible(period: Period, campaign_id: int | None = None) -> Select:
    """The ids of the reports that may be counted for this period (by day received)."""
    query = select(Report.id).where(
        Report.consent_statistics.is_(True),
        Report.triaged_at.is_not(None),
        Report.duplicate_of_id.is_(None),
        (Report.credibility.is_(None)) | (Report.credibility != "unlikely"),
        Report.received_on >= period.since,
        Report.received_on <= period.until,
    )
    if campaign_id is not None:
        linked = select(CampaignLink.report_id).where(CampaignLink.campaign_id == campaign_id)
        query = query.where(Report.id.in_(linked))
    return query


def _grouped(session: Session, column, ids) -> dict[str, int]:  # noqa: ANN001
    rows = session.execute(
        select(column, func.count(distinct(Report.id)))
        .select_from(Report)
        .join(ids, ids.c.id == Report.id)
        .group_by(column)
    ).all()
    return {(key if key not in (None, "") else UNKNOWN): count for key, count in rows}


@dataclass(frozen=True)
class Counts:
    """Every raw count an aggregate report shows, before disclosure control."""

    period: Period
    total: int
    by_tactic: dict[str, int]
    by_tactic_group: dict[str, int]
    by_community: dict[str, int]
    by_province: dict[str, int]
    by_month: dict[str, int]
    by_perpetrator: dict[str, int]
    by_campaign: dict[str, int]
    community_by_group: dict[str, dict[str, int]]
    bounty_related: int
    diplomatic_or_consular: int


def count(session: Session, period: Period, *, campaign_id: int | None = None) -> Counts:
    ids = eligible(period, campaign_id).subquery()
    total = session.scalar(select(func.count()).select_from(ids)) or 0
    by_tactic = dict(
        session.execute(
            select(ReportTactic.code, func.count(distinct(ReportTactic.report_id)))
            .join(ids, ids.c.id == ReportTactic.report_id)
            .group_by(ReportTactic.code)
        ).all()
    )
    # A report with several tactics of one group counts once in that group.
    by_group = _group_counts(session, ids)
    community_by_group: dict[str, dict[str, int]] = {}
    for community, group, n in _community_group_counts(session, ids):
        community_by_group.setdefault(community or UNKNOWN, {})[group] = n
    months = {
        (month.strftime("%Y-%m") if month else UNKNOWN): n
        for month, n in session.execute(
            select(Report.incident_month, func.count()).join(ids, ids.c.id == Report.id).group_by(Report.incident_month)
        ).all()
    }
    campaigns = dict(
        session.execute(
            select(Campaign.slug, func.count(distinct(CampaignLink.report_id)))
            .join(CampaignLink, CampaignLink.campaign_id == Campaign.id)
            .join(ids, ids.c.id == CampaignLink.report_id)
            .group_by(Campaign.slug)
        ).all()
    )
    bounty = by_tactic.get("LEG-BOUNTY", 0)
    diplomatic = session.scalar(
        select(func.count(distinct(IncidentLink.report_id)))
        .join(ids, ids.c.id == IncidentLink.report_id)
        .join(Person, Person.id == IncidentLink.person_id)
        .where(Person.status.in_(("diplomatic", "consular")))
    ) or 0
    return Counts(
        period=period,
        total=total,
        by_tactic=dict(sorted(by_tactic.items())),
        by_tactic_group=by_group,
        by_community=_grouped(session, Report.community, ids),
        by_province=_grouped(session, Report.province, ids),
        by_month=dict(sorted(months.items())),
        by_perpetrator=_grouped(session, Report.perpetrator_type, ids),
        by_campaign=campaigns,
        community_by_group=community_by_group,
        bounty_related=bounty,
        diplomatic_or_consular=diplomatic,
    )


def _group_expression():  # noqa: ANN202
    """The tactic group of each code (§5), as a SQL CASE, so grouping stays in the database."""
    return case(GROUP_OF_CODE, value=ReportTactic.code, else_="OTHER")


def _group_counts(session: Session, ids) -> dict[str, int]:  # noqa: ANN001
    group = _group_expression()
    rows = session.execute(
        select(group, func.count(distinct(ReportTactic.report_id)))
        .join(ids, ids.c.id == ReportTactic.report_id)
        .group_by(group)
    ).all()
    return dict(rows)


def _community_group_counts(session: Session, ids):  # noqa: ANN001, ANN202
    group = _group_expression()
    return session.execute(
        select(Report.community, group, func.count(distinct(Report.id)))
        .join(ids, ids.c.id == Report.id)
        .join(ReportTactic, ReportTactic.report_id == Report.id)
        .group_by(Report.community, group)
    ).all()
