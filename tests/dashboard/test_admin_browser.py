"""The dashboard's Administration view in a real headless Chromium against a real server."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from sharelog.domain import Scope
from sharelog.store import accounts as account_store
from sharelog.store.database import Database
from sharelog.timestamps import now_us
from tests.dashboard.browsing import ARTIFACTS, Site, Watched
from tests.servers import ServerProcess
from tests.webhooks.receiver import Receiver, receiver

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SCREENSHOT = Path("/tmp/dash15-admin.png")
# Text that would become markup if the page ever built HTML from the API's strings.
NOTHING = "\u2013"  # the en dash the page shows for an empty field
MARKUP = '<img src=x onerror="document.title=1"><b>CRM</b>'


@dataclass
class AdminSite(Site):
    """``key`` is an admin key; ``read_key`` one that may not administer."""

    read_key: str
    receiver: Receiver

    def call(self, method: str, path: str, key: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key or self.key}"}
        return httpx.request(method, f"{self.url}{path}", headers=headers, **kwargs)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Iterator[AdminSite]:
    path = tmp_path_factory.mktemp("dashboard-admin") / "admin.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    with db.writing() as conn:
        account = account_store.create_account(conn, "acme", now_us())
        admin = account_store.create_key(conn, account.id, Scope.ADMIN, now_us())
        read = account_store.create_key(conn, account.id, Scope.READ, now_us())
    db.dispose()
    # The receiver listens on loopback, which webhooks may reach only when allowed.
    env = {"SHARELOG_WEBHOOK_ALLOW_PRIVATE": "true", "SHARELOG_LOG_LEVEL": "warning"}
    with receiver() as listening:
        listening.answers["/gone"] = (410, {})
        server = ServerProcess(f"sqlite:///{path}", env=env)
        yield AdminSite(server.url, admin, read, listening)
        server.stop()


def eventually(check: Callable[[], Any], timeout: float = 20.0) -> Any:
    """``check()``'s first truthy answer, polled: deliveries happen in the background."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := check():
            return found
        time.sleep(0.2)
    raise AssertionError(f"not true within {timeout} s")


def open_admin(watched: Watched, key: str) -> None:
    """Sign in on /#admin and wait until the view (or its refusal) has loaded."""
    page = watched.page
    page.goto(f"{watched.site.url}/#admin")
    page.get_by_test_id("api-key").fill(key)
    page.get_by_test_id("sign-in").click()
    page.locator("#admin-body:not([hidden]), #admin-denied:not([hidden])").first.wait_for()
    watched.settle()


def cells(row: Any) -> list[str]:
    return [c.inner_text() for c in row.locator("td").all()]


def assert_deliveries_match_the_api(watched: Watched, site: AdminSite, endpoint: str) -> None:
    messages = site.call("GET", f"/ss/api/webhooks/{endpoint}/messages", params={"limit": 20})
    expected = messages.json()["messages"]
    rows = watched.page.locator("#deliveries-table tbody tr").all()
    assert [r.get_attribute("data-message") for r in rows] == [m["id"] for m in expected]
    for row, message in zip(rows, expected, strict=True):
        shown = cells(row)
        assert shown[1:5] == [
            message["type"],
            message["status"],
            str(message["attempts"]),
            NOTHING if message["last_status_code"] is None else str(message["last_status_code"]),
        ]
        assert shown[5] == (message["last_error"] or NOTHING)


def test_the_page_lists_the_webhooks_and_their_deliveries(
    watched: Watched, site: AdminSite
) -> None:
    created = []
    for path, events, description in (
        ("/ok", ["session.ended"], MARKUP),
        ("/gone", ["*"], None),
    ):
        body = {"url": f"{site.receiver.url}{path}", "events": events}
        if description:
            body["description"] = description
        response = site.call("POST", "/ss/api/webhooks", json=body)
        assert response.status_code == 201, response.text
        created.append(response.json()["id"])
        assert site.call("POST", f"/ss/api/webhooks/{created[-1]}/test").status_code == 202
    ok, gone = created

    def settled(endpoint: str) -> Any:
        messages = site.call("GET", f"/ss/api/webhooks/{endpoint}/messages").json()["messages"]
        return messages if all(m["attempts"] > 0 for m in messages) else None

    assert eventually(lambda: settled(ok))[0]["status"] == "delivered"
    # A 410 disables the endpoint at once; its message waits, tried once.
    assert eventually(lambda: settled(gone))[0]["last_status_code"] == 410

    open_admin(watched, site.key)
    page = watched.page
    listed = site.call("GET", "/ss/api/webhooks").json()["webhooks"]
    rows = page.locator("#webhooks-table tbody tr").all()
    assert [r.get_attribute("data-endpoint") for r in rows] == [w["id"] for w in listed]
    for row, endpoint in zip(rows, listed, strict=True):
        shown = cells(row)
        assert shown[0] == endpoint["url"]
        assert shown[1] == (endpoint["description"] or NOTHING)
        assert shown[2] == ", ".join(endpoint["events"])
        assert shown[3].startswith("enabled" if endpoint["enabled"] else "disabled")
        if endpoint["disabled_reason"]:
            assert endpoint["disabled_reason"] in shown[3]
    assert not next(w for w in listed if w["id"] == gone)["enabled"]
    # The API's text stays text: no element was made from it, no script ran.
    assert page.locator("#webhooks-table img, #webhooks-table b").count() == 0
    assert page.title() == "sharelog · administration"

    # The first endpoint's log is shown at once; a click shows another's.
    first = listed[0]["id"]
    assert page.locator(f"tr[data-endpoint='{first}']").get_attribute("aria-current") == "true"
    assert_deliveries_match_the_api(watched, site, first)
    for endpoint in (gone, ok):
        page.locator(f"#webhooks-table tr[data-endpoint='{endpoint}']").click()
        watched.settle()
        url = next(w["url"] for w in listed if w["id"] == endpoint)
        assert page.locator("#deliveries-url").inner_text() == url
        assert_deliveries_match_the_api(watched, site, endpoint)

    # A test message sent from the page is in the API's log, and on the page.
    page.get_by_test_id("send-test").click()
    watched.settle()
    messages = site.call("GET", f"/ss/api/webhooks/{ok}/messages").json()["messages"]
    assert len(messages) == 2 and messages[0]["type"] == "webhook.test"
    newest = page.locator("#deliveries-table tbody tr").first
    assert newest.get_attribute("data-message") == messages[0]["id"]
    eventually(lambda: settled(ok))
    page.select_option("#deliveries-status", "delivered")
    watched.settle()
    assert page.locator("#deliveries-table tbody tr[data-status='delivered']").count() == 2

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    shutil.copy(SCREENSHOT, ARTIFACTS / "dashboard-admin.png")
    assert watched.errors == []
    assert all(r.startswith(f"{site.url}/") or r.startswith("data:") for r in watched.requests)


def test_older_deliveries_come_below_the_newest(watched: Watched, site: AdminSite) -> None:
    body = {"url": f"{site.receiver.url}/gone", "events": ["*"], "description": "paged"}
    endpoint = site.call("POST", "/ss/api/webhooks", json=body).json()["id"]
    for _ in range(25):
        assert site.call("POST", f"/ss/api/webhooks/{endpoint}/test").status_code == 202
    everything = site.call("GET", f"/ss/api/webhooks/{endpoint}/messages", params={"limit": 100})
    expected = [m["id"] for m in everything.json()["messages"]]
    assert len(expected) == 25

    open_admin(watched, site.key)
    page = watched.page
    page.locator(f"#webhooks-table tr[data-endpoint='{endpoint}']").click()
    watched.settle()
    rows = page.locator("#deliveries-table tbody tr")
    assert [r.get_attribute("data-message") for r in rows.all()] == expected[:20]
    page.get_by_test_id("deliveries-more").click()
    watched.settle()
    assert [r.get_attribute("data-message") for r in rows.all()] == expected
    assert page.get_by_test_id("deliveries-more").is_hidden()
    assert watched.errors == []


def test_a_key_made_in_the_page_works_until_it_is_revoked_there(
    watched: Watched, site: AdminSite
) -> None:
    open_admin(watched, site.key)
    page = watched.page
    page.select_option("#new-key-scope", "write")
    page.get_by_test_id("create-key").click()
    watched.settle()
    box = page.get_by_test_id("new-key-box")
    assert box.is_visible() and "will not be shown again" in box.inner_text()
    key = page.get_by_test_id("new-key").inner_text()
    prefix = key[:12]
    page.screenshot(path=str(ARTIFACTS / "dashboard-admin-new-key.png"), full_page=True)

    listed = {k["prefix"]: k for k in site.call("GET", "/ss/api/keys").json()["keys"]}
    assert listed[prefix]["scope"] == "write" and listed[prefix]["revoked"] is None
    assert site.call("GET", "/ss/api/usage", key=key).status_code == 200
    assert site.call("GET", "/ss/api/keys", key=key).status_code == 403  # write, not admin
    row = page.locator(f"#keys-table tr[data-prefix='{prefix}']")
    assert cells(row)[1] == "write" and row.get_attribute("data-revoked") == "false"
    watched.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.url)
    page.get_by_role("button", name="Copy", exact=True).click()
    page.locator("#copy-state:not(:empty)").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == key
    # The key itself is shown once, then forgotten; it was never in a URL.
    page.get_by_test_id("dismiss-key").click()
    assert box.is_hidden() and page.get_by_test_id("new-key").inner_text() == ""
    assert not any(key in r for r in watched.requests)

    # Revoking asks first; Cancel leaves the key alone.
    row.get_by_test_id("revoke-key").click()
    row.get_by_role("button", name="Cancel").click()
    assert row.get_by_test_id("revoke-key").is_visible()
    assert site.call("GET", "/ss/api/usage", key=key).status_code == 200
    row.get_by_test_id("revoke-key").click()
    row.get_by_test_id("confirm-revoke").click()
    watched.settle()

    refused = site.call("GET", "/ss/api/usage", key=key)
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthorized"
    listed = {k["prefix"]: k for k in site.call("GET", "/ss/api/keys").json()["keys"]}
    assert listed[prefix]["revoked"] is not None
    row = page.locator(f"#keys-table tr[data-prefix='{prefix}']")
    assert row.get_attribute("data-revoked") == "true" and "revoked" in cells(row)[4]
    assert row.get_by_test_id("revoke-key").count() == 0
    actions = [cells(r)[2:] for r in page.locator("#audit-table tbody tr").all()[:2]]
    assert actions == [["key.revoked", prefix], ["key.created", prefix]]
    assert watched.errors == []


def test_revoking_the_tabs_own_key_signs_out(watched: Watched, site: AdminSite) -> None:
    own = site.call("POST", "/ss/api/keys", json={"scope": "admin"}).json()
    open_admin(watched, own["key"])
    row = watched.page.locator(f"#keys-table tr[data-prefix='{own['prefix']}']")
    assert "(this tab)" in cells(row)[0]
    row.get_by_test_id("revoke-key").click()
    assert "sign out" in row.inner_text()
    row.get_by_test_id("confirm-revoke").click()
    watched.page.locator("#signin:not([hidden])").wait_for()
    assert own["prefix"] in watched.page.locator("#signin-error").inner_text()
    assert watched.page.evaluate("sessionStorage.getItem('sharelog.key')") is None
    assert site.call("GET", "/ss/api/usage", key=own["key"]).status_code == 401


def test_a_read_key_is_told_that_an_admin_key_is_needed(watched: Watched, site: AdminSite) -> None:
    page = watched.page
    page.goto(f"{site.url}/")
    page.get_by_test_id("api-key").fill(site.read_key)
    page.get_by_test_id("sign-in").click()
    page.locator("#window[data-from]").wait_for()
    watched.settle()
    page.get_by_test_id("admin-tab").click()
    denied = page.get_by_test_id("admin-denied")
    denied.wait_for()
    watched.settle()
    assert "admin key is needed" in denied.inner_text()
    assert "scope is read" in page.locator("#admin-denied-reason").inner_text()
    assert page.locator("#admin-body").is_hidden()
    assert page.locator("#keys-table tbody tr").count() == 0
    page.screenshot(path=str(ARTIFACTS / "dashboard-admin-denied.png"))
    # The usage overview is still there for this key.
    page.get_by_test_id("usage-tab").click()
    page.locator("#dashboard:not([hidden])").wait_for()
    assert denied.is_hidden()
    page.get_by_test_id("admin-tab").click()
    denied.wait_for()
    watched.settle()
    page.get_by_role("button", name="Sign in with another key").click()
    assert page.locator("#signin").is_visible() and denied.is_hidden()
    assert page.evaluate("sessionStorage.getItem('sharelog.key')") is None
    # Chromium logs each refused request; nothing else may go wrong.
    assert [e for e in watched.errors if "status of 403" not in e] == []
