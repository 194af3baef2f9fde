"""A headless Chromium for the module, and a fresh watched page per test on the module's ``site``."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dashboard.browsing import CHROMIUM, FLAGS, Site, Watched


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but Chromium is missing (make browser installs it)", pytrace=False)
        pytest.skip("no Chromium at /usr/bin/chromium: `make browser` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def watched(browser: Any, site: Site) -> Iterator[Watched]:
    page = Watched(browser, site)
    yield page
    page.close()
