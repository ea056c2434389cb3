"""The staff workspace follows the reporter's answers: a triage form filled in from them, dashboard
filters by official and campaign, and a report page in sections that each action returns to."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from html.parser import HTMLParser

import pytest
from flask import Flask
from markupsafe import escape
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from portal.db import db
from portal.officials.models import Campaign, CampaignLink
from portal.reports.models import Report
from portal.reports.services import Consent, submit_report
from tests.conftest import TEST_KDF, valid_report
from tests.officials import add_person, linked
from tests.staff.test_report_pages import (
    file_report,
    org_id,
    page,
    post_on_report,
    report_links,
    report_row,
)

BOUNTY_IN_ONTARIO = {
    "tactics": ["THR-HARASS"],
    "bounty": "yes",
    "bounty_details": "A reward notice with my photo.",
    "province": "ON",
    "when_precision": "month",
    "when_start": "2025-07",
    "communities": ["hong_kong", "democracy"],
    "perpetrators": ["unknown", "china_police"],
}


class Forms(HTMLParser):
    """Every form on a page, with what a browser would send for it as it stands."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, list[tuple[str, str]]] = {}
        self.ids: list[str] = []
        self.controls: list[dict[str, str]] = []
        self.label_targets: set[str] = set()
        self._action: str | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if "id" in attributes:
            self.ids.append(attributes["id"])
        if tag == "label" and "for" in attributes:
            self.label_targets.add(attributes["for"])
        if tag == "form":
            self._action = attributes.get("action", "")
            self.forms[self._action] = []
        fields = self.forms.get(self._action) if self._action is not None else None
        if tag in ("input", "select", "textarea") and attributes.get("type") != "hidden":
            self.controls.append({"tag": tag, **attributes})
        if fields is None:
            return
        if tag == "input":
            kind = attributes.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attributes:
                    fields.append((attributes["name"], attributes.get("value", "on")))
            elif kind not in ("submit", "button"):
                fields.append((attributes["name"], attributes.get("value", "")))
        elif tag == "select":
            self._select = attributes["name"]
        elif tag == "option" and self._select and "selected" in attributes:
            fields.append((self._select, attributes.get("value", "")))
        elif tag == "textarea":
            self._textarea = attributes["name"]
            fields.append((self._textarea, ""))

    def handle_data(self, data: str) -> None:
        if self._textarea and self._action is not None:
            name, text = self.forms[self._action][-1]
            self.forms[self._action][-1] = (name, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._action = None


def forms_of(html: str) -> Forms:
    parser = Forms()
    parser.feed(html)
    return parser


def form_for(html: str, action_path: str) -> list[tuple[str, str]]:
    forms = forms_of(html).forms
    return next(fields for action, fields in forms.items() if action.split("#")[0] == action_path)


def reported(app: Flask, **answers: object) -> int:
    submitted = submit_report(
        db.session,
        answers={**valid_report(), **answers},
        organization_ids=[org_id()],
        consent=Consent(statistics=True, referral=False, contact=False),
        lookup_key=app.config["PORTAL_SECRETS"].lookup_key,
        kdf=TEST_KDF,
        today=dt.date.today(),
    )
    db.session.commit()
    return submitted.report_id


# --- the triage form follows the reporter's answers --------------------------------------------


def test_an_untriaged_report_offers_the_reporters_answers_as_its_triage_record(app, staff_client):
    client, _staff = staff_client
    report_id = reported(app, **BOUNTY_IN_ONTARIO)

    html = page(client, f"/staff/reports/{report_id}")
    sent = form_for(html, f"/staff/reports/{report_id}/triage")

    assert "filled in from the reporter" in html
    assert sorted(value for name, value in sent if name == "tactics") == ["LEG-BOUNTY", "THR-HARASS"]
    chosen = {name: value for name, value in sent if name != "tactics"}
    assert chosen["province"] == "ON"
    assert chosen["month"] == "2025-07"
    assert chosen["community"] == "hong_kong"  # the first community the reporter chose
    assert chosen["perpetrator_type"] == "china_police"  # "I don't know" is not a perpetrator type
    assert chosen["severity"] == "" and chosen["credibility"] == ""  # staff's own judgement


def test_confirming_the_offered_record_makes_the_report_findable_by_bounty_and_province(app, staff_client):
    client, _staff = staff_client
    report_id = reported(app, **BOUNTY_IN_ONTARIO)
    other = reported(app, province="BC")
    html = page(client, f"/staff/reports/{report_id}")

    # The triager changes nothing and saves the form as the page offers it.
    response = client.post(
        f"/staff/reports/{report_id}/triage", data=MultiDict(form_for(html, f"/staff/reports/{report_id}/triage"))
    )

    assert response.status_code == 303
    stored = report_row(report_id)
    assert stored.triaged_at is not None and stored.province == "ON" and "LEG-BOUNTY" in stored.tactic_codes
    found = report_links(page(client, "/staff/?bounty=y&province=ON"))
    assert report_id in found and other not in found


def test_a_triaged_report_shows_its_record_not_the_answers(app, staff_client):
    client, _staff = staff_client
    report_id = reported(app, **BOUNTY_IN_ONTARIO)
    report = db.session.get(Report, report_id)
    report.province, report.triaged_at = "QC", dt.datetime.now(dt.UTC)
    db.session.commit()

    html = page(client, f"/staff/reports/{report_id}")
    sent = dict(form_for(html, f"/staff/reports/{report_id}/triage"))

    assert sent["province"] == "QC"
    assert "filled in from the reporter" not in html


@pytest.mark.parametrize(
    ("answers", "month"),
    [
        ({"when_precision": "year", "when_start": "2024"}, ""),
        ({"when_precision": "day", "when_start": "2025-03-14"}, "2025-03"),
        ({"when_precision": "range", "when_start": "2024-11", "when_end": "2025-01"}, "2024-11"),
        ({"when_precision": "unknown", "when_start": ""}, ""),
    ],
)
def test_the_offered_month_is_the_one_the_reporter_gave(app, staff_client, answers, month):
    client, _staff = staff_client
    report_id = reported(app, **answers)
    sent = dict(form_for(page(client, f"/staff/reports/{report_id}"), f"/staff/reports/{report_id}/triage"))
    assert sent["month"] == month


# --- the dashboard finds reports by official and campaign --------------------------------------


def test_the_dashboard_finds_reports_linked_to_an_official_by_name(app, staff_client):
    client, _staff = staff_client
    person = add_person(name_latin="Gao Fenglin", name_chinese="高峰林")
    linked_report, unlinked = file_report(app, "One."), file_report(app, "Two.")
    linked(linked_report, person)

    by_latin = page(client, "/staff/?official=fenglin")
    by_chinese = page(client, "/staff/?official=高峰")
    nobody = page(client, "/staff/?official=Nobody+Such")

    for html in (by_latin, by_chinese):
        assert report_links(html) == [linked_report]
        assert "Reports linked to: Gao Fenglin" in html
    assert report_links(nobody) == [] and unlinked not in report_links(nobody)
    assert "Nobody in the registry matches" in nobody


def test_the_dashboard_filters_by_campaign(app, staff_client):
    client, _staff = staff_client
    campaign = db.session.scalars(select(Campaign).order_by(Campaign.id)).first()  # one of the letter's asks
    in_campaign, outside = file_report(app, "One."), file_report(app, "Two.")
    db.session.add(CampaignLink(report_id=in_campaign, campaign_id=campaign.id))
    db.session.commit()

    html = page(client, f"/staff/?campaign={campaign.id}")

    assert report_links(html) == [in_campaign] and outside not in report_links(html)
    assert f'<option selected value="{campaign.id}">{escape(campaign.title_en)}</option>' in html
    assert page(client, "/staff/?campaign=999999999999999999999").count("/staff/reports/") >= 2  # not a choice: ignored


# --- one page in sections, each action back where it came from --------------------------------


SECTIONS = ("account", "files", "messages", "workflow", "triage", "links", "notes", "share", "referrals", "delete")


def test_the_report_page_has_an_index_of_its_sections(app, staff_client):
    client, _staff = staff_client
    html = page(client, f"/staff/reports/{file_report(app)}")

    index = re.search(r'<nav class="page-index".*?</nav>', html, re.S).group(0)
    assert re.findall(r'href="#([a-z]+)"', index) == list(SECTIONS)
    for section in SECTIONS:
        assert f'<section id="{section}"' in html


def test_every_field_on_the_report_page_has_its_own_id_and_a_label(app, staff_client):
    client, _staff = staff_client
    parsed = forms_of(page(client, f"/staff/reports/{file_report(app, referral=True)}"))

    duplicated = [element_id for element_id, count in Counter(parsed.ids).items() if count > 1]
    assert duplicated == []
    unlabelled = [
        control.get("name") for control in parsed.controls
        if control.get("type") not in ("submit", "button") and control.get("id") not in parsed.label_targets
    ]
    assert unlabelled == []


@pytest.mark.parametrize(
    ("action", "data", "section", "confirmation"),
    [
        ("notes", {"text": "Called back."}, "notes", "Note added."),
        ("status", {"status": "under_review", "reason": "Looking into it"}, "workflow", "Status changed."),
        ("messages", {"text": "Thank you for writing."}, "messages", "Your reply was sent."),
    ],
)
def test_an_action_returns_to_its_section_with_the_confirmation_there(app, staff_client, action, data, section, confirmation):
    client, _staff = staff_client
    report_id = file_report(app)

    response = post_on_report(client, report_id, action, data)

    assert response.status_code == 303
    assert response.headers["Location"] == f"/staff/reports/{report_id}#{section}"
    html = page(client, f"/staff/reports/{report_id}")
    start = html.index(f'<section id="{section}"')
    own_section = html[start : html.index("</section>", start)]
    assert confirmation in own_section
    assert html.count(confirmation) == 1  # not also at the top of the page


def test_a_refused_form_brings_the_reader_back_to_its_section(app, staff_client):
    client, _staff = staff_client
    report_id = file_report(app)
    html = page(client, f"/staff/reports/{report_id}")

    assert f'action="/staff/reports/{report_id}/triage#triage"' in html
    response = post_on_report(client, report_id, "triage", {"month": "not a month"})
    assert response.status_code == 422
    assert "Write the month as YYYY-MM" in response.get_data(as_text=True)
