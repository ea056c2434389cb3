"""A report's page links an official through a search of the registry, never a list of all of it;
through the test client with CSRF protection on, as a browser without JavaScript would."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from portal.db import db
from portal.officials import views as official_views
from portal.officials.models import IncidentLink
from tests.followup import staff_page, staff_post
from tests.officials import add_person
from tests.staff.test_report_pages import file_report

LINK = {"entity_id": "", "involvement": "suspected", "confidence": "possible", "basis": "reporter_identified"}


def offered(html: str) -> dict[int, str]:
    """The people the link form offers: radio value -> label."""
    found = {}
    for match in re.finditer(r'<input id="(person_id-\d+)" name="person_id" type="radio" value="(\d+)">'
                             r'<label for="\1">([^<]*)</label>', html):
        found[int(match.group(2))] = match.group(3)
    return found


def searched(client, report_id: int, query: str) -> str:
    response = client.get(f"/staff/reports/{report_id}?q={quote(query)}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.fixture
def registry():
    return {
        "gao": add_person(name_latin="Gao Fenglin", name_chinese="高峰林", title="Second secretary"),
        "sun": add_person(name_latin="Sun Haoran", name_chinese="孙浩然", aliases="Hao Sun"),
        "ma": add_person(name_latin="Ma Tianyu", name_chinese="马天宇"),
    }


def test_the_report_page_lists_nobody_until_asked(app, staff_client, registry):
    client, _staff = staff_client
    report_id = file_report(app)

    html = staff_page(client, report_id)

    assert offered(html) == {}
    assert "Gao Fenglin" not in html and "Sun Haoran" not in html and "马天宇" not in html
    assert 'name="q"' in html and 'type="search"' in html
    assert "To link a person, find them in the registry above; or choose an entity." in html


@pytest.mark.parametrize(
    ("query", "who"),
    [
        ("Gao", {"gao"}),
        ("fenglin", {"gao"}),  # any part, any case
        ("Fenglin Gao", {"gao"}),  # either order
        ("高峰林", {"gao"}),  # Chinese script
        ("浩然", {"sun"}),
        ("hao sun", {"sun"}),  # an alias, spaced
        ("an", {"sun", "ma"}),
    ],
)
def test_a_search_by_name_in_either_script_offers_the_matching_people(app, staff_client, registry, query, who):
    client, _staff = staff_client
    report_id = file_report(app)

    html = searched(client, report_id, query)

    assert set(offered(html)) == {registry[name].id for name in who}


def test_the_offered_person_is_named_in_both_scripts_with_their_title(app, staff_client, registry):
    client, _staff = staff_client
    report_id = file_report(app)

    html = searched(client, report_id, "gao")

    assert offered(html) == {registry["gao"].id: "Gao Fenglin 高峰林 — Second secretary"}


def test_a_search_that_finds_nobody_says_so(app, staff_client, registry):
    client, _staff = staff_client
    report_id = file_report(app)

    html = searched(client, report_id, "Nobody Known")

    assert offered(html) == {}
    assert "Nobody in the registry matches “Nobody Known”." in html


def test_the_search_text_is_escaped(app, staff_client, registry):
    client, _staff = staff_client
    report_id = file_report(app)

    html = searched(client, report_id, '<script>alert(1)</script>"')

    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_search_offers_a_few_people_and_says_there_are_more(app, staff_client, monkeypatch):
    client, _staff = staff_client
    monkeypatch.setattr(official_views, "PEOPLE_OFFERED", 5)
    for number in range(7):
        add_person(name_latin=f"Chen Guang {number}")
    report_id = file_report(app)

    crowded = searched(client, report_id, "chen")
    exact = searched(client, report_id, "chen guang 6")

    assert len(offered(crowded)) == 5
    assert "Only the first 5 people found are shown: type more of the name." in crowded
    assert list(offered(exact).values()) == ["Chen Guang 6"]
    assert "Only the first" not in exact


def test_the_default_limit_keeps_the_page_small(app, staff_client):
    client, _staff = staff_client
    for number in range(official_views.PEOPLE_OFFERED + 3):
        add_person(name_latin=f"Liu Yang {number}")
    report_id = file_report(app)

    html = searched(client, report_id, "liu")

    assert len(offered(html)) == official_views.PEOPLE_OFFERED


def test_a_person_found_by_the_search_is_linked(app, staff_client, registry):
    client, staff = staff_client
    report_id = file_report(app)
    (person_id,) = offered(searched(client, report_id, "孙浩然"))

    response = staff_post(client, report_id, "links", {**LINK, "person_id": str(person_id)})

    assert response.status_code == 303
    (link,) = db.session.scalars(select(IncidentLink))
    assert (link.report_id, link.person_id, link.created_by) == (report_id, registry["sun"].id, staff.id)
    assert f'href="/staff/officials/people/{person_id}">Sun Haoran 孙浩然</a>' in staff_page(client, report_id)


def test_an_entity_is_still_linked_from_its_list(app, staff_client):
    client, _staff = staff_client
    report_id = file_report(app)
    html = staff_page(client, report_id)
    entity_id = re.search(r'<select id="entity_id" name="entity_id">.*?<option value="(\d+)"', html, re.S).group(1)

    response = staff_post(client, report_id, "links", {**LINK, "entity_id": entity_id})

    assert response.status_code == 303
    assert db.session.scalar(select(IncidentLink.entity_id)) == int(entity_id)


@pytest.mark.parametrize("person_id", ["999999", "2147483648", "99999999999999999999", "abc", "-1", "٣"])
def test_a_link_to_nobody_is_refused_with_a_message(app, staff_client, registry, person_id):
    client, _staff = staff_client
    report_id = file_report(app)

    response = staff_post(client, report_id, "links", {**LINK, "person_id": person_id})

    assert response.status_code == 303
    assert db.session.scalar(select(func.count(IncidentLink.id))) == 0
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Choose one person or one entity, with involvement, confidence and basis." in html


def test_a_person_and_an_entity_at_once_are_refused(app, staff_client, registry):
    client, _staff = staff_client
    report_id = file_report(app)
    html = staff_page(client, report_id)
    entity_id = re.search(r'<select id="entity_id" name="entity_id">.*?<option value="(\d+)"', html, re.S).group(1)

    staff_post(client, report_id, "links", {**LINK, "person_id": str(registry["ma"].id), "entity_id": entity_id})

    assert db.session.scalar(select(func.count(IncidentLink.id))) == 0
