"""Fixtures of the contract tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from sharelog.store.database import Database
from tests.store.test_session_entries import entries_client


@pytest.fixture
def entries_app_client(db: Database) -> Iterator[TestClient]:
    """A server that writes usage objects ahead and reads them (the default)."""
    yield from entries_client(db)
