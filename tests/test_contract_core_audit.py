"""An audit of the contract's core (docs: /work/shared/spec/api.md, from the top through
``POST /ss/api/events``): each test holds one rule to the text, on the edges that the
other tests leave alone."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from sharelog.store.database import Database
from sharelog.timestamps import now_us
from tests.api.test_errors import assert_error, nothing_stored
from tests.conftest import Api, Tenant, make_tenant, session_body

_tenants = itertools.count()

WIDE = {"from": "1970-01-01", "to": "9999-01-01"}


def events(*items: dict[str, Any]) -> dict[str, Any]:
    return {"events": list(items)}


def started(eid: str, sid: str, at: object, agent: str = "alice@example.com") -> dict[str, Any]:
    return {"id": eid, "type": "session.started", "session": sid, "at": at, "agent": agent}


# --- Errors: a bad request never answers 500 -------------------------------------------


def test_a_limit_of_thousands_of_digits_is_a_400_not_a_500(api: Api) -> None:
    assert_error(api.get("/ss/api/usage", params={"limit": "1" * 5000}), 400, "limit")


def test_a_viewers_limit_of_thousands_of_digits_is_a_400_not_a_500(api: Api) -> None:
    api.import_sessions(session_body())
    response = api.get("/ss/api/sessions/s-1", params={"viewers_limit": "9" * 5000})
    assert_error(response, 400, "viewers_limit")
    response = api.get("/ss/api/sessions/s-1", params={"viewers_limit": "0" * 5000 + "5"})
    assert response.status_code == 200, response.text


def test_a_body_with_a_fine_fraction_and_a_huge_integer_is_a_400_not_a_500(
    client: TestClient, tenant: Tenant, api: Api
) -> None:
    headers = {"Authorization": f"Basic {tenant.write_key}"}
    huge = "1" * 5000
    body = (
        '{"events": [{"id": "e1", "type": "session.started", "session": "s", '
        f'"at": 1761987600.1234567, "agent": "a@b.co", "x": {huge}}}]}}'
    )
    assert_error(client.post("/ss/api/events", content=body, headers=headers), 400, "body")
    body = f'{{"id": "s", "agent": "a@b.co", "start": 1761987600.1234567, "end": {huge}}}'
    response = client.post("/ss/api/sessions", content=body, headers=headers)
    assert_error(response, 400)
    assert nothing_stored(api)


# --- Timestamps -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "written"),
    [
        ("2026-11-01T10:00:00.999999+01:00", "2026-11-01T09:00:00Z"),
        ("2026-11-01T09:00:00.9Z", "2026-11-01T09:00:00Z"),
        ("1761987600.999", "2025-11-01T09:00:00Z"),
        ("2026-11-01", "2026-11-01T00:00:00Z"),
        ("2026-11-01T09:00:00", "2026-11-01T09:00:00Z"),
        ("2026-11-01T10:30:00 01:30", "2026-11-01T09:00:00Z"),
        ("2026-11-01T04:00:00-05:00", "2026-11-01T09:00:00Z"),
    ],
)
def test_the_window_is_written_back_in_utc_whole_seconds(
    api: Api, given: str, written: str
) -> None:
    document = api.usage(**{"from": given, "to": "2027-01-01"})
    assert document["from"] == written


@pytest.mark.parametrize(
    "bad",
    [
        "yesterday",
        "",
        "2026-13-01",
        "2026-11-31",
        "2026-11-01T25:00:00Z",
        "10000-01-01",
        "2026-11-01T09:00:00+24:00",
        "0000-01-01",
        "1e9",
        "0x10",
        "١٧٦١٩٨٧٦٠٠",
        "NaN",
        "inf",
    ],
)
def test_anything_else_is_a_400_naming_from(api: Api, bad: str) -> None:
    assert_error(api.get("/ss/api/usage", params={"from": bad}), 400, "from")


@pytest.mark.parametrize("bad", [True, None, [1], {"a": 1}, 1e400, "", "1 2"])
def test_a_bad_json_timestamp_in_an_import_is_a_400_naming_it(api: Api, bad: object) -> None:
    if bad is None:
        bad_body: dict[str, Any] = session_body(start=None)  # type: ignore[arg-type]
    else:
        bad_body = session_body(start=bad)  # type: ignore[arg-type]
    if bad == 1e400:
        response = api.client.post(
            "/ss/api/sessions",
            content=b'{"id": "s", "agent": "a@b.co", "start": 1e400}',
            headers={"Authorization": f"Basic {api.tenant.write_key}"},
        )
        assert response.status_code == 400, response.text
    else:
        assert_error(api.post("/ss/api/sessions", json=bad_body), 400, "sessions[0].start")
    assert nothing_stored(api)


def test_json_numbers_are_unix_seconds_also_as_floats_and_negative(api: Api) -> None:
    api.import_sessions(
        session_body("a", start=1761987600.5, end=1761987601.25),  # type: ignore[arg-type]
        session_body("b", start=-1, end=0),  # type: ignore[arg-type]
    )
    document = api.usage(**{"from": "1969-01-01", "to": "2030-01-01"})
    sessions = {s["id"]: s for s in document["sessions"]}
    assert sessions["a"]["start"] == "2025-11-01T09:00:00Z"
    assert sessions["a"]["end"] == "2025-11-01T09:00:01Z"
    # floor(end - start) of the kept instants: 0.75 s
    assert sessions["a"]["duration"] == 0
    assert sessions["b"]["start"] == "1969-12-31T23:59:59Z"
    assert sessions["b"]["duration"] == 1


# --- GET /ss/api/usage ----------------------------------------------------------------


@pytest.mark.parametrize("limit", ["0", "10001", "-1", "+5", "1.0", "", " 5", "abc", "1e3"])
def test_limit_outside_1_to_10000_is_a_400(api: Api, limit: str) -> None:
    assert_error(api.get("/ss/api/usage", params={"limit": limit}), 400, "limit")


@pytest.mark.parametrize("limit", ["1", "10000", "007"])
def test_limit_at_its_bounds_is_accepted(api: Api, limit: str) -> None:
    assert api.get("/ss/api/usage", params={"limit": limit}).status_code == 200


@pytest.mark.parametrize("name", ["from", "to", "limit", "cursor", "include", "format"])
def test_every_single_valued_parameter_given_twice_is_a_400(api: Api, name: str) -> None:
    values = {
        "from": "2026-01-01",
        "to": "2026-02-01",
        "limit": "5",
        "cursor": "x",
        "include": "stats",
        "format": "json",
    }
    response = api.get(f"/ss/api/usage?{name}={values[name]}&{name}={values[name]}")
    assert_error(response, 400, name)


@pytest.mark.parametrize("include", ["", ",", "stats,", "Stats", "stats;sessions", "viewers"])
def test_include_outside_the_comma_list_is_a_400(api: Api, include: str) -> None:
    assert_error(api.get("/ss/api/usage", params={"include": include}), 400, "include")


def test_include_both_named_is_the_default(api: Api) -> None:
    api.import_sessions(session_body())
    a = api.usage(**WIDE, include="sessions,stats")
    b = api.usage(**WIDE)
    assert a == b
    assert set(a) >= {"from", "to", "stats", "sessions", "next_cursor"}


def test_from_equal_to_to_is_a_400(api: Api) -> None:
    response = api.get("/ss/api/usage", params={"from": "2026-11-01", "to": "2026-11-01T00:00:00Z"})
    assert_error(response, 400)


def test_from_and_to_in_the_body_as_numbers_and_query_wins_per_parameter(api: Api) -> None:
    api.import_sessions(
        session_body("a", start="2026-11-02T10:00:00Z"),
        session_body("b", start="2026-11-05T10:00:00Z", end=None),
    )
    body = {"from": 1761987600, "to": "2026-11-03"}
    response = api.get("/ss/api/usage", params={"to": "2026-11-06"}, json=body)
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["from"] == "2025-11-01T09:00:00Z"
    assert document["to"] == "2026-11-06T00:00:00Z"
    assert [s["id"] for s in document["sessions"]] == ["a", "b"]


def test_the_get_body_may_hold_other_fields_and_null_means_absent(api: Api) -> None:
    response = api.get("/ss/api/usage", json={"from": None, "to": "2026-11-06", "x": 1})
    assert response.status_code == 200, response.text
    assert response.json()["from"] == "2026-10-09T00:00:00Z"


def test_the_agent_filter_with_an_unknown_agent_has_empty_stats(api: Api) -> None:
    api.import_sessions(session_body())
    document = api.usage(**WIDE, agent="nobody@example.com")
    assert document["stats"] == {"total": {"meetings": 0, "seconds": 0}, "per_agent": {}}
    assert document["sessions"] == []


@pytest.mark.parametrize(
    "agent", ["", "a", "@b", "a@", "a@@b", "a@b@c", "a b@c", "a@b\tc", "x" * 250 + "@b.co"]
)
def test_an_agent_filter_that_is_not_an_email_is_a_400(api: Api, agent: str) -> None:
    assert_error(api.get("/ss/api/usage", params={"agent": agent}), 400, "agent")


def test_an_ongoing_session_counts_in_stats_with_its_running_duration(api: Api) -> None:
    api.import_sessions(session_body("a", start="2020-01-01T00:00:00Z", end=None))
    document = api.usage(**WIDE)
    (session,) = document["sessions"]
    assert session["end"] is None
    assert session["duration"] > 86400 * 365
    assert document["stats"]["total"]["meetings"] == 1
    # The same instant for both: the moment the response was made.
    assert abs(document["stats"]["total"]["seconds"] - session["duration"]) <= 1


def test_per_agent_keys_are_lowercased_and_figures_add_up(api: Api) -> None:
    api.import_sessions(
        session_body("a", agent="Alice@Example.COM"),
        session_body(
            "b",
            agent="alice@example.com",
            start="2026-11-03T10:00:00Z",
            end="2026-11-03T10:00:00.999Z",
        ),
        session_body("c", agent="BOB@example.com"),
    )
    stats = api.usage(**WIDE)["stats"]
    assert stats["per_agent"] == {
        "alice@example.com": {"meetings": 2, "seconds": 1800},
        "bob@example.com": {"meetings": 1, "seconds": 1800},
    }
    assert stats["total"] == {"meetings": 3, "seconds": 3600}


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


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    drawn=st.lists(st.tuples(_ids, _event()), min_size=1, max_size=20, unique_by=lambda t: t[0]),
    cut=st.integers(min_value=0, max_value=20),
)
def test_events_give_the_session_the_contract_describes(
    client: TestClient, db: Database, drawn: list[tuple[str, dict[str, Any]]], cut: int
) -> None:
    api = Api(client, make_tenant(db, f"ref-{next(_tenants)}"))
    evs = [{"id": eid, "session": "s-1", **e} for eid, e in drawn]
    for part in (evs[:cut], evs[cut:], evs[: cut // 2]):  # the last one: all duplicates
        if part:
            response = api.post("/ss/api/events", json={"events": part})
            assert response.status_code == 200, response.text
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


# --- Paging and exports ---------------------------------------------------------------


def _three(api: Api) -> None:
    api.import_sessions(
        session_body("a", start="2026-11-02T10:00:00Z"),
        session_body("b", start="2026-11-02T10:00:00Z", agent="bob@example.com"),
        session_body("c", start="2026-11-02T10:00:01Z"),
    )


def test_a_cursor_of_another_account_is_a_400(
    client: TestClient, api: Api, other_tenant: Tenant
) -> None:
    _three(api)
    cursor = api.usage(**WIDE, limit=1)["next_cursor"]
    other = Api(client, other_tenant)
    assert_error(other.get("/ss/api/usage", params={"cursor": cursor}), 400, "cursor")


@pytest.mark.parametrize("cursor", ["", "x", "null", "a" * 5000, "%00", "é"])
def test_a_cursor_the_server_did_not_make_is_a_400(api: Api, cursor: str) -> None:
    assert_error(api.get("/ss/api/usage", params={"cursor": cursor}), 400, "cursor")


def test_a_cursor_with_its_agents_given_in_another_case_or_order_is_the_same(api: Api) -> None:
    _three(api)
    first = api.usage(**WIDE, limit=1, agent=["bob@example.com", "alice@example.com"])
    response = api.get(
        "/ss/api/usage",
        params={
            "cursor": first["next_cursor"],
            "agent": ["ALICE@example.com", "Bob@Example.com"],
            "limit": 5,
        },
    )
    assert response.status_code == 200, response.text
    assert [s["id"] for s in response.json()["sessions"]] == ["b", "c"]


def test_a_cursor_with_a_subset_of_its_agents_is_a_400(api: Api) -> None:
    _three(api)
    first = api.usage(**WIDE, limit=1, agent=["bob@example.com", "alice@example.com"])
    response = api.get(
        "/ss/api/usage", params={"cursor": first["next_cursor"], "agent": "bob@example.com"}
    )
    assert_error(response, 400, "agent")


def test_a_cursor_with_a_window_in_the_body_that_differs_is_a_400(api: Api) -> None:
    _three(api)
    first = api.usage(**WIDE, limit=1)
    response = api.get(
        "/ss/api/usage", params={"cursor": first["next_cursor"]}, json={"from": "2026-01-01"}
    )
    assert_error(response, 400, "from")


def test_pages_keep_the_first_windows_stats_and_the_window(api: Api) -> None:
    _three(api)
    first = api.usage(**WIDE, limit=2)
    second = api.get("/ss/api/usage", params={"cursor": first["next_cursor"], "limit": 2}).json()
    assert [s["id"] for s in first["sessions"]] == ["a", "b"]
    assert [s["id"] for s in second["sessions"]] == ["c"]
    assert second["next_cursor"] is None
    assert (second["from"], second["to"]) == (first["from"], first["to"])
    assert second["stats"] == first["stats"]


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_export_pages_follow_link_to_the_end(api: Api, fmt: str) -> None:
    _three(api)
    url: str | None = "/ss/api/usage?" + f"from=1970-01-01&to=9999-01-01&limit=2&format={fmt}"
    seen = []
    while url is not None:
        response = api.get(url)
        assert response.status_code == 200, response.text
        lines = response.text.splitlines()
        seen += [line for line in lines if not line.startswith("id,")]
        link = response.headers.get("link")
        if link is None:
            url = None
        else:
            assert link.endswith('>; rel="next"') and link.startswith("<")
            url = link[1 : link.index(">")]
    assert len(seen) == 3


def test_the_ndjson_lines_are_the_documents_sessions(api: Api) -> None:
    _three(api)
    response = api.get("/ss/api/usage", params={**WIDE, "format": "ndjson"})
    assert response.headers["content-type"].startswith("application/x-ndjson")
    import json

    lines = [json.loads(line) for line in response.text.splitlines()]
    assert lines == api.usage(**WIDE)["sessions"]


def test_the_csv_header_starts_with_the_contracts_columns(api: Api) -> None:
    _three(api)
    response = api.get("/ss/api/usage", params={**WIDE}, headers={"Accept": "text/csv"})
    assert response.headers["content-type"].startswith("text/csv")
    header = response.text.splitlines()[0].split(",")
    assert header[:8] == [
        "id",
        "agent",
        "start",
        "end",
        "duration",
        "shares",
        "viewers",
        "countries",
    ]


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_exports_refuse_include_stats_in_any_combination(api: Api, fmt: str) -> None:
    for include in ("stats", "stats,sessions", "sessions,stats"):
        response = api.get("/ss/api/usage", params={"format": fmt, "include": include})
        assert_error(response, 400, "include")


def test_an_unknown_format_is_a_400(api: Api) -> None:
    for fmt in ("xml", "JSON", "", "csv "):
        assert_error(api.get("/ss/api/usage", params={"format": fmt}), 400, "format")


# --- POST /ss/api/sessions ------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"id": "s-1\n"}, "sessions[0].id"),
        ({"id": "s/1"}, "sessions[0].id"),
        ({"id": "é"}, "sessions[0].id"),
        ({"id": 5}, "sessions[0].id"),
        ({"id": "x" * 129}, "sessions[0].id"),
        ({"agent": "ALICE@example.com "}, "sessions[0].agent"),
        ({"agent": None}, "sessions[0].agent"),
        ({"start": None}, "sessions[0].start"),
        ({"end": "2026-11-02T09:59:59.999999Z"}, "sessions[0].end"),
        (
            {"shares": [{"at": "2026-11-02T10:00:00Z", "type": "Screen"}]},
            "sessions[0].shares[0].type",
        ),
        ({"shares": [{"type": "tab"}]}, "sessions[0].shares[0].at"),
        ({"shares": [{"at": 1, "type": "tab", "url": "x" * 2049}]}, "sessions[0].shares[0].url"),
        ({"shares": [{"at": 1, "type": "tab", "title": 5}]}, "sessions[0].shares[0].title"),
        ({"shares": {"at": 1}}, "sessions[0].shares"),
        ({"viewers": [{"id": "v", "joined": 10, "left": 9}]}, "sessions[0].viewers[0].left"),
        ({"viewers": [{"id": "v"}]}, "sessions[0].viewers[0].joined"),
        ({"viewers": [{"joined": 1}]}, "sessions[0].viewers[0].id"),
        ({"viewers": [{"id": "v", "joined": 1, "ip": "300.1.1.1"}]}, "sessions[0].viewers[0].ip"),
        (
            {"viewers": [{"id": "v", "joined": 1, "location": {"country": "ISL"}}]},
            "sessions[0].viewers[0].location.country",
        ),
        (
            {"viewers": [{"id": "v", "joined": 1}, {"id": "v", "joined": 2}]},
            "sessions[0].viewers[1].id",
        ),
    ],
)
def test_a_bad_field_is_named_by_its_path_and_nothing_is_written(
    api: Api, change: dict[str, Any], path: str
) -> None:
    body = {**session_body(), **change}
    assert_error(api.post("/ss/api/sessions", json=body), 400, path)
    assert_error(
        api.post("/ss/api/sessions", json={"sessions": [session_body("ok"), body]}),
        400,
        path.replace("sessions[0]", "sessions[1]"),
    )
    assert nothing_stored(api)


def test_duplicate_ids_in_one_import_the_later_wins_and_counts(api: Api) -> None:
    reply = api.import_sessions(
        session_body("a", agent="first@example.com"),
        session_body("a", agent="second@example.com"),
    )
    assert reply == {"received": 2, "created": 1, "replaced": 0}
    (session,) = api.usage(**WIDE)["sessions"]
    assert session["agent"] == "second@example.com"
    reply = api.import_sessions(session_body("a"), session_body("b"))
    assert reply == {"received": 2, "created": 1, "replaced": 1}


def test_a_session_made_by_events_is_replaced_by_an_import_and_counted_as_replaced(
    api: Api,
) -> None:
    api.post("/ss/api/events", json=events(started("e1", "a", "2026-11-02T09:00:00Z")))
    reply = api.import_sessions(session_body("a"))
    assert reply == {"received": 1, "created": 0, "replaced": 1}
    (session,) = api.usage(**WIDE)["sessions"]
    assert session["start"] == "2026-11-02T10:00:00Z"
    # The event's id stays used.
    again = api.post("/ss/api/events", json=events(started("e1", "a", "2026-11-02T09:00:00Z")))
    assert again.json() == {"received": 1, "accepted": 0, "duplicates": 1}


def test_a_session_with_only_events_that_are_not_a_start_is_created_by_an_import(
    api: Api,
) -> None:
    api.post(
        "/ss/api/events",
        json=events(
            {"id": "e1", "type": "session.ended", "session": "a", "at": "2026-11-02T11:00:00Z"}
        ),
    )
    reply = api.import_sessions(session_body("a"))
    # The account had events for it, not a session in usage: still "replaced"?
    assert reply["received"] == 1 and reply["created"] + reply["replaced"] == 1
    (session,) = api.usage(**WIDE)["sessions"]
    assert session["end"] == "2026-11-02T10:30:00Z"


def test_the_imported_location_is_uppercased_and_ip_lookups_never_win_over_it(api: Api) -> None:
    api.import_sessions(
        session_body(
            viewers=[
                {
                    "id": "v",
                    "joined": "2026-11-02T10:01:00Z",
                    "ip": "8.8.8.8",
                    "location": {"country": "is", "city": "Reykjavik"},
                },
                {"id": "w", "joined": "2026-11-02T10:01:00Z"},
            ]
        )
    )
    (session,) = api.usage(**WIDE)["sessions"]
    assert session["viewers"]["locations"] == [
        {"country": "IS", "region": None, "city": "Reykjavik", "count": 1},
        {"country": None, "region": None, "city": None, "count": 1},
    ]


# --- POST /ss/api/events envelope -----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"events": []}, "events"),
        ({"events": None}, "events"),
        ({"events": {}}, "events"),
        ({}, "body"),
        ([], "body"),
        ({"events": [started("e", "s", 1) | {"type": "session.start"}]}, "events[0].type"),
        ({"events": [started("e", "s", 1) | {"type": None}]}, "events[0].type"),
        ({"events": [started("e", "s", 1), started("e 2", "s", 1)]}, "events[1].id"),
        ({"events": [started("e", "s", 1) | {"session": ""}]}, "events[0].session"),
        ({"events": [started("e", "s", 1) | {"at": "soon"}]}, "events[0].at"),
        ({"events": [started("e", "s", 1) | {"agent": "nobody"}]}, "events[0].agent"),
        (
            {"events": [{"id": "e", "type": "viewer.joined", "session": "s", "at": 1}]},
            "events[0].viewer",
        ),
        (
            {"events": [{"id": "e", "type": "viewer.left", "session": "s", "at": 1, "viewer": ""}]},
            "events[0].viewer",
        ),
        (
            {"events": [{"id": "e", "type": "share.started", "session": "s", "at": 1}]},
            "events[0].share_type",
        ),
        (
            {
                "events": [
                    {
                        "id": "e",
                        "type": "share.started",
                        "session": "s",
                        "at": 1,
                        "share_type": "desktop",
                    }
                ]
            },
            "events[0].share_type",
        ),
        (
            {
                "events": [
                    {
                        "id": "e",
                        "type": "viewer.joined",
                        "session": "s",
                        "at": 1,
                        "viewer": "v",
                        "location": {"country": "I"},
                    }
                ]
            },
            "events[0].location.country",
        ),
        (
            {"events": [{"id": "e", "type": "session.started", "session": "s", "at": 1}]},
            "events[0].agent",
        ),
    ],
)
def test_a_bad_events_body_is_a_400_naming_it_and_writes_nothing(
    api: Api, body: object, parameter: str
) -> None:
    assert_error(api.post("/ss/api/events", json=body), 400, parameter)
    assert nothing_stored(api)
    # The ids of a refused request are not used.
    ok = api.post("/ss/api/events", json=events(started("e", "s", 1761987600)))
    assert ok.json()["accepted"] == 1


def test_repeats_inside_one_request_are_duplicates_whatever_they_say(api: Api) -> None:
    reply = api.post(
        "/ss/api/events",
        json=events(
            started("e1", "s", "2026-11-02T10:00:00Z"),
            started("e1", "s", "2026-11-02T09:00:00Z", agent="bob@example.com"),
            started("e2", "t", "2026-11-02T09:00:00Z"),
        ),
    ).json()
    assert reply == {"received": 3, "accepted": 2, "duplicates": 1}
    sessions = {s["id"]: s for s in api.usage(**WIDE)["sessions"]}
    assert sessions["s"]["start"] == "2026-11-02T10:00:00Z"
    assert sessions["s"]["agent"] == "alice@example.com"


# --- Framework edges ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/ss/api/sessions"),
        ("POST", "/ss/api/usage"),
        ("GET", "/ss/api/events"),
        ("PATCH", "/ss/api/sessions/s-1"),
        ("POST", "/ss/api/sessions/s-1"),
    ],
)
def test_odd_routes_and_methods_answer_the_error_shape(api: Api, method: str, path: str) -> None:
    response = api.client.request(
        method,
        path,
        headers={"Authorization": f"Basic {api.tenant.write_key}"},
        follow_redirects=False,
    )
    assert response.status_code in (404, 405), (response.status_code, response.text)
    assert_error(response, response.status_code)


def test_a_get_session_of_a_session_with_events_but_no_start_is_404(api: Api) -> None:
    api.post(
        "/ss/api/events",
        json=events({"id": "e1", "type": "session.ended", "session": "a", "at": 1761987600}),
    )
    assert_error(api.get("/ss/api/sessions/a"), 404)


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


@_examples(40)
@given(steps=_steps(6, 5))
def test_imports_and_events_interleaved_give_the_session_the_contract_describes(
    client: TestClient, db: Database, steps: list[tuple[str, Any]]
) -> None:
    api = Api(client, make_tenant(db, f"mix-{next(_tenants)}"))
    used: set[str] = set()
    counting: list[dict[str, Any]] = []  # the events that count: since the last import
    for n, (kind, value) in enumerate(steps):
        if kind == "import":
            reply = api.import_sessions(value)
            assert reply["received"] == 1
            counting = _import_as_events(value, n)
            continue
        batch = [{"id": eid, "session": "s-1", **e} for eid, e in value]
        reply = api.post("/ss/api/events", json={"events": batch}).json()
        fresh = []
        for e in batch:
            if e["id"] not in used:
                used.add(e["id"])
                fresh.append(e)
        assert (reply["accepted"], reply["duplicates"]) == (len(fresh), len(batch) - len(fresh))
        counting += fresh
    expected = reference_session(counting, now_us())
    document = api.usage(**{"from": "2026-11-01", "to": "2026-11-05"})
    if expected is None:
        assert document["sessions"] == []
        return
    (usage,) = document["sessions"]
    detail = api.get("/ss/api/sessions/s-1").json()
    listed = expected.pop("list")
    if expected["end"] is None:
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


# --- Never a 500 for bad input --------------------------------------------------------

_json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(
        [
            "2026-11-02T10:00:00Z",
            "1761987600.1234567",
            "a@b.co",
            "\x00",
            "IS",
            "screen",
            "::1",
            "9999-12-31T23:59:59Z",
            "0001-01-01",
        ]
    ),
)
_json_value = st.recursive(
    _json_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
_session_fields = [
    "id",
    "agent",
    "start",
    "end",
    "shares",
    "viewers",
    "agent_name",
    "webcam_seconds",
]
_share_fields = ["at", "type", "title", "url"]
_viewer_fields = ["id", "joined", "left", "ip", "location", "segments", "user_agent"]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_value_in_any_field_is_a_200_or_a_400_and_a_400_writes_nothing(
    client: TestClient, db: Database, data: st.DataObject
) -> None:
    api = Api(client, make_tenant(db, f"fuzz-{next(_tenants)}"))
    body: dict[str, Any] = session_body(
        shares=[{"at": "2026-11-02T10:01:00Z", "type": "tab", "title": "t", "url": None}],
        viewers=[
            {
                "id": "v",
                "joined": "2026-11-02T10:01:00Z",
                "left": None,
                "location": {"country": "IS"},
                "segments": [{"joined": 1793613660}],
            }
        ],
    )
    where = data.draw(st.sampled_from(["session", "share", "viewer", "location", "event"]))
    value = data.draw(_json_value)
    if where == "event":
        event = {
            "id": "e",
            "type": data.draw(
                st.sampled_from(
                    [
                        "session.started",
                        "share.started",
                        "viewer.joined",
                        "viewer.left",
                        "webcam.started",
                        "session.ended",
                    ]
                )
            ),
            "session": "s",
            "at": 1761987600,
            "agent": "a@b.co",
            "viewer": "v",
            "share_type": "tab",
        }
        event[
            data.draw(
                st.sampled_from(
                    [*event, "title", "url", "ip", "location", "agent_name", "user_agent"]
                )
            )
        ] = value
        response = api.post("/ss/api/events", json={"events": [event]})
    else:
        target = {
            "session": body,
            "share": body["shares"][0],
            "viewer": body["viewers"][0],
            "location": body["viewers"][0]["location"],
        }[where]
        names = {
            "session": _session_fields,
            "share": _share_fields,
            "viewer": _viewer_fields,
            "location": ["country", "region", "city"],
        }[where]
        target[data.draw(st.sampled_from(names))] = value
        response = api.post("/ss/api/sessions", json=body)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert_error(response, 400)
        assert nothing_stored(api)
    else:
        document = api.usage(**{"from": "0001-01-01", "to": "9999-12-31T23:59:59Z"})
        for session in document["sessions"]:
            detail = api.get(f"/ss/api/sessions/{session['id']}")
            assert detail.status_code == 200, detail.text
        for fmt in ("csv", "ndjson"):
            response = api.get(
                "/ss/api/usage",
                params={"from": "0001-01-01", "to": "9999-12-31T23:59:59Z", "format": fmt},
            )
            assert response.status_code == 200


# --- The same answers from usage objects written ahead (the server's default) ---------


@pytest.fixture
def entries_app_client(db: Database) -> Iterator[TestClient]:
    from sharelog.api import create_app
    from sharelog.config import Settings

    app = create_app(Settings(database_url=db.url, session_entries=True), database=db)
    with TestClient(app, raise_server_exceptions=False, client=("127.0.0.1", 50000)) as c:
        yield c


@_examples(25)
@given(steps=_steps(8, 4), ended=st.booleans())
def test_usage_objects_written_ahead_are_the_ones_built(
    entries_app_client: TestClient, db: Database, steps: list[tuple[str, Any]], ended: bool
) -> None:
    from sharelog.renderer import render_pending

    api = Api(entries_app_client, make_tenant(db, f"ahead-{next(_tenants)}"))
    for kind, value in steps:
        if kind == "import":
            api.import_sessions(value)
        else:
            batch = [{"id": eid, "session": "s-1", **e} for eid, e in value]
            batch.append(
                {
                    "id": f"w-{len(batch)}",
                    "type": "webcam.started",
                    "session": "s-1",
                    "at": BASE + 0.6,
                }
            )
            assert api.post("/ss/api/events", json={"events": batch}).status_code == 200
    if ended:
        api.post(
            "/ss/api/events",
            json=events(
                started("late-start", "s-1", BASE + 5),
                {"id": "late-end", "type": "session.ended", "session": "s-1", "at": BASE + 7.3},
            ),
        )
    params = {"from": "2026-11-01", "to": "2026-11-05"}
    built = [
        api.get("/ss/api/usage", params={**params, "format": f}).content
        for f in ("json", "ndjson", "csv")
    ]
    render_pending(db)
    if b'"end":null' not in built[0]:
        from sqlalchemy import func, select

        from sharelog.store.schema import session_entries

        with db.reading() as conn:
            count = conn.execute(
                select(func.count())
                .select_from(session_entries)
                .where(session_entries.c.account_id == api.tenant.account_id)
            ).scalar_one()
        assert count == built[0].count(b'"id":"s-1"')
    stored = [
        api.get("/ss/api/usage", params={**params, "format": f}).content
        for f in ("json", "ndjson", "csv")
    ]
    if b'"end":null' not in built[0]:
        assert stored == built


# --- Orders by code point, whatever the database's collation -------------------------

MIXED = ["b", "B", "a", "_", "-", ".", "Z", "z0", "Z0", "0"]


def test_shares_of_the_same_instant_are_ordered_by_event_id_by_code_point(api: Api) -> None:
    at = "2026-11-02T10:00:01Z"
    api.post(
        "/ss/api/events",
        json=events(
            started("start", "s", "2026-11-02T10:00:00Z"),
            *[
                {
                    "id": eid,
                    "type": "share.started",
                    "session": "s",
                    "at": at,
                    "share_type": "tab",
                    "title": eid,
                }
                for eid in MIXED
            ],
        ),
    )
    (session,) = api.usage(**WIDE)["sessions"]
    assert [s["title"] for s in session["shares"]] == sorted(MIXED)


def test_viewers_of_the_same_join_are_listed_by_id_by_code_point(api: Api) -> None:
    joined = "2026-11-02T10:01:00Z"
    api.import_sessions(session_body(viewers=[{"id": v, "joined": joined} for v in MIXED]))
    detail = api.get("/ss/api/sessions/s-1").json()
    assert [v["id"] for v in detail["viewers"]["list"]] == sorted(MIXED)


def test_sessions_of_the_same_start_are_ordered_by_id_by_code_point(api: Api) -> None:
    api.import_sessions(*[session_body(sid) for sid in MIXED])
    assert [s["id"] for s in api.usage(**WIDE)["sessions"]] == sorted(MIXED)
    paged, cursor = [], None
    while True:
        params: dict[str, Any] = {**WIDE, "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = api.usage(**params)
        paged += [s["id"] for s in page["sessions"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert paged == sorted(MIXED)


def test_locations_of_the_same_count_are_ordered_by_code_point(api: Api) -> None:
    places = [
        {"country": "IS", "region": "Zed", "city": "b"},
        {"country": "IS", "region": "zed", "city": "B"},
        {"country": "IS", "region": "Ísafjörður", "city": "a"},
        {"country": "IS", "region": "zed", "city": "a"},
        {"country": "IS", "region": None, "city": "a"},
        {"country": "is", "region": "Zed", "city": None},
    ]
    api.import_sessions(
        session_body(
            viewers=[
                {"id": f"v{i}", "joined": "2026-11-02T10:01:00Z", "location": p}
                for i, p in enumerate(places)
            ]
        )
    )
    (session,) = api.usage(**WIDE)["sessions"]
    got = [(g["country"], g["region"], g["city"]) for g in session["viewers"]["locations"]]
    key = lambda t: tuple((v is None, v or "") for v in t)  # noqa: E731
    assert got == sorted(got, key=key)
    assert got[0] == ("IS", "Zed", "b") and got[-1] == ("IS", None, "a")


_query_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "2026-11-01",
            "1761987600.5",
            "0",
            "10000",
            "stats",
            "sessions",
            "csv",
            "ndjson",
            "a@b.co",
            "9999-12-31T23:59:59.999999Z",
            "0001-01-01",
            "-1",
            "1" * 400,
            "2026-11-01T10:00:00 01:00",
            "%",
            "\x00",
        ]
    ),
)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    params=st.lists(
        st.tuples(
            st.sampled_from(["from", "to", "agent", "limit", "cursor", "include", "format"]),
            _query_text,
        ),
        max_size=5,
    ),
    accept=st.sampled_from([None, "text/csv", "application/x-ndjson", "*/*;q=x", "text/csv;q=0"]),
    body=st.one_of(
        st.none(), st.dictionaries(st.sampled_from(["from", "to"]), _json_leaf, max_size=2)
    ),
)
def test_any_usage_request_is_a_200_or_a_400(
    api: Api, params: list[tuple[str, str]], accept: str | None, body: Any
) -> None:
    headers = {} if accept is None else {"Accept": accept}
    kwargs: dict[str, Any] = {} if body is None else {"json": body}
    response = api.get("/ss/api/usage", params=params, headers=headers, **kwargs)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert_error(response, 400)


# --- Segments, peak, webcam and names as usage and the session show them --------------


def test_segments_watched_seconds_and_peak_from_fractional_events(api: Api) -> None:
    t = BASE

    def ev(eid: str, kind: str, at: float, **extra: object) -> dict[str, Any]:
        return {"id": eid, "type": kind, "session": "s", "at": at, **extra}

    reply = api.post(
        "/ss/api/events",
        json=events(
            started("a0", "s", t, agent="A@example.com") | {"agent_name": "First"},
            ev("a1", "viewer.joined", t + 10.5, viewer="v"),
            ev("a2", "viewer.left", t + 20.9, viewer="v"),
            ev("a3", "viewer.joined", t + 30.2, viewer="v"),
            ev("a4", "viewer.joined", t + 20.9, viewer="w"),  # joins as v leaves
            ev("a5", "viewer.left", t + 30.2, viewer="w"),
            ev("a6", "webcam.started", t + 1.9),
            ev("a7", "webcam.stopped", t + 3.8),
            ev("a8", "webcam.started", t + 39.0),
            ev("a9", "session.ended", t + 40.7),
            started("b0", "s", t + 5, agent="b@example.com") | {"agent_name": "Second"},
        ),
    )
    assert reply.json() == {"received": 11, "accepted": 11, "duplicates": 0}
    (usage,) = api.usage(**WIDE)["sessions"]
    assert usage["agent"] == "a@example.com"
    assert usage["agent_name"] == "Second"  # the one last received
    assert usage["duration"] == 40
    assert usage["viewers"]["count"] == 2
    assert usage["viewers"]["peak"] == 1  # a leave and a join at one instant: the leave first
    assert usage["webcam_seconds"] == 1 + 1  # floor(1.9) + floor(1.7), the open one to the end
    detail = api.get("/ss/api/sessions/s").json()
    v, w = detail["viewers"]["list"]
    assert v["id"] == "v" and w["id"] == "w"
    assert v["left"] is None  # came back: watching
    assert v["seconds"] == 30  # floor(40.7 - 10.5), to the session's end
    assert v["segments"] == [
        {"joined": "2026-11-02T08:00:10Z", "left": "2026-11-02T08:00:20Z"},
        {"joined": "2026-11-02T08:00:30Z", "left": None},
    ]
    assert v["watched_seconds"] == 10 + 10  # floor(10.4) + floor(10.5)
    assert w["segments"] == [{"joined": "2026-11-02T08:00:20Z", "left": "2026-11-02T08:00:30Z"}]
    assert w["watched_seconds"] == 9 and w["seconds"] == 9
