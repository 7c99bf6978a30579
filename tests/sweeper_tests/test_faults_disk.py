"""A full disk and a read-only SQLite file: one clear error and exit code 3, no traceback, and
the study file on disk is intact (SQLite's integrity check passes, every finished trial is
there) so `sweeper resume` completes it once space is back.

The disk is a real tmpfs of a few MiB mounted for the test (CI runs as root, like PostgreSQL's
own set-up); "read-only" is that file system remounted read-only.
"""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_cli, start_cli
from tests.sweeper_tests.fault_support import (
    FINISHED,
    assert_study_intact,
    error_lines_of_exit_3,
    killed_on_failure,
    load_trials,
    snapshot,
    wait_until,
    write_study,
)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB tmpfs of this test's own, unmounted afterwards."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount_point)], check=True
    )
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(directory: Path) -> Path:
    """Write zeros until the file system is full; the filler file. Unbuffered: a buffered file
    keeps the bytes of the write that failed and raises ENOSPC again when it is closed."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 65536)
        except OSError:
            pass
    return filler


def _integrity(db: Path) -> str:
    with sqlite3.connect(db) as connection:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]


def test_a_full_disk_stops_the_run_with_one_clear_error_and_corrupts_nothing(
    small_disk: Path, tmp_path: Path
) -> None:
    db = small_disk / "sweeps.db"
    url = f"sqlite:///{db}"
    study_file = write_study(tmp_path / "toy.yaml", n_trials=4, epochs=8, delay=0.2)
    launcher = start_cli("launch", str(study_file), "--storage", url)
    with killed_on_failure(launcher):
        wait_until(lambda: sum(t.state in FINISHED for t in load_trials(url)) >= 1, 90, "trial")
        before = snapshot(load_trials(url))
        filler = _fill(small_disk)
    lines = error_lines_of_exit_3(launcher, timeout=120)
    assert all("database or disk is full" in line for line in lines), lines
    print(f"\n[full disk] exit 3: {lines[-1]}")

    filler.unlink()
    assert _integrity(db) == "ok"
    resumed = run_cli("resume", "--study", "toy", "--storage", url)
    assert resumed.returncode == 0, resumed.stderr
    assert_study_intact(url, 4, before=before)
    assert _integrity(db) == "ok"


def test_a_read_only_sqlite_file_gives_one_clear_error_and_stays_intact(
    small_disk: Path, tmp_path: Path
) -> None:
    db = small_disk / "sweeps.db"
    url = f"sqlite:///{db}"
    study_file = write_study(tmp_path / "toy.yaml", n_trials=2, epochs=3, delay=0.0)
    assert run_cli("launch", str(study_file), "--storage", url).returncode == 0
    before = snapshot(load_trials(url))
    size = db.stat().st_size
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    try:
        result = run_cli("launch", str(study_file), "--storage", url, "--n-trials", "4")
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    assert result.returncode == 3, result.stderr  # at start as later: storage, not bad input
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: storage:"), result.stderr
    assert str(db) in lines[0] and "read-only" in lines[0], lines[0]
    print(f"\n[read-only file] exit {result.returncode}: {lines[0]}")

    assert db.stat().st_size == size and _integrity(db) == "ok"
    assert_study_intact(url, 2, before=before)
