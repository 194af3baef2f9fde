"""What the dashboard's browser tests share: the site under test and a watched page."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ZONE = "Europe/Berlin"  # the browser's zone: days are cut there, not in UTC


@dataclass
class Site:
    url: str
    key: str

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(
            f"{self.url}{path}", params=params, headers={"Authorization": f"Basic {self.key}"}
        )
        response.raise_for_status()
        if params.get("format") == "ndjson":
            return [orjson.loads(line) for line in response.text.splitlines()]
        return response.json()


class Watched:
    """A page whose requests, console errors and response sizes are all recorded."""

    def __init__(self, browser: Any, site: Site) -> None:
        self.context = browser.new_context(
            viewport={"width": 1360, "height": 1000}, timezone_id=ZONE, locale="en-GB"
        )
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.bytes = 0
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on(
            "console",
            lambda message: self.errors.append(message.text) if message.type == "error" else None,
        )
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("requestfinished", self._count)
        self.site = site

    def _count(self, request: Any) -> None:
        sizes = request.sizes()
        self.bytes += sizes["responseBodySize"] + sizes["responseHeadersSize"]

    def settle(self) -> None:
        """Wait until every action the page started has finished loading."""
        self.page.locator("body[data-busy='0']").wait_for(state="attached")

    def value(self, testid: str) -> int:
        return int(self.page.get_by_test_id(testid).get_attribute("data-value"))

    def window(self) -> dict[str, str]:
        label = self.page.locator("#window")
        return {"from": label.get_attribute("data-from"), "to": label.get_attribute("data-to")}

    def close(self) -> None:
        self.context.close()


def sign_in(watched: Watched) -> None:
    watched.page.get_by_test_id("api-key").fill(watched.site.key)
    watched.page.get_by_test_id("sign-in").click()
    watched.page.locator("#window[data-from]").wait_for()
    watched.settle()
