"""Counting eligible incidents in SQL, for the aggregate reports. No web code.

Only triaged reports whose reporter agreed to be counted, that are not marked as a duplicate of
another report and that staff did not judge "unlikely", are counted; a report marked as a
duplicate is counted once, through its original. Every figure is a GROUP BY in the database:
nothing here loops over reports in Python, so a million records cost one pass per table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, distinct, func, select
from sqlalchemy.orm import Session

from portal.officials.models import Campaign, CampaignLink, IncidentLink, Person
from portal.reports.models import Report, ReportTactic
from portal.taxonomy import TACTIC_GROUPS

#: Where staff left a field empty; not a code of the vocabulary ("unknown" is one: "I don't know").
UNKNOWN = "not_recorded"
GROUP_OF_CODE = {code: group for group, _label, tactics in TACTIC_GROUPS for code, _ in tactics}


@dataclass(frozen=True)
class Period:
    since: dt.date
    until: dt.date

    def __post_init__(self) -> None:
        if self.until < self.since:
            raise ValueError("the period ends before it starts")


def eligibility(period: Period, campaign_id: int | None = None) -> list:
    """The conditions a report meets to be counted for this period (by day received)."""
    conditions = [
        Report.consent_statistics.is_(True),
        Report.triaged_at.is_not(None),
        Report.duplicate_of_id.is_(None),
        (Report.credibility.is_(None)) | (Report.credibility != "unlikely"),
        Report.received_on >= period.since,
        Report.received_on <= period.until,
    ]
    if campaign_id is not None:
        linked = select(CampaignLink.report_id).where(CampaignLink.campaign_id == campaign_id)
        conditions.append(Report.id.in_(linked))
    return conditions


def eligible(period: Period, campaign_id: int | None = None) -> Select:
    """The ids of the reports that may be counted."""
    return select(Report.id).where(*eligibility(period, campaign_id))


def _grouped(session: Session, column, conditions: list) -> dict[str, int]:  # noqa: ANN001
    """Reports per value of one of their own columns (one row per report: a plain count)."""
    counts: dict[str, int] = {}
    for key, n in session.execute(select(column, func.count()).where(*conditions).group_by(column)):
        # NULL and "" both mean "not recorded": add them up rather than let one overwrite the other.
        name = key if key not in (None, "") else UNKNOWN
        counts[name] = counts.get(name, 0) + n
    return counts


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
    bounty_related: int
    diplomatic_or_consular: int


def count(session: Session, period: Period, *, campaign_id: int | None = None) -> Counts:
    conditions = eligibility(period, campaign_id)
    ids = eligible(period, campaign_id).subquery()
    total = session.scalar(select(func.count()).select_from(Report).where(*conditions)) or 0
    # (report_id, code) is the key of report_tactics: each row is one report under one tactic.
    by_tactic = dict(
        session.execute(
            select(ReportTactic.code, func.count())
            .join(ids, ids.c.id == ReportTactic.report_id)
            .group_by(ReportTactic.code)
        ).all()
    )
    months: dict[str, int] = {}
    for month, n in session.execute(
        select(Report.incident_month, func.count()).where(*conditions).group_by(Report.incident_month)
    ):
        months[month.strftime("%Y-%m") if month else UNKNOWN] = n
    campaigns = dict(
        session.execute(
            select(Campaign.slug, func.count())
            .join(CampaignLink, CampaignLink.campaign_id == Campaign.id)
            .join(ids, ids.c.id == CampaignLink.report_id)
            .group_by(Campaign.slug)
        ).all()
    )
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
        by_tactic_group=tactic_groups(by_tactic),
        by_community=_grouped(session, Report.community, conditions),
        by_province=_grouped(session, Report.province, conditions),
        by_month=dict(sorted(months.items())),
        by_perpetrator=_grouped(session, Report.perpetrator_type, conditions),
        by_campaign=campaigns,
        bounty_related=by_tactic.get("LEG-BOUNTY", 0),
        diplomatic_or_consular=diplomatic,
    )


def tactic_groups(by_tactic: dict[str, int]) -> dict[str, int]:
    """A group's figure is the sum of its tactics' figures (a few dozen codes, not reports), so
    the group and tactic tables can be protected together as one table."""
    groups: dict[str, int] = {}
    for code, n in by_tactic.items():
        group = GROUP_OF_CODE.get(code, "OTHER")
        groups[group] = groups.get(group, 0) + n
    return dict(sorted(groups.items()))
