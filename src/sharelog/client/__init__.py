"""A Python client for the usage-history API (sharelog or any compatible server).

from sharelog.client import UsageClient

with UsageClient("http://127.0.0.1:8000", "slk_...") as client:
    usage = client.usage("2026-11-01", "2026-12-01")
    for session in client.iter_sessions("2026-01-01"):
        ...
    for page in client.iter_changes(since=saved_position):
        ...  # page.changes, then keep page.next
"""

from sharelog.client._changes import ChangesPage
from sharelog.client._client import AsyncUsageClient, UsageClient
from sharelog.client._exceptions import (
    ApiError,
    AuthenticationError,
    ClientError,
    InvalidRequest,
    PositionGone,
    ProtocolError,
    TransportError,
)
from sharelog.client._models import (
    EventsResult,
    Figures,
    ImportResult,
    LocationCount,
    NewSession,
    Segment,
    Session,
    Share,
    Stats,
    Usage,
    Viewer,
)

__all__ = [
    "ApiError",
    "AsyncUsageClient",
    "AuthenticationError",
    "ChangesPage",
    "ClientError",
    "EventsResult",
    "Figures",
    "ImportResult",
    "InvalidRequest",
    "LocationCount",
    "NewSession",
    "PositionGone",
    "ProtocolError",
    "Segment",
    "Session",
    "Share",
    "Stats",
    "TransportError",
    "Usage",
    "UsageClient",
    "Viewer",
]
