"""/docs works offline: every asset it loads is served by sharelog itself."""

from __future__ import annotations

import re

from starlette.testclient import TestClient


def test_docs_page_loads_only_local_assets(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets, "the page loads no assets?"
    for asset in assets:
        assert asset.startswith("/"), f"{asset} is not served by sharelog"
        assert client.get(asset).status_code == 200
    assert "/openapi.json" in page.text
