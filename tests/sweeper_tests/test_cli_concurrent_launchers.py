"""Many processes, one seeded study: two `launch` commands started at once and a `worker`
joining them never run the same parameter set twice, on SQLite and on PostgreSQL; a second
`launch` of a running study says so in one line and joins it."""

from __future__ import annotations

import re
from pathlib import Path

from optuna.trial import FrozenTrial, TrialState

from tests.conftest import start_cli
from tests.sweeper_tests import fault_support


def _sampled(trials: list[FrozenTrial]) -> list[tuple[tuple[str, object], ...]]:
    """The parameter sets the sampler proposed: neither queued on purpose nor retries (both
    carry `fixed_params`)."""
    return [
        tuple(sorted(t.params.items()))
        for t in trials
        if t.state != TrialState.WAITING and "fixed_params" not in t.system_attrs
    ]


def _finish(process, timeout: float = 300) -> tuple[str, str]:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, (out, err)
    return out, err


def test_two_launchers_and_a_joining_worker_never_sample_the_same_parameters(
    storage_url: str, tmp_path: Path
) -> None:
    study_file = fault_support.write_study(
        tmp_path / "toy.yaml", n_trials=12, epochs=4, delay=0.25, sampler="tpe"
    )
    launch = ("launch", str(study_file), "--storage", storage_url, "--threads", "1")
    first, second = start_cli(*launch), start_cli(*launch)
    with fault_support.killed_on_failure(first), fault_support.killed_on_failure(second):
        fault_support.wait_until(
            lambda: len(fault_support.load_trials(storage_url)) > 0, 120, "a first trial"
        )
        worker = start_cli("worker", "--study", "toy", "--storage", storage_url)
        with fault_support.killed_on_failure(worker):
            for process in (first, second, worker):
                _finish(process)

    trials = fault_support.assert_study_intact(storage_url, 12)
    sampled = _sampled(trials)
    assert len(sampled) >= 12
    assert len(set(sampled)) == len(sampled), f"a parameter set was sampled twice: {sampled}"
    workers = {t.user_attrs["worker"] for t in trials if t.state == TrialState.COMPLETE}
    assert len(workers) >= 2, "the processes should share the study's trials"


def test_a_second_launch_of_a_running_study_says_so_and_joins(
    sqlite_url: str, tmp_path: Path
) -> None:
    # About 60 s for one worker: a second launch, slow to start on a busy machine, still finds
    # the study running.
    study_file = fault_support.write_study(
        tmp_path / "toy.yaml", n_trials=8, epochs=30, delay=0.25, sampler="tpe"
    )
    launch = ("launch", str(study_file), "--storage", sqlite_url, "--threads", "1")
    first = start_cli(*launch)
    with fault_support.killed_on_failure(first):
        fault_support.wait_until(
            lambda: any(
                t.state == TrialState.RUNNING for t in fault_support.load_trials(sqlite_url)
            ),
            120,
            "a running trial",
        )
        second = start_cli(*launch)
        with fault_support.killed_on_failure(second):
            out, _ = _finish(second)
        _finish(first)

    joined = [line for line in out.splitlines() if "already running" in line]
    assert len(joined) == 1, out
    assert re.fullmatch(
        r"study toy is already running \(\d+ trials? in flight\); joining it with 1 worker",
        joined[0],
    ), joined[0]
    fault_support.assert_study_intact(sqlite_url, 8)
