"""The officials registry: search in either script, the seeded entities and campaigns, versioned
edits, links from reports across organizations, and campaigns."""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import pytest
from sqlalchemy import func, select

from portal.db import db
from portal.officials.models import (
    Campaign,
    CampaignLink,
    Entity,
    IncidentLink,
    Person,
    PersonVersion,
)
from portal.orgs.models import StaffMember
from tests.officials import (
    INTAKE_NAME,
    PARTNER,
    PARTNER_NAME,
    add_person,
    entity_id,
    file_report,
    linked,
    page,
    people_found,
    person_row,
    post,
    report_links,
    signed_in,
)


@pytest.fixture
def triager(factory):
    """The portal ready for reports; its intake triager."""
    factory.portal_ready()
    return db.session.scalars(select(StaffMember)).one()


@pytest.fixture
def admin(factory, triager):
    """A coalition administrator of the intake organization: the only role that edits the registry."""
    return factory.staff("admin@example.org", role="coalition_admin")


@pytest.fixture
def partner(factory, triager):
    """A triager of a second member organization."""
    factory.organization(PARTNER, PARTNER_NAME, default=False)
    return factory.staff("partner@example.org", org=PARTNER)


def person_page(person_id: int) -> str:
    return f"/staff/officials/people/{person_id}"


def person_form(person: Person, **changes: object) -> dict[str, object]:
    """The edit form as the person's page fills it in, with some fields changed."""
    return {
        "name_latin": person.name_latin,
        "name_chinese": person.name_chinese,
        "aliases": person.aliases,
        "mission_id": str(person.mission_id or ""),
        "title": person.title,
        "rank": person.rank,
        "status": person.status,
        "affiliation_id": str(person.affiliation_id or ""),
        "affiliation_basis": person.affiliation_basis,
        "requested_action": person.requested_action,
        **changes,
    }


def versions(person_id: int) -> list[PersonVersion]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(PersonVersion).where(PersonVersion.person_id == person_id).order_by(PersonVersion.version)
        )
    )


# --- search -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "赵伟明",
        "Zhao Weiming",
        "Weiming Zhao",
        "zhao weiming",
        "ZHAO WEI-MING",
        "Wei-ming Zhao",
        "  zhaoweiming ",
        "ＺＨＡＯ ＷＥＩＭＩＮＧ",  # full-width letters, as some input methods type them
        "Chiu Wai-ming",  # an alias, in a Cantonese spelling
        "chiu waiming",
        "趙偉明",  # an alias, in traditional characters
    ],
)
def test_a_name_in_either_script_or_spelling_finds_the_same_person(app, triager, query):
    zhao = add_person(name_latin="Zhao Weiming", name_chinese="赵伟明", aliases="Chiu Wai-ming\n趙偉明")
    add_person(name_latin="Li Qiang", name_chinese="李强")
    client = signed_in(app, triager)

    html = page(client, "/staff/officials?" + urlencode({"q": query}))

    assert people_found(html) == [zhao.id]


def test_an_unknown_name_finds_nobody(app, triager):
    add_person(name_latin="Zhao Weiming", name_chinese="赵伟明", aliases="Chiu Wai-ming")
    client = signed_in(app, triager)

    html = page(client, "/staff/officials?" + urlencode({"q": "Wang Xiaoming"}))

    assert people_found(html) == []
    assert "Nobody found." in html


# --- seeded entities and campaigns ------------------------------------------------------------


def test_the_seeded_entities_are_the_missions_and_agencies_of_the_letter(app):
    entities = {entity.slug: entity for entity in db.session.scalars(select(Entity))}

    assert entities["embassy-ottawa"].kind == "embassy"
    assert entities["embassy-ottawa"].city == "Ottawa"
    consulates = {entities[f"consulate-{city}"] for city in ("toronto", "vancouver", "calgary", "montreal")}
    assert {c.kind for c in consulates} == {"consulate"}
    assert {c.city for c in consulates} == {"Toronto", "Vancouver", "Calgary", "Montréal"}
    assert all(c.name_en.startswith("Consulate General") for c in consulates)
    assert entities["mss"].name_en == "Ministry of State Security"
    assert entities["mps"].name_en == "Ministry of Public Security"
    assert entities["ufwd"].name_en == "United Front Work Department"
    assert "National Security Department" in entities["hk-nsd"].name_en
    assert entities["hk-nsd"].city == "Hong Kong"
    assert entities["proxy-associations"].kind == "proxy"
    assert all(e.name_fr and e.name_zh for e in entities.values())


def test_the_seeded_campaigns_carry_the_letters_asks(app):
    titles = dict(db.session.execute(select(Campaign.slug, Campaign.title_en)).all())

    assert len(titles) == 9
    assert "Joe Tay" in titles["hong-kong-bounties"]
    assert titles["huseyin-celil"] == "Huseyin Celil"
    assert "Falun Gong" in titles["falun-gong-families"]
    assert "Panchen Lama" in titles["panchen-lama-and-pastors"]
    assert titles["torture"] == "Torture"
    assert "expel the officials involved" in titles["harassment-operations"]


# --- versioned edits --------------------------------------------------------------------------


def test_adding_a_person_records_version_one_and_who_added_it(app, admin):
    client = signed_in(app, admin)

    response = post(
        client,
        "/staff/officials/people",
        {"name_latin": "Zhao Weiming", "name_chinese": "赵伟明", "status": "consular",
         "mission_id": str(entity_id("consulate-toronto")), "requested_action": ""},
    )

    assert response.status_code == 303
    person = db.session.scalars(select(Person)).one()
    assert response.headers["Location"].endswith(person_page(person.id))
    assert person.version == 1
    (version,) = versions(person.id)
    assert (version.version, version.changed_by) == (1, admin.id)
    assert json.loads(version.snapshot)["name_chinese"] == "赵伟明"


def test_an_edit_makes_a_new_version_with_who_changed_it_and_a_snapshot(app, admin):
    person = add_person(admin.id, title="Consul")
    client = signed_in(app, admin)

    response = post(
        client, person_page(person.id), person_form(person, title="Deputy consul general"),
        form_page=person_page(person.id),
    )

    assert response.status_code == 303
    edited = person_row(person.id)
    assert (edited.version, edited.title) == (2, "Deputy consul general")
    first, second = versions(person.id)
    assert (first.version, json.loads(first.snapshot)["title"]) == (1, "Consul")
    assert (second.version, second.changed_by) == (2, admin.id)
    assert json.loads(second.snapshot)["title"] == "Deputy consul general"


def test_adding_a_posting_is_a_new_version(app, admin):
    person = add_person(admin.id)
    client = signed_in(app, admin)
    toronto = entity_id("consulate-toronto")

    response = post(
        client, f"{person_page(person.id)}/postings",
        {"posting-entity_id": str(toronto), "posting-title": "Consul", "posting-start": "2023-01-15", "posting-end": ""},
        form_page=person_page(person.id),
    )

    assert response.status_code == 303
    assert person_row(person.id).version == 2
    _first, second = versions(person.id)
    assert second.changed_by == admin.id
    assert json.loads(second.snapshot)["postings"] == [
        {"entity": toronto, "title": "Consul", "start": "2023-01-15", "end": ""}
    ]


def test_adding_a_public_source_is_a_new_version(app, admin):
    person = add_person(admin.id)
    client = signed_in(app, admin)

    response = post(
        client, f"{person_page(person.id)}/sources",
        {"source-title": "Globe and Mail", "source-address": "https://example.org/a", "source-published_on": "2024-05-01"},
        form_page=person_page(person.id),
    )

    assert response.status_code == 303
    assert person_row(person.id).version == 2
    _first, second = versions(person.id)
    assert second.changed_by == admin.id
    assert json.loads(second.snapshot)["sources"] == [
        {"title": "Globe and Mail", "address": "https://example.org/a", "date": "2024-05-01"}
    ]


def test_saving_without_a_change_makes_no_version(app, admin):
    person = add_person(admin.id, title="Consul", aliases="Chiu Wai-ming\n趙偉明")
    client = signed_in(app, admin)

    response = post(client, person_page(person.id), person_form(person), form_page=person_page(person.id))

    assert response.status_code == 303
    assert person_row(person.id).version == 1
    assert len(versions(person.id)) == 1


@pytest.mark.parametrize("role", ["triager", "org_admin"])
@pytest.mark.parametrize("action", ["", "/postings", "/sources", "create"])
def test_only_a_coalition_administrator_edits_the_registry(app, factory, triager, role, action):
    person = add_person(title="Consul")
    member = triager if role == "triager" else factory.staff("orgadmin@example.org", role="org_admin")
    client = signed_in(app, member)
    path = "/staff/officials/people" if action == "create" else person_page(person.id) + action
    data = {
        **person_form(person, title="Changed", name_latin="Someone Else"),
        "entity_id": str(entity_id("mss")), "address": "https://example.org",
    }

    response = post(client, path, data, form_page=person_page(person.id))

    assert response.status_code == 404
    assert person_row(person.id).version == 1
    assert person_row(person.id).title == "Consul"
    assert db.session.scalar(select(func.count(Person.id))) == 1
    assert len(versions(person.id)) == 1


@pytest.mark.parametrize(
    ("action", "data", "message", "kept"),
    [
        ("", {"name_latin": "", "title": "Typed title 4711"}, "Give a name in Latin or in Chinese script.",
         ['value="Typed title 4711"']),
        ("/postings", {"posting-title": "Typed posting 4711", "posting-start": "2024-05-01", "posting-end": "2023-01-01"},
         "A posting cannot end before it starts.",
         ['value="Typed posting 4711"', 'value="2024-05-01"', 'value="2023-01-01"']),
        ("/sources", {"source-title": "Typed source 4711", "source-address": "ftp://example.org/4711"},
         "A source address starts with http:// or https://.",
         ['value="Typed source 4711"', 'value="ftp://example.org/4711"']),
    ],
)
def test_a_refused_edit_keeps_what_was_typed_and_saves_nothing(app, admin, action, data, message, kept):
    person = add_person(admin.id, title="Consul")
    client = signed_in(app, admin)
    form = person_form(person) if action == "" else {"posting-entity_id": str(entity_id("mss"))}

    response = post(client, person_page(person.id) + action, {**form, **data}, form_page=person_page(person.id))

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    for value in kept:
        assert value in html, value
    edited = person_row(person.id)
    assert (edited.version, edited.title, edited.postings, edited.sources) == (1, "Consul", [], [])
    assert len(versions(person.id)) == 1


def test_a_refused_new_person_keeps_what_was_typed(app, admin):
    client = signed_in(app, admin)

    response = post(client, "/staff/officials/people", {"name_latin": "", "name_chinese": "",
                                                         "title": "Typed title 4711", "status": "consular"})

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Give a name in Latin or in Chinese script." in html
    assert 'value="Typed title 4711"' in html
    assert db.session.scalar(select(func.count(Person.id))) == 0


def test_a_person_known_only_by_a_chinese_name_can_be_added(app, admin):
    client = signed_in(app, admin)

    response = post(client, "/staff/officials/people", {"name_latin": "", "name_chinese": "赵伟明", "status": "consular"})

    assert response.status_code == 303
    assert db.session.scalars(select(Person)).one().name_chinese == "赵伟明"


# --- links from reports -----------------------------------------------------------------------

LINK = {"entity_id": "", "involvement": "gave_orders", "confidence": "likely", "basis": "documentary_evidence"}


def test_a_link_shows_on_the_report_page_and_on_the_person_page(app, triager):
    client = signed_in(app, triager)
    report_id = file_report(app)
    person = add_person(name_chinese="赵伟明")

    response = post(client, f"/staff/reports/{report_id}/links", {**LINK, "person_id": str(person.id)},
                    form_page=f"/staff/reports/{report_id}")

    assert response.status_code == 303
    (link,) = db.session.scalars(select(IncidentLink))
    assert (link.report_id, link.person_id, link.created_by) == (report_id, person.id, triager.id)
    assert (link.involvement, link.confidence, link.basis) == ("gave_orders", "likely", "documentary_evidence")
    report_html = page(client, f"/staff/reports/{report_id}")
    assert f'href="{person_page(person.id)}">Zhao Weiming 赵伟明</a>' in report_html
    assert "Gave orders, Likely (Documentary evidence)" in report_html
    person_html = page(client, person_page(person.id))
    assert report_links(person_html) == [report_id]
    assert "Gave orders, Likely" in person_html


def test_staff_of_another_organization_see_the_count_but_not_the_report(app, triager, partner):
    report_id = file_report(app)
    person = add_person()
    linked(report_id, person)
    partner_client = signed_in(app, partner)

    html = page(partner_client, person_page(person.id))

    assert "1 reported incident is linked, across all member organizations." in html
    assert report_links(html) == []
    assert f"/staff/reports/{report_id}" not in html
    assert f"Report {report_id}" not in html
    assert "None of the linked reports is shared with your organization." in html
    assert INTAKE_NAME not in html


def test_staff_cannot_link_a_report_of_another_organization(app, triager, partner):
    report_id = file_report(app)
    person = add_person()
    partner_client = signed_in(app, partner)

    response = post(partner_client, f"/staff/reports/{report_id}/links", {**LINK, "person_id": str(person.id)})

    assert response.status_code == 404
    assert db.session.scalar(select(func.count(IncidentLink.id))) == 0


def registry_count(html: str, person_id: int) -> int:
    match = re.search(rf'href="{person_page(person_id)}".*?<td>(\d+)</td></tr>', html, re.S)
    assert match, "the person is not listed"
    return int(match.group(1))


def test_counts_cover_every_linked_report_without_naming_the_organization_holding_it(app, triager, partner):
    ours = file_report(app)
    theirs = file_report(app, orgs=(PARTNER,))
    person = add_person()
    linked(ours, person)
    linked(theirs, person, involvement="suspected", confidence="possible")

    for member, own_report, other_name in ((triager, ours, PARTNER_NAME), (partner, theirs, INTAKE_NAME)):
        client = signed_in(app, member)
        html = page(client, person_page(person.id))
        assert "2 reported incidents are linked, across all member organizations." in html
        assert report_links(html) == [own_report]
        assert other_name not in html
        assert registry_count(page(client, "/staff/officials"), person.id) == 2


# --- campaigns --------------------------------------------------------------------------------


def campaign_ids(*slugs: str) -> list[int]:
    by_slug = dict(db.session.execute(select(Campaign.slug, Campaign.id)).all())
    return [by_slug[slug] for slug in slugs]


def checked_campaigns(html: str) -> set[int]:
    return {int(n) for n in re.findall(r'id="campaign-(\d+)" value="\d+" checked', html)}


def test_a_reports_campaigns_are_saved_and_shown_checked(app, triager):
    client = signed_in(app, triager)
    report_id = file_report(app)
    chosen = campaign_ids("hong-kong-bounties", "torture")

    response = post(client, f"/staff/reports/{report_id}/campaigns", {"campaigns": [str(c) for c in chosen]},
                    form_page=f"/staff/reports/{report_id}")

    assert response.status_code == 303
    saved = db.session.scalars(select(CampaignLink.campaign_id).where(CampaignLink.report_id == report_id))
    assert set(saved) == set(chosen)
    assert checked_campaigns(page(client, f"/staff/reports/{report_id}")) == set(chosen)


def test_unknown_campaigns_are_ignored(app, triager):
    client = signed_in(app, triager)
    report_id = file_report(app)
    (celil,) = campaign_ids("huseyin-celil")

    response = post(client, f"/staff/reports/{report_id}/campaigns",
                    {"campaigns": [str(celil), "999999", "abc", "-1", ""]},
                    form_page=f"/staff/reports/{report_id}")

    assert response.status_code == 303
    saved = db.session.scalars(select(CampaignLink.campaign_id).where(CampaignLink.report_id == report_id))
    assert list(saved) == [celil]
    assert checked_campaigns(page(client, f"/staff/reports/{report_id}")) == {celil}
