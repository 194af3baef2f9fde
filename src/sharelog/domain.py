"""Plain types that travel between the HTTP layer and the store.

They import nothing from either: a route parses a request into these, the
store reads and writes them. Instants are integer microseconds (see
``sharelog.timestamps``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

SHARE_TYPES = ("screen", "window", "tab", "other")


class Scope(StrEnum):
    """What an API key may do: ``read`` every GET, ``write`` also ingest and delete,
    ``admin`` also administer the account (keys, webhooks, settings, erasure, audit)."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    def covers(self, needed: Scope) -> bool:
        return _SCOPE_RANK[self] >= _SCOPE_RANK[needed]


_SCOPE_RANK = {Scope.READ: 0, Scope.WRITE: 1, Scope.ADMIN: 2}


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller: an account, through one of its keys."""

    account_id: int
    scope: Scope
    key_prefix: str


@dataclass(frozen=True, slots=True)
class Account:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """What is kept in clear of an API key."""

    prefix: str
    scope: Scope
    account_id: int
    account_name: str
    created_us: int
    revoked_us: int | None


@dataclass(frozen=True, slots=True)
class Location:
    country: str | None = None
    region: str | None = None
    city: str | None = None

    @property
    def known(self) -> bool:
        return not (self.country is None and self.region is None and self.city is None)


UNKNOWN = Location()


@dataclass(frozen=True, slots=True)
class Client:
    """What a viewer's user agent said, parsed when received (the string is not kept)."""

    browser: str | None = None
    os: str | None = None
    device: str = "other"  # desktop, mobile, tablet, bot or other


@dataclass(frozen=True, slots=True)
class ShareIn:
    at_us: int
    type: str
    title: str = ""
    url: str | None = None


@dataclass(frozen=True, slots=True)
class ViewerIn:
    id: str
    joined_us: int
    left_us: int | None = None
    ip: str | None = None
    location: Location | None = None
    # Imported segments (joined, left or None), in order; None: one, joined to left.
    segments: list[tuple[int, int | None]] | None = None
    user_agent: str | None = None
    # Set by the ingest layer: the location came from looking the ip up.
    located_by_ip: bool = False
    client: Client | None = None


@dataclass(frozen=True, slots=True)
class SessionIn:
    """One whole session, as imported by ``POST /ss/api/sessions``."""

    id: str
    agent: str
    start_us: int
    end_us: int | None = None
    shares: list[ShareIn] = field(default_factory=list)
    viewers: list[ViewerIn] = field(default_factory=list)
    agent_name: str | None = None
    webcam_seconds: int = 0


@dataclass(frozen=True, slots=True)
class UsageQuery:
    """What ``GET /ss/api/usage`` asks: a half-open window and optional agents."""

    from_us: int
    to_us: int
    agents: tuple[str, ...] = ()
    now_us: int = 0


@dataclass(frozen=True, slots=True)
class SessionChange:
    """One session a write changed, at its new change-feed position."""

    id: str
    seq: int
    deleted: bool = False
    # The session appeared in usage with this write (its first start).
    started: bool = False
    # Its end went from null to a time with this write.
    ended: bool = False
    # In usage after this write (a session without a start is not).
    listed: bool = True


@dataclass(frozen=True, slots=True)
class IngestResult:
    received: int
    created: int
    replaced: int
    changes: tuple[SessionChange, ...] = ()


# Not frozen: a frozen dataclass sets each field through object.__setattr__,
# and building the 1,000 events of a batch took 1.5 ms that way, 0.5 ms this
# way (a tenth of the parse). Nothing changes an event after it is built.
@dataclass(slots=True)
class EventIn:
    """One live event of ``POST /ss/api/events``; the fields its ``type`` does not use are None."""

    id: str
    type: str
    session_id: str
    at_us: int
    agent: str | None = None
    share_type: str | None = None
    title: str = ""
    url: str | None = None
    viewer_id: str | None = None
    ip: str | None = None
    location: Location | None = None
    agent_name: str | None = None
    user_agent: str | None = None
    located_by_ip: bool = False
    client: Client | None = None


@dataclass(frozen=True, slots=True)
class EventResult:
    received: int
    accepted: int
    duplicates: int
    changes: tuple[SessionChange, ...] = ()
    # Accepted events not applied: they would have taken a session past
    # MAX_SHARES shares or MAX_VIEWERS viewers.
    over_limit: int = 0
