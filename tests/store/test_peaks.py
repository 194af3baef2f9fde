"""The database's peak over stored segments is ``segments.peak``, on both backends."""

from __future__ import annotations

import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sharelog.store.bulk import bulk_insert
from sharelog.store.database import Database
from sharelog.store.peaks import stored_peaks
from sharelog.store.schema import viewers
from sharelog.store.segments import JOIN, LEAVE, Mark, peak, segments_of, viewer_segment_columns

_sessions = itertools.count()

marks = st.lists(
    st.tuples(st.integers(0, 6), st.sampled_from("abc"), st.sampled_from([JOIN, LEAVE])),
    max_size=6,
)
# Each session: its viewers' marks, and its end (None: ongoing).
sessions = st.lists(
    st.tuples(st.lists(marks, max_size=5), st.one_of(st.none(), st.integers(0, 8))),
    min_size=1,
    max_size=3,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=sessions)
def test_the_stored_peak_is_the_peak_of_the_segments(
    db: Database, drawn: list[tuple[list[list[Mark]], int | None]]
) -> None:
    ends: dict[str, int | None] = {}
    expected: dict[str, int] = {}
    rows = []
    for viewer_marks, end in drawn:
        sid = f"s-{next(_sessions)}"
        ends[sid] = end
        expected[sid] = peak([segments_of(m) for m in viewer_marks], end)
        for i, m in enumerate(viewer_marks):
            rows.append(
                {"account_id": 1, "session_id": sid, "id": f"v-{i}", **viewer_segment_columns(m)}
            )
    with db.writing() as conn:
        bulk_insert(conn, viewers, rows)
        assert stored_peaks(conn, 1, ends) == expected


def test_a_session_without_stored_viewers_has_peak_zero(db: Database) -> None:
    with db.writing() as conn:
        assert stored_peaks(conn, 1, {"none": None, "other": 5}) == {"none": 0, "other": 0}
