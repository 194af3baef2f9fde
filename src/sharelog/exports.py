"""The CSV export's columns, shared by the server's stream and the client's writer.

Pure Python with no dependency, so the client can use it without the server.
"""

from __future__ import annotations

from typing import Any

# peak and agent_name came later: appended, so that readers by position still work.
CSV_COLUMNS = (
    "id",
    "agent",
    "start",
    "end",
    "duration",
    "shares",
    "viewers",
    "countries",
    "peak",
    "agent_name",
)


def csv_row(session: dict[str, Any]) -> tuple[Any, ...]:
    """One session (as in a usage document) as a CSV row: counts, and countries joined by ``;``."""
    viewers = session["viewers"]
    countries = sorted({g["country"] for g in viewers.get("locations", []) if g["country"]})
    return (
        session["id"],
        session["agent"],
        session["start"],
        session["end"] or "",
        session["duration"],
        len(session["shares"]),
        viewers["count"],
        ";".join(countries),
        viewers.get("peak", 0),
        session.get("agent_name") or "",
    )
