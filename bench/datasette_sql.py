"""The SQL that Datasette is given to answer what ``GET /ss/api/usage`` answers.

Hand-written against sharelog's schema, as a Datasette user would have to:
JSON1 for the nested sessions (``json_group_array``/``json_object``), plain
columns for the CSV export's rows. docs/performance.md quotes them. The
window's bounds and the account are inlined as integers (Datasette would pass
query-string parameters as text).
"""

from __future__ import annotations

# Instants as the contract writes them: RFC 3339, UTC, whole seconds.
_NOW_US = "(CAST(strftime('%s', 'now') AS INTEGER) * 1000000)"


def _instant(column: str) -> str:
    return f"strftime('%Y-%m-%dT%H:%M:%SZ', {column} / 1000000, 'unixepoch')"


def _whole_seconds(start: str, end: str) -> str:
    return f"(max(0, {end} - {start}) / 1000000)"


_RUNS_TO = f"coalesce(s.end_us, {_NOW_US})"
_OF_SESSION = "account_id = s.account_id AND session_id = s.id"
_WINDOW = "s.account_id = {account} AND s.start_us >= {from_us} AND s.start_us < {to_us}"

# One row per session, its usage object built by SQLite. A scalar subquery
# loses JSON1's subtype, so each nested array goes through json() again.
DOCUMENT = f"""
SELECT json_object(
  'id', s.id,
  'agent', s.agent,
  'agent_name', s.agent_name,
  'start', {_instant("s.start_us")},
  'end', CASE WHEN s.end_us IS NULL THEN NULL ELSE {_instant("s.end_us")} END,
  'duration', {_whole_seconds("s.start_us", _RUNS_TO)},
  'shares', json((
    SELECT json_group_array(json_object(
      'at', {_instant("x.at_us")}, 'type', x.type, 'title', x.title, 'url', x.url))
    FROM (SELECT * FROM shares WHERE {_OF_SESSION} ORDER BY at_us, seq, event_id) AS x
  )),
  'viewers', json_object(
    'count', (SELECT count(*) FROM viewers WHERE {_OF_SESSION} AND joined_us IS NOT NULL),
    'peak', s.peak,
    'locations', json((
      SELECT json_group_array(json_object(
        'country', g.country, 'region', g.region, 'city', g.city, 'count', g.n))
      FROM (
        SELECT country, region, city, count(*) AS n FROM viewers
        WHERE {_OF_SESSION} AND joined_us IS NOT NULL
        GROUP BY country, region, city
        ORDER BY n DESC, country IS NULL, country, region IS NULL, region, city IS NULL, city
      ) AS g
    ))
  ),
  'webcam_seconds', s.webcam_s + CASE WHEN s.webcam_open_us IS NULL THEN 0
    ELSE {_whole_seconds("s.webcam_open_us", _RUNS_TO)} END
) AS session
FROM sessions AS s
WHERE {_WINDOW}
ORDER BY s.start_us, s.id
"""

# The CSV export's columns, one flat row per session.
FLAT = f"""
SELECT
  s.id AS id,
  s.agent AS agent,
  {_instant("s.start_us")} AS start,
  CASE WHEN s.end_us IS NULL THEN '' ELSE {_instant("s.end_us")} END AS "end",
  {_whole_seconds("s.start_us", _RUNS_TO)} AS duration,
  (SELECT count(*) FROM shares WHERE {_OF_SESSION}) AS shares,
  (SELECT count(*) FROM viewers WHERE {_OF_SESSION} AND joined_us IS NOT NULL) AS viewers,
  coalesce((
    SELECT group_concat(country, ';') FROM (
      SELECT DISTINCT country FROM viewers
      WHERE {_OF_SESSION} AND joined_us IS NOT NULL AND country IS NOT NULL
      ORDER BY country
    )
  ), '') AS countries,
  s.peak AS peak,
  coalesce(s.agent_name, '') AS agent_name
FROM sessions AS s
WHERE {_WINDOW}
ORDER BY s.start_us, s.id
"""

# Paging goes through Datasette's table view of ``sessions`` (its keyset
# pagination, a ``Link: rel="next"`` header): a session's own columns only.
PAGE_COLUMNS = ("agent", "start_us", "end_us", "agent_name", "peak", "webcam_s", "webcam_open_us")


def document_sql(account: int, from_us: int, to_us: int) -> str:
    return DOCUMENT.format(account=int(account), from_us=int(from_us), to_us=int(to_us))


def flat_sql(account: int, from_us: int, to_us: int) -> str:
    return FLAT.format(account=int(account), from_us=int(from_us), to_us=int(to_us))


def page_params(account: int, from_us: int, to_us: int, size: int) -> list[tuple[str, str]]:
    """The first page's query string; each next one is in the answer's Link header."""
    return [
        ("_shape", "array"),
        ("_size", str(size)),
        ("_sort", "start_us"),
        ("account_id", str(account)),
        ("start_us__gte", str(from_us)),
        ("start_us__lt", str(to_us)),
        *(("_col", c) for c in PAGE_COLUMNS),
        # Neither counts nor facet suggestions: the fastest pages Datasette makes.
        ("_nocount", "1"),
        ("_nofacet", "1"),
    ]
