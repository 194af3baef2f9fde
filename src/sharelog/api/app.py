"""``create_app(settings)``: the ASGI application, with nothing built at import time."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from sharelog import __version__
from sharelog.api.body import BodyLimit
from sharelog.api.errors import install_error_handlers
from sharelog.api.feed_wait import ChangeWaiter
from sharelog.api.metrics import Metrics
from sharelog.api.observe import RequestObserver, configure_access_log
from sharelog.api.openapi import install_openapi
from sharelog.api.positions import ReplicaPositions
from sharelog.api.ratelimit import RateLimiter
from sharelog.api.routes import (
    account,
    audit,
    changes,
    daily,
    events,
    keys,
    service,
    sessions,
    usage,
    webhooks,
)
from sharelog.api.routes.docs import install_docs
from sharelog.api.shared_ratelimit import SharedRateLimiter
from sharelog.api.signing import Signer
from sharelog.code_version import code_version
from sharelog.config import Settings
from sharelog.dashboard.routes import install_dashboard
from sharelog.geo import open_locator
from sharelog.ingest import Ingestor
from sharelog.proxies import TrustedProxies, parse_networks
from sharelog.removal import Remover
from sharelog.renderer import RENDER_INTERVAL_SECONDS, EntryRenderer, ReadNotes
from sharelog.store import secrets as secret_store
from sharelog.store.database import Database
from sharelog.store.replicas import written
from sharelog.store.usage_stats import StatsCache
from sharelog.sweeper import Sweeper
from sharelog.webhooks.addresses import system_resolver
from sharelog.webhooks.metrics import queue_lines, sender_options
from sharelog.webhooks.sender import Sender

DESCRIPTION = """\
Usage history of screen-sharing sessions, wire-compatible with CrankWheel's
`GET /ss/api/usage?from=&to=`. Send the API key as `Authorization: Basic <key>`,
`Authorization: Bearer <key>`, or HTTP Basic with the key as the user name.
"""


def create_app(
    settings: Settings | None = None, database: Database | None = None, *, deliver: bool = False
) -> FastAPI:
    """Build the app; the caller owns migrations (``sharelog serve`` applies them first).

    With ``deliver`` the app also runs a webhook sender for as long as it serves.
    """
    settings = settings or Settings.from_env()
    db = database or Database(
        settings.database_url,
        read_url=settings.read_database_url,
        replica_urls=settings.replica_url_list,
        max_lag_s=settings.replica_max_lag_s,
        limits=settings.database_limits(),
    )
    locator = open_locator(settings.geoip_db)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        sender = None
        if deliver:
            options = sender_options(settings, app.state.webhook_resolver)
            sender = asyncio.create_task(Sender(db, options, app.state.metrics).run(stop))
        sweeper.start()
        if renderer is not None:
            renderer.start()
        yield
        if renderer is not None:
            renderer.stop()
        sweeper.stop()
        await app.state.change_waiter.close()
        stop.set()
        if sender is not None:
            await sender
        if isinstance(app.state.key_limiter, SharedRateLimiter):
            await app.state.key_limiter.close()
        if database is None:
            db.dispose()

    app = FastAPI(
        title="sharelog",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,  # served from local files by routes/docs.py
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.db = db
    app.state.signer = Signer(
        settings.secret_key, settings.secret_key_previous, stored=lambda: stored_secret(db)
    )
    app.state.ingestor = Ingestor(db, locator, settings.store_ip)
    app.state.usage_stats = StatsCache()
    app.state.read_notes = ReadNotes()
    app.state.change_waiter = ChangeWaiter(db)
    app.state.remover = Remover(db)
    sweeper = Sweeper(
        app.state.remover, settings.tombstone_days, settings.retention_interval_seconds
    )
    app.state.retention = sweeper
    renderer = EntryRenderer(db, RENDER_INTERVAL_SECONDS) if settings.session_entries else None
    code_version()  # a digest of every source file: read once here, not in a request
    app.state.metrics = Metrics()
    # How webhook hosts are resolved; tests put their own names here.
    app.state.webhook_resolver = system_resolver
    app.state.metrics.collectors.append(lambda: queue_lines(db))
    app.state.key_limiter = key_limiter(settings, app.state.metrics)
    app.state.trusted_proxies = TrustedProxies(parse_networks(settings.trusted_proxies))
    app.state.auth_failures = RateLimiter(
        settings.auth_failures_per_minute, "failed authentications from this address"
    )
    install_error_handlers(app)
    app.include_router(daily.router)
    app.include_router(usage.router)
    app.include_router(sessions.router)
    app.include_router(events.router)
    app.include_router(changes.router)
    app.include_router(account.router)
    app.include_router(keys.router)
    app.include_router(audit.router)
    app.include_router(webhooks.router)
    app.include_router(service.router)
    install_openapi(app)
    install_docs(app)
    install_dashboard(app)
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_body_bytes,
        timeout_seconds=settings.body_timeout_seconds,
    )
    app.add_middleware(ReplicaPositions)
    app.add_middleware(RequestObserver, metrics=app.state.metrics)
    return app


def key_limiter(settings: Settings, metrics: Metrics) -> RateLimiter | SharedRateLimiter | None:
    """The per-key limit: shared through Redis when one is configured, else per process."""
    what = "requests for this API key"
    if not settings.rate_limit:
        return None
    if settings.redis_url:
        return SharedRateLimiter(settings.redis_url, settings.rate_limit, what, metrics)
    return RateLimiter(settings.rate_limit, what)


def stored_secret(db: Database) -> str:
    # Bookkeeping, not the request's own write (the first request to sign
    # anything, a read as often as not): it gives no Sharelog-Position.
    # Read first: once made, the secret is there for every process, and a
    # read-only database (or a replica) can still sign.
    with db.reading(primary=True) as conn:
        found = secret_store.stored_signing_secret(conn)
    if found is not None:
        return found
    request_writes = written.set(None)
    try:
        with db.writing() as conn:
            return secret_store.signing_secret(conn)
    finally:
        written.reset(request_writes)


def serve_app() -> FastAPI:
    """The factory `sharelog serve` hands uvicorn: settings from the environment, JSON access log."""
    settings = Settings.from_env()
    configure_access_log(settings.log_level)
    app = create_app(settings, deliver=settings.deliver)
    # A 1,000-event request allocates ~50,000 objects, and with the default
    # threshold (700) the collector ran dozens of times per request over
    # everything the process holds: validating a batch took 10.4 us an event,
    # 5.6 us with this (bench/events.py).
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    return app
