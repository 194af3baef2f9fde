"""Power loss: the disk keeps only what reached it, and every acknowledged write is there.

A SIGKILL leaves the OS page cache intact, so it cannot tell ``synchronous=FULL``
from ``OFF``. Here sharelog writes to a SQLite file on an ext4 filesystem in a
loop-mounted image; the image file is copied while the filesystem is still
mounted, unsynced: the copy holds exactly what was flushed to the (loop) disk,
as after a power cut. (Device-mapper's flakey target would do the same, but
this machine's kernel has no device-mapper.) The copy is mounted, its journal
replayed, and every acknowledged batch must be in it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sharelog.domain import EventIn
from sharelog.geo import open_locator
from sharelog.ingest import Ingestor
from sharelog.store.database import Database
from tests.conftest import make_tenant

pytestmark = pytest.mark.slow


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=60)


@pytest.fixture
def mounted(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """(mount point, image file) of a fresh ext4 image; skipped where mounting is not allowed."""
    if os.geteuid() != 0 or not shutil.which("mkfs.ext4"):
        pytest.skip("needs root and mkfs.ext4 to loop-mount a filesystem image")
    image, mount = tmp_path / "disk.img", tmp_path / "mnt"
    mount.mkdir()
    with image.open("wb") as f:
        f.truncate(64 * 1024 * 1024)
    _run("mkfs.ext4", "-q", "-F", str(image))
    # A long journal commit interval: nothing reaches the disk unless fsynced.
    try:
        _run("mount", "-o", "loop,commit=300", str(image), str(mount))
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"cannot loop-mount an image here: {exc.stderr.decode().strip()}")
    try:
        yield mount, image
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, timeout=60)


def _after_power_loss(image: Path, tmp_path: Path) -> Iterator[Path]:
    """Mount a copy of the image as the disk has it now (journal replayed)."""
    copy, mount = tmp_path / "after.img", tmp_path / "after"
    shutil.copyfile(image, copy)
    mount.mkdir()
    _run("mount", "-o", "loop", str(copy), str(mount))
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True, timeout=60)


def test_acknowledged_events_survive_a_power_cut(
    mounted: tuple[Path, Path], tmp_path: Path, sqlite_template: Path
) -> None:
    mount, image = mounted
    shutil.copy(sqlite_template, mount / "sharelog.db")
    os.sync()  # the starting point is on disk; what follows is not, unless fsynced
    db = Database(f"sqlite:///{mount / 'sharelog.db'}")
    tenant = make_tenant(db, "acme")
    ingestor = Ingestor(db, open_locator(""))
    acknowledged = 0
    for batch in range(20):
        events = [
            EventIn(
                f"e-{batch}-{i}",
                "session.started",
                f"s-{batch}-{i}",
                1_793_606_400_000_000,
                agent="a@x.io",
            )
            for i in range(50)
        ]
        assert ingestor.ingest_events(tenant.account_id, events).accepted == 50
        acknowledged += 50
    # A control that proves the copy loses what was not flushed: written, never synced.
    (mount / "unsynced-marker").write_bytes(b"x" * 4096)
    for after in _after_power_loss(image, tmp_path):
        assert not (after / "unsynced-marker").exists() or (
            (after / "unsynced-marker").read_bytes() != b"x" * 4096
        ), "the copy kept an unsynced write: it does not simulate a power cut"
        survivor = Database(f"sqlite:///{after / 'sharelog.db'}")
        with survivor.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
            count = conn.exec_driver_sql(
                "SELECT COUNT(*) FROM sessions WHERE account_id = ?", (tenant.account_id,)
            ).scalar()
        survivor.dispose()
        assert count == acknowledged
    db.dispose()
