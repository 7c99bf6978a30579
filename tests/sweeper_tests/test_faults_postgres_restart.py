"""PostgreSQL goes away under running workers.

A restart (`pg_ctlcluster ... stop` then `start`) costs nothing: the workers wait it out and the
study finishes with no failed trial. A database that stays away longer than the study's
`heartbeat.storage_outage` bound ends the run with one clear line and exit code 3, not a hang;
`sweeper resume` then finishes the study. The long outage is a real TCP proxy in front of the
real server being shut, so the machine's shared server is restarted only once.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import threading
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from storage.engine import StorageUnavailable, open_storage
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

CLUSTER_VERSION = (
    sorted(os.listdir("/etc/postgresql"))[-1] if os.path.isdir("/etc/postgresql") else "15"
)


def _pg_ctl(action: str) -> None:
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", CLUSTER_VERSION, "main", action],
        check=True,
        capture_output=True,
        timeout=60,
    )


def _pg_ready() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            pass
    except OSError:
        return False
    done = subprocess.run(["pg_isready", "-h", "127.0.0.1", "-p", "5432", "-q"], timeout=10)
    return done.returncode == 0


def _finished(url: str) -> int:
    return sum(t.state in FINISHED for t in load_trials(url))


def test_two_workers_ride_out_a_postgres_restart_and_finish(
    postgres_url: str, tmp_path: Path
) -> None:
    heartbeat = {"interval": 1, "grace_period": 30, "max_retry": 3, "storage_outage": 60}
    study_file = write_study(tmp_path / "toy.yaml", n_trials=6, epochs=8, heartbeat=heartbeat)
    launcher = start_cli("launch", str(study_file), "--storage", postgres_url, "--workers", "2")
    try:
        wait_until(lambda: _finished(postgres_url) >= 1, 90, "a first finished trial")
        before = snapshot(load_trials(postgres_url))
        down_at = time.monotonic()
        try:
            _pg_ctl("stop")
            time.sleep(2)  # both workers are mid-trial and find the server gone
        finally:
            _pg_ctl("start")
            wait_until(_pg_ready, 60, "PostgreSQL back up")
        outage = time.monotonic() - down_at
        out, err = launcher.communicate(timeout=180)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
    assert launcher.returncode == 0, err
    assert "Traceback" not in err, err
    trials = assert_study_intact(postgres_url, 6, before=before)
    assert [
        t.number for t in trials if t.state == TrialState.FAIL
    ] == []  # the restart cost nothing
    print(f"\n[postgres restart] server away {outage:.1f} s; 6/6 finished, 0 failed")


class _Proxy:
    """A TCP forwarder to the real server; `cut()` shuts it and drops every connection."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.open = True
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while self.open:
            try:
                client, _ = self.server.accept()
                upstream = socket.create_connection(self.target)
            except OSError:
                return
            with self.lock:
                self.sockets += [client, upstream]
                if not self.open:  # accepted while being cut
                    self._close_all()
                    return
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        """Refuse new connections and drop the open ones: the database is gone."""
        with self.lock:
            self.open = False
            self.server.close()
            self._close_all()

    def _close_all(self) -> None:
        for sock in self.sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            except OSError:
                pass


def test_a_database_away_longer_than_the_bound_gives_one_line_and_exit_3(
    postgres_url: str, tmp_path: Path
) -> None:
    proxy = _Proxy(("127.0.0.1", 5432))
    via_proxy = postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}")
    heartbeat = {"interval": 1, "grace_period": 3, "max_retry": 3, "storage_outage": 4}
    study_file = write_study(tmp_path / "toy.yaml", n_trials=4, epochs=8, heartbeat=heartbeat)
    launcher = start_cli("launch", str(study_file), "--storage", via_proxy, "--workers", "2")
    with killed_on_failure(launcher):
        wait_until(lambda: _finished(postgres_url) >= 1, 90, "a first finished trial")
        before = snapshot(load_trials(postgres_url))
        proxy.cut()
        cut_at = time.monotonic()
    lines = error_lines_of_exit_3(launcher, timeout=60)
    gave_up = time.monotonic() - cut_at
    # The launcher and each worker it started say the same one thing.
    assert all("unreachable for" in line for line in lines), lines
    assert all("(bound 4 s)" in line and "Connection refused" in line for line in lines), lines
    print(f"\n[storage outage] bound 4 s: launcher exit 3 after {gave_up:.1f} s: {lines[0]}")

    resumed = run_cli("resume", "--study", "toy", "--storage", postgres_url, "--workers", "2")
    assert resumed.returncode == 0, resumed.stderr
    assert_study_intact(postgres_url, 4, before=before)


def test_a_connection_cut_inside_any_call_is_an_outage_never_an_internal_error(
    postgres_url: str,
) -> None:
    # Cut at random moments of a worker's calls: inside an ORM load the session refuses the
    # next statement (PendingRollbackError) after the first fails, which must still count as
    # the outage (waited out to the bound, then one line), not "internal error" and exit 1.
    optuna.create_study(study_name="cut", storage=open_storage(postgres_url))
    rng = random.Random(0)
    for _ in range(15):
        proxy = _Proxy(("127.0.0.1", 5432))
        storage = open_storage(postgres_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}"))
        backend = getattr(storage, "_backend", storage)
        backend.outage_s = 0.5
        study = optuna.load_study(study_name="cut", storage=storage)
        threading.Timer(rng.uniform(0.05, 0.5), proxy.cut).start()
        with pytest.raises(StorageUnavailable, match=r"unreachable for .* \(bound 0.5 s\)"):
            while True:
                trial = study.ask()
                trial.set_user_attr("worker", "me")
                for step in range(3):
                    trial.report(trial.suggest_float("x", 0.0, 1.0), step)
                study.get_trials(deepcopy=False)
                study.tell(trial, 1.0)
        backend.dispose()
