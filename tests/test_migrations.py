"""Migrations go up, down and up again, and build exactly the schema the models describe."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from portal import create_app
from portal.db import db
from tests.conftest import TEST_KDF


@pytest.fixture
def empty_database_url(test_database: str, tmp_path) -> Iterator[str]:
    """A database of the same kind as the test run's, empty, dropped afterwards."""
    if test_database.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"portal_migrations_{secrets.token_hex(4)}"
    admin_url = make_url(test_database).set(database="postgres")
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(test_database).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def migration_app(empty_database_url, instance_path):
    app = create_app(
        {
            "TESTING": True,
            "PORTAL_INSTANCE_PATH": str(instance_path),
            "SQLALCHEMY_DATABASE_URI": empty_database_url,
            "PORTAL_KDF": TEST_KDF,
        }
    )
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def schema_differences() -> list:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, db.metadata)


def table_names() -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_upgrade(migration_app):
    upgrade()
    assert table_names() == {table.name for table in db.metadata.sorted_tables}
    downgrade(revision="base")
    assert table_names() == set()
    upgrade()
    assert table_names() == {table.name for table in db.metadata.sorted_tables}


def test_the_models_equal_the_migrated_schema(migration_app):
    upgrade()
    assert schema_differences() == []


def test_there_is_a_single_head(migration_app):
    from alembic.script import ScriptDirectory

    config = migration_app.extensions["migrate"].migrate.get_config()
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


# --- data present --------------------------------------------------------------------------------


def _value_for(column: sa.Column):  # noqa: ANN202
    """Something a NOT NULL column of this type accepts."""
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return False
    if isinstance(kind, sa.Integer):
        return 0
    if isinstance(kind, sa.LargeBinary):
        return secrets.token_bytes(16)
    if isinstance(kind, sa.DateTime):
        return dt.datetime(2026, 1, 1)
    if isinstance(kind, sa.Date):
        return dt.date(2026, 1, 1)
    if isinstance(kind, sa.String):
        return "x"
    raise AssertionError(f"no test value for {column.name} ({kind})")


def insert_row(table_name: str, **values: object) -> int | None:
    """Insert a row as the schema stands now (whatever revision), filling every required column."""
    with db.engine.begin() as connection:
        table = sa.Table(table_name, sa.MetaData(), autoload_with=connection)
        row = {
            column.name: _value_for(column)
            for column in table.columns
            if not column.nullable and column.server_default is None
            and not (column.primary_key and isinstance(column.type, sa.Integer) and len(table.primary_key.columns) == 1)
        }
        row.update(values)
        inserted = connection.execute(table.insert().values(row))
        return inserted.inserted_primary_key[0] if inserted.inserted_primary_key else None


def rows_of(query: str) -> list[tuple]:
    with db.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(query))]


def test_0007_keeps_every_attached_file_and_its_chunks_down_and_up(migration_app):
    """Batch mode rebuilds `attachments` on SQLite; with foreign keys on, that would cascade to
    every chunk. Attached files survive both ways; an unattached one cannot go down, so only it goes."""
    upgrade(revision="0006")
    report_id = insert_row("reports", status="received", lookup_id=secrets.token_bytes(32))
    attached = insert_row("attachments", report_id=report_id, chunk_count=3, stored_bytes=300, uploaded_by="reporter")
    for position in range(3):
        insert_row("attachment_chunks", attachment_id=attached, position=position, data=b"chunk %d" % position)

    upgrade(revision="0007")
    assert rows_of("SELECT attachment_id, position FROM attachment_chunks ORDER BY position") == [
        (attached, 0), (attached, 1), (attached, 2)
    ]
    unattached = insert_row("attachments", report_id=None, file_key_sealed=None, details_sealed=None,
                            uploaded_by=None, chunk_count=0, stored_bytes=0)
    insert_row("attachment_chunks", attachment_id=unattached, position=0, data=b"unreadable")
    with pytest.raises(sa.exc.IntegrityError):  # an attached file without its key is refused
        insert_row("attachments", report_id=report_id, file_key_sealed=None)

    downgrade(revision="0006")
    assert rows_of("SELECT id, report_id, chunk_count FROM attachments") == [(attached, report_id, 3)]
    assert rows_of("SELECT attachment_id, count(*) FROM attachment_chunks GROUP BY attachment_id") == [(attached, 3)]
    with pytest.raises(sa.exc.IntegrityError):  # NOT NULL again
        insert_row("attachments", report_id=None)

    upgrade()
    assert rows_of("SELECT attachment_id, count(*) FROM attachment_chunks GROUP BY attachment_id") == [(attached, 3)]
    assert schema_differences() == []
