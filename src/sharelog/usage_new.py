"""``GET /ss/api/usage_new``: CrankWheel's newer usage shape, from a usage session.

Country names are ISO 3166's English short names, from pycountry; a code it
does not know (a reserved or user-assigned one) is shown as the code itself.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pycountry


@lru_cache(maxsize=512)
def country_name(code: str) -> str:
    country = pycountry.countries.get(alpha_2=code)
    return code if country is None else str(country.name)


def location_text(group: dict[str, Any]) -> str | None:
    """``City, Country``, else ``Region, Country``, else ``Country``; None when unknown.

    A place without a country is shown alone (``City`` or ``Region``).
    """
    place = group["city"] or group["region"]
    country = None if group["country"] is None else country_name(group["country"])
    parts = [p for p in (place, country) if p]
    return ", ".join(parts) if parts else None


def location_strings(groups: list[dict[str, Any]]) -> list[str]:
    """One string per distinct known location, in usage's order; ``*`` marks those
    looked up from an ip. A group holding both kinds gives the exact one first."""
    result: dict[str, None] = {}
    for group in groups:
        text = location_text(group)
        if text is None:
            continue
        for by_ip in group.get("by_ip", [False]):
            result.setdefault(text + "*" if by_ip else text)
    return list(result)


def usage_new_session(session: dict[str, Any]) -> dict[str, Any]:
    """A usage session (built with location sources) in usage_new's shape."""
    viewers = session["viewers"]
    return {
        "session_id": session["id"],
        "email": session["agent"],
        "agent_name": session["agent_name"],
        "start_date": session["start"],
        "end_date": session["end"],
        "duration": session["duration"],
        "session_ended": session["end"] is not None,
        "webcam_s": session["webcam_seconds"],
        "viewer_info": {
            "viewer_count": viewers["count"],
            "max_viewer_count": viewers["peak"],
            "locations": location_strings(viewers["locations"]),
        },
    }
