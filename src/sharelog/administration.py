"""An account and its audit entries as the API and the command line show them: one
shape for both (``GET /ss/api/account``, ``sharelog accounts show --json``;
``GET /ss/api/audit``, ``sharelog audit list --json``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sharelog.timestamps import format_timestamp


def account_json(info: Mapping[str, Any]) -> dict[str, Any]:
    """``store.accounts.account_info``'s account, as the contract shows it."""
    return {
        "id": info["id"],
        "name": info["name"],
        "created": format_timestamp(info["created_us"]),
        "retention_days": info["retention_days"],
    }


def audit_entry_json(entry: Mapping[str, Any]) -> dict[str, Any]:
    """One of ``store.audit.entries``, as the contract shows it."""
    return {
        "at": format_timestamp(entry["at_us"]),
        "key": entry["key"],
        "action": entry["action"],
        "target": entry["target"],
    }
