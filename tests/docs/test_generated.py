"""The generated parts of the docs match the code: run ``make docs-gen`` when one fails."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from sharelog.config import settings_table
from sharelog.reference import command_paths, openapi_text, setting_unit
from tests.docs.blocks import DOCS, ROOT

COG_PAGES = sorted(
    p for p in DOCS.rglob("*.md") if re.search(r"^<!-- \[\[\[cog", p.read_text(), re.M)
)


def test_the_generated_pages_are_the_expected_ones() -> None:
    assert [p.relative_to(DOCS).as_posix() for p in COG_PAGES] == [
        "configuration.md",
        "reference/cli.md",
        "reference/openapi.md",
    ]


@pytest.mark.parametrize("page", COG_PAGES, ids=lambda p: p.relative_to(DOCS).as_posix())
def test_cog_output_is_up_to_date(page: object) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cogapp", "--check", str(page)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, (
        f"out of date, run `make docs-gen`:\n{result.stdout}{result.stderr}"
    )


def test_the_openapi_document_is_the_served_one() -> None:
    kept = (DOCS / "reference" / "openapi.json").read_text()
    assert kept == openapi_text(), "docs/reference/openapi.json is out of date: run `make docs-gen`"


@pytest.mark.parametrize("variable", [name for name, _, _ in settings_table()])
def test_every_setting_is_documented_with_its_default(variable: str) -> None:
    page = (DOCS / "configuration.md").read_text()
    default = dict((name, value) for name, value, _ in settings_table())[variable]
    row = next((line for line in page.splitlines() if line.startswith(f"| `{variable}` |")), None)
    assert row is not None, f"{variable} is not in docs/configuration.md: run `make docs-gen`"
    assert (f"`{default}`" if default else "(empty)") in row
    if setting_unit(variable):
        assert setting_unit(variable) in row


def test_every_command_has_its_help_on_the_cli_page() -> None:
    page = (DOCS / "reference" / "cli.md").read_text()
    paths = command_paths()
    assert ("keys", "create") in paths and ("serve",) in paths
    for path in paths:
        assert f"## `sharelog {' '.join(path)}`" in page
        assert f"Usage: sharelog {' '.join(path)} " in page
