"""The trivial objective of `benchmarks/fleet.py`: it sleeps instead of training, so what a fleet
of workers measures is the service and the database, not the model.

A study file names it `objective: fleet_objective:sleep_objective` (the module is found through
PYTHONPATH=benchmarks). Each trial sleeps `epoch_s` seconds per epoch for `epochs` epochs and
reports a value after each one.

When $FLEET_GATE names a file, a process's first trial first writes `$FLEET_RECORDS/<pid>.ready`
and waits for that file to appear; the file holds a wall time, and the trial then sleeps until
that time plus $FLEET_OFFSET seconds. The benchmark opens the gate once every worker has started
(so start-up never overlaps a measurement) and gives the workers offsets spread over one trial,
so their trials end spread evenly in time as in a fleet that has run for a while.

When $FLEET_RECORDS is a directory, every trial appends one JSON line to
`$FLEET_RECORDS/<pid>.jsonl`:

- number, pid, start/end (wall `time.time()` and `time.monotonic()`) of the objective call;
- gap_s: seconds from this process's previous objective return to this call, i.e. everything
  the worker does between two trials (tell, the health upload, the worker loop, ask and the
  sampler); None on a process's first trial;
- gap_cpu_s: the CPU seconds (all threads) this process used in that gap;
- report_s: the duration of each `ctx.report(epoch, value)` call (storage write and pruner);
- gated: whether this was the process's first (gated) trial, whose duration includes the wait;
- torch_at_import / torch_at_entry: whether `torch` was in `sys.modules` when this module was
  imported and when the trial started; torch_imported_by: the first frames of gnn-sweeper code
  (file:line function) on the stack when torch was first imported after this module, if it was;
- rss_mb, hwm_mb, pss_mb: the process's resident set, its peak, and its proportional share
  (shared library pages divided among the processes that map them) from /proc.

It imports nothing beyond the standard library and `sweeper.api` (no torch), so whether a worker
loads torch is the worker's doing, not the objective's.
"""

from __future__ import annotations

import importlib.abc
import json
import math
import os
import sys
import time
import traceback
from pathlib import Path
from typing import Any

RECORDS_ENV = "FLEET_RECORDS"
GATE_ENV = "FLEET_GATE"
OFFSET_ENV = "FLEET_OFFSET"
GATE_POLL_S = 0.05
GATE_MAX_WAIT_S = 1800.0
TORCH_AT_IMPORT = "torch" in sys.modules
_first_torch_import: list[str] | None = None
_last_end: float | None = None
_last_end_cpu: float | None = None


class _TorchImportWitness(importlib.abc.MetaPathFinder):
    """Notes the stack the first time `import torch` runs after this module was imported, then
    steps aside (it finds nothing: the normal finders import torch as usual)."""

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        global _first_torch_import
        if fullname == "torch" and _first_torch_import is None:
            frames = traceback.extract_stack()[:-1]
            _first_torch_import = [
                f"{_short(frame.filename)}:{frame.lineno} {frame.name}"
                for frame in frames
                if "importlib" not in frame.filename and "<frozen" not in frame.filename
            ][-12:]
            sys.meta_path.remove(self)
        return None


def _short(filename: str) -> str:
    """A frame's file relative to site-packages or the repository, to keep records short."""
    for marker in ("site-packages/", "/work/main/"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


if not TORCH_AT_IMPORT:
    sys.meta_path.insert(0, _TorchImportWitness())


def _memory_mb() -> dict[str, float | None]:
    """This process's VmRSS, VmHWM (peak RSS) and Pss in MiB, from /proc (None elsewhere)."""
    found: dict[str, float | None] = {"rss_mb": None, "hwm_mb": None, "pss_mb": None}
    keys = {"VmRSS:": "rss_mb", "VmHWM:": "hwm_mb", "Pss:": "pss_mb"}
    for name in ("/proc/self/status", "/proc/self/smaps_rollup"):
        try:
            lines = Path(name).read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts and parts[0] in keys:
                found[keys[parts[0]]] = round(int(parts[1]) / 1024, 1)
    return found


def _wait_at_gate(directory: str | None) -> None:
    """Say this process is ready, wait for the gate file, then until its time plus the offset."""
    gate = Path(os.environ[GATE_ENV])
    if directory:
        (Path(directory) / f"{os.getpid()}.ready").touch()
    give_up = time.monotonic() + GATE_MAX_WAIT_S
    while not gate.exists() and time.monotonic() < give_up:
        time.sleep(GATE_POLL_S)
    try:
        opened = float(gate.read_text().strip() or "0")
    except (OSError, ValueError):
        opened = 0.0
    delay = opened + float(os.environ.get(OFFSET_ENV, "0") or 0) - time.time()
    if delay > 0:
        time.sleep(delay)


def sleep_objective(trial: Any, params: dict[str, Any], ctx: Any) -> float:
    """Sleep `epoch_s` per epoch over `epochs` epochs, reporting a value after each; returns a
    deterministic function of the sampled parameters (so a sampler has something to model)."""
    global _last_end, _last_end_cpu
    directory = os.environ.get(RECORDS_ENV)
    gated = _last_end is None and bool(os.environ.get(GATE_ENV))
    start_cpu = time.process_time()
    start_wall, start = time.time(), time.monotonic()
    gap = None if _last_end is None else start - _last_end
    gap_cpu = None if _last_end_cpu is None else start_cpu - _last_end_cpu
    if gated:
        _wait_at_gate(directory)
    torch_at_entry = "torch" in sys.modules
    epochs = int(params.get("epochs", 5))
    epoch_s = float(params.get("epoch_s", 1.0))
    base = (
        (float(params.get("x", 0.0)) - 1.0) ** 2
        + abs(math.log10(float(params.get("lr", 1e-3))) + 3.0)
        + float(params.get("width", 64)) / 256.0
        + (0.0 if params.get("kind", "a") == "a" else 0.5)
    )
    reports: list[float] = []
    value = base
    for epoch in range(1, epochs + 1):
        time.sleep(epoch_s)
        value = base + 1.0 / epoch
        before = time.monotonic()
        ctx.report(epoch, value)
        reports.append(time.monotonic() - before)
    end = time.monotonic()
    if directory:
        record = {
            "number": trial.number,
            "pid": os.getpid(),
            "start_wall": start_wall,
            "end_wall": start_wall + (end - start),
            "start_mono": start,
            "end_mono": end,
            "gap_s": gap,
            "gap_cpu_s": gap_cpu,
            "report_s": reports,
            "gated": gated,
            "torch_at_import": TORCH_AT_IMPORT,
            "torch_at_entry": torch_at_entry,
            "torch_imported_by": _first_torch_import,
            **_memory_mb(),
        }
        with open(Path(directory) / f"{os.getpid()}.jsonl", "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
    _last_end, _last_end_cpu = time.monotonic(), time.process_time()
    return value
