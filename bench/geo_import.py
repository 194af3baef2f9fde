"""Geolocation at ingestion: a 5,000-viewer import with and without an IP on every viewer.

    python -m bench.geo_import [--viewers 5000] [--repeat 5]

Both imports go through the real app in-process (POST /ss/api/sessions, five
sessions of 1,000 viewers) on a fresh SQLite file; the one with IPs resolves
every address with the built-in country data. Best of --repeat runs each.
"""

from __future__ import annotations

import argparse
import random
import tempfile
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from bench._common import Timer, make_keys
from sharelog.api import create_app
from sharelog.config import Settings
from sharelog.store import migrate
from sharelog.store.database import Database


def body(viewers: int, with_ip: bool, run: int) -> dict[str, Any]:
    rng = random.Random(run)
    sessions = []
    for s in range(viewers // 1000):
        listed = []
        for v in range(1000):
            viewer: dict[str, Any] = {"id": f"v-{v}", "joined": "2026-11-02T10:01:00Z"}
            if with_ip:
                viewer["ip"] = (
                    f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
                )
            listed.append(viewer)
        sessions.append(
            {
                "id": f"r{run}-s{s}",
                "agent": "a@example.com",
                "start": "2026-11-02T10:00:00Z",
                "viewers": listed,
            }
        )
    return {"sessions": sessions}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--viewers", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'geo.db'}"
        db = Database(url)
        migrate.upgrade(db.engine)
        _, _, write_key = make_keys(url)
        headers = {"Authorization": f"Basic {write_key}"}
        times: dict[bool, list[float]] = {False: [], True: []}
        with TestClient(create_app(Settings(database_url=url), database=db)) as client:
            for run in range(args.repeat):
                for with_ip in (False, True):
                    payload = body(args.viewers, with_ip, run * 2 + with_ip)
                    with Timer() as t:
                        client.post(
                            "/ss/api/sessions", json=payload, headers=headers
                        ).raise_for_status()
                    times[with_ip].append(t.seconds)
        db.dispose()
    plain, located = min(times[False]), min(times[True])
    print(f"import of {args.viewers:,} viewers (best of {args.repeat}):")
    print(
        f"  without IPs            {plain * 1000:8.1f} ms  ({args.viewers / plain:,.0f} viewers/s)"
    )
    print(
        f"  with an IP on each     {located * 1000:8.1f} ms  ({args.viewers / located:,.0f} viewers/s)"
    )
    print(f"  geolocation costs {located / plain - 1:+.0%} on the whole import")


if __name__ == "__main__":
    main()
