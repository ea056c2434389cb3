"""The built wheel carries the templates, static files, migrations and translations."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_wheel_includes_everything_the_app_factory_needs(tmp_path):
    from hatchling.builders.wheel import WheelBuilder

    (wheel,) = WheelBuilder(str(ROOT)).build(directory=str(tmp_path), versions=["standard"])
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in (
        "portal/__init__.py",
        "portal/templates/base.html",
        "portal/templates/reporter/report.html",
        "portal/static/portal.css",
        "portal/static/leave.js",
        "portal/migrations/env.py",
        "portal/migrations/alembic.ini",
        "portal/migrations/versions/0001_initial_schema.py",
        "portal/translations/fr/LC_MESSAGES/messages.mo",
    ):
        assert expected in names, expected
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "portal = portal.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_app_factory_finds_its_folders_from_a_checkout():
    from portal import resource_dir

    for name in ("templates", "static", "migrations"):
        assert resource_dir(name) == ROOT / name
