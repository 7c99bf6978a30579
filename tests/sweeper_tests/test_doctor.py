"""`sweeper doctor` on stored studies with planted sick regions (real SQLite files and a fresh
PostgreSQL database), through the real CLI: the region is found with its counts, the narrowed
study file is valid, leaves the region out and launches, `--json` is one object, and a study
with too few trials gets one line instead of a guess.

Trials are written with the service's own helpers: parameters through `suggest_params`, a
health prune through `prune_for_health` (the stored `prune_reason` is the real one), a failure
with the `fail_reason` attribute the worker writes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

from storage.engine import open_storage
from sweeper.config import load_config, parse_config
from sweeper.doctor.conditions import short_number
from sweeper.search_space import suggest_params
from sweeper.studies import create_or_continue
from sweeper.trial_attrs import FAIL_REASON_ATTR
from sweeper.trial_reporting import prune_for_health
from tests.conftest import run_cli
from tests.sweeper_tests.fault_support import load_trials

#: Seconds a CLI call may take: seconds on an idle machine, minutes on one busy with benchmarks.
CLI_TIMEOUT = 840
EXPLOSION = "grad_explosion: grad_norm=4.7e+04 > 1e+04 at epoch 3 (for 2 epochs)"
Verdict = Callable[[dict[str, Any]], str | None]  # params -> "grad_explosion", "FAIL" or None


def planted_study(url: str, n: int, sick: Verdict, *, name: str = "planted") -> None:
    """A toy-regression study of `n` ended trials (random sampler, seed 0) whose trials are
    pruned for grad_explosion or failed where `sick` says; the rest complete with a value that
    depends on lr only. Its target is 2 trials, so the narrowed file launches in seconds."""
    config = parse_config(
        {
            "study": name,
            "objective": "toy_regression",
            "direction": "minimize",
            "metric": "val_mse",
            "n_trials": 2,
            "sampler": {"name": "random", "seed": 0},
            "pruner": {"name": "none"},
            "params": {"epochs": 3},
            "space": {
                "lr": {"type": "float", "low": 1e-4, "high": 0.3, "log": True},
                "hidden_channels": {"type": "categorical", "choices": [8, 16, 32]},
                "num_layers": {"type": "int", "low": 1, "high": 3},
            },
            "heartbeat": {"interval": 1, "grace_period": 3, "max_retry": 3},
        }
    )
    study = create_or_continue(open_storage(url), config)
    for _ in range(n):
        trial = study.ask()
        params = suggest_params(trial, config)
        label = sick(params)
        if label == "grad_explosion":
            with pytest.raises(optuna.TrialPruned):
                prune_for_health(trial, 3, EXPLOSION, {})
            study.tell(trial, state=TrialState.PRUNED)
        elif label == "FAIL":
            trial.set_user_attr(FAIL_REASON_ATTR, "RuntimeError: CUDA error: an illegal access")
            study.tell(trial, state=TrialState.FAIL)
        else:
            study.tell(trial, (params["lr"] - 0.01) ** 2)


def explodes_above_0_1(params: dict[str, Any]) -> str | None:
    return "grad_explosion" if params["lr"] > 0.1 else None


def doctor_json(url: str, *args: str, name: str = "planted") -> dict[str, Any]:
    result = run_cli("doctor", name, "--storage", url, "--json", *args, timeout=CLI_TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n") == 1  # one object, one line
    return json.loads(result.stdout)


def test_a_planted_lr_region_is_found_with_its_counts(storage_url: str) -> None:
    planted_study(storage_url, 40, explodes_above_0_1)
    lrs = [t.params["lr"] for t in load_trials(storage_url, "planted")]
    sick = sorted(lr for lr in lrs if lr > 0.1)
    healthy_top = max(lr for lr in lrs if lr <= 0.1)
    assert len(sick) >= 3

    found = doctor_json(storage_url)["failure_regions"]
    assert [f["label"] for f in found] == ["grad_explosion"]
    assert list(found[0]["importance"])[0] == "lr"
    [region] = found[0]["regions"]
    [condition] = region["conditions"]
    assert condition["param"] == "lr" and condition["at_most"] is None
    assert healthy_top <= condition["above"] < sick[0]
    assert (region["sick_in"], region["trials_in"]) == (len(sick), len(sick))
    assert (region["sick_out"], region["trials_out"]) == (0, 40 - len(sick))


def test_the_narrowed_file_is_valid_leaves_the_region_out_and_launches(
    sqlite_url: str, tmp_path: Path
) -> None:
    planted_study(sqlite_url, 40, explodes_above_0_1)
    narrowed = tmp_path / "narrowed.yaml"
    result = run_cli(
        "doctor",
        "--study",
        "planted",
        "--storage",
        sqlite_url,
        "-o",
        str(narrowed),
        timeout=CLI_TIMEOUT,
    )
    assert result.returncode == 0, result.stderr

    config = load_config(narrowed)
    high = config.space["lr"].high
    lrs = [t.params["lr"] for t in load_trials(sqlite_url, "planted")]
    sick = sum(lr > 0.1 for lr in lrs)
    assert max(lr for lr in lrs if lr <= 0.1) <= high < min(lr for lr in lrs if lr > 0.1)
    lines = result.stdout.splitlines()
    region = f"grad_explosion: {sick} of {sick} trials with lr > {short_number(high)} "
    assert lines[3] == f"    {region}(0 of {40 - sick} elsewhere)"
    assert lines[-1] == f"wrote {narrowed}: sweeper launch {narrowed}"
    assert config.study == "planted-narrowed"
    assert config.space["hidden_channels"].choices == [8, 16, 32]  # the rest of the space stays
    assert (config.space["num_layers"].low, config.space["num_layers"].high) == (1, 3)
    comment = narrowed.read_text().splitlines()
    at = comment.index(next(line for line in comment if line.startswith("  lr:")))
    assert comment[at - 1].startswith(f"  # doctor: high 0.3 -> {short_number(high)}: ")
    assert "grad_explosion: " in comment[at - 1] and "elsewhere" in comment[at - 1]

    launched = run_cli(
        "launch", str(narrowed), "--storage", sqlite_url, "--workers", "1", timeout=CLI_TIMEOUT
    )
    assert launched.returncode == 0, launched.stderr
    ran = load_trials(sqlite_url, "planted-narrowed")
    assert [t.state for t in ran] == [TrialState.COMPLETE] * 2
    assert all(t.params["lr"] <= high for t in ran)


def test_a_fail_region_of_two_conditions_is_stated_with_both(sqlite_url: str) -> None:
    def fails(params: dict[str, Any]) -> str | None:
        return "FAIL" if params["lr"] > 0.01 and params["hidden_channels"] == 8 else None

    planted_study(sqlite_url, 60, fails)
    trials = load_trials(sqlite_url, "planted")
    failed = sum(t.state == TrialState.FAIL for t in trials)
    assert failed >= 4

    [finding] = doctor_json(sqlite_url)["failure_regions"]
    assert finding["label"] == "FAIL"
    [region] = finding["regions"]
    conditions = {c["param"]: c for c in region["conditions"]}
    assert set(conditions) == {"lr", "hidden_channels"}
    assert conditions["hidden_channels"]["choices"] == [8]
    # a depth-2 tree on 60 trials puts its lr cut between observed values: all but at most one
    # failure fall inside, and most of the region's trials failed
    assert region["sick_in"] + region["sick_out"] == failed and region["sick_out"] <= 1
    assert region["sick_in"] * 2 >= region["trials_in"]
    assert region["text"].startswith(f"FAIL: {region['sick_in']} of {region['trials_in']} trials ")


def test_a_study_without_sick_trials_has_nothing_to_narrow(sqlite_url: str) -> None:
    planted_study(sqlite_url, 12, lambda params: None)
    result = run_cli("doctor", "planted", "--storage", sqlite_url, timeout=CLI_TIMEOUT)
    assert result.returncode == 0, result.stderr
    assert "no sick trials: nothing to narrow" in result.stdout.splitlines()


def test_fewer_than_eight_ended_trials_give_one_line_and_exit_code_2(sqlite_url: str) -> None:
    planted_study(sqlite_url, 7, explodes_above_0_1)
    result = run_cli("doctor", "planted", "--storage", sqlite_url, "--json", timeout=CLI_TIMEOUT)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        "error: study 'planted' has 7 ended trials (COMPLETE, PRUNED or FAIL); the doctor "
        "needs at least 8 to tell a sick region from chance"
    )


def test_a_missing_study_is_one_line(sqlite_url: str) -> None:
    planted_study(sqlite_url, 8, explodes_above_0_1)
    result = run_cli("doctor", "plantd", "--storage", sqlite_url, timeout=CLI_TIMEOUT)
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: study 'plantd' does not exist in ")
    assert result.stderr.strip().endswith("(did you mean 'planted'?)")
