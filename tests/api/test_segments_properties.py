"""Segments, peak and webcam seconds against a small reference model, whatever the
order and batching of the events; and an import of the result gives it back."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from sharelog.store.database import Database
from tests.conftest import Api, make_tenant

_counter = itertools.count()
BASE = 1_793_606_400  # 2026-11-02T08:00:00Z
MINUTE = 60


def iso(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the reference model: the contract's words, written as plainly as possible ---


def ref_segments(marks: list[tuple[int, str, str]]) -> list[tuple[int, int | None]]:
    """Joins and leaves ordered by at, then event id; a join opens a segment while
    not watching, the next leave closes it."""
    result: list[tuple[int, int | None]] = []
    opened: int | None = None
    for at, _, kind in sorted(marks, key=lambda m: (m[0], m[1])):
        if kind == "join" and opened is None:
            opened = at
        elif kind == "leave" and opened is not None:
            result.append((opened, at))
            opened = None
    if opened is not None:
        result.append((opened, None))
    return result


def ref_peak(lists: list[list[tuple[int, int | None]]], end: int | None) -> int:
    """Count, at every instant where some segment begins, the segments holding it
    (half-open: a leave at t no longer counts at t)."""
    segments = [(j, left if left is not None else end) for segs in lists for j, left in segs]
    best = 0
    for t, _ in segments:
        holding = sum(1 for j, stop in segments if j <= t and (stop is None or t < stop))
        best = max(best, holding)
    return best


def ref_webcam(marks: list[tuple[int, str, str]], end: int) -> int:
    return sum(
        max(0, (end if stop is None else stop) - start) for start, stop in ref_segments(marks)
    )


def events_strategy() -> st.SearchStrategy[list[dict[str, Any]]]:
    at = st.integers(min_value=0, max_value=5).map(lambda m: BASE + MINUTE * m)
    viewer = st.sampled_from(["v-1", "v-2", "v-3", "v-4"])
    one = st.one_of(
        st.builds(lambda t, v: {"type": "viewer.joined", "at": t, "viewer": v}, at, viewer),
        st.builds(lambda t, v: {"type": "viewer.left", "at": t, "viewer": v}, at, viewer),
        st.builds(lambda t: {"type": "webcam.started", "at": t}, at),
        st.builds(lambda t: {"type": "webcam.stopped", "at": t}, at),
    )
    ended = st.one_of(st.none(), st.integers(min_value=3, max_value=8))
    return st.tuples(st.lists(one, min_size=8, max_size=30), ended, st.randoms()).map(
        _with_lifecycle
    )


def _with_lifecycle(drawn: tuple[list[dict[str, Any]], int | None, Any]) -> list[dict[str, Any]]:
    body, ended, rnd = drawn
    events = [{"type": "session.started", "at": BASE, "agent": "a@example.com"}, *body]
    if ended is not None:
        events.append({"type": "session.ended", "at": BASE + MINUTE * ended})
    # Ids in a random order of their own, so that id ties do not follow time.
    names = [f"e{i:03d}" for i in range(len(events))]
    rnd.shuffle(names)
    return [{"id": n, "session": "s-1", **e} for n, e in zip(names, events, strict=True)]


def expected(events: list[dict[str, Any]]) -> dict[str, Any]:
    end = next((e["at"] for e in events if e["type"] == "session.ended"), None)
    viewers: dict[str, list[tuple[int, str, str]]] = {}
    joined: set[str] = set()
    webcam = []
    for e in events:
        if e["type"].startswith("viewer."):
            kind = "join" if e["type"] == "viewer.joined" else "leave"
            viewers.setdefault(e["viewer"], []).append((e["at"], e["id"], kind))
            if kind == "join":
                joined.add(e["viewer"])
        elif e["type"].startswith("webcam."):
            kind = "join" if e["type"] == "webcam.started" else "leave"
            webcam.append((e["at"], e["id"], kind))
    segments = {v: ref_segments(m) for v, m in viewers.items() if v in joined}
    result = {
        "segments": segments,
        "peak": ref_peak(list(segments.values()), end),
        "end": end,
        "webcam": None if end is None else ref_webcam(webcam, end),
    }
    return result


def observed(api: Api) -> dict[str, Any]:
    detail = api.get("/ss/api/sessions/s-1").json()
    [listed] = api.usage(**{"from": "2026-11-01", "to": "2026-11-05"})["sessions"]
    assert listed["viewers"]["peak"] == detail["viewers"]["peak"]
    segments = {
        v["id"]: [
            (
                int(datetime.fromisoformat(s["joined"]).timestamp()),
                None if s["left"] is None else int(datetime.fromisoformat(s["left"]).timestamp()),
            )
            for s in v["segments"]
        ]
        for v in detail["viewers"]["list"]
    }
    for v in detail["viewers"]["list"]:
        if detail["end"] is not None:
            end = int(datetime.fromisoformat(detail["end"]).timestamp())
            assert v["watched_seconds"] == sum(
                max(0, (end if b is None else b) - a) for a, b in segments[v["id"]]
            )
    return {
        "segments": segments,
        "peak": detail["viewers"]["peak"],
        "end": None
        if detail["end"] is None
        else int(datetime.fromisoformat(detail["end"]).timestamp()),
        "webcam": None if detail["end"] is None else detail["webcam_seconds"],
        "detail": detail,
    }


def as_import(detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": detail["id"],
        "agent": detail["agent"],
        "agent_name": detail["agent_name"],
        "start": detail["start"],
        "end": detail["end"],
        "webcam_seconds": detail["webcam_seconds"],
        "viewers": [
            {"id": v["id"], "joined": v["joined"], "left": v["left"], "segments": v["segments"]}
            for v in detail["viewers"]["list"]
        ],
    }


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(events=events_strategy(), data=st.data())
def test_any_order_and_batching_gives_the_reference_figures_and_imports_round_trip(
    client: TestClient, db: Database, events: list[dict[str, Any]], data: st.DataObject
) -> None:
    api = Api(client, make_tenant(db, f"segments-{next(_counter)}"))
    delivery = data.draw(st.permutations(events))
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(delivery) - 1)), max_size=4)))
    for start, end in itertools.pairwise([0, *cuts, len(delivery)]):
        if start < end:
            response = api.post("/ss/api/events", json={"events": delivery[start:end]})
            assert response.status_code == 200, response.text
    got = observed(api)
    detail = got.pop("detail")
    assert got == expected(events)

    copy = Api(client, make_tenant(db, f"segments-copy-{next(_counter)}"))
    copy.import_sessions(as_import(detail))
    again = observed(copy)
    again_detail = again.pop("detail")
    assert again == got
    if detail["end"] is not None:
        assert again_detail == detail
