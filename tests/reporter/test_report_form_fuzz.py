"""Arbitrary values in every field of the report form: never a 500, never a half-stored report."""

from __future__ import annotations

import string

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from portal.db import db
from portal.orgs.models import Organization
from portal.reports.models import Report, WrappedKey
from tests.conftest import open_report_form, valid_report

# Text that can travel in a form post: anything but lone surrogates, which UTF-8 cannot carry.
form_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
near_valid = st.sampled_from(
    ["", "y", "on", "0", "none", "email", "phone", "day", "range", "ON", "THR-HARASS",
     "2025", "2025-10", "2025-02-30", "1899", "9999-12-31", "-1", "１２", "\x00", "a" * 600]
)
value = st.one_of(form_text, near_valid, st.integers().map(str))
field_value = st.one_of(value, st.lists(value, max_size=4))

@st.composite
def form_posts(draw):
    """Valid answers with a few fields replaced or dropped, or junk in every field."""
    base = valid_report()
    names = sorted(set(base) | {"organizations", "consent_referral", "consent_contact"})
    if draw(st.booleans()):
        altered = draw(st.sets(st.sampled_from(names), max_size=3))
    else:
        altered = set(names)
    data: dict[str, object] = {name: base[name] for name in names if name in base}
    for name in altered:
        if draw(st.booleans()):
            data[name] = draw(field_value)
        else:
            data.pop(name, None)
    if draw(st.booleans()):
        data[draw(st.text(string.ascii_letters, min_size=1, max_size=10))] = draw(field_value)
    return data


def stored_reports_are_complete(readers: int) -> None:
    for report in db.session.scalars(select(Report)):
        keys = db.session.scalar(select(func.count(WrappedKey.id)).where(WrappedKey.report_id == report.id))
        assert keys == readers + 1  # every reader, and the recovery key
        assert report.answers_sealed and report.reporter_wrapped_key and report.organizations


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(post=form_posts(), use_real_org=st.booleans())
def test_any_input_gives_a_page_or_a_whole_report(client, factory, post, use_real_org):
    if db.session.scalar(select(Organization.id).limit(1)) is None:
        factory.portal_ready()
    intake = db.session.scalar(select(Organization.id).where(Organization.slug == "intake"))
    if use_real_org and "organizations" not in post:
        post["organizations"] = [str(intake)]
    before = db.session.scalar(select(func.count(Report.id)))

    _html, tokens = open_report_form(client)
    response = client.post("/report", data={**tokens, **post})

    event(f"status {response.status_code}")
    assert response.status_code in (200, 400, 413, 422), response.status_code
    body = response.get_data(as_text=True)
    assert "Traceback" not in body
    after = db.session.scalar(select(func.count(Report.id)))
    if response.status_code == 200:
        assert 'id="receipt"' in body
        assert after == before + 1
    else:
        assert after == before
    db.session.expire_all()
    stored_reports_are_complete(readers=1)
