"""Viewer segments, peak viewers and webcam time: computed when written, stored.

Every ``viewer.joined`` and ``viewer.left`` is kept as a *mark*
``[at_us, key, kind]`` in its viewer's row (``viewers.marks``, JSON), where
``key`` is the event id (for an import, ``import_key``) and ``kind`` is
``LEAVE`` (0) or ``JOIN`` (1). A viewer's segments are its marks replayed in ``(at, key,
kind)`` order: a join while not watching opens a segment, the next leave
closes it; a join while watching and a leave while not watching change
nothing. Since the marks are a set, any order of arrival gives the same
segments. The segments are stored beside the marks (``viewers.segments``), so
that a read never replays anything.

Peak: the most segments holding one instant, segments half-open
``[joined, left)`` (a leave and a join at the same instant: the leave counts
first, and an empty segment holds no instant). It is stored on the session
and recomputed whenever one of its viewers' segments or its end changes: here
for a session whose viewers are all at hand (an import, a new session), by
the database over the stored segments otherwise (``store/peaks.py``), so that
an event batch reads only the viewers it names. An open segment runs to the
session's end; while the session goes on it runs on without bound (to "now",
which is after every instant recorded), so the peak of an ongoing session is
exact at write time and needs no work at read time.

Webcam: ``webcam.started``/``webcam.stopped`` marks are kept on the session
(``sessions.webcam_marks``) and paired the same way. Closed segments are
summed when written (``webcam_s``, whole seconds of each, plus an import's
``webcam_seconds``); an open one is stored as its start (``webcam_open_us``)
and runs, at read time, to the session's end or to now.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from sharelog.domain import SessionIn, ViewerIn
from sharelog.timestamps import whole_seconds

LEAVE, JOIN = 0, 1

Mark = tuple[int, str, int]
Segment = tuple[int, int | None]


def decode_marks(text: str | None) -> list[Mark]:
    return [] if not text else [(int(a), str(k), int(d)) for a, k, d in orjson.loads(text)]


def encode_marks(marks: Iterable[Mark]) -> str:
    return orjson.dumps(sorted(marks)).decode()


def decode_segments(text: str | None) -> list[Segment]:
    return (
        [] if not text else [(int(a), None if b is None else int(b)) for a, b in orjson.loads(text)]
    )


def encode_segments(segments: Sequence[Segment]) -> str:
    return orjson.dumps(segments).decode()


def segments_of(marks: Iterable[Mark]) -> list[Segment]:
    """Replay the marks in order: the contract's segments, the last one perhaps open."""
    return _replay(sorted(marks))


def _replay(marks: list[Mark]) -> list[Segment]:
    """``segments_of`` marks already in order."""
    result: list[Segment] = []
    opened: int | None = None
    for at, _, kind in marks:
        if kind == JOIN:
            if opened is None:
                opened = at
        elif opened is not None:
            result.append((opened, at))
            opened = None
    if opened is not None:
        result.append((opened, None))
    return result


def import_key(position: int) -> str:
    """The key of an import's mark: before any event id at the same instant (a space
    sorts before every id character), and in the import's order among its own
    marks, so that an empty segment or two touching ones replay as given."""
    return f" {position:04d}"


def marks_of_segments(segments: Sequence[Segment]) -> list[Mark]:
    """An import's segments (in order, not overlapping) as joins and leaves."""
    marks: list[Mark] = []
    for joined, left in segments:
        marks.append((joined, import_key(len(marks)), JOIN))
        if left is not None:
            marks.append((left, import_key(len(marks)), LEAVE))
    return marks


def peak(segment_lists: Iterable[Sequence[Segment]], end_us: int | None) -> int:
    """The most segments holding one instant; open ones run to ``end_us`` (None: unbounded)."""
    steps: list[tuple[int, int]] = []
    for segments in segment_lists:
        for joined, left in segments:
            stop = end_us if left is None else left
            if stop is None:
                steps.append((joined, 1))
            elif stop > joined:
                steps.append((joined, 1))
                steps.append((stop, -1))
    # (t, -1) sorts before (t, 1): a leave counts before a join at the same instant.
    steps.sort()
    best = current = 0
    for _, step in steps:
        current += step
        if current > best:
            best = current
    return best


def watched_seconds(segments: Sequence[Segment], runs_to_us: int) -> int:
    """The sum of the segments' whole lengths; an open one runs to ``runs_to_us``."""
    return sum(whole_seconds(j, runs_to_us if left is None else left) for j, left in segments)


def webcam_state(marks: Iterable[Mark], imported_s: int) -> tuple[int, int | None]:
    """``(webcam_s, webcam_open_us)``: closed seconds (plus an import's), and an open start."""
    closed = imported_s
    opened: int | None = None
    for joined, left in segments_of(marks):
        if left is None:
            opened = joined
        else:
            closed += whole_seconds(joined, left)
    return closed, opened


def webcam_seconds(closed_s: int, open_us: int | None, runs_to_us: int) -> int:
    return closed_s + (0 if open_us is None else whole_seconds(open_us, runs_to_us))


def viewer_segment_columns(marks: list[Mark]) -> dict[str, Any]:
    """The stored columns that follow from a viewer's marks."""
    return {"marks": encode_marks(marks), "segments": encode_segments(segments_of(marks))}


# The stored columns this module owns, and their values for a row not yet stored.
SESSION_FIELDS = (
    "agent_name",
    "peak",
    "webcam_marks",
    "webcam_import_s",
    "webcam_s",
    "webcam_open_us",
)
VIEWER_FIELDS = ("loc_by_ip", "marks", "segments", "browser", "os", "device", "ua_at_us", "ua_key")
NEW_SESSION: dict[str, Any] = {"peak": 0, "webcam_import_s": 0, "webcam_s": 0}
NEW_VIEWER: dict[str, Any] = {"loc_by_ip": False}
WEBCAM_TYPES = ("webcam.started", "webcam.stopped")


class NewMarks:
    """The marks of one events request, applied to the merged rows in one step.

    Collecting them first decodes each stored mark list once per request,
    not once per event.
    """

    def __init__(self) -> None:
        self.viewers: dict[tuple[str, str], list[Mark]] = {}
        self.webcams: dict[str, list[Mark]] = {}

    def webcam(self, event: Any) -> None:
        kind = JOIN if event.type == "webcam.started" else LEAVE
        self.webcams.setdefault(event.session_id, []).append((event.at_us, event.id, kind))

    def apply(
        self,
        state: dict[str, dict[str, Any]],
        old_sessions: dict[str, Any],
        viewer_state: dict[tuple[str, str], dict[str, Any]],
    ) -> set[str]:
        """Update the viewers' marks and segments, the peak of every new session and
        the webcam figures; answer the stored sessions whose peak is stale.

        ``viewer_state`` holds the viewers the request names: every viewer of a
        new session, but only some of a stored one, whose peak the caller asks
        the database for (``peaks.stored_peaks``) once the viewers are written.
        A peak is stale when one of its viewers' segments or its end changed.
        """
        stale: set[str] = set()
        # The segments just worked out, kept for the peaks below: decoding them
        # again from their JSON was a tenth of an events request's time.
        known: dict[tuple[str, str], list[Segment]] = {}
        for key, new in self.viewers.items():
            v = viewer_state[key]
            marks = decode_marks(v["marks"]) + new if v["marks"] else new
            marks.sort()
            segments = _replay(marks)
            text = orjson.dumps(segments).decode()
            if text != v["segments"]:
                stale.add(key[0])
            v["marks"], v["segments"] = orjson.dumps(marks).decode(), text
            known[key] = segments
        fresh: dict[str, list[list[Segment]]] = {}
        for sid, s in state.items():
            old = old_sessions.get(sid)
            if old is None:
                fresh[sid] = []  # every viewer of a new session is at hand: its peak is here
            elif old["end_us"] != s["end_us"]:
                stale.add(sid)
        for key, v in viewer_state.items():
            lists = fresh.get(key[0])
            if lists is not None:
                found = known.get(key)
                lists.append(decode_segments(v["segments"]) if found is None else found)
        for sid, segment_lists in fresh.items():
            state[sid]["peak"] = peak(segment_lists, state[sid]["end_us"])
        for sid, new in self.webcams.items():
            s = state[sid]
            all_marks = decode_marks(s["webcam_marks"]) + new
            s["webcam_marks"] = encode_marks(all_marks)
            s["webcam_s"], s["webcam_open_us"] = webcam_state(all_marks, s["webcam_import_s"])
        return stale - fresh.keys()


def _imported_marks(v: ViewerIn) -> list[Mark]:
    return marks_of_segments(v.segments if v.segments is not None else [(v.joined_us, v.left_us)])


def imported_viewer_columns(v: ViewerIn) -> dict[str, Any]:
    """An imported viewer's marks and segments (its own, else joined to left), location
    source and parsed user agent."""
    c = v.client
    return {
        **viewer_segment_columns(_imported_marks(v)),
        "loc_by_ip": v.located_by_ip,
        "browser": c.browser if c else None,
        "os": c.os if c else None,
        "device": c.device if c else None,
        "ua_at_us": v.joined_us if c else None,
        "ua_key": "" if c else None,
    }


def imported_session_columns(s: SessionIn) -> dict[str, Any]:
    """The agent's name, the peak over the imported viewers, the imported webcam seconds."""
    lists = [segments_of(_imported_marks(v)) for v in s.viewers]
    return {
        "agent_name": s.agent_name,
        "peak": peak(lists, s.end_us),
        "webcam_marks": None,
        "webcam_import_s": s.webcam_seconds,
        "webcam_s": s.webcam_seconds,
        "webcam_open_us": None,
    }
