"""Schemathesis against our own OpenAPI document and against CrankWheel's Swagger 2.0
description of the usage endpoint: no 5xx, and every response conforms to our schema.

A bounded run is part of `make test`; `make fuzz` sets SHARELOG_FUZZ_EXAMPLES higher.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from sharelog.api import create_app
from sharelog.config import Settings
from sharelog.store import migrate
from sharelog.store.database import Database
from tests.conftest import make_tenant

EXAMPLES = int(os.environ.get("SHARELOG_FUZZ_EXAMPLES", "25"))
SEED = Path(__file__).resolve().parents[1] / ".." / "shared" / "spec" / "seed-swagger.yaml"

_folder = tempfile.mkdtemp(prefix="sharelog-fuzz-")
_db = Database(f"sqlite:///{_folder}/fuzz.db")
migrate.upgrade(_db.engine)
_tenant = make_tenant(_db, "fuzz")
app = create_app(Settings(database_url=_db.url), database=_db)
HEADERS = {"Authorization": f"Basic {_tenant.write_key}"}
OURS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)

schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@FUZZ
def test_our_openapi_document(case: Any) -> None:
    case.call_and_validate(headers=HEADERS, checks=OURS)


def _seed_schema() -> Any:
    if not SEED.exists():
        return None
    seed = schemathesis.openapi.from_path(SEED)
    seed.app = app
    return seed


seed_schema = _seed_schema()


@pytest.mark.skipif(seed_schema is None, reason=f"{SEED} not found beside the project")
def test_seed_swagger_finds_the_usage_endpoint() -> None:
    assert seed_schema is not None
    [operation] = [op.ok() for op in seed_schema.get_all_operations()]
    case = operation.Case(query={"from": "2026-11-01", "to": "2026-11-02"})
    response = case.call(headers=HEADERS)
    # The base path /ss/api of their description leads to our endpoint.
    assert response.status_code == 200
    assert response.json()["from"] == "2026-11-01T00:00:00Z"


if seed_schema is not None:

    @seed_schema.parametrize()
    @FUZZ
    def test_crankwheel_swagger_against_our_server(case: Any) -> None:
        # Their description documents only 200; what we answer must be no 5xx
        # and, where it is one of ours, conform to our own document.
        response = case.call(headers=HEADERS)
        assert response.status_code < 500, response.text
        assert response.headers["content-type"][0].startswith("application/json")
        if response.status_code == 200:
            body = response.json()
            assert {"from", "to", "stats", "sessions"} <= set(body)
        else:
            assert set(response.json()) == {"error"}
