"""A fleet of 8 to 64 real `sweeper worker` processes on one study: directly on PostgreSQL, and
through `sweeper proxy` (issue 19, part 2).

The objective (`benchmarks/fleet_objective.py`, `objective: fleet_objective:sleep_objective`)
sleeps 1 s per epoch over 5 epochs and reports a value after each, so the service and the
database are what is measured: ideally a fleet of W workers finishes W / 5 trials per second.
Study file: 4 searched parameters (float, log float, int, categorical), pruner `none` with the
health rules off (`health: null`), the default heartbeat (10 s), a target far beyond the window,
the random sampler (seed 0), then the same file with TPE (seed 0).

Each (sampler, path, workers) runs on a fresh PostgreSQL database `fleet_<random>` on
127.0.0.1 (dropped afterwards): `sweeper create` makes the study (through the proxy on the proxy
path), W processes `sweeper worker --study fleet --storage URL --device cpu --quiet` start, and
each waits inside its first trial (the objective's gate) until all have started; the gate then
releases them spread over one trial (5 s), so start-up never overlaps a measurement and trials
end evenly in time. After one trial of warm-up comes a fixed window; in it:

- throughput: trials whose objective returned inside the window / window length, against the
  ideal W / 5 s;
- "between trials (tell+ask)": per trial, the wall time from the process's previous objective
  return to this objective call, i.e. everything a worker does between two trials (Optuna's
  tell, the health-artifact upload, the worker loop's checks, ask and the sampler), with its CPU
  seconds; p50/p95 over the trials started in the window;
- report: the duration of each `ctx.report(epoch, value)` call, p50/p95;
- peak PostgreSQL connections to the run's database (pg_stat_activity polled every 0.2 s in a
  thread, the benchmark's own connections left out by their application_name), over the whole
  run and over the window; worker RSS and PSS (from /proc, recorded by the objective); CPU
  seconds per finished trial of the workers, the proxy and the database's backends, and the
  machine's busy share;
- after the run: every worker's exit code and stderr tail, and the database's trials checked
  against the records (each trial recorded once, by the process the database names).

Workers stop by the study's target being lowered (they finish their trial and exit 0); leftovers
are SIGTERMed, then killed; Ctrl-C or SIGTERM of this script kills every worker and proxy and
drops the databases.

Growth (per-trial cost as the study grows): through the proxy with 16 workers, the study is
pre-filled directly on the database, before the workers start and then between windows while
they run, up to 100, 1,000, 3,000 and 10,000 finished trials. The trials are made by
`optuna.trial.create_trial` (the same 4 distributions, uniformly drawn parameters, the
objective's value and its 5 intermediate values); the first of each fill is added with
`study.add_trials`, the rest written in one transaction as RDBStorage writes them (see
`prefill`: `add_trials` manages ~50 trials/s here) and the last read back through Optuna and
compared. After each fill the window waits until every worker has finished a trial started
after it (their caches have read the new trials), then measures as above. The per-trial
service cost is the median of (between-trials gap + the trial's 5 report calls); the floor
compares it at 10,000 and at 100.
TPE gets the same series; its limit is the study size where the between-trials gap reaches 25%
of the 5 s trial (1.25 s: beyond it a fleet cannot keep 80% of ideal throughput), from the
measured sizes (interpolated, or extrapolated linearly past the last). Beside it, the sampler
alone: `study.ask()` with the study file's TPE sampler on an in-memory study of N finished
trials, in this process (one core, no service, no other load), and the size where a fleet of 64
such samplers needs all of this machine's cores.

Floors (PASS/MISS): through the proxy 64 workers reach >= 80% of ideal throughput (random
sampler); PostgreSQL connections stay <= 10 through the proxy whatever the number of workers;
per-trial cost at 10,000 finished trials <= 1.5x its cost at 100 (random sampler). Checked
besides: a worker whose objective needs no torch does not import torch.

    python benchmarks/fleet.py --json            # 8-64 workers, 2 samplers, 2 paths: ~30 min
    python benchmarks/fleet.py --quick --json    # 8 and 32 workers, growth to 3,000, ~10 min
    python benchmarks/fleet.py --smoke --json    # 8 workers, 0.2 s epochs, seconds-long windows
    python benchmarks/fleet.py --growth-only --growth fresh --json   # the growth series only,
        # each size a fleet of its own on a database filled before its workers start (~12 min)

The default growth protocol (`live`) fills the running fleet's study between windows: each
worker's first read after a fill pulls thousands of trials through the proxy (~0.6 ms of proxy
time per trial, serialised), so the windows after big fills can still carry that catch-up.
`fresh` measures the steady state at each size instead (the pull happens before the gate).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import yaml
from _common import ROOT, fmt, json_line, parser_for

BENCH = Path(__file__).resolve().parent
STUDY = "fleet"
EPOCHS = 5
OWN_APP = "fleet-bench"  # application_name of this script's own database connections
ADMIN_DSN = f"host=127.0.0.1 port=5432 user=postgres dbname=postgres application_name={OWN_APP}"
DB_URL = "postgresql://postgres@127.0.0.1:5432/{name}"
POLL_S = 0.2
THROUGHPUT_FLOOR = 0.8
CONNECTION_FLOOR = 10
GROWTH_FLOOR = 1.5
#: Between-trials gap at which a fleet drops below 80% of ideal: 25% of a 5 s trial.
GAP_BUDGET_SHARE = 0.25
TARGET = 1_000_000
SPACE: dict[str, Any] = {
    "x": {"type": "float", "low": -5.0, "high": 5.0},
    "lr": {"type": "float", "low": 1.0e-5, "high": 1.0e-1, "log": True},
    "width": {"type": "int", "low": 16, "high": 256},
    "kind": {"type": "categorical", "choices": ["a", "b", "c"]},
}
ERROR_PATTERNS = {
    "too_many_clients": re.compile(r"too many clients|too many connections", re.I),
    "storage_error": re.compile(r"^error: storage", re.I | re.M),
    "traceback": re.compile(r"^Traceback", re.M),
}


@dataclass(frozen=True)
class Mode:
    """What one run of the script measures."""

    workers: tuple[int, ...]
    samplers: tuple[str, ...]
    epoch_s: float
    window_s: float
    growth_workers: int
    growth_sizes: tuple[int, ...]
    growth_samplers: tuple[str, ...]
    growth_window_s: float
    alone_sizes: tuple[int, ...]
    #: Grow the study on the proxy row of `growth_workers` (a fresh window, then each size)
    #: instead of in runs of their own (smoke: one fleet start fewer).
    growth_on_row: bool = False


MODES = {
    "full": Mode(
        (8, 16, 32, 64), ("random", "tpe"), 1.0, 25.0,
        16, (100, 1_000, 3_000, 10_000), ("random", "tpe"), 15.0,
        (100, 1_000, 3_000, 10_000, 30_000),
    ),
    "quick": Mode(
        (8, 32), ("random", "tpe"), 1.0, 15.0,
        16, (100, 1_000, 3_000), ("random", "tpe"), 12.0, (100, 1_000, 3_000, 10_000),
    ),
    "smoke": Mode(
        (8,), ("random",), 0.2, 2.0, 8, (60,), ("random",), 2.0, (20, 60), growth_on_row=True,
    ),
}  # fmt: skip
#: A TPE growth series stops once its between-trials gap is past this many times the budget
#: (the limit is found; a larger study only takes longer to fill).
TPE_STOP_FACTOR = 2.0


# --- processes and databases this script owns (all of them go at exit) ---------------------


class Owned:
    """Every worker, proxy and database this script started, so that an exit of any kind (the
    end, an error, Ctrl-C, SIGTERM) kills the processes and drops the databases."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []
        self.databases: list[str] = []

    def kill_all(self) -> None:
        """SIGTERM every live process, wait up to 10 s, then SIGKILL what is left."""
        alive = [p for p in self.processes if p.poll() is None]
        for process in alive:
            _signal(process, signal.SIGTERM)
        deadline = time.monotonic() + 10.0
        for process in alive:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal(process, signal.SIGKILL)
                process.wait()
        self.processes.clear()

    def drop_all(self) -> None:
        """Drop every database this script created."""
        for name in list(self.databases):
            drop_database(name)

    def cleanup(self) -> None:
        """Processes first (they hold connections), then the databases."""
        self.kill_all()
        self.drop_all()


OWNED = Owned()


def _signal(process: subprocess.Popen[bytes], signum: int) -> None:
    try:
        process.send_signal(signum)
    except ProcessLookupError:
        pass


def admin(sql: str) -> None:
    """Run one statement on the server's `postgres` database (autocommit)."""
    import psycopg

    with psycopg.connect(ADMIN_DSN, autocommit=True) as connection:
        connection.execute(sql)


def create_database() -> str:
    """A fresh, empty database `fleet_<random>`; its name."""
    name = f"fleet_{uuid.uuid4().hex[:10]}"
    admin(f'CREATE DATABASE "{name}"')
    OWNED.databases.append(name)
    return name


def drop_database(name: str) -> None:
    """Drop a database of this script, whoever is still connected."""
    admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if name in OWNED.databases:
        OWNED.databases.remove(name)


def own_connection(database: str) -> Any:
    """A psycopg connection to `database` that the connection counts leave out."""
    import psycopg

    dsn = f"host=127.0.0.1 port=5432 user=postgres dbname={database} application_name={OWN_APP}"
    return psycopg.connect(dsn, autocommit=True)


def server_settings() -> dict[str, Any]:
    """max_connections and the connections the server has now (of every database)."""
    import psycopg

    with psycopg.connect(ADMIN_DSN, autocommit=True) as connection:
        limit = connection.execute("SHOW max_connections").fetchone()
        reserved = connection.execute("SHOW superuser_reserved_connections").fetchone()
        used = connection.execute(
            "SELECT datname, count(*) FROM pg_stat_activity WHERE datname IS NOT NULL "
            "AND application_name <> %s GROUP BY datname",
            (OWN_APP,),
        ).fetchall()
    return {
        "max_connections": int(limit[0]) if limit else None,
        "superuser_reserved_connections": int(reserved[0]) if reserved else None,
        "connections_at_start": {str(name): int(count) for name, count in used},
    }


class ConnectionPoller(threading.Thread):
    """Counts the connections to one database every POLL_S seconds (this script's own left
    out), with the backends' pids (for their CPU time) and the server's total."""

    def __init__(self, database: str) -> None:
        super().__init__(name="fleet-connections", daemon=True)
        self.database = database
        self.samples: list[tuple[float, int, int]] = []  # (wall time, this database, server)
        self.pids: set[int] = set()
        self.stopped = threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(ADMIN_DSN, autocommit=True) as connection:
            while not self.stopped.is_set():
                rows = connection.execute(
                    "SELECT pid, datname = %s FROM pg_stat_activity "
                    "WHERE backend_type = 'client backend' AND application_name <> %s",
                    (self.database, OWN_APP),
                ).fetchall()
                mine = [int(pid) for pid, here in rows if here]
                self.pids.update(mine)
                self.samples.append((time.time(), len(mine), len(rows)))
                self.stopped.wait(POLL_S)

    def peak(self, start: float = 0.0, end: float = math.inf) -> tuple[int, int]:
        """The most connections to this database, and to the server, seen in [start, end]."""
        kept = [(here, total) for t, here, total in self.samples if start <= t <= end]
        if not kept:
            return 0, 0
        return max(h for h, _ in kept), max(t for _, t in kept)

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


# --- the study, the proxy and the workers ---------------------------------------------------


def study_file(sampler: str, epoch_s: float) -> dict[str, Any]:
    """The study file of a fleet run: the sleeping objective, no pruning, no health rules."""
    return {
        "study": STUDY,
        "objective": "fleet_objective:sleep_objective",
        "direction": "minimize",
        "metric": "value",
        "n_trials": TARGET,
        "sampler": {"name": sampler, "seed": 0},
        "pruner": {"name": "none", "health": None},
        "params": {"epochs": EPOCHS, "epoch_s": epoch_s},
        "space": SPACE,
    }


def sweeper_command() -> list[str]:
    """`sweeper` from the same environment as this Python."""
    script = Path(sys.executable).with_name("sweeper")
    return [str(script)] if script.exists() else [sys.executable, "-m", "sweeper"]


def worker_env(tmp: Path) -> dict[str, str]:
    """The environment of `sweeper` subprocesses: the objective's module on PYTHONPATH, its
    records directory, and the health artifacts kept inside the run's temp dir."""
    path = os.pathsep.join(p for p in (str(BENCH), str(ROOT), os.environ.get("PYTHONPATH")) if p)
    env = {k: v for k, v in os.environ.items() if k != "SWEEPER_STORAGE"}
    return {
        **env,
        "PYTHONPATH": path,
        "FLEET_RECORDS": str(tmp / "records"),
        "FLEET_GATE": str(tmp / "gate"),
        "XDG_DATA_HOME": str(tmp / "xdg"),
    }


def create_study(path: Path, url: str) -> None:
    """What `sweeper create FILE --storage URL` does (through the proxy on the proxy path), in
    this process to spare a start-up per fleet; the storage is closed afterwards."""
    from sweeper.launching import create, plan_launch

    plan = plan_launch(
        path, storage_url=url, study_name=None, n_trials=None, timeout=None, enqueue=[]
    )
    storage = create(plan)._storage
    getattr(storage, "_backend", storage).dispose()  # Optuna's cache wraps a database


def start_proxy(database_url: str, env: dict[str, str], logs: Path) -> tuple[Any, str]:
    """`sweeper proxy --storage URL --port 0` on 127.0.0.1; the process and its grpc:// URL."""
    process = subprocess.Popen(
        [*sweeper_command(), "proxy", "--storage", database_url, "--host", "127.0.0.1",
         "--port", "0"],
        env=env, stdout=subprocess.PIPE, stderr=open(logs / "proxy.err", "wb"),
        start_new_session=True,
    )  # fmt: skip
    OWNED.processes.append(process)
    assert process.stdout is not None
    found: list[str] = []

    def drain() -> None:
        assert process.stdout is not None
        with open(logs / "proxy.out", "wb") as out:
            for line in process.stdout:
                out.write(line)
                out.flush()
                match = re.search(rb"grpc://127\.0\.0\.1:(\d+)", line)
                if match and not found:
                    found.append(match.group(1).decode())

    threading.Thread(target=drain, daemon=True).start()
    deadline = time.monotonic() + 60
    while not found and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    if not found:
        error = (logs / "proxy.err").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"sweeper proxy did not start (exit {process.poll()}): {error}")
    return process, f"grpc://127.0.0.1:{found[0]}"


def start_workers(
    count: int, url: str, env: dict[str, str], logs: Path, trial_s: float
) -> list[subprocess.Popen[bytes]]:
    """`count` processes of `sweeper worker --study fleet --storage URL --device cpu --quiet`,
    each with a gate offset of index / count of a trial."""
    workers = []
    for index in range(count):
        offset = f"{trial_s * index / count:.3f}"
        process = subprocess.Popen(
            [*sweeper_command(), "worker", "--study", STUDY, "--storage", url, "--device", "cpu",
             "--quiet"],
            env={**env, "FLEET_OFFSET": offset},
            stdout=open(logs / f"worker-{index}.out", "wb"),
            stderr=open(logs / f"worker-{index}.err", "wb"),
            start_new_session=True,
        )  # fmt: skip
        OWNED.processes.append(process)
        workers.append(process)
    return workers


def wait_ready(workers: Sequence[subprocess.Popen[bytes]], records: Path, timeout: float) -> int:
    """Wait until every live worker waits at the gate (or has exited); how many are ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready = len(list(records.glob("*.ready")))
        exited = sum(w.poll() is not None for w in workers)
        if ready + exited >= len(workers):
            return ready
        time.sleep(0.2)
    return len(list(records.glob("*.ready")))


def open_gate(gate: Path, at: float) -> None:
    """Release the workers: the gate file holds the wall time their offsets count from."""
    scratch = gate.with_suffix(".tmp")
    scratch.write_text(f"{at:.6f}")
    scratch.replace(gate)


def load_records(records: Path) -> list[dict[str, Any]]:
    """Every trial record the workers appended (a line cut by a writer mid-way is skipped)."""
    found = []
    for path in sorted(records.glob("*.jsonl")):
        for line in path.read_text().splitlines():
            try:
                found.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return found


def lower_target(connection: Any) -> None:
    """Make the study's target 1: every worker finishes its trial and exits with 0 (workers read
    the target from the storage before each trial; neither Optuna's proxy cache nor its
    client caches study attributes)."""
    connection.execute(
        "UPDATE study_user_attributes SET value_json = '1' WHERE key = 'sweeper.target'"
    )


def stop_workers(workers: Sequence[subprocess.Popen[bytes]], timeout: float) -> list[int | None]:
    """Wait for the workers to exit on their own, then SIGTERM (and SIGKILL) the rest; codes."""
    deadline = time.monotonic() + timeout
    for worker in workers:
        try:
            worker.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    late = [w for w in workers if w.poll() is None]
    for worker in late:
        _signal(worker, signal.SIGTERM)
    for worker in late:
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            _signal(worker, signal.SIGKILL)
            worker.wait()
    return [w.returncode for w in workers]


def stop_process(process: subprocess.Popen[bytes]) -> int | None:
    """SIGTERM one process (the proxy), kill it after 15 s; its exit code."""
    if process.poll() is None:
        _signal(process, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            _signal(process, signal.SIGKILL)
            process.wait()
    return process.returncode


# --- CPU accounting ---------------------------------------------------------------------------


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds of the live processes among `pids` (all their threads)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) CPU jiffies of the machine since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


@dataclass
class CpuSnapshot:
    """CPU seconds of the fleet's parts at one instant."""

    workers: float
    proxy: float
    postgres: float
    machine: tuple[int, int]

    @classmethod
    def take(cls, workers: Sequence[int], proxy: int | None, backends: Sequence[int]) -> Any:
        return cls(
            cpu_seconds(workers),
            cpu_seconds([proxy]) if proxy else 0.0,
            cpu_seconds(backends),
            machine_jiffies(),
        )


def cpu_figures(before: CpuSnapshot, after: CpuSnapshot, trials: int) -> dict[str, Any]:
    """CPU seconds per finished trial of each part over a window, and the machine's busy share."""
    busy = after.machine[0] - before.machine[0]
    total = after.machine[1] - before.machine[1]
    per = max(trials, 1)
    return {
        "machine_busy": round(busy / total, 3) if total else None,
        "worker_cpu_per_trial_s": round((after.workers - before.workers) / per, 4),
        "proxy_cpu_per_trial_s": round((after.proxy - before.proxy) / per, 4),
        "postgres_cpu_per_trial_s": round((after.postgres - before.postgres) / per, 4),
    }


# --- figures ----------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100, linear interpolation), or None for no values."""
    kept = sorted(v for v in values if v is not None and math.isfinite(v))
    if not kept:
        return None
    position = (len(kept) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(kept) - 1)
    return kept[low] + (kept[high] - kept[low]) * (position - low)


def window_figures(
    records: Sequence[dict[str, Any]], start: float, end: float, workers: int, trial_s: float
) -> dict[str, Any]:
    """Throughput over [start, end] (trials whose objective returned in it) and the latencies of
    the trials started in it (their between-trials gap came just before their start)."""
    ended = [r for r in records if start <= r["end_wall"] <= end]
    started = [r for r in records if start <= r["start_wall"] <= end and not r["gated"]]
    gaps = [r["gap_s"] for r in started if r["gap_s"] is not None]
    gap_cpu = [r["gap_cpu_s"] for r in started if r.get("gap_cpu_s") is not None]
    reports = [s for r in started for s in r["report_s"]]
    overhead = [r["gap_s"] + sum(r["report_s"]) for r in started if r["gap_s"] is not None]
    rate = len(ended) / (end - start)
    ideal = workers / trial_s
    return {
        "window_s": round(end - start, 2),
        "trials": len(ended),
        "trials_per_s": round(rate, 3),
        "ideal_per_s": round(ideal, 3),
        "share_of_ideal": round(rate / ideal, 3),
        "measured_trials": len(started),
        "gap_p50_s": _round(percentile(gaps, 50), 4),
        "gap_p95_s": _round(percentile(gaps, 95), 4),
        "gap_cpu_p50_s": _round(percentile(gap_cpu, 50), 4),
        "report_p50_ms": _round(_ms(percentile(reports, 50)), 2),
        "report_p95_ms": _round(_ms(percentile(reports, 95)), 2),
        "overhead_p50_s": _round(percentile(overhead, 50), 4),
        "overhead_mean_s": _round(sum(overhead) / len(overhead), 4) if overhead else None,
    }


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def memory_figures(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Each worker's last RSS/PSS and peak RSS: median and largest over the workers."""
    last: dict[int, dict[str, Any]] = {}
    for record in sorted(records, key=lambda r: r["end_wall"]):
        last[record["pid"]] = record
    rss = [r["rss_mb"] for r in last.values() if r.get("rss_mb") is not None]
    pss = [r["pss_mb"] for r in last.values() if r.get("pss_mb") is not None]
    hwm = [r["hwm_mb"] for r in last.values() if r.get("hwm_mb") is not None]
    return {
        "rss_mb_median": _round(percentile(rss, 50), 1),
        "rss_mb_max": max(rss) if rss else None,
        "pss_mb_median": _round(percentile(pss, 50), 1),
        "peak_rss_mb_max": max(hwm) if hwm else None,
    }


def torch_figures(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Whether any worker had torch loaded in a trial, and the import chain it recorded."""
    loaded = [r for r in records if r.get("torch_at_entry")]
    chains = collections.Counter(
        tuple(r["torch_imported_by"]) for r in loaded if r.get("torch_imported_by")
    )
    return {
        "records": len(records),
        "with_torch": len(loaded),
        "at_objective_import": sum(bool(r.get("torch_at_import")) for r in records),
        "import_chain": list(chains.most_common(1)[0][0]) if chains else None,
    }


def worker_outcomes(logs: Path, codes: Sequence[int | None]) -> dict[str, Any]:
    """Exit codes, how many workers' stderr matched each error pattern, distinct stderr tails."""
    tails: collections.Counter[str] = collections.Counter()
    matched: collections.Counter[str] = collections.Counter()
    for index in range(len(codes)):
        text = (logs / f"worker-{index}.err").read_text(errors="replace")
        for name, pattern in ERROR_PATTERNS.items():
            if pattern.search(text):
                matched[name] += 1
        tail = "\n".join(text.strip().splitlines()[-3:])
        if tail:
            tails[tail[-600:]] += 1
    return {
        "exit_codes": {str(code): n for code, n in collections.Counter(codes).items()},
        "stderr_matches": dict(matched),
        "stderr_tails": [{"workers": n, "tail": t} for t, n in tails.most_common(4)],
    }


def database_check(connection: Any, records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Trials by state, and the records checked against the database: numbers recorded twice,
    recorded trials not COMPLETE there, or whose `worker` attribute names another process; the
    failed trials by reason (`surplus:` ones were taken after the target was lowered to stop)."""
    states = dict(connection.execute("SELECT state, count(*) FROM trials GROUP BY state"))
    rows = connection.execute(
        "SELECT t.number, t.state, a.value_json FROM trials t LEFT JOIN trial_user_attributes a "
        "ON a.trial_id = t.trial_id AND a.key = 'worker'"
    ).fetchall()
    by_number = {int(n): (str(state), json.loads(w) if w else None) for n, state, w in rows}
    numbers = collections.Counter(r["number"] for r in records)
    not_complete = 0
    other_worker = 0
    for record in records:
        state, worker = by_number.get(record["number"], ("MISSING", None))
        if state != "COMPLETE":
            not_complete += 1
        if worker is None or str(worker).rpartition(":")[2] != str(record["pid"]):
            other_worker += 1
    reasons = connection.execute(
        "SELECT left(a.value_json, 60), count(*) FROM trials t JOIN trial_user_attributes a "
        "ON a.trial_id = t.trial_id AND a.key = 'fail_reason' WHERE t.state = 'FAIL' GROUP BY 1"
    ).fetchall()
    return {
        "states": {str(k): int(v) for k, v in states.items()},
        "fail_reasons": {str(reason): int(n) for reason, n in reasons},
        "recorded_twice": sum(1 for n in numbers.values() if n > 1),
        "recorded_not_complete": not_complete,
        "recorded_other_worker": other_worker,
    }


# --- pre-filling a study --------------------------------------------------------------------


def finished_trials(count: int, seed: int) -> list[Any]:
    """`count` finished trials with the study file's distributions, uniformly drawn parameters,
    the objective's value and its 5 intermediate values (what a real trial leaves)."""
    import numpy as np
    import optuna
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    distributions = {
        "x": FloatDistribution(-5.0, 5.0),
        "lr": FloatDistribution(1.0e-5, 1.0e-1, log=True),
        "width": IntDistribution(16, 256),
        "kind": CategoricalDistribution(["a", "b", "c"]),
    }
    rng = np.random.default_rng(seed)
    trials = []
    for _ in range(count):
        params = {
            "x": float(rng.uniform(-5.0, 5.0)),
            "lr": float(10 ** rng.uniform(-5.0, -1.0)),
            "width": int(rng.integers(16, 257)),
            "kind": str(rng.choice(["a", "b", "c"])),
        }
        base = (
            (params["x"] - 1.0) ** 2
            + abs(math.log10(params["lr"]) + 3.0)
            + params["width"] / 256.0
            + (0.0 if params["kind"] == "a" else 0.5)
        )
        trials.append(
            optuna.trial.create_trial(
                params=params,
                distributions=distributions,
                value=base + 1.0 / EPOCHS,
                intermediate_values={e: base + 1.0 / e for e in range(1, EPOCHS + 1)},
            )
        )
    return trials


def prefill(database: str, target: int, seed: int) -> dict[str, Any]:
    """Fill the study, directly on the database, until it holds `target` finished trials; how
    many were added and how long it took.

    The trials are `optuna.trial.create_trial` ones (`finished_trials`). The first goes through
    Optuna's `study.add_trials`; the others are written as Optuna's RDBStorage writes such a
    trial (a `trials` row numbered by the study's trials before it, COMPLETE, and its
    `trial_params` with Optuna's distribution JSON, `trial_values` and
    `trial_intermediate_values` rows), in one transaction holding the study's row lock as
    Optuna's trial creation does: `add_trials` makes 34 round trips per trial (~50 trials/s
    here, 200 s for 10,000). The last one is read back through Optuna and must equal its
    FrozenTrial."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = optuna.storages.RDBStorage(
        DB_URL.format(name=database).replace("postgresql://", "postgresql+psycopg://"),
        engine_kwargs={
            "pool_size": 2,
            "max_overflow": 0,
            "connect_args": {"application_name": OWN_APP},
        },
    )
    start = time.perf_counter()
    try:
        study = optuna.load_study(study_name=STUDY, storage=storage)
        states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        missing = max(0, target - len(study.get_trials(deepcopy=False, states=states)))
        trials = finished_trials(missing, seed)
        if trials:
            study.add_trials(trials[:1])
        if len(trials) > 1:
            with own_connection(database) as connection:
                last_id = bulk_add(connection, trials[1:])
            _check_same(storage.get_trial(last_id), trials[-1])
    finally:
        storage.engine.dispose()
    return {"added": missing, "add_s": round(time.perf_counter() - start, 1)}


def bulk_add(connection: Any, trials: Sequence[Any], chunk: int = 1000) -> int:
    """Write finished single-objective trials as RDBStorage does, in one transaction; the last
    trial's id."""
    from datetime import UTC, datetime

    from optuna.distributions import distribution_to_json

    now = datetime.now(UTC).replace(tzinfo=None)  # RDBStorage keeps naive UTC
    last_id = -1
    with connection.transaction():
        study_id = connection.execute(
            "SELECT study_id FROM studies WHERE study_name = %s FOR UPDATE", (STUDY,)
        ).fetchone()[0]
        count = connection.execute(
            "SELECT count(*) FROM trials WHERE study_id = %s", (study_id,)
        ).fetchone()[0]
        for first in range(0, len(trials), chunk):
            part = trials[first : first + chunk]
            numbers = range(count + first, count + first + len(part))
            rows = ", ".join(["(%s, %s, 'COMPLETE', %s, %s)"] * len(part))
            ids = dict(
                connection.execute(
                    "INSERT INTO trials (number, study_id, state, datetime_start, "
                    f"datetime_complete) VALUES {rows} RETURNING number, trial_id",
                    [v for number in numbers for v in (number, study_id, now, now)],
                ).fetchall()
            )
            params, values, steps = [], [], []
            for number, trial in zip(numbers, part, strict=True):
                trial_id = ids[number]
                last_id = max(last_id, trial_id)
                for name, value in trial.params.items():
                    distribution = trial.distributions[name]
                    params.append(
                        (trial_id, name, distribution.to_internal_repr(value),
                         distribution_to_json(distribution))
                    )  # fmt: skip
                values.append((trial_id, trial.value))
                steps += [(trial_id, step, v) for step, v in trial.intermediate_values.items()]
            with connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO trial_params (trial_id, param_name, param_value, "
                    "distribution_json) VALUES (%s, %s, %s, %s)",
                    params,
                )
                cursor.executemany(
                    "INSERT INTO trial_values (trial_id, objective, value, value_type) "
                    "VALUES (%s, 0, %s, 'FINITE')",
                    values,
                )
                cursor.executemany(
                    "INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, "
                    "intermediate_value_type) VALUES (%s, %s, %s, 'FINITE')",
                    steps,
                )
    return last_id


def _check_same(stored: Any, made: Any) -> None:
    """A bulk-written trial read back through Optuna equals the FrozenTrial it was made from."""
    same = (
        stored.state == made.state
        and stored.params == made.params
        and stored.distributions == made.distributions
        and stored.values == made.values
        and stored.intermediate_values == made.intermediate_values
    )
    if not same:
        raise RuntimeError(f"pre-fill: trial {stored.number} reads back as {stored}, not {made}")


# --- one fleet --------------------------------------------------------------------------------


@dataclass
class FleetRun:
    """One fleet on one fresh database: its settings, and per window what was measured."""

    sampler: str
    path: str
    workers: int
    sizes: tuple[int, ...]  # finished trials to fill the study to before each window (0: none)
    window_s: float
    epoch_s: float
    #: Skip the remaining sizes once the gap p50 passes this (seconds; None: never).
    stop_gap_s: float | None = None
    windows: list[dict[str, Any]] = field(default_factory=list)
    run: dict[str, Any] = field(default_factory=dict)


def run_fleet(fleet: FleetRun) -> FleetRun:
    """Start the database (and proxy), the study and the workers, measure each window, stop."""
    trial_s = EPOCHS * fleet.epoch_s
    with tempfile.TemporaryDirectory(prefix="fleet_") as tmp_name:
        tmp = Path(tmp_name)
        for sub in ("records", "logs", "xdg"):
            (tmp / sub).mkdir()
        logs, records = tmp / "logs", tmp / "records"
        env = worker_env(tmp)
        path = tmp / "study.yaml"
        path.write_text(yaml.safe_dump(study_file(fleet.sampler, fleet.epoch_s), sort_keys=False))
        database = create_database()
        database_url = DB_URL.format(name=database)
        # Opened before the workers: a direct fleet may take every connection the server has.
        connection = own_connection(database)
        poller = ConnectionPoller(database)
        poller.start()
        proxy = None
        workers: list[subprocess.Popen[bytes]] = []
        began = launched = time.time()
        try:
            url = database_url
            if fleet.path == "proxy":
                proxy, url = start_proxy(database_url, env, logs)
            create_study(path, url)
            prefilled = 0
            fills = [{"added": 0, "add_s": 0.0} for _ in fleet.sizes]
            if fleet.sizes[0] > 0:
                fills[0] = prefill(database, fleet.sizes[0], seed=0)
                prefilled += fills[0]["added"]
            launched = time.time()
            workers = start_workers(fleet.workers, url, env, logs, trial_s)
            ready = wait_ready(workers, records, timeout=max(90.0, 4.0 * fleet.workers))
            gate = time.time() + 0.5
            open_gate(tmp / "gate", gate)
            fleet.run.update(
                ready_workers=ready, startup_s=round(gate - launched, 1),
                database=database, url=url.split("@")[-1],
            )  # fmt: skip
            worker_pids = [w.pid for w in workers]
            proxy_pid = proxy.pid if proxy else None
            for index, size in enumerate(fleet.sizes):
                if index == 0:
                    start = gate + trial_s + 2.0
                    time.sleep(max(0.0, start - time.time()))
                else:
                    fills[index] = prefill(database, size, seed=index * 1_000_003)
                    prefilled += fills[index]["added"]
                    start = settle(workers, records, time.time(), timeout=60.0 + 4 * trial_s)
                before = CpuSnapshot.take(worker_pids, proxy_pid, sorted(poller.pids))
                time.sleep(max(0.0, start + fleet.window_s - time.time()))
                end = time.time()
                after = CpuSnapshot.take(worker_pids, proxy_pid, sorted(poller.pids))
                fleet.windows.append(
                    {"size": size, "start": start, "end": end, "prefilled": prefilled,
                     **fills[index], "before": before, "after": after}
                )  # fmt: skip
                if fleet.stop_gap_s is not None and index + 1 < len(fleet.sizes):
                    so_far = window_figures(load_records(records), start, end, 1, trial_s)
                    if (so_far["gap_p50_s"] or 0.0) > fleet.stop_gap_s:
                        fleet.run["stopped_early"] = (
                            f"gap p50 {so_far['gap_p50_s']:.2f} s > {fleet.stop_gap_s:.2f} s "
                            f"at {size} trials: sizes {list(fleet.sizes[index + 1 :])} skipped"
                        )
                        break
            lower_target(connection)
            codes = stop_workers(workers, timeout=2 * trial_s + 20.0)
            found = load_records(records)
            check = database_check(connection, found)
            if proxy is not None:
                fleet.run["proxy_exit"] = stop_process(proxy)
                fleet.run["proxy_stderr_tail"] = _tail(logs / "proxy.err")
        finally:
            for process in [*workers, *([proxy] if proxy else [])]:
                if process.poll() is None:
                    _signal(process, signal.SIGKILL)
                    process.wait()
            poller.stop()
            connection.close()
            drop_database(database)
        finished = time.time()
        peak_db, peak_server = poller.peak(launched, finished)  # from the workers' start
        fleet.run.update(
            peak_connections=peak_db,
            peak_server_connections=peak_server,
            wall_s=round(finished - began, 1),
            **worker_outcomes(logs, codes),
            database_check=check,
            torch=torch_figures(found),
            **memory_figures(found),
        )
        for window in fleet.windows:
            measured = window_figures(found, window["start"], window["end"], fleet.workers, trial_s)
            at_start = window["prefilled"] + sum(r["end_wall"] < window["start"] for r in found)
            at_end = window["prefilled"] + sum(r["end_wall"] < window["end"] for r in found)
            window.update(
                measured,
                finished_at_start=at_start,
                finished_at_end=at_end,
                peak_connections_window=poller.peak(window["start"], window["end"])[0],
                cpu=cpu_figures(window.pop("before"), window.pop("after"), measured["trials"]),
            )
            window.pop("start")
            window.pop("end")
        return fleet


def settle(
    workers: Sequence[subprocess.Popen[bytes]], records: Path, since: float, timeout: float
) -> float:
    """After a fill: wait until every live worker has finished a trial started after `since`
    (so its caches hold the new trials); the time a window may start."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        latest: dict[int, float] = {}
        for record in load_records(records):
            latest[record["pid"]] = max(latest.get(record["pid"], 0.0), record["start_wall"])
        alive = [w.pid for w in workers if w.poll() is None]
        if all(latest.get(pid, 0.0) > since for pid in alive):
            break
        time.sleep(0.2)
    return time.time() + 0.2


def _tail(path: Path, lines: int = 3) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").strip().splitlines()[-lines:])[-600:]
    except OSError:
        return ""


# --- the sampler alone ----------------------------------------------------------------------


def sampler_alone(sizes: Sequence[int], epoch_s: float, repeats: int = 3) -> list[dict[str, Any]]:
    """The study file's TPE sampler in this process: the median time of `study.ask()` on an
    in-memory study of N finished trials (no service, no storage round trips)."""
    import optuna

    from sweeper.config import parse_config
    from sweeper.samplers import build_sampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    config = parse_config(study_file("tpe", epoch_s))
    study = optuna.create_study(sampler=build_sampler(config), direction="minimize")
    found = []
    have = 0
    for size in sorted(sizes):
        study.add_trials(finished_trials(size - have, seed=size))
        have = size
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            trial = study.ask()
            for name, spec in SPACE.items():
                if spec["type"] == "float":
                    trial.suggest_float(name, spec["low"], spec["high"], log=spec.get("log", False))
                elif spec["type"] == "int":
                    trial.suggest_int(name, spec["low"], spec["high"])
                else:
                    trial.suggest_categorical(name, spec["choices"])
            times.append(time.perf_counter() - start)
            study.tell(trial, state=optuna.trial.TrialState.FAIL)  # FAIL trials: unseen by TPE
        found.append({"size": size, "ask_s": round(sorted(times)[len(times) // 2], 4)})
    return found


def crossing(points: Sequence[tuple[int, float | None]], budget: float) -> dict[str, Any]:
    """The study size where a figure rising with size reaches `budget`: the first measured size
    past it (interpolated linearly between it and the one before), else extrapolated linearly
    from the last two sizes (None when it does not rise)."""
    kept = [(n, v) for n, v in points if v is not None]
    for (n0, v0), (n1, v1) in zip(kept, kept[1:], strict=False):
        if v1 >= budget > v0:
            return {"size": round(n0 + (budget - v0) * (n1 - n0) / (v1 - v0)), "how": "measured"}
    if kept and kept[0][1] >= budget:
        return {"size": kept[0][0], "how": "already at the smallest size"}
    if len(kept) >= 2 and kept[-1][1] > kept[-2][1]:
        (n0, v0), (n1, v1) = kept[-2], kept[-1]
        return {"size": round(n1 + (budget - v1) * (n1 - n0) / (v1 - v0)), "how": "extrapolated"}
    return {"size": None, "how": "does not rise"}


# --- the whole benchmark --------------------------------------------------------------------


def other_benchmarks() -> list[str]:
    """Other `benchmarks/*.py` processes on this machine (they share the CPU with this run)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        if "benchmarks/" in command and ".py" in command and "fleet" not in command:
            found.append(command[:200])
    return sorted(set(found))


def source_commit() -> str | None:
    """The repository's commit (with `+dirty` when sweeper/ or storage/ differ from it): another
    engineer may commit while a long run goes on, and the workers run the working tree."""
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "sweeper", "storage"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def main() -> None:
    """Run every fleet of the mode, print the tables and the floors (and JSON with --json)."""
    parser = parser_for(__doc__)
    parser.add_argument(
        "--growth", choices=("live", "fresh"), default="live",
        help="fill the growing study between windows of one fleet (live), or give each size a "
        "fleet of its own on a database filled before its workers start (fresh)",
    )  # fmt: skip
    parser.add_argument("--growth-only", action="store_true", help="skip the fleet rows")
    parser.add_argument(
        "--rows-only", action="store_true",
        help="skip the growth series and the sampler-alone timing (fleet rows only)",
    )  # fmt: skip
    parser.add_argument(
        "--workers", type=_int_list, default=None,
        help="fleet sizes of the rows, e.g. 64 or 32,64 (default: the mode's)",
    )  # fmt: skip
    parser.add_argument("--path", choices=("direct", "proxy"), default=None, help="one path only")
    parser.add_argument("--sampler", choices=("random", "tpe"), default=None, help="one sampler")
    args = parser.parse_args()
    mode_name = "smoke" if args.smoke else "quick" if args.quick else "full"
    mode = _selected(MODES[mode_name], args)
    paths = (args.path,) if args.path else ("direct", "proxy")
    signal.signal(signal.SIGTERM, _interrupt)
    began = time.time()
    commit = source_commit()
    sharing = other_benchmarks()
    settings = server_settings()
    rows: list[FleetRun] = []
    growth: list[FleetRun] = []
    stop_gap = TPE_STOP_FACTOR * GAP_BUDGET_SHARE * EPOCHS * mode.epoch_s
    try:
        for sampler in mode.samplers if not args.growth_only else ():
            for path in paths:
                for workers in mode.workers:
                    grows = (
                        mode.growth_on_row and path == "proxy" and workers == mode.growth_workers
                        and sampler in mode.growth_samplers
                    )  # fmt: skip
                    sizes = (0, *mode.growth_sizes) if grows else (0,)
                    fleet = FleetRun(sampler, path, workers, sizes, mode.window_s, mode.epoch_s)
                    rows.append(run_guarded(fleet))
                    _progress(fleet)
                    if grows:
                        growth.append(fleet)
        for sampler in mode.growth_samplers if not mode.growth_on_row else ():
            stop = stop_gap if sampler == "tpe" else None
            if args.growth == "live":
                fleet = FleetRun(
                    sampler, "proxy", mode.growth_workers, mode.growth_sizes,
                    mode.growth_window_s, mode.epoch_s, stop_gap_s=stop,
                )  # fmt: skip
                growth.append(run_guarded(fleet))
                _progress(fleet)
                continue
            for index, size in enumerate(mode.growth_sizes):
                fleet = FleetRun(
                    sampler, "proxy", mode.growth_workers, (size,), mode.growth_window_s,
                    mode.epoch_s,
                )  # fmt: skip
                growth.append(run_guarded(fleet))
                _progress(fleet)
                gap = fleet.windows[0]["gap_p50_s"] if fleet.windows else None
                if stop is not None and gap is not None and gap > stop:
                    fleet.run["stopped_early"] = (
                        f"gap p50 {gap:.2f} s > {stop:.2f} s at {size} trials: sizes "
                        f"{list(mode.growth_sizes[index + 1 :])} skipped"
                    )
                    break
        alone = sampler_alone(mode.alone_sizes, mode.epoch_s)
    finally:
        OWNED.cleanup()
    result = summarise(mode_name, mode, rows, growth, alone, settings, sharing, began)
    result["growth_protocol"] = args.growth
    result["commit"] = {"at_start": commit, "at_end": source_commit()}
    print_tables(result)
    if args.json:
        print(json_line(result))


def _int_list(text: str) -> tuple[int, ...]:
    """`8,16` as (8, 16), for --workers."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a list of integers: {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"fleet sizes must be >= 1: {text!r}")
    return sizes


def _selected(mode: Mode, args: argparse.Namespace) -> Mode:
    """The mode narrowed to the rows the flags ask for (one fleet size, path or sampler, for
    measuring one change without the full 30-minute run)."""
    changes: dict[str, Any] = {}
    if args.workers:
        changes["workers"] = args.workers
    if args.sampler:
        changes["samplers"] = (args.sampler,)
        changes["growth_samplers"] = tuple(s for s in mode.growth_samplers if s == args.sampler)
    if args.rows_only:
        changes.update(growth_samplers=(), alone_sizes=(), growth_on_row=False)
    return dataclasses.replace(mode, **changes)


def run_guarded(fleet: FleetRun) -> FleetRun:
    """`run_fleet`, with a failure kept as the fleet's `error` so the other fleets still run
    (its processes are killed and its database dropped either way)."""
    try:
        return run_fleet(fleet)
    except Exception as error:  # any failure of one fleet is a result to show
        fleet.run["error"] = f"{type(error).__name__}: {error}"[:1000]
        OWNED.kill_all()
        return fleet


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _progress(fleet: FleetRun) -> None:
    """One line on stderr per finished fleet (the tables come at the end)."""
    first = fleet.windows[0] if fleet.windows else {}
    print(
        f"[fleet] {fleet.sampler} {fleet.path} {fleet.workers} workers: "
        f"{first.get('share_of_ideal')} of ideal, peak {fleet.run.get('peak_connections')} "
        f"connections, exits {fleet.run.get('exit_codes')}, {fleet.run.get('wall_s')} s",
        file=sys.stderr,
        flush=True,
    )


def summarise(
    mode_name: str,
    mode: Mode,
    rows: Sequence[FleetRun],
    growth: Sequence[FleetRun],
    alone: Sequence[dict[str, Any]],
    settings: dict[str, Any],
    sharing: Sequence[str],
    began: float,
) -> dict[str, Any]:
    """The JSON record: every row and growth series, the TPE limit, the floors and checks."""
    trial_s = EPOCHS * mode.epoch_s
    budget = GAP_BUDGET_SHARE * trial_s
    table = [_row(f) for f in rows]
    series: dict[str, list[dict[str, Any]]] = {}
    for f in growth:
        series.setdefault(f.sampler, []).extend({"workers": f.workers, **w} for w in f.windows)
    largest = max(mode.workers)
    top = [r for r in table if r["sampler"] == "random" and r["path"] == "proxy"
           and r["workers"] == largest]  # fmt: skip
    proxy_peaks = [r["peak_connections"] for r in table if r["path"] == "proxy" and
                   "peak_connections" in r]  # fmt: skip
    proxy_peaks += [f.run["peak_connections"] for f in growth if "peak_connections" in f.run]
    random_growth = series.get("random") or (series.get(mode.growth_samplers[0], [])
                                             if mode.growth_samplers else [])  # fmt: skip
    cost_first = random_growth[0]["overhead_p50_s"] if random_growth else None
    cost_last = random_growth[-1]["overhead_p50_s"] if random_growth else None
    ratio = cost_last / cost_first if cost_first and cost_last is not None else None
    floors = {
        f"proxy_{largest}_workers_share_of_ideal": {
            "value": top[0].get("share_of_ideal") if top else None,
            "floor": f">= {THROUGHPUT_FLOOR}",
            "pass": bool(top) and (top[0].get("share_of_ideal") or 0) >= THROUGHPUT_FLOOR,
        },
        "proxy_peak_connections": {
            "value": max(proxy_peaks) if proxy_peaks else None,
            "floor": f"<= {CONNECTION_FLOOR}",
            "pass": bool(proxy_peaks) and max(proxy_peaks) <= CONNECTION_FLOOR,
        },
        "cost_ratio_last_to_first_size": {
            "value": _round(ratio, 2),
            "sizes": [w["size"] for w in random_growth[:1] + random_growth[-1:]],
            "floor": f"<= {GROWTH_FLOOR}",
            "pass": ratio is not None and ratio <= GROWTH_FLOOR,
        },
    }
    everything = [*rows, *growth]
    torches = [f.run["torch"] for f in everything if "torch" in f.run]
    with_torch = sum(t["with_torch"] for t in torches)
    chains = [t["import_chain"] for t in torches if t["import_chain"]]
    tpe = series.get("tpe", [])
    cores = os.cpu_count() or 1
    limit = {
        "gap_budget_s": budget,
        "fleet_gap": crossing([(w["finished_at_start"], w["gap_p50_s"]) for w in tpe], budget),
        "sampler_alone": crossing([(a["size"], a["ask_s"]) for a in alone], budget),
        # 64 workers each asking once per trial: W / trial_s asks per second, each ask_s CPU.
        "sampler_alone_saturates_cores_64_workers": crossing(
            [(a["size"], a["ask_s"]) for a in alone], cores * trial_s / 64
        ),
    }
    return {
        "mode": mode_name,
        "nproc": cores,
        "trial_s": trial_s,
        "postgres": settings,
        "shared_machine_with": list(sharing),
        "rows": table,
        "growth": series,
        "growth_runs": [
            {"sampler": f.sampler, "sizes": list(f.sizes), **_run_info(f)} for f in growth
        ],  # fmt: skip
        "sampler_alone": list(alone),
        "tpe_limit": limit,
        "floors": floors,
        "torch_check": {
            "pass": with_torch == 0,
            "trials_with_torch_loaded": with_torch,
            "trials": sum(t["records"] for t in torches),
            "import_chain": chains[0] if chains else None,
        },
        "elapsed_s": round(time.time() - began, 1),
    }


def _run_info(fleet: FleetRun) -> dict[str, Any]:
    keys = (
        "ready_workers", "startup_s", "peak_connections", "peak_server_connections", "wall_s",
        "exit_codes", "stderr_matches", "stderr_tails", "database_check", "stopped_early",
        "rss_mb_median", "rss_mb_max", "pss_mb_median", "peak_rss_mb_max", "proxy_exit",
        "proxy_stderr_tail",
    )  # fmt: skip
    return {k: fleet.run[k] for k in (*keys, "error") if k in fleet.run}


def _row(fleet: FleetRun) -> dict[str, Any]:
    if not fleet.windows:  # the fleet failed: its error, and whatever it got to
        return {"sampler": fleet.sampler, "path": fleet.path, "workers": fleet.workers,
                **fleet.run}  # fmt: skip
    skipped = ("size", "prefilled", "added", "add_s")
    window = {k: v for k, v in fleet.windows[0].items() if k not in skipped}
    return {"sampler": fleet.sampler, "path": fleet.path, "workers": fleet.workers,
            **window, **_run_info(fleet)}  # fmt: skip


def print_tables(result: dict[str, Any]) -> None:
    """The tables for people: the fleets, the growth series, the TPE limit, floors, checks."""
    shared = result["shared_machine_with"]
    print(
        f"fleet of `sweeper worker` processes, trial {result['trial_s']:g} s ({EPOCHS} epochs), "
        f"{result['nproc']} cores, PostgreSQL max_connections "
        f"{result['postgres']['max_connections']}, commit {result['commit']['at_start']}"
        + (
            f" (at the end: {result['commit']['at_end']})"
            if result["commit"]["at_end"] != result["commit"]["at_start"]
            else ""
        )  # fmt: skip
        + (f"; SHARED the machine with: {'; '.join(shared)}" if shared else "")
    )
    head = (
        f"{'sampler':<7}{'path':<7}{'W':>3}{'trials/s':>9}{'ideal':>7}{'%':>5}"
        f"{'gap p50':>8}{'p95':>7}{'cpu':>6}{'rep p50':>8}{'p95':>7}{'conns':>6}{'srv':>5}"
        f"{'RSS':>6}{'PSS':>5}{'busy':>5}{'wCPU':>6}{'pCPU':>6}{'dbCPU':>6}  exits / errors"
    )
    print("\nbetween-trials gap = tell+ask (s): wall from a worker's objective return to its "
          "next call; rep = ctx.report (ms); conns = peak PostgreSQL connections to the "
          "database (srv: whole server); RSS/PSS MiB per worker (median); busy = machine CPU "
          "share; wCPU/pCPU/dbCPU = CPU s per finished trial of workers / proxy / "
          "PostgreSQL")  # fmt: skip
    print(head)
    for row in result["rows"]:
        print(_line(row))
    print(f"\nper-trial cost as the study grows (through the proxy, {result['growth_protocol']} "
          "fills); cost = median of gap + the trial's 5 reports (s)")  # fmt: skip
    print(f"{'sampler':<7}{'W':>3}{'fill to':>8}{'finished':>14}{'trials/s':>9}{'%':>5}"
          f"{'gap p50':>8}{'p95':>7}{'cpu':>6}{'rep p50':>8}{'p95':>7}{'cost':>7}{'x first':>8}"
          f"{'conns':>6}{'fill s':>7}")  # fmt: skip
    for sampler, windows in result["growth"].items():
        first = windows[0]["overhead_p50_s"] if windows else None
        for w in windows:
            span = f"{w['finished_at_start']}-{w['finished_at_end']}"
            times = w["add_s"]
            cost = w["overhead_p50_s"]
            print(
                f"{sampler:<7}{w['workers']:>3}{w['size']:>8}{span:>14}{w['trials_per_s']:>9.2f}"
                f"{100 * w['share_of_ideal']:>5.0f}{fmt(w['gap_p50_s'], '.3f'):>8}"
                f"{fmt(w['gap_p95_s'], '.3f'):>7}{fmt(w['gap_cpu_p50_s'], '.3f'):>6}"
                f"{fmt(w['report_p50_ms'], '.1f'):>8}{fmt(w['report_p95_ms'], '.1f'):>7}"
                f"{fmt(cost, '.3f'):>7}"
                f"{fmt(cost / first if cost is not None and first else None, '.2f'):>8}"
                f"{w['peak_connections_window']:>6}{fmt(times, '.0f'):>7}"
            )
        for run in (r for r in result["growth_runs"] if r["sampler"] == sampler):
            print(
                f"  {sampler} {run['sizes']}: exits {run.get('exit_codes')}, start-up "
                f"{run.get('startup_s')} s, database {run.get('database_check')}"
                + (f"; FAILED: {run['error']}" if run.get("error") else "")
            )
            if run.get("stopped_early"):
                print(f"  {sampler}: stopped early: {run['stopped_early']}")
    print("\nTPE alone (this process, in-memory study, one core): study.ask() median s")
    print("  " + ", ".join(f"{a['size']}: {a['ask_s']:.3f}" for a in result["sampler_alone"]))
    limit = result["tpe_limit"]
    print(
        f"TPE limit (gap budget {limit['gap_budget_s']:.2f} s = {GAP_BUDGET_SHARE:.0%} of a "
        f"trial): fleet gap p50 reaches it at {_limit(limit['fleet_gap'])}; the sampler alone "
        f"at {_limit(limit['sampler_alone'])}; 64 workers' sampling alone fills "
        f"{result['nproc']} cores at {_limit(limit['sampler_alone_saturates_cores_64_workers'])}"
    )
    print()
    for name, floor in result["floors"].items():
        verdict = "PASS" if floor["pass"] else "MISS" if floor["value"] is not None else "n/a "
        print(f"{verdict}  {name}: {floor['value']} (floor {floor['floor']})")
    torch = result["torch_check"]
    print(
        f"{'PASS' if torch['pass'] else 'FAIL'}  workers without torch in their objective do not "
        f"import torch: {torch['trials_with_torch_loaded']} of {torch['trials']} trials ran "
        "with torch loaded"
        + (
            f"; imported via {' -> '.join(torch['import_chain'][-4:])}"
            if torch["import_chain"]
            else ""
        )  # fmt: skip
    )
    print(f"elapsed {result['elapsed_s']:.0f} s")


def _limit(found: dict[str, Any]) -> str:
    return "-" if found["size"] is None else f"~{found['size']:,} trials ({found['how']})"


def _line(row: dict[str, Any]) -> str:
    if "trials_per_s" not in row:
        return f"{row['sampler']:<7}{row['path']:<7}{row['workers']:>3}  FAILED: {row.get('error')}"
    cpu = row["cpu"]
    exits = ",".join(f"{code}x{n}" for code, n in row["exit_codes"].items())
    errors = ",".join(f"{k}:{n}" for k, n in row["stderr_matches"].items())
    return (
        f"{row['sampler']:<7}{row['path']:<7}{row['workers']:>3}{row['trials_per_s']:>9.2f}"
        f"{row['ideal_per_s']:>7.1f}{100 * row['share_of_ideal']:>5.0f}"
        f"{fmt(row['gap_p50_s'], '.3f'):>8}{fmt(row['gap_p95_s'], '.2f'):>7}"
        f"{fmt(row['gap_cpu_p50_s'], '.3f'):>6}{fmt(row['report_p50_ms'], '.1f'):>8}"
        f"{fmt(row['report_p95_ms'], '.0f'):>7}{row['peak_connections']:>6}"
        f"{row['peak_server_connections']:>5}{fmt(row['rss_mb_median'], '.0f'):>6}"
        f"{fmt(row['pss_mb_median'], '.0f'):>5}{fmt(cpu['machine_busy'], '.2f'):>5}"
        f"{fmt(cpu['worker_cpu_per_trial_s'], '.3f'):>6}"
        f"{fmt(cpu['proxy_cpu_per_trial_s'], '.3f'):>6}"
        f"{fmt(cpu['postgres_cpu_per_trial_s'], '.3f'):>6}  {exits} {errors}".rstrip()
    )


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        OWNED.cleanup()  # main's own cleanup ran already unless the signal came before it
        raise SystemExit(130) from None
