"""One table of exit codes, kept by every command: a storage that refuses connections or a SQLite
file on a read-only disk is exit code 3 with one line, at start as later, so a script can retry
on 3 and give up on 2. The README's table lists exactly the codes `ExitCode` declares."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sweeper.exit_codes import ExitCode
from tests.conftest import REPO, run_cli
from tests.sweeper_tests.fault_support import write_study

REFUSED = "postgresql://u:pw-5e3c1a@127.0.0.1:1/db"

COMMANDS = {
    "launch": ["launch", "{file}", "--storage", "{url}"],
    "create": ["create", "{file}", "--storage", "{url}"],
    "resume": ["resume", "--study", "toy", "--storage", "{url}"],
    "worker": ["worker", "--study", "toy", "--storage", "{url}"],
    "status": ["status", "--study", "toy", "--storage", "{url}"],
    "list": ["list", "--storage", "{url}"],
    "best": ["best", "--study", "toy", "--storage", "{url}"],
    "delete": ["delete", "--study", "toy", "--yes", "--storage", "{url}"],
    "report": ["report", "--study", "toy", "--storage", "{url}", "-o", "{tmp}/r.html"],
    "dashboard": ["dashboard", "--port", "0", "--storage", "{url}"],
    "copy from": ["copy", "--study", "toy", "--from", "{url}", "--to", "sqlite:///{tmp}/c.db"],
    "copy to": ["copy", "--study", "toy", "--from", "{good}", "--to", "{url}"],
}


def _filled(args: list[str], **values: str) -> list[str]:
    filled = []
    for arg in args:
        for key, value in values.items():
            arg = arg.replace("{" + key + "}", value)
        filled.append(arg)
    return filled


def _assert_one_line_exit_3(result: subprocess.CompletedProcess[str], where: str) -> str:
    assert result.returncode == ExitCode.STORAGE, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: storage: "), result.stderr
    assert where in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def good_study(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite file holding study `toy` (created, no trials), to copy from."""
    tmp = tmp_path_factory.mktemp("good")
    url = f"sqlite:///{tmp / 'good.db'}"
    created = run_cli("create", str(write_study(tmp / "toy.yaml")), "--storage", url)
    assert created.returncode == 0, created.stderr
    return url


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_against_a_refused_postgresql_port_exits_3_with_one_line(
    command: str, good_study: str, tmp_path: Path
) -> None:
    args = _filled(
        COMMANDS[command],
        file=str(write_study(tmp_path / "toy.yaml")),
        url=REFUSED,
        tmp=str(tmp_path),
        good=good_study,
    )
    result = run_cli(*args, timeout=60)
    line = _assert_one_line_exit_3(result, "postgresql://u:***@127.0.0.1:1/db")
    assert "Connection refused" in line, line
    assert "pw-5e3c1a" not in result.stdout + result.stderr


@pytest.fixture(scope="module")
def read_only_study(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Study `toy` in a SQLite file on a tmpfs remounted read-only (CI runs as root, for whom a
    file's permission bits do not stop a write)."""
    disk = tmp_path_factory.mktemp("ro") / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)], check=True)
    try:
        url = f"sqlite:///{disk / 'sweeps.db'}"
        created = run_cli("create", str(write_study(disk / "toy.yaml")), "--storage", url)
        assert created.returncode == 0, created.stderr
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_against_a_read_only_sqlite_file_exits_3_with_one_line(
    command: str, read_only_study: Path, good_study: str, tmp_path: Path
) -> None:
    db = read_only_study / "sweeps.db"
    args = _filled(
        COMMANDS[command],
        file=str(read_only_study / "toy.yaml"),
        url=f"sqlite:///{db}",
        tmp=str(tmp_path),
        good=good_study,
    )
    line = _assert_one_line_exit_3(run_cli(*args, timeout=60), str(db))
    assert "read-only" in line, line


def test_the_readme_table_lists_every_exit_code_once() -> None:
    readme = (REPO / "README.md").read_text()
    rows = re.findall(r"^\| `?(\d+)`? \| `?([A-Z_]+)`? \|", readme, flags=re.MULTILINE)
    assert sorted((int(code), name) for code, name in rows) == sorted(
        (int(code), code.name) for code in ExitCode
    )
