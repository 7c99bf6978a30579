"""The second write-up's story on examples/causal-sachs.yaml, through the real health pruner.

"Before" (raw intensities up to 9,058, lambda_acyclic 0.1, clip_norm 10): the reconstruction
gradient is ~2e4, and the trial is pruned within 5 reported epochs. "After" (standardized,
lambda_recon 10, clip_norm 1): gradients are O(1-10) and no gradient rule fires.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna

from objectives.causal import objective
from sweeper.config import load_config
from sweeper.context import TrialContext
from sweeper.pruners.factory import build_pruner
from sweeper.search_space import suggest_params

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "causal-sachs.yaml"
BEFORE = {
    "lambda_recon": 1.0,
    "lambda_sparse": 0.01,
    "lambda_acyclic": 0.1,
    "lambda_disen": 0.01,
    "scaling": "none",
    "lr": 1e-3,
    "clip_norm": 10.0,
    "weight_decay": 1e-5,
    "w_threshold": 0.3,
}
AFTER = {
    "lambda_recon": 10.0,
    "lambda_sparse": 1e-4,
    "lambda_acyclic": 1e-5,
    "lambda_disen": 1e-4,
    "scaling": "standardize",
    "lr": 5e-4,
    "clip_norm": 1.0,
    "weight_decay": 1e-4,
    "w_threshold": 0.3,
}
GRADIENT_RULES = ("grad_explosion", "grad_vanishing", "nonfinite")


def run_example(values: dict[str, Any]) -> optuna.trial.FrozenTrial:
    """One trial of the example study file with its space fixed to `values`."""
    config = load_config(EXAMPLE)
    study = optuna.create_study(direction=config.direction, pruner=build_pruner(config.pruner))
    study.enqueue_trial(values)

    def run(trial: optuna.Trial) -> float:
        params = suggest_params(trial, config)
        ctx = TrialContext(trial, device="cpu", metric=config.metric, direction=config.direction)
        return objective(trial, params, ctx)

    study.optimize(run, n_trials=1, catch=())
    return study.trials[0]


def test_before_settings_are_pruned_for_exploding_gradients_within_five_epochs() -> None:
    trial = run_example(BEFORE)
    assert trial.state == optuna.trial.TrialState.PRUNED
    reason = trial.user_attrs["prune_reason"]
    assert reason.split(":")[0] in ("grad_explosion", "loss_imbalance", "nonfinite")
    assert max(trial.intermediate_values) <= 5
    assert trial.user_attrs["health.grad_norm"] > 1e4


def test_after_settings_are_not_pruned_for_gradients() -> None:
    trial = run_example(AFTER)
    reason = trial.user_attrs.get("prune_reason", "")
    assert not reason.startswith(GRADIENT_RULES), reason
    assert 0.1 < trial.user_attrs["health.grad_norm"] < 1e2
