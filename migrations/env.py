"""Alembic environment: runs migrations against the app's own engine and metadata."""

from alembic import context
from flask import current_app

import portal.models  # noqa: F401  (registers every table)

config = context.config
target_db = current_app.extensions["migrate"].db


def run_migrations_offline() -> None:
    url = target_db.engine.url.render_as_string(hide_password=False)
    context.configure(url=url, target_metadata=target_db.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    def skip_empty_autogenerate(context, revision, directives):  # noqa: ANN001
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []

    conf_args = dict(current_app.extensions["migrate"].configure_args)
    conf_args.setdefault("process_revision_directives", skip_empty_autogenerate)
    with target_db.engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            _foreign_keys(connection, on=False)
        try:
            context.configure(connection=connection, target_metadata=target_db.metadata, **conf_args)
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    _check_foreign_keys(connection)
        finally:
            if sqlite:
                _foreign_keys(connection, on=True)


def _foreign_keys(connection, *, on: bool) -> None:  # noqa: ANN001
    """SQLite only: batch mode rebuilds a table by copying it and dropping the old one, and with
    foreign keys on, DROP TABLE first deletes every row, so ON DELETE CASCADE would empty every
    table that refers to it (a report's files, a file's chunks). The pragma is a no-op inside a
    transaction, so it is set around the migrations' transaction, never within it."""
    connection.exec_driver_sql(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    connection.commit()


def _check_foreign_keys(connection) -> None:  # noqa: ANN001
    """Fail, and so roll back, if the migrations left a row pointing at nothing."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"the migrations left {len(broken)} rows with a broken foreign key")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
