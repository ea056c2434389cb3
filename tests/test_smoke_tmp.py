import re
from tests.conftest import *
def test_smoke(app, factory, client):
    from sqlalchemy import select
    from portal.orgs.models import Organization
    factory.portal_ready()
    intake = db.session.scalar(select(Organization.id))
    send_report(client, valid_report(organizations=[str(intake)], narrative="<script>alert(1)</script> hello"))
    staff = db.session.scalars(select(StaffMember)).one()
    c = app.test_client()
    r = sign_in(app, c, staff)
    print(r.headers)
    r = c.get("/staff/")
    html = r.get_data(as_text=True)
    assert r.status_code == 200, html
    assert "hello" in html
    r = c.get("/staff/reports/1")
    html = r.get_data(as_text=True)
    assert r.status_code == 200, html
    assert "&lt;script&gt;" in html
    tok = hidden_value(html, "csrf_token")
    for path, data in [("status", {"status": "under_review", "reason": "checking"}), ("triage", {"tactics": ["THR-HARASS"], "severity": "high", "month": "2025-10", "community": "uyghur"}), ("notes", {"text": "a note"}), ("assign", {"assignee": str(staff.id)}), ("referrals", {"agency": "rcmp", "file_number": "F1"})]:
        r = c.post(f"/staff/reports/1/{path}", data={"csrf_token": tok, **data})
        print(path, r.status_code, re.findall(r'class="field-errors"[^<]*<li>([^<]*)', r.get_data(as_text=True)))
    html = c.get("/staff/reports/1").get_data(as_text=True)
    assert "a note" in html and "checking" in html
    for p in ["/staff/admin/staff", "/staff/admin/organizations", "/staff/admin/audit", "/staff/password", "/staff/?status=received&tactic=THR-HARASS&page=2&since=2020-01-01"]:
        print(p, c.get(p).status_code)
