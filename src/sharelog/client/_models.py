"""Typed results: frozen dataclasses with datetime fields, read from the API's JSON.

Fields a server adds beyond the contract's are ignored, as the contract asks.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, TypeVar

T = TypeVar("T")


def known(cls: type[T], data: dict[str, Any]) -> T:
    """``cls`` from the fields it knows: a server may add others, and clients ignore them."""
    return cls(**{f.name: data[f.name] for f in fields(cls) if f.name in data})  # type: ignore[arg-type]


def parse_time(value: str | None) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _time(value: str) -> datetime:
    parsed = parse_time(value)
    assert parsed is not None
    return parsed


@dataclass(frozen=True, slots=True)
class Figures:
    meetings: int
    seconds: int


@dataclass(frozen=True, slots=True)
class Stats:
    total: Figures
    per_agent: dict[str, Figures]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Stats:
        return cls(
            total=known(Figures, data["total"]),
            per_agent={agent: known(Figures, f) for agent, f in data.get("per_agent", {}).items()},
        )


@dataclass(frozen=True, slots=True)
class Share:
    at: datetime
    type: str
    title: str
    url: str | None


@dataclass(frozen=True, slots=True)
class LocationCount:
    country: str | None
    region: str | None
    city: str | None
    count: int


@dataclass(frozen=True, slots=True)
class Segment:
    joined: datetime
    left: datetime | None


@dataclass(frozen=True, slots=True)
class Viewer:
    id: str
    joined: datetime
    left: datetime | None
    seconds: int
    country: str | None
    region: str | None
    city: str | None
    # Defaults: a server from before segments and browsers does not send them.
    segments: list[Segment] = field(default_factory=list)
    watched_seconds: int | None = None
    browser: str | None = None
    os: str | None = None
    device: str | None = None


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    agent: str
    start: datetime
    end: datetime | None
    duration: int
    shares: list[Share]
    viewer_count: int
    locations: list[LocationCount]
    viewers: list[Viewer] | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    agent_name: str | None = None
    peak: int | None = None
    webcam_seconds: int | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Session:
        viewers = data.get("viewers") or {}
        listed = viewers.get("list")
        return cls(
            id=data["id"],
            agent=data["agent"],
            start=_time(data["start"]),
            end=parse_time(data.get("end")),
            duration=int(data.get("duration", 0)),
            shares=[
                Share(_time(s["at"]), s["type"], s.get("title", ""), s.get("url"))
                for s in data.get("shares", [])
            ],
            viewer_count=int(viewers.get("count", 0)),
            locations=[known(LocationCount, g) for g in viewers.get("locations", [])],
            viewers=None
            if listed is None
            else [
                Viewer(
                    id=v["id"],
                    joined=_time(v["joined"]),
                    left=parse_time(v.get("left")),
                    seconds=int(v.get("seconds", 0)),
                    country=v.get("country"),
                    region=v.get("region"),
                    city=v.get("city"),
                    segments=[
                        Segment(_time(s["joined"]), parse_time(s.get("left")))
                        for s in v.get("segments") or []
                    ],
                    watched_seconds=v.get("watched_seconds"),
                    browser=v.get("browser"),
                    os=v.get("os"),
                    device=v.get("device"),
                )
                for v in listed
            ],
            raw=data,
            agent_name=data.get("agent_name"),
            peak=viewers.get("peak"),
            webcam_seconds=data.get("webcam_seconds"),
        )


@dataclass(frozen=True, slots=True)
class Usage:
    from_: datetime
    to: datetime
    stats: Stats | None
    sessions: list[Session]
    next_cursor: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Usage:
        return cls(
            from_=_time(data["from"]),
            to=_time(data["to"]),
            stats=Stats.from_json(data["stats"]) if "stats" in data else None,
            sessions=[Session.from_json(s) for s in data.get("sessions", [])],
            next_cursor=data.get("next_cursor"),
        )


@dataclass(frozen=True, slots=True)
class NewSession:
    """One session of ``GET /ss/api/usage_new``."""

    session_id: str
    email: str
    agent_name: str | None
    start_date: datetime
    end_date: datetime | None
    duration: int
    session_ended: bool
    webcam_s: int
    viewer_count: int
    max_viewer_count: int
    locations: list[str]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NewSession:
        info = data.get("viewer_info") or {}
        return cls(
            session_id=data["session_id"],
            email=data["email"],
            agent_name=data.get("agent_name"),
            start_date=_time(data["start_date"]),
            end_date=parse_time(data.get("end_date")),
            duration=int(data.get("duration", 0)),
            session_ended=bool(data.get("session_ended", data.get("end_date") is not None)),
            webcam_s=int(data.get("webcam_s", 0)),
            viewer_count=int(info.get("viewer_count", 0)),
            max_viewer_count=int(info.get("max_viewer_count", 0)),
            locations=list(info.get("locations", [])),
        )


@dataclass(frozen=True, slots=True)
class ImportResult:
    received: int
    created: int
    replaced: int


@dataclass(frozen=True, slots=True)
class EventsResult:
    received: int
    accepted: int
    duplicates: int
