"""Every setting and every command is documented for operators."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from portal.cli import main
from portal.config import SETTINGS

OPERATIONS = (Path(__file__).resolve().parent.parent / "docs" / "operations.md").read_text("utf-8")


def command_paths(group: click.Group, prefix: str = "portal") -> list[str]:
    paths = []
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            paths.extend(command_paths(command, path))
        else:
            paths.append(path)
    return paths


@pytest.mark.parametrize("setting", [s.name for s in SETTINGS])
def test_every_setting_is_documented(setting):
    assert f"`PORTAL_{setting}`" in OPERATIONS


@pytest.mark.parametrize("path", command_paths(main))
def test_every_command_is_documented(path):
    assert f"`{path}" in OPERATIONS


def test_every_setting_has_help():
    for setting in SETTINGS:
        assert setting.help.strip(), setting.name
