"""Migration 0009 keeps what each sign-off approved, and goes down and up with data present."""

from __future__ import annotations

import datetime as dt

from flask_migrate import downgrade, upgrade

from tests.test_migrations import (  # noqa: F401  (fixtures)
    empty_database_url,
    insert_row,
    migration_app,
    rows_of,
    schema_differences,
    table_names,
)


def test_0009_adds_and_removes_the_approvals_keeping_people_and_sign_offs(migration_app):  # noqa: F811
    upgrade(revision="0008")
    person = insert_row("people", name_latin="Gao Fenglin", version=2, status="consular", requested_action="none")

    upgrade(revision="0009")
    insert_row(
        "dossier_approvals", person_id=person, version=2, content='{"name": "Gao Fenglin"}',
        content_sha256="a" * 64, links="[]", prepared_by=1, signed_by=2, signed_at=dt.datetime(2026, 11, 30, 12),
    )
    assert rows_of("SELECT person_id, version, signed_by FROM dossier_approvals") == [(person, 2, 2)]

    downgrade(revision="0008")
    assert "dossier_approvals" not in table_names()
    assert rows_of("SELECT id, name_latin FROM people") == [(person, "Gao Fenglin")]

    upgrade()
    assert rows_of("SELECT count(*) FROM dossier_approvals") == [(0,)]
    assert schema_differences() == []
