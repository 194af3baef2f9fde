"""The prose pages mention every endpoint, command and setting, and links stay in the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sharelog.config import Settings, settings_table
from sharelog.reference import command_paths
from tests.docs.blocks import DOCS, ROOT

API = (DOCS / "api.md").read_text()
MARKDOWN = [ROOT / "README.md", ROOT / "SECURITY.md", *sorted(DOCS.rglob("*.md"))]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def _operations(tmp_path: Path) -> list[tuple[str, str]]:
    from sharelog.api import create_app

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'docs.db'}"))
    return [
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    ]


def test_every_endpoint_has_a_section_and_a_curl(tmp_path: Path) -> None:
    operations = _operations(tmp_path)
    assert ("GET", "/ss/api/usage") in operations
    for method, path in operations:
        shown = re.sub(r"\{\w+_id\}", "{id}", path)
        if path.startswith("/ss/api/"):
            assert f"## `{method} {shown}`" in API, f"{method} {path} has no section in docs/api.md"
        # A path parameter stands for any value: an id, or a shell variable holding one.
        example = re.compile(
            re.sub(r"\\\{[^}]*\\\}", r'[^/"\\s]*', re.escape(path)) + r'(?:[/"?\s]|$)'
        )
        curls = [
            line for line in API.splitlines() if line.startswith("curl") and example.search(line)
        ]
        if method != "GET":
            curls = [line for line in curls if f"-X {method}" in line or method == "POST"]
        assert curls, f"{method} {path} has no curl in docs/api.md"


def test_every_setting_is_named_in_the_prose() -> None:
    """Not only in the generated table: some page says what each setting is for."""
    prose = "".join(p.read_text() for p in DOCS.rglob("*.md") if p.name not in {"configuration.md"})
    missing = [name for name, _, _ in settings_table() if name not in prose]
    # Tolerated: settings whose table line says all there is to say.
    assert set(missing) <= {"SHARELOG_HOST", "SHARELOG_PORT", "SHARELOG_LOG_LEVEL"}, missing


@pytest.mark.parametrize("path", command_paths(), ids=" ".join)
def test_every_command_is_used_or_explained_outside_its_help(path: tuple[str, ...]) -> None:
    prose = "".join(p.read_text() for p in DOCS.rglob("*.md") if p.name != "cli.md")
    prose += (ROOT / "README.md").read_text()
    assert f"sharelog {' '.join(path)}" in prose


@pytest.mark.parametrize("page", MARKDOWN, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_links_stay_in_the_repository_and_resolve(page: Path) -> None:
    for target in LINK.findall(page.read_text()):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        file_part = target.split("#")[0]
        # In the site, "/page.md" is relative to docs/ (mkdocs.yml: relative_to_docs).
        base = DOCS if file_part.startswith("/") and page.is_relative_to(DOCS) else page.parent
        resolved = (base / file_part.lstrip("/")).resolve()
        assert resolved.is_relative_to(ROOT), f"{page.name}: {target} leaves the repository"
        assert resolved.exists(), f"{page.name}: {target} does not exist"


def test_the_readme_keeps_its_two_commands_and_links_into_the_site() -> None:
    readme = (ROOT / "README.md").read_text()
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "make run" in quick_start and "make test" in quick_start
    for page in ("docs/api.md", "docs/configuration.md", "docs/security.md", "docs/sync.md"):
        assert f"]({page}" in readme


def test_moved_pages_have_one_source() -> None:
    security = (ROOT / "SECURITY.md").read_text()
    assert "docs/security.md" in security
    assert "## What is protected" not in security  # the content lives in docs/security.md
    assert "## What is protected" in (DOCS / "security.md").read_text()


def test_every_limit_is_in_the_api_reference() -> None:
    """Each bound of sharelog/limits.py appears, with its value, in docs/api.md."""
    from sharelog import limits

    values = {
        name: value
        for name, value in vars(limits).items()
        if name.isupper() and type(value) is int and name != "MAX_WEBCAM_SECONDS"
    }
    assert values["MAX_EVENTS_PER_REQUEST"] == 5000
    missing = [name for name, value in values.items() if f"{value:,}" not in API]
    assert not missing, f"limits not in docs/api.md: {missing}"
    assert "10<sup>12</sup>" in API and limits.MAX_WEBCAM_SECONDS == 10**12
