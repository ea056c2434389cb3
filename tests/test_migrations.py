"""Migrations go up, down and up again, and build exactly the schema the models describe."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
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
