"""What the contract's core says a session is, written from its words: the reference
the tests of this folder hold the server to, with the strategies that draw events and
imports, and the helpers they share."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from sharelog.timestamps import now_us
from tests.conftest import Api, session_body

_tenants = itertools.count()

WIDE = {"from": "1970-01-01", "to": "9999-01-01"}


def events(*items: dict[str, Any]) -> dict[str, Any]:
    return {"events": list(items)}


def started(eid: str, sid: str, at: object, agent: str = "alice@example.com") -> dict[str, Any]:
    return {"id": eid, "type": "session.started", "session": sid, "at": at, "agent": agent}


# --- POST /ss/api/events against the contract's words ----------------------------------

BASE = 1_793_606_400  # 2026-11-02T08:00:00Z


def _iso(us: int) -> str:
    from sharelog.timestamps import format_timestamp

    return format_timestamp(us)


def _location_key(group: dict[str, Any]) -> tuple[Any, ...]:
    return (
        -group["count"],
        *((v is None, v or "") for v in (group["country"], group["region"], group["city"])),
    )


def reference_session(evs: list[dict[str, Any]], now_us: int) -> dict[str, Any] | None:
    """The session that all of its events say, per the contract's text (ties by event id)."""
    us = lambda e: round(e["at"] * 1_000_000)  # noqa: E731 (the drawn values are exact)
    starts = sorted((us(e), e["id"], e) for e in evs if e["type"] == "session.started")
    if not starts:
        return None
    start, _, first = starts[0]
    ends = [us(e) for e in evs if e["type"] == "session.ended"]
    end = max(ends) if ends else None
    shares = [
        {
            "at": _iso(us(e)),
            "type": e["share_type"],
            "title": e.get("title", ""),
            "url": e.get("url"),
        }
        for e in sorted(
            (e for e in evs if e["type"] == "share.started"), key=lambda e: (us(e), e["id"])
        )
    ]
    viewers: dict[str, dict[str, Any]] = {}
    for vid in sorted({e["viewer"] for e in evs if e["type"] == "viewer.joined"}):
        joins = sorted(
            (us(e), e["id"], e) for e in evs if e["type"] == "viewer.joined" and e["viewer"] == vid
        )
        leaves = [us(e) for e in evs if e["type"] == "viewer.left" and e["viewer"] == vid]
        last_join = max(j[0] for j in joins)
        left = max(leaves) if leaves and max(leaves) >= last_join else None
        located = [j[2]["location"] for j in joins if "location" in j[2]]
        place = located[0] if located else {}
        viewers[vid] = {
            "joined": joins[0][0],
            "left": left,
            "place": (
                place["country"].upper() if place.get("country") else None,
                place.get("region"),
                place.get("city"),
            ),
        }
    groups: dict[tuple[Any, ...], int] = {}
    for v in viewers.values():
        groups[v["place"]] = groups.get(v["place"], 0) + 1
    locations = sorted(
        ({"country": c, "region": r, "city": t, "count": n} for (c, r, t), n in groups.items()),
        key=_location_key,
    )
    runs_to = now_us if end is None else end
    listed = sorted(viewers.items(), key=lambda kv: (kv[1]["joined"], kv[0]))
    return {
        "id": first["session"],
        "agent": first["agent"].lower(),
        "start": _iso(start),
        "end": None if end is None else _iso(end),
        "duration": max(0, runs_to - start) // 1_000_000,
        "shares": shares,
        "viewers": {"count": len(viewers), "locations": locations},
        "list": [
            {
                "id": vid,
                "joined": _iso(v["joined"]),
                "left": None if v["left"] is None else _iso(v["left"]),
                "seconds": max(0, (runs_to if v["left"] is None else v["left"]) - v["joined"])
                // 1_000_000,
                "country": v["place"][0],
                "region": v["place"][1],
                "city": v["place"][2],
            }
            for vid, v in listed
        ],
    }


_ids = st.text(alphabet="abAB09._:-", min_size=1, max_size=4)
_at = st.integers(min_value=0, max_value=12).map(lambda n: BASE + n * 0.25)
_place = st.sampled_from(
    [None, {"country": "IS"}, {"country": "us", "city": "Boston"}, {"region": "Zed"}, {}]
)


def _event() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.builds(
            lambda at, a: {"type": "session.started", "at": at, "agent": a},
            _at,
            st.sampled_from(["a@example.com", "B@Example.com", "c@example.com"]),
        ),
        st.builds(lambda at: {"type": "session.ended", "at": at}, _at),
        st.builds(
            lambda at, t, title, url: {
                "type": "share.started",
                "at": at,
                "share_type": t,
                "title": title,
                **({"url": url} if url else {}),
            },
            _at,
            st.sampled_from(["screen", "window", "tab", "other"]),
            st.sampled_from(["", "x", "ü"]),
            st.sampled_from([None, "https://e.x/"]),
        ),
        st.builds(
            lambda at, v, p: {
                "type": "viewer.joined",
                "at": at,
                "viewer": v,
                **({"location": p} if p is not None else {}),
            },
            _at,
            st.sampled_from(["v1", "v2", "V1"]),
            _place,
        ),
        st.builds(
            lambda at, v: {"type": "viewer.left", "at": at, "viewer": v},
            _at,
            st.sampled_from(["v1", "v2", "V1"]),
        ),
    )


def _three(api: Api) -> None:
    api.import_sessions(
        session_body("a", start="2026-11-02T10:00:00Z"),
        session_body("b", start="2026-11-02T10:00:00Z", agent="bob@example.com"),
        session_body("c", start="2026-11-02T10:00:01Z"),
    )


# --- Imports and events interleaved, against the contract's words --------------------


def _import_as_events(body: dict[str, Any], n: int) -> list[dict[str, Any]]:
    """An import's values standing as events would (keys sort before any event id)."""
    sid = body["id"]
    out: list[dict[str, Any]] = [
        {
            "id": f" {n}-start",
            "type": "session.started",
            "session": sid,
            "at": body["start"],
            "agent": body["agent"],
        }
    ]
    if body.get("end") is not None:
        out.append({"id": f" {n}-end", "type": "session.ended", "session": sid, "at": body["end"]})
    for i, share in enumerate(body.get("shares", [])):
        out.append(
            {
                "id": f" {n}-share-{i:04d}",
                "type": "share.started",
                "session": sid,
                "at": share["at"],
                "share_type": share["type"],
                "title": share.get("title", ""),
                **({"url": share["url"]} if share.get("url") else {}),
            }
        )
    for v in body.get("viewers", []):
        out.append(
            {
                "id": f" {n}-join-{v['id']}",
                "type": "viewer.joined",
                "session": sid,
                "at": v["joined"],
                "viewer": v["id"],
                **({"location": v["location"]} if "location" in v else {}),
            }
        )
        if v.get("left") is not None:
            out.append(
                {
                    "id": f" {n}-leave-{v['id']}",
                    "type": "viewer.left",
                    "session": sid,
                    "at": v["left"],
                    "viewer": v["id"],
                }
            )
    return out


# Imported instants are on another grid than the events': no ties between the two.
_import_at = st.integers(min_value=0, max_value=12).map(lambda n: BASE + n * 0.25 + 0.1)


@st.composite
def _import(draw: st.DrawFn) -> dict[str, Any]:
    start = draw(_import_at)
    end = draw(st.one_of(st.none(), _import_at.filter(lambda t: t >= start)))
    shares = draw(
        st.lists(
            st.builds(
                lambda at, t, title: {"at": at, "type": t, "title": title},
                _import_at,
                st.sampled_from(["screen", "tab"]),
                st.sampled_from(["", "p", "q"]),
            ),
            max_size=3,
        )
    )
    viewers = []
    for vid in draw(st.sets(st.sampled_from(["v1", "v2", "V1"]), max_size=3)):
        joined = draw(_import_at)
        left = draw(st.one_of(st.none(), _import_at.filter(lambda t, j=joined: t >= j)))
        place = draw(_place)
        viewers.append(
            {
                "id": vid,
                "joined": joined,
                "left": left,
                **({"location": place} if place is not None else {}),
            }
        )
    agent = draw(st.sampled_from(["a@example.com", "D@example.com"]))
    return {
        "id": "s-1",
        "agent": agent,
        "start": start,
        "end": end,
        "shares": shares,
        "viewers": viewers,
    }


def _steps(events: int, requests: int) -> st.SearchStrategy[list[tuple[str, Any]]]:
    """Up to ``requests`` requests, each a batch of up to ``events`` events or an import."""
    return st.lists(
        st.one_of(
            st.lists(st.tuples(_ids, _event()), min_size=1, max_size=events).map(
                lambda x: ("events", x)
            ),
            _import().map(lambda x: ("import", x)),
        ),
        min_size=1,
        max_size=requests,
    )


def _examples(count: int) -> Any:
    return settings(
        max_examples=count,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def matches_reference(api: Api, evs: list[dict[str, Any]]) -> None:
    """Session ``s-1`` in usage and in its detail is what ``reference_session`` makes of
    ``evs``, the events that count; absent from both when it has no start."""
    expected = reference_session(evs, now_us())
    document = api.usage(**{"from": "2026-11-01", "to": "2026-11-05"})
    if expected is None:
        assert document["sessions"] == []
        assert api.get("/ss/api/sessions/s-1").status_code == 404
        return
    (usage,) = document["sessions"]
    detail = api.get("/ss/api/sessions/s-1").json()
    listed = expected.pop("list")
    if expected["end"] is None:  # runs to now: read a moment apart
        expected.pop("duration"), usage.pop("duration"), detail.pop("duration")
        for v in [*listed, *detail["viewers"]["list"]]:
            if v["left"] is None:
                v.pop("seconds")
    assert {k: usage[k] for k in expected} == {
        **expected,
        "viewers": {**expected["viewers"], "peak": usage["viewers"]["peak"]},
    }
    shown = [
        {k: v[k] for k in ref if k in v}
        for v, ref in zip(detail["viewers"]["list"], listed, strict=True)
    ]
    assert len(detail["viewers"]["list"]) == len(listed)
    assert shown == listed
