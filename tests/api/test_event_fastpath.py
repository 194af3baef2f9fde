"""The hand-written event reader accepts exactly what the Pydantic models accept, or defers."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from sharelog.api.event_bodies import _validate_event, to_event
from sharelog.api.event_fastpath import read_plain_events


def mostly(valid: list[Any], invalid: list[Any]) -> st.SearchStrategy[Any]:
    """Valid values four times in five, so that whole valid events come up often."""
    good = st.sampled_from(valid)
    return st.one_of(good, good, good, good, st.sampled_from(invalid))


# Values chosen to sit on both sides of every rule the models enforce.
IDS = mostly(["e-1", "a" * 128, "ok:._-1"], ["a" * 129, "", "has space", "x\n", "a\nb", 7, None])
TIMES = mostly(
    ["2026-11-02T10:00:00Z", "2026-11-02", "1793606400", 1793606400, 1793606400.5],
    ["soon", True, None, [], "2026-13-01"],
)
TEXTS = mostly([None, "", "Pricing", "t" * 1000], ["t" * 1001, "nul\x00", 5, ["x"]])
EMAILS = mostly(
    ["Alice@Example.com", "a@b"], ["no-at", "a@b@c", " a@b.co", None, 3, "x" * 250 + "@b.co"]
)
LOCATIONS = st.one_of(
    st.none(),
    st.sampled_from(["IS", 5, []]),
    st.fixed_dictionaries(
        {},
        optional={
            "country": mostly([None, "is", "US"], ["ISL", "1S", "", 4]),
            "region": TEXTS,
            "city": mostly([None, "Reykjavik"], ["c" * 201, 9]),
            "extra": st.just("ignored"),
        },
    ),
)
IPS = mostly([None, "8.8.8.8", "::1"], ["999.1.1.1", "not-ip", 42, "2001:db8::" + "1" * 40])
TYPES = mostly(
    [
        "session.started",
        "session.ended",
        "share.started",
        "viewer.joined",
        "viewer.left",
        "webcam.started",
        "webcam.stopped",
    ],
    ["nope", None],
)

events = st.fixed_dictionaries(
    {"id": IDS, "type": TYPES, "session": IDS, "at": TIMES},
    optional={
        "agent": EMAILS,
        "share_type": mostly(["screen", "window", "tab", "other"], ["tv", None, 1]),
        "title": TEXTS,
        "url": TEXTS,
        "viewer": IDS,
        "ip": IPS,
        "location": LOCATIONS,
        "agent_name": mostly([None, "", "Alice Example", "n" * 200], ["n" * 201, "a\x00", 7]),
        "user_agent": mostly([None, "Mozilla/5.0", "u" * 1000], ["u" * 1001, "u\x00", []]),
        "unknown": st.just(1),
    },
)


def by_models(item: Any) -> Any:
    try:
        return to_event(_validate_event(item))
    except ValidationError:
        return None


@settings(max_examples=3000, deadline=None)
@given(events)
def test_the_fast_reader_never_accepts_what_the_models_refuse(item: dict[str, Any]) -> None:
    fast = read_plain_events([item])
    expected = by_models(item)
    if fast is not None:
        assert expected is not None, f"fast path accepted {item!r}"
        assert fast == [expected]


def test_the_fast_reader_takes_the_usual_events() -> None:
    usual = [
        {
            "id": "e1",
            "type": "session.started",
            "session": "s",
            "at": "2026-11-02T10:00:00Z",
            "agent": "A@b.co",
            "agent_name": "Alice",
        },
        {
            "id": "e2",
            "type": "share.started",
            "session": "s",
            "at": 1793606400,
            "share_type": "tab",
            "title": "T",
            "url": "https://x.io",
        },
        {
            "id": "e3",
            "type": "viewer.joined",
            "session": "s",
            "at": "2026-11-02",
            "viewer": "v",
            "ip": "8.8.8.8",
            "location": {"country": "is"},
            "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
        },
        {"id": "e4", "type": "viewer.left", "session": "s", "at": "2026-11-02", "viewer": "v"},
        {"id": "e5", "type": "webcam.started", "session": "s", "at": "2026-11-02"},
        {"id": "e6", "type": "webcam.stopped", "session": "s", "at": "2026-11-02"},
        {"id": "e7", "type": "session.ended", "session": "s", "at": "2026-11-02"},
    ]
    fast = read_plain_events(usual)
    assert fast is not None
    assert fast == [by_models(item) for item in usual]
