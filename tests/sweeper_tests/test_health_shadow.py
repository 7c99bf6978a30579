"""Shadow mode and sampler feedback: the rules record what they would do without stopping a
trial, and a health-pruned trial can be marked infeasible for the sampler."""

from __future__ import annotations

from pathlib import Path

import optuna
import yaml

from sweeper.pruners import HealthPruner
from tests.conftest import run_cli
from tests.sweeper_tests.test_health_pruner import MLPRun, run_study

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_a_shadow_rule_records_the_verdict_and_lets_the_trial_finish() -> None:
    study = optuna.create_study(pruner=HealthPruner(config={"mode": "shadow"}))
    trial = run_study(MLPRun(fault="dead", sick_from=3, epochs=12), study=study)
    assert trial.state == optuna.trial.TrialState.COMPLETE
    assert trial.last_step == 12  # trained to the end
    assert trial.user_attrs["would_prune"] == (
        "grad_vanishing: layer_grad_norm_min=0e+00 < 1e-08 at epoch 5 (for 3 epochs)"
    )
    assert trial.user_attrs["would_prune_epoch"] == 5
    assert "prune_reason" not in trial.user_attrs


def test_a_shadow_study_still_prunes_by_its_base_pruner() -> None:
    pruner = HealthPruner(optuna.pruners.ThresholdPruner(upper=0.01), {"mode": "shadow"})
    trial = run_study(MLPRun(epochs=5), study=optuna.create_study(pruner=pruner))
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert trial.user_attrs["prune_reason"].startswith("base_pruner: ")


def test_a_healthy_trial_in_shadow_mode_carries_no_verdict() -> None:
    study = optuna.create_study(pruner=HealthPruner(config={"mode": "shadow"}))
    trial = run_study(MLPRun(epochs=8), study=study)
    assert trial.state == optuna.trial.TrialState.COMPLETE
    assert "would_prune" not in trial.user_attrs


def test_infeasible_feedback_marks_health_pruned_trials_as_violating_a_constraint() -> None:
    study = optuna.create_study(pruner=HealthPruner(config={"sampler_feedback": "infeasible"}))
    healthy = run_study(MLPRun(epochs=4), study=study)
    sick = run_study(MLPRun(fault="nan_loss", sick_from=2), study=study)
    assert sick.state == optuna.trial.TrialState.PRUNED
    assert sick.constraints == {"health": 1.0}
    assert healthy.constraints == {}


def test_status_says_what_shadow_rules_would_have_pruned(sqlite_url: str, tmp_path: Path) -> None:
    study_file = tmp_path / "shadow.yaml"
    study_file.write_text(
        yaml.safe_dump(
            {
                "study": "shadow",
                "objective": "tests.sweeper_tests.user_objectives:nan_loss_when_lr_is_high",
                "direction": "minimize",
                "metric": "loss",
                "n_trials": 3,
                "sampler": {"name": "random", "seed": 0},
                "pruner": {"name": "none", "health": {"mode": "shadow"}},
                "space": {"lr": {"type": "float", "low": 0.001, "high": 0.01}},
                "enqueue": [{"lr": 0.09}],
            }
        )
    )
    launched = run_cli("launch", str(study_file), "--storage", sqlite_url, "--workers", "1")
    assert launched.returncode == 0, launched.stderr
    status = run_cli("status", "--study", "shadow", "--storage", sqlite_url)
    assert status.returncode == 0, status.stderr
    assert "COMPLETE 3" in status.stdout
    assert "health rules would have pruned 1 trial, saving about " in status.stdout
    assert "(nonfinite 1)" in status.stdout
    as_json = run_cli("status", "--study", "shadow", "--storage", sqlite_url, "--json")
    shadow = yaml.safe_load(as_json.stdout)["would_prune"]
    assert shadow["trials"] == 1 and shadow["by_rule"] == {"nonfinite": 1}
