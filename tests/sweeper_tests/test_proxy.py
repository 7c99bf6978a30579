"""`sweeper proxy`: workers, `create`, `status` and `trial` reach a study through Optuna's gRPC
storage proxy, on a SQLite file and on PostgreSQL; a killed worker's trial is re-queued by the
proxy's heartbeat check; a proxy restart loses nothing; PostgreSQL sees the proxy's connections
only; bad addresses are one line."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import optuna
import psycopg
import pytest
from optuna.trial import TrialState

from storage.engine import open_storage
from storage.grpc_client import HEARTBEAT_ATTR
from sweeper.proxy.trial_reads import FULL_READ_EVERY_S
from tests.conftest import PG_ADMIN_DSN, cli_env, run_cli, start_cli
from tests.sweeper_tests.fault_support import (
    assert_study_intact,
    is_surplus,
    load_trials,
    snapshot,
    wait_until,
    write_study,
)
from tests.sweeper_tests.user_objectives import write_study_for

INTERVAL_S, GRACE_S = 1, 3
_LISTENING = re.compile(r"storage proxy on grpc://(?P<host>[^ ]+):(?P<port>\d+) ")


@contextmanager
def running_proxy(storage_url: str, port: int = 0) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`sweeper proxy` in front of `storage_url`; yields its grpc:// URL and the process."""
    process = start_cli("proxy", "--storage", storage_url, "--port", str(port))
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = _LISTENING.search(line)
        assert match, (line, process.stderr.read() if process.poll() is not None else "")
        yield f"grpc://127.0.0.1:{match['port']}", process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _create(storage_url: str, tmp_path: Path, **study: object) -> Path:
    heartbeat = {"interval": INTERVAL_S, "grace_period": GRACE_S, "max_retry": 3}
    path = write_study(tmp_path / "toy.yaml", heartbeat=heartbeat, **study)  # type: ignore[arg-type]
    assert run_cli("create", str(path), "--storage", storage_url).returncode == 0
    return path


def test_a_study_runs_through_the_proxy_and_reads_back_from_the_database(
    storage_url: str, tmp_path: Path
) -> None:
    with running_proxy(storage_url) as (proxy_url, _):
        study_file = write_study(tmp_path / "toy.yaml", n_trials=4, epochs=4, delay=0.1)
        launched = run_cli("launch", str(study_file), "--workers", "2", "--storage", proxy_url)
        assert launched.returncode == 0, launched.stderr
        assert "done: 4/4 finished" in launched.stdout
        # Every command takes the proxy, from the environment too.
        status = run_cli(
            "status", "--study", "toy", "--json", env=cli_env(SWEEPER_STORAGE=proxy_url)
        )
        assert status.returncode == 0, status.stderr
        assert json.loads(status.stdout)["counts"]["COMPLETE"] == 4
        shown = run_cli("trial", "--study", "toy", "0", "--storage", proxy_url)
        assert shown.returncode == 0 and "lr" in shown.stdout, shown.stderr

    trials = assert_study_intact(storage_url, 4)  # the database itself, without the proxy
    # Two workers that both ask for the last trial leave one surplus trial that never ran.
    for trial in (t for t in trials if not is_surplus(t)):
        assert "worker" in trial.user_attrs and trial.intermediate_values
        assert HEARTBEAT_ATTR not in trial.system_attrs  # beats are heartbeat rows, not attrs


def test_a_killed_workers_trial_is_requeued_by_the_proxy(storage_url: str, tmp_path: Path) -> None:
    _create(storage_url, tmp_path, n_trials=3, epochs=40, delay=0.25)  # 10 s trials
    with running_proxy(storage_url) as (proxy_url, _):
        victim = start_cli("worker", "--study", "toy", "--storage", proxy_url)
        try:
            wait_until(
                lambda: any(
                    t.state == TrialState.RUNNING and len(t.intermediate_values) >= 2
                    for t in load_trials(storage_url)
                ),
                90,
                "the victim inside a trial",
            )
            killed_at = datetime.now()
            os.kill(victim.pid, signal.SIGKILL)
            victim.wait()
            # Nobody else runs on the study: only the proxy can fail and re-queue the trial.
            wait_until(
                lambda: any(t.state == TrialState.WAITING for t in load_trials(storage_url)),
                GRACE_S + 15,
                "the killed worker's trial re-queued",
            )
            requeued_after = (datetime.now() - killed_at).total_seconds()
            survivor = run_cli("worker", "--study", "toy", "--storage", proxy_url)
            assert survivor.returncode == 0, survivor.stderr
        finally:
            if victim.poll() is None:
                victim.kill()
    trials = assert_study_intact(storage_url, 3)
    (failed,) = [t for t in trials if t.state == TrialState.FAIL]
    (retry,) = [t for t in trials if t.system_attrs.get("failed_trial") == failed.number]
    assert retry.state == TrialState.COMPLETE and retry.params == failed.params
    print(f"\nkill -> re-queued by the proxy in {requeued_after:.1f} s (grace {GRACE_S} s)")


def test_a_proxy_restart_mid_sweep_loses_nothing(postgres_url: str, tmp_path: Path) -> None:
    _create(postgres_url, tmp_path, n_trials=6, epochs=8, delay=0.25)
    port = _free_port()
    with running_proxy(postgres_url, port) as (proxy_url, first):
        worker = start_cli("worker", "--study", "toy", "--storage", proxy_url)
        wait_until(
            lambda: any(t.state == TrialState.COMPLETE for t in load_trials(postgres_url)),
            90,
            "a first trial finished",
        )
        before = snapshot(load_trials(postgres_url))
        first.kill()  # no goodbye: kill -9 mid-trial
        first.wait()
    with running_proxy(postgres_url, port):
        _, err = worker.communicate(timeout=180)
        assert worker.returncode == 0, err
    assert_study_intact(postgres_url, 6, before=before)


def test_postgresql_sees_only_the_proxys_connections(postgres_url: str, tmp_path: Path) -> None:
    _create(postgres_url, tmp_path, n_trials=12, epochs=6, delay=0.2)
    database = postgres_url.rsplit("/", 1)[1]
    peak = 0
    with running_proxy(postgres_url) as (proxy_url, _):
        workers = [start_cli("worker", "--study", "toy", "--storage", proxy_url) for _ in range(6)]
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as admin:
            while any(w.poll() is None for w in workers):
                (count,) = admin.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (database,)
                ).fetchone()  # type: ignore[misc]
                peak = max(peak, int(count))
        assert all(w.wait() == 0 for w in workers)
    assert_study_intact(postgres_url, 12)
    assert 1 <= peak <= 8, peak  # 6 workers, yet the proxy's pool of 8 is the bound


def test_no_proxy_at_the_address_is_one_line_and_exit_code_3(tmp_path: Path) -> None:
    result = run_cli("status", "--storage", f"grpc://127.0.0.1:{_free_port()}", timeout=60)
    assert result.returncode == 3
    assert result.stderr.strip().count("\n") == 0
    assert "no proxy answers at grpc://127.0.0.1:" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("url", ["grpc://", "grpc://host:13000/db", "grpc://me:pw@host:1"])
def test_a_malformed_proxy_url_is_bad_input(url: str) -> None:
    result = run_cli("status", "--storage", url)
    assert result.returncode == 2
    assert "a gRPC proxy URL is grpc://HOST:PORT" in result.stderr
    assert "pw" not in result.stderr


def test_the_proxy_warns_off_loopback_and_refuses_a_taken_port(sqlite_url: str) -> None:
    with running_proxy(sqlite_url) as (proxy_url, _):
        taken = proxy_url.rsplit(":", 1)[1]
        again = run_cli("proxy", "--storage", sqlite_url, "--port", taken, timeout=60)
        assert again.returncode == 2
        assert again.stderr.strip() == (
            f"error: --port {taken}: cannot listen on 127.0.0.1 (in use or not an address)"
        )
    public = start_cli("proxy", "--storage", sqlite_url, "--host", "0.0.0.0", "--port", "0")
    try:
        assert public.stdout is not None and public.stderr is not None
        assert _LISTENING.search(public.stdout.readline())
    finally:
        public.send_signal(signal.SIGTERM)
        _, err = public.communicate(timeout=30)
    assert "warning: --host 0.0.0.0 is not a loopback address" in err
    assert public.returncode == 0


def test_the_failure_budget_stops_a_study_through_the_proxy(
    postgres_url: str, tmp_path: Path
) -> None:
    data_file = tmp_path / "edges.csv"
    study_file = write_study_for(
        tmp_path / "s.yaml", "needs_data_file", 4, study="budget", low=-1.0,
        params={"data_file": str(data_file)},
        failures={"max_consecutive": 3, "max_total": None},
    )  # fmt: skip
    with running_proxy(postgres_url) as (proxy_url, _):
        launched = run_cli("launch", str(study_file), "--storage", proxy_url, "--workers", "2")
        assert launched.returncode == 4, (launched.stdout, launched.stderr)
        (line,) = launched.stderr.strip().splitlines()
        assert line.startswith("error: study budget stopped: ")
        assert "trials in a row failed (SweeperError: dataset:" in line
        status = run_cli("status", "--study", "budget", "--storage", proxy_url, "--json")
        assert json.loads(status.stdout)["stopped"]["rule"] == "max_consecutive"


def test_trial_states_reach_every_client_at_once_and_running_values_within_a_second(
    storage_url: str, tmp_path: Path
) -> None:
    # The proxy reloads running trials in full at most FULL_READ_EVERY_S apart; states (what
    # counts, targets, surplus checks and retries rest on) must never wait for that.
    _create(storage_url, tmp_path, n_trials=5)
    direct = optuna.load_study(study_name="toy", storage=open_storage(storage_url))
    with running_proxy(storage_url) as (proxy_url, _):
        writer = optuna.load_study(study_name="toy", storage=open_storage(proxy_url))
        reader = optuna.load_study(study_name="toy", storage=open_storage(proxy_url))

        def states() -> list[str]:
            return [t.state.name for t in reader.get_trials(deepcopy=False)]

        assert states() == []  # the proxy's full read; the next ones are inside its window
        first = writer.ask()
        assert states() == ["RUNNING"]
        writer.tell(first, 1.0)
        assert states() == ["COMPLETE"]
        assert reader.get_trials()[0].value == 1.0
        # A worker on the database directly (another machine) is seen at once as well.
        made_elsewhere = direct.ask()
        assert states() == ["COMPLETE", "RUNNING"]
        direct.tell(made_elsewhere, state=TrialState.PRUNED)
        assert states() == ["COMPLETE", "PRUNED"]
        running = writer.ask()
        running.report(0.5, step=1)
        assert states()[-1] == "RUNNING"
        wait_until(
            lambda: reader.get_trials(deepcopy=False)[-1].intermediate_values == {1: 0.5},
            FULL_READ_EVERY_S + 2,
            "a running trial's reported value through the proxy",
        )
