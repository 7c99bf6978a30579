"""What every fault test checks about the study it leaves behind, and small helpers to get there.

The invariants (issue 7): exactly N finished trials, none RUNNING or WAITING, no finished trial
lost, changed or counted twice, and every failed trial retried once with the same parameters.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import optuna
import yaml
from optuna.trial import FrozenTrial, TrialState

from storage.engine import open_storage
from storage.errors import StorageError

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
Snapshot = dict[int, tuple[TrialState, float | None]]


def write_study(
    path: Path,
    *,
    name: str = "toy",
    n_trials: int = 6,
    epochs: int = 10,
    delay: float = 0.25,
    heartbeat: dict | None = None,
    sampler: str = "random",
) -> Path:
    """A toy-regression study file whose trials last about `epochs * delay` seconds."""
    study = {
        "study": name,
        "objective": "toy_regression",
        "direction": "minimize",
        "metric": "val_mse",
        "n_trials": n_trials,
        "sampler": {"name": sampler, "seed": 0},
        "pruner": {"name": "none"},
        "params": {"epochs": epochs, "epoch_delay": delay},
        "space": {
            "lr": {"type": "float", "low": 1e-3, "high": 0.1, "log": True},
            "hidden_channels": {"type": "categorical", "choices": [8, 16]},
        },
        "heartbeat": heartbeat or {"interval": 1, "grace_period": 3, "max_retry": 3},
    }
    path.write_text(yaml.safe_dump(study))
    return path


def load_trials(url: str, name: str = "toy") -> list[FrozenTrial]:
    """Every trial of the study, read straight from the storage."""
    storage = open_storage(url, must_exist=True)
    try:
        return optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False)
    finally:
        storage.remove_session()
        storage.engine.dispose()  # hold no connection: tests remount and delete databases


def snapshot(trials: list[FrozenTrial]) -> Snapshot:
    """The finished trials' states and values, to check later that none was lost or changed."""
    return {t.number: (t.state, t.value) for t in trials if t.state in FINISHED}


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll `condition` every 0.5 s; the seconds it took, or fail naming `what`."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if condition():
                return time.monotonic() - start
        except (KeyError, StorageError, optuna.exceptions.StorageInternalError):
            pass  # the study is not created yet, or the storage is briefly away
        time.sleep(0.5)
    raise AssertionError(f"{what}: not within {timeout} s")


def is_surplus(trial: FrozenTrial) -> bool:
    """A trial refused at start because earlier trials already filled the target (never ran)."""
    return str(trial.user_attrs.get("fail_reason", "")).startswith("surplus")


def assert_consistent(trials: list[FrozenTrial], before: Snapshot | None = None) -> None:
    """What must hold at any moment, even right after a kill: finished trials unchanged, no
    finished trial counted twice, every failed trial retried at most once, as it was."""
    by_number = {t.number: t for t in trials}
    for number, (state, value) in (before or {}).items():
        assert by_number[number].state == state, f"finished trial {number} changed state"
        assert by_number[number].value == value, f"finished trial {number} changed value"
    retries: dict[int, list[FrozenTrial]] = {}
    for trial in trials:
        history = trial.system_attrs.get("retry_history") or []
        if history:
            retries.setdefault(history[-1], []).append(trial)
    for failed, copies in retries.items():
        assert len(copies) == 1, f"trial {failed} was retried {len(copies)} times"
        assert by_number[failed].state == TrialState.FAIL, f"trial {failed} retried but not FAIL"
        # Same parameters: every one the failed trial had chosen is kept. A trial cut off while
        # it was still sampling (a storage outage mid-`suggest`) had only some of them; its
        # retry samples the rest.
        kept = by_number[failed].params.items() <= copies[0].params.items()
        assert kept, f"retry of {failed} changed params"
    originals = [
        t.system_attrs.get("failed_trial", t.number) for t in trials if t.state in FINISHED
    ]
    assert len(originals) == len(set(originals)), "one trial finished twice"


def assert_study_intact(
    url: str, target: int, *, name: str = "toy", before: Snapshot | None = None
) -> list[FrozenTrial]:
    """The final study: exactly `target` finished trials, none RUNNING or WAITING, nothing lost
    or duplicated, every failed trial (but surplus ones, which never ran) retried as it was."""
    trials = load_trials(url, name)
    states = [t.state for t in trials]
    assert sum(s in FINISHED for s in states) == target, [s.name for s in states]
    assert TrialState.RUNNING not in states, "a trial was left RUNNING"
    assert TrialState.WAITING not in states, "a queued trial never ran"
    assert_consistent(trials, before)
    retried = {(t.system_attrs.get("retry_history") or [None])[-1] for t in trials}
    for trial in trials:
        if trial.state == TrialState.FAIL and not is_surplus(trial):
            assert trial.number in retried, f"failed trial {trial.number} was never retried"
    return trials


def error_lines_of_exit_3(launcher: subprocess.Popen[str], timeout: float) -> list[str]:
    """Wait for `launcher` (killed if it outlives `timeout`), assert it stopped with exit code 3
    and one-line errors, no traceback, and return its `error:` lines."""
    try:
        out, err = launcher.communicate(timeout=timeout)
    finally:
        if launcher.poll() is None:
            launcher.kill()
            launcher.wait()
    assert launcher.returncode == 3, (out, err)
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert lines and "Traceback" not in err, err
    return lines


@contextmanager
def killed_on_failure(process: subprocess.Popen[str]) -> Iterator[None]:
    """Kill `process` (and reap it) when the enclosed block raises, then re-raise."""
    try:
        yield
    except BaseException:
        process.kill()
        process.wait()
        raise
