"""Every limit of the contract and of this server, in one place.

Parsing, the store and the docs read them from here; nothing else types them.
"""

from __future__ import annotations

# Bodies.
MAX_SESSIONS_PER_REQUEST = 1000
MAX_EVENTS_PER_REQUEST = 5000
# Per session, whether imported or built from events (events past them are counted
# as over_limit and not applied).
MAX_SHARES = 1000
MAX_VIEWERS = 1000
MAX_SEGMENTS = 1000  # per imported viewer
# Text, in characters.
MAX_ID = 128
ID_PATTERN = r"^[A-Za-z0-9._:\-]{1,128}$"
MAX_EMAIL = 254
MAX_AGENT_NAME = 200
MAX_USER_AGENT = 1000
MAX_TITLE = 1000
MAX_URL = 2048
MAX_PLACE = 200  # a location's region or city
MAX_WEBCAM_SECONDS = 10**12  # far above any session, well inside a BIGINT
# Query parameters.
MAX_USAGE_LIMIT = 10_000
DEFAULT_CHANGES_LIMIT = 100
MAX_CHANGES_LIMIT = 1000
MAX_VIEWERS_LIMIT = 1000  # a page of a session's viewers.list (viewers_limit)
MAX_WAIT_SECONDS = 30
MAX_RETENTION_DAYS = 36_500
