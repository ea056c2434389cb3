"""Flask extensions, created unbound and wired to an app by :func:`init_app`."""

from __future__ import annotations

from flask import Flask
from flask_babel import Babel
from flask_migrate import Migrate
from flask_wtf import CSRFProtect
from sqlalchemy import event

from portal.db import db

babel = Babel()
csrf = CSRFProtect()
migrate = Migrate()


def _configure_sqlite_connection(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    # SQLite ignores ON DELETE CASCADE unless asked; deleting a report relies on it.
    cursor.execute("PRAGMA foreign_keys=ON")
    # Overwrite deleted rows with zeros, so a destroyed wrapped key does not linger in free pages.
    cursor.execute("PRAGMA secure_delete=ON")
    # Reporters submit at the same moment. In the default rollback-journal mode a writer that
    # commits waits for every reader, and two transactions that each read then write deadlock, so
    # SQLite answers one of them "database is locked" at once, without waiting. With a write-ahead
    # log, readers and the writer no longer block each other and writers queue for up to 30 s.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Keep the log's old page images (deleted rows among them) from lingering: after each
    # checkpoint the file is cut back to nothing.
    cursor.execute("PRAGMA journal_size_limit=0")
    cursor.close()


def init_app(app: Flask) -> None:
    from portal import resource_dir
    from portal.web import select_locale

    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _configure_sqlite_connection)
    migrate.init_app(app, db, directory=str(resource_dir("migrations")), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)


__all__ = ["babel", "csrf", "db", "migrate", "init_app"]
