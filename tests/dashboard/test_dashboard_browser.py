"""The dashboard in a real headless Chromium against a real server with demo data."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sharelog.cli.demo import fill_demo
from sharelog.store.database import Database
from tests.servers import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but Chromium is missing (make browser installs it)", pytrace=False)
        pytest.skip("no Chromium here: `make browser` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[tuple[str, str]]:
    path = tmp_path_factory.mktemp("dashboard") / "dashboard.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    key = fill_demo(db, 400, show_progress=False)
    db.dispose()
    server = ServerProcess(f"sqlite:///{path}")
    yield server.url, key
    server.stop()


def api_stats(url: str, key: str, page: Any, agent: str | None = None) -> dict[str, Any]:
    window = page.locator("#window")
    params = {
        "from": window.get_attribute("data-from"),
        "to": window.get_attribute("data-to"),
        "include": "stats",
    }
    if agent:
        params["agent"] = agent
    response = httpx.get(
        f"{url}/ss/api/usage", params=params, headers={"Authorization": f"Basic {key}"}
    )
    response.raise_for_status()
    return response.json()["stats"]  # type: ignore[no-any-return]


def ongoing(url: str, key: str, page: Any) -> int:
    window = page.locator("#window")
    params = {
        "from": window.get_attribute("data-from"),
        "to": window.get_attribute("data-to"),
        "format": "ndjson",
    }
    response = httpx.get(
        f"{url}/ss/api/usage", params=params, headers={"Authorization": f"Basic {key}"}
    )
    return sum(1 for line in response.text.splitlines() if '"end":null' in line)


def settle(page: Any) -> None:
    """Wait until the page's own actions have all finished loading."""
    page.wait_for_function("document.body.dataset.busy === '0'")


def shown(page: Any, testid: str) -> int:
    return int(page.get_by_test_id(testid).get_attribute("data-value"))


def test_sign_in_see_the_figures_change_range_open_a_session(
    browser: Any, site: tuple[str, str]
) -> None:
    url, key = site
    context = browser.new_context(viewport={"width": 1360, "height": 1000})
    page = context.new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    first_load: list[int] = []
    page.on("response", lambda response: first_load.append(len(response.body())))

    page.goto(f"{url}/")
    page.wait_for_load_state("networkidle")
    assert sum(first_load) < 300_000, f"first load transferred {sum(first_load)} bytes"

    page.get_by_test_id("api-key").fill(key)
    page.get_by_test_id("sign-in").click()
    page.wait_for_selector("#window[data-from]")
    settle(page)
    stats = api_stats(url, key, page)
    assert stats["total"]["meetings"] > 0
    assert shown(page, "total-meetings") == stats["total"]["meetings"]
    # Ongoing demo sessions keep counting between the page's request and ours.
    drift = stats["total"]["seconds"] - shown(page, "total-seconds")
    assert 0 <= drift <= 30 * ongoing(url, key, page)
    assert page.locator("[data-testid=agents-table] tbody tr").count() == len(stats["per_agent"])
    # The key is kept for this tab only and never put in a URL.
    assert page.evaluate("sessionStorage.getItem('sharelog.key')") == key
    assert not any(key in r for r in requests)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    page.select_option("#range", "7")
    settle(page)
    week = api_stats(url, key, page)
    assert shown(page, "total-meetings") == week["total"]["meetings"] < stats["total"]["meetings"]

    page.select_option("#range", "90")
    settle(page)
    agent = sorted(api_stats(url, key, page)["per_agent"])[0]
    page.select_option("#agent", agent)
    settle(page)
    assert shown(page, "total-meetings") == api_stats(url, key, page, agent)["total"]["meetings"]

    page.locator("#sessions-table tbody tr").first.click()
    settle(page)
    page.wait_for_selector("[data-testid=session-detail]:not([hidden])")
    session_id = page.locator("#sessions-table tbody tr").first.get_attribute("data-session")
    detail = httpx.get(
        f"{url}/ss/api/sessions/{session_id}", headers={"Authorization": f"Basic {key}"}
    ).json()
    assert page.locator("#viewers-table tbody tr").count() == len(detail["viewers"]["list"])
    page.screenshot(path=str(ARTIFACTS / "dashboard-session.png"), full_page=True)

    assert errors == []
    assert all(r.startswith(url) or r.startswith("data:") for r in requests), [
        r for r in requests if not r.startswith(url)
    ]
    context.close()


def test_a_refused_key_stays_on_the_sign_in_form(browser: Any, site: tuple[str, str]) -> None:
    url, _ = site
    page = browser.new_page()
    page.goto(f"{url}/")
    page.get_by_test_id("api-key").fill("slk_not_a_key_at_all_00000000000000")
    page.get_by_test_id("sign-in").click()
    page.wait_for_function("document.getElementById('signin-error').textContent.length > 0")
    assert "refused" in page.locator("#signin-error").text_content()
    assert page.locator("#dashboard").is_hidden()
    page.close()
