"""Migration 0008 goes up and down with staff, choices and waiting notifications present."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from tests.test_migrations import (  # noqa: F401  (fixtures)
    empty_database_url,
    insert_row,
    migration_app,
    rows_of,
    schema_differences,
    table_names,
)


def test_0008_adds_and_removes_the_notification_tables_keeping_staff(migration_app):  # noqa: F811
    upgrade(revision="0007")
    org = insert_row("organizations", slug="intake", name="Intake")
    staff = insert_row("staff_members", email="reader@example.org", organization_id=org, role="triager")

    upgrade(revision="0008")
    insert_row("notification_preferences", staff_member_id=staff, delivery="daily", locale="fr")
    insert_row("pending_notifications", staff_member_id=staff, kind="new_report", attempts=0)
    insert_row("pending_notifications", staff_member_id=staff, kind="reporter_replied", attempts=2)
    assert rows_of("SELECT kind, attempts FROM pending_notifications ORDER BY id") == [
        ("new_report", 0), ("reporter_replied", 2)
    ]
    with pytest.raises(sa.exc.IntegrityError):  # only the two kinds of news exist
        insert_row("pending_notifications", staff_member_id=staff, kind="report 17: bounty")
    other = insert_row("staff_members", email="other@example.org", organization_id=org, role="triager")
    with pytest.raises(sa.exc.IntegrityError):  # off, immediate or daily only
        insert_row("notification_preferences", staff_member_id=other, delivery="hourly")

    downgrade(revision="0007")
    assert {"notification_preferences", "pending_notifications"}.isdisjoint(table_names())
    assert rows_of("SELECT id, email FROM staff_members ORDER BY id") == [
        (staff, "reader@example.org"), (other, "other@example.org")
    ]

    upgrade()
    assert rows_of("SELECT count(*) FROM pending_notifications") == [(0,)]
    assert schema_differences() == []
