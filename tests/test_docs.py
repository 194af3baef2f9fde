"""The README documents every setting, endpoint and command: a test fails when one is missing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sharelog.api import create_app
from sharelog.config import Settings, settings_table

README = (Path(__file__).parents[1] / "README.md").read_text()


@pytest.mark.parametrize("variable", [name for name, _, _ in settings_table()])
def test_every_setting_is_in_the_readme(variable: str) -> None:
    assert f"`{variable}`" in README


def test_every_endpoint_is_in_the_readme(tmp_path: Path) -> None:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'docs.db'}"))
    for path in app.openapi()["paths"]:
        # A path parameter stands for any example value: /ss/api/webhooks/ep_x/test.
        example = re.sub(r"\\\{[^}]*\\\}", r'[^/\\s"?]*', re.escape(path))
        assert re.search(example + r'(?:[\s"?]|$)', README), f"{path} has no example in the README"


@pytest.mark.parametrize(
    "command",
    [
        "serve",
        "db upgrade",
        "accounts create",
        "keys create",
        "keys list",
        "keys revoke",
        "demo",
        "usage",
    ],
)
def test_every_command_is_in_the_readme(command: str) -> None:
    assert f"sharelog {command}" in README
