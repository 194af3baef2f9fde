"""The dashboard in a real headless Chromium against a real server with demo data."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sharelog.cli.demo import fill_demo
from sharelog.store.database import Database
from tests.dashboard.browsing import ARTIFACTS, ZONE, Site, Watched, sign_in
from tests.servers import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]
FIRST_LOAD_LIMIT = 300_000


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[Site]:
    path = tmp_path_factory.mktemp("dashboard") / "dashboard.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    key = fill_demo(db, 400, show_progress=False)
    db.dispose()
    server = ServerProcess(f"sqlite:///{path}")
    yield Site(server.url, key)
    server.stop()


def assert_figures_match_the_api(watched: Watched, agent: str | None = None) -> dict[str, Any]:
    window = {**watched.window(), **({"agent": agent} if agent else {})}
    stats = watched.site.get("/ss/api/usage", **window, include="stats")["stats"]
    sessions = watched.site.get("/ss/api/usage", **window, format="ndjson")
    assert watched.value("total-meetings") == stats["total"]["meetings"]
    # Ongoing demo sessions keep counting between the page's request and ours.
    ongoing = sum(1 for s in sessions if s["end"] is None)
    drift = stats["total"]["seconds"] - watched.value("total-seconds")
    assert 0 <= drift <= 30 * ongoing
    rows = watched.page.locator("[data-testid=agents-table] tbody tr")
    assert rows.count() == len(stats["per_agent"])
    assert watched.value("total-viewers") == sum(s["viewers"]["count"] for s in sessions)
    countries = {g["country"] for s in sessions for g in s["viewers"]["locations"]} - {None}
    assert watched.value("total-countries") == len(countries)
    return stats  # type: ignore[no-any-return]


def test_dashboard_shows_the_apis_figures_offline(watched: Watched, site: Site) -> None:
    page = watched.page
    response = page.goto(f"{site.url}/")
    assert (
        response is not None and "default-src 'none'" in response.headers["content-security-policy"]
    )
    page.wait_for_load_state("networkidle")
    first_load = watched.bytes
    assert 0 < first_load < FIRST_LOAD_LIMIT, f"first load transferred {first_load} bytes"

    sign_in(watched)
    stats = assert_figures_match_the_api(watched)
    assert stats["total"]["meetings"] > 0
    # The 28-day window starts at local midnight in the browser's zone, 27 days back.
    start = datetime.fromisoformat(watched.window()["from"]).astimezone(ZoneInfo(ZONE))
    assert (start.hour, start.minute) == (0, 0)
    assert start.date() == datetime.now(ZoneInfo(ZONE)).date() - timedelta(days=27)
    # The bars are the API's days, cut in the browser's zone.
    daily = site.get("/ss/api/usage/daily", **watched.window(), tz=ZONE)
    bars = page.locator("#chart-meetings rect.bar")
    assert [bars.nth(i).get_attribute("data-date") for i in range(bars.count())] == [
        d["date"] for d in daily["days"]
    ]
    assert (
        sum(int(bars.nth(i).get_attribute("data-value")) for i in range(bars.count()))
        == (stats["total"]["meetings"])
    )
    # The key is kept for this tab only and never put in a URL.
    assert page.evaluate("sessionStorage.getItem('sharelog.key')") == site.key
    assert not any(site.key in r for r in watched.requests)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    page.select_option("#range", "7")
    watched.settle()
    week = assert_figures_match_the_api(watched)
    assert week["total"]["meetings"] < stats["total"]["meetings"]

    page.select_option("#range", "90")
    watched.settle()
    quarter = assert_figures_match_the_api(watched)
    agent = sorted(quarter["per_agent"])[0]
    page.select_option("#agent", agent)
    watched.settle()
    assert_figures_match_the_api(watched, agent)
    page.select_option("#agent", "")
    watched.settle()

    # Custom dates: both days included, local midnights in the browser's zone.
    today = datetime.now(ZoneInfo(ZONE)).date()
    first, last = today - timedelta(days=40), today - timedelta(days=20)
    page.select_option("#range", "custom")
    page.get_by_test_id("custom-from").fill(first.isoformat())
    page.get_by_test_id("custom-to").fill(last.isoformat())
    page.get_by_test_id("apply-custom").click()
    watched.settle()
    window = watched.window()
    assert datetime.fromisoformat(window["from"]) == local_midnight(first)
    assert datetime.fromisoformat(window["to"]) == local_midnight(last + timedelta(days=1))
    assert_figures_match_the_api(watched)

    assert watched.errors == []
    assert all(r.startswith(f"{site.url}/") or r.startswith("data:") for r in watched.requests), [
        r for r in watched.requests if not r.startswith(site.url)
    ]


def local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(ZONE))


def test_agents_sort_sessions_page_and_a_session_opens(watched: Watched, site: Site) -> None:
    page = watched.page
    page.goto(f"{site.url}/")
    sign_in(watched)
    page.select_option("#range", "90")
    watched.settle()

    agents = page.locator("[data-testid=agents-table] tbody tr")
    meetings = [int(agents.nth(i).locator("td").nth(1).inner_text()) for i in range(agents.count())]
    assert meetings == sorted(meetings, reverse=True)
    page.locator("[data-testid=agents-table] th[data-key=agent]").click()
    names = [agents.nth(i).get_attribute("data-agent") for i in range(agents.count())]
    assert names == sorted(names)

    window = watched.window()
    pages = [site.get("/ss/api/usage", **window, include="sessions", limit=25)]
    pages.append(
        site.get(
            "/ss/api/usage", **window, include="sessions", limit=25, cursor=pages[0]["next_cursor"]
        )
    )
    rows = page.locator("#sessions-table tbody tr")
    shown = [rows.nth(i).get_attribute("data-session") for i in range(rows.count())]
    assert shown == [s["id"] for s in pages[0]["sessions"]]
    page.get_by_test_id("next-page").click()
    watched.settle()
    shown = [rows.nth(i).get_attribute("data-session") for i in range(rows.count())]
    assert shown == [s["id"] for s in pages[1]["sessions"]]
    assert page.locator("#page-label").inner_text().startswith("26\u201350 of")

    # The session with the most viewers and shares makes the richest view.
    richest = max(
        pages[0]["sessions"] + pages[1]["sessions"],
        key=lambda s: (s["viewers"]["count"], s["viewers"]["peak"], len(s["shares"])),
    )
    if richest in pages[0]["sessions"]:
        page.get_by_test_id("prev-page").click()
        watched.settle()
    page.locator(f"#sessions-table tbody tr[data-session='{richest['id']}']").click()
    watched.settle()
    detail = site.get(f"/ss/api/sessions/{richest['id']}")
    dialog = page.get_by_test_id("session-detail")
    assert dialog.is_visible()
    assert page.locator("#viewers-table tbody tr").count() == len(detail["viewers"]["list"])
    assert page.locator("#timeline rect.share").count() == len(detail["shares"])
    # One bar per segment, each on its viewer's lane.
    for viewer in detail["viewers"]["list"]:
        bars = page.locator(f"#timeline rect.presence[data-viewer='{viewer['id']}']")
        assert bars.count() == len(viewer["segments"])
    assert page.locator("#timeline rect.presence").count() == sum(
        len(v["segments"]) for v in detail["viewers"]["list"]
    )
    assert watched.value("session-peak") == detail["viewers"]["peak"]
    clients = page.get_by_test_id("session-clients").inner_text()
    for viewer in detail["viewers"]["list"]:
        assert viewer["browser"] in clients and viewer["device"] in clients
    assert page.locator("#shares-list li").count() == max(1, len(detail["shares"]))
    for viewer, row in zip(
        detail["viewers"]["list"], page.locator("#viewers-table tbody tr").all(), strict=True
    ):
        assert row.locator("td").first.inner_text() == viewer["id"]
    page.screenshot(path=str(ARTIFACTS / "dashboard-session.png"), full_page=False)
    page.keyboard.press("Escape")
    assert dialog.is_hidden()

    assert watched.errors == []
    assert all(r.startswith(f"{site.url}/") or r.startswith("data:") for r in watched.requests)


def test_a_refused_key_stays_on_the_sign_in_form(watched: Watched, site: Site) -> None:
    page = watched.page
    page.goto(f"{site.url}/")
    page.get_by_test_id("api-key").fill("slk_not_a_key_at_all_00000000000000")
    page.get_by_test_id("sign-in").click()
    page.locator("#signin-error:not(:empty)").wait_for()
    assert "refused" in page.locator("#signin-error").inner_text()
    assert page.locator("#dashboard").is_hidden()
    assert page.evaluate("sessionStorage.getItem('sharelog.key')") is None


def test_the_key_lasts_for_the_tab_and_sign_out_forgets_it(watched: Watched, site: Site) -> None:
    page = watched.page
    page.goto(f"{site.url}/")
    sign_in(watched)
    page.reload()
    page.locator("#window[data-from]").wait_for()
    watched.settle()
    assert watched.value("total-meetings") > 0
    page.locator("#sign-out").click()
    assert page.locator("#signin").is_visible()
    assert page.evaluate("sessionStorage.getItem('sharelog.key')") is None
    # Another tab is another session: it starts signed out.
    other = watched.context.new_page()
    other.goto(f"{site.url}/")
    assert other.locator("#signin").is_visible()
    assert watched.errors == []


def test_the_overview_shows_peak_viewers_and_browsers(watched: Watched, site: Site) -> None:
    page = watched.page
    page.goto(f"{site.url}/")
    sign_in(watched)
    page.select_option("#range", "90")
    watched.settle()
    window = watched.window()
    sessions = site.get("/ss/api/usage", **window, format="ndjson")
    assert watched.value("peak-viewers") == max(s["viewers"]["peak"] for s in sessions)
    clients = site.get("/ss/api/usage/clients", **window)
    rows = page.locator("[data-testid=browsers-table] tbody tr")
    shown = {
        rows.nth(i).locator("td").nth(0).inner_text(): int(
            rows.nth(i).locator("td").nth(1).inner_text().replace(",", "")
        )
        for i in range(rows.count())
    }
    assert shown == {(g["name"] or "Unknown"): g["count"] for g in clients["browsers"]}
    assert sum(shown.values()) == sum(s["viewers"]["count"] for s in sessions)
    assert "Chrome" in shown and "Mobile Safari" in shown
    page.screenshot(path=str(ARTIFACTS / "dashboard-overview.png"), full_page=True)
    assert watched.errors == []
