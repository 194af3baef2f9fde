"""Ingestion: geolocate what arrives, apply the IP policy, write it in one transaction."""

from __future__ import annotations

from dataclasses import replace

from sharelog.domain import UNKNOWN, EventIn, EventResult, IngestResult, SessionIn, ViewerIn
from sharelog.geo import Locator, reduce_ip
from sharelog.store import events as event_store
from sharelog.store import sessions as session_store
from sharelog.store.database import Database
from sharelog.timestamps import now_us
from sharelog.useragents import parse_user_agent
from sharelog.webhooks import record_messages
from sharelog.webhooks.wakeup import wakeup


class Ingestor:
    def __init__(self, db: Database, locator: Locator, store_ip: str = "none") -> None:
        self.db = db
        self.locator = locator
        self.store_ip = store_ip

    def locate_viewers(self, viewers: list[ViewerIn]) -> list[ViewerIn]:
        """An explicit location wins; else the IP's (perhaps unknown); else none at all.

        All addresses of a batch are looked up in one call.
        """
        wanted = [v.ip for v in viewers if v.location is None and v.ip is not None]
        found = iter(self.locator.lookup_many(wanted)) if wanted else iter(())
        result = []
        for v in viewers:
            location = v.location
            by_ip = False
            if location is None and v.ip is not None:
                location, by_ip = next(found, UNKNOWN), True
            ip = reduce_ip(v.ip, self.store_ip) if v.ip is not None else None
            # The user agent is parsed here and not kept: only what it says is.
            client = parse_user_agent(v.user_agent) if v.user_agent is not None else None
            unchanged = location is v.location and ip == v.ip and client is None
            result.append(
                v
                if unchanged
                else replace(
                    v,
                    location=location,
                    ip=ip,
                    located_by_ip=by_ip,
                    user_agent=None,
                    client=client,
                )
            )
        return result

    def import_sessions(self, account_id: int, batch: list[SessionIn]) -> IngestResult:
        viewers = [v for s in batch for v in s.viewers]
        located = iter(self.locate_viewers(viewers))
        batch = [replace(s, viewers=[next(located) for _ in s.viewers]) for s in batch]
        with self.db.writing(account_id) as conn:
            now = now_us()
            result = session_store.import_sessions(conn, account_id, batch, now)
            # In the same transaction: the change and its webhook messages commit together.
            queued = record_messages(conn, account_id, result.changes, now)
        if queued:
            wakeup.wake()
        return result

    def ingest_events(self, account_id: int, events: list[EventIn]) -> EventResult:
        """Geolocate the joins that carry an ip, parse their user agents, then claim and
        merge the events."""
        joins = [i for i, e in enumerate(events) if e.ip is not None or e.user_agent is not None]
        if joins:
            as_viewers = [
                ViewerIn(
                    id="",
                    joined_us=0,
                    ip=events[i].ip,
                    location=events[i].location,
                    user_agent=events[i].user_agent,
                )
                for i in joins
            ]
            events = list(events)
            for i, v in zip(joins, self.locate_viewers(as_viewers), strict=True):
                events[i] = replace(
                    events[i],
                    location=v.location,
                    ip=v.ip,
                    located_by_ip=v.located_by_ip,
                    user_agent=None,
                    client=v.client,
                )
        with self.db.writing(account_id) as conn:
            now = now_us()
            result, fresh = event_store.merge_events(conn, account_id, events, now)
            queued = record_messages(conn, account_id, result.changes, now, fresh)
        if queued:
            wakeup.wake()
        return result
