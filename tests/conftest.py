"""Shared fixtures: real SQLite files, fresh PostgreSQL databases, and a CLI runner.

PostgreSQL is required: `.ci/run` starts the server when it is down. Each test that uses it gets
its own database, created and dropped here.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover
    pass

PG_ADMIN_DSN = os.environ.get(
    "SWEEPER_TEST_PG", "host=127.0.0.1 port=5432 user=root dbname=postgres"
)
REPO = Path(__file__).resolve().parents[1]


def _pg_params() -> dict[str, str]:
    return dict(part.split("=", 1) for part in PG_ADMIN_DSN.split())


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file of this test's own."""
    return f"sqlite:///{tmp_path / 'sweeps.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database, dropped after the test."""
    import psycopg

    name = f"sweeper_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(PG_ADMIN_DSN, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.fail(f"PostgreSQL is not reachable ({PG_ADMIN_DSN}): {error}; start it first")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    params = _pg_params()
    yield f"postgresql://{params['user']}@{params['host']}:{params['port']}/{name}"
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def storage_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once on a SQLite file and once on a fresh PostgreSQL database."""
    return request.getfixturevalue(f"{request.param}_url")


_DATA_HOME = tempfile.mkdtemp(prefix="sweeper-test-data-")


def cli_env(**extra: str) -> dict[str, str]:
    """The environment CLI subprocesses run with: no inherited storage URL, one torch thread,
    and artifacts of PostgreSQL studies kept in a temporary directory, not the user's home."""
    env = {k: v for k, v in os.environ.items() if k != "SWEEPER_STORAGE"}
    env.update(OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1", XDG_DATA_HOME=_DATA_HOME, **extra)
    return env


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m sweeper ARGS` as a user would, capturing its output."""
    return subprocess.run(
        [sys.executable, "-m", "sweeper", *args],
        cwd=cwd or REPO,
        env=env or cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_cli(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """Start `python -m sweeper ARGS` in its own session (so a test can signal its group)."""
    return subprocess.Popen(
        [sys.executable, "-m", "sweeper", *args],
        cwd=cwd or REPO,
        env=env or cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
