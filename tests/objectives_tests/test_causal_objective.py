"""`objective: causal_dag` as a real Optuna trial: learns the graph, reports, stores attrs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest
from pydantic import ValidationError

from objectives.causal import CausalParams, objective
from sweeper.context import TrialContext
from sweeper.objective_registry import resolve_objective
from sweeper.pruners.health import HealthPruner

SMALL = {
    "dataset": "synthetic",
    "d": 5,
    "edges_per_node": 1,
    "n": 500,
    "seed": 0,
    "epochs": 150,
    "al_interval": 15,
    "eval_every": 10,
    "lambda_sparse": 1.0,
}


def run_trial(params: dict[str, Any], metric: str = "shd") -> optuna.trial.FrozenTrial:
    direction = "maximize" if metric == "f1" else "minimize"
    study = optuna.create_study(direction=direction, pruner=HealthPruner())

    def run(trial: optuna.Trial) -> float:
        ctx = TrialContext(trial, device="cpu", metric=metric, direction=direction)
        return objective(trial, params, ctx)

    study.optimize(run, n_trials=1, catch=())
    return study.trials[0]


def test_linear_objective_recovers_a_small_linear_gaussian_dag() -> None:
    trial = run_trial(SMALL)
    assert trial.state == optuna.trial.TrialState.COMPLETE
    assert trial.value == trial.user_attrs["shd"] <= 1
    assert trial.user_attrs["f1"] >= 0.8
    assert trial.user_attrs["oracle_f1"] >= trial.user_attrs["f1"]
    assert trial.user_attrs["is_dag"] is True
    for key in ("tpr", "fdr", "predicted_edges", "oracle_threshold", "h", "final_loss", "edges"):
        assert key in trial.user_attrs
    assert sorted(trial.intermediate_values) == list(range(10, 151, 10))
    assert "health.acyclicity" in trial.user_attrs and "health.edges" in trial.user_attrs


def test_metric_f1_is_returned_when_the_study_asks_for_it() -> None:
    trial = run_trial({**SMALL, "epochs": 20}, metric="f1")
    assert trial.value == trial.user_attrs["f1"]


def test_nonlinear_model_trains_on_mlp_data_with_the_polynomial_acyclicity() -> None:
    params = {
        **SMALL,
        "sem": "mlp",
        "model": "mlp",
        "acyclicity": "poly",
        "hidden_channels": 4,
        "num_layers": 3,
        "n": 200,
        "epochs": 10,
        "lambda_sparse": 0.1,
        "scaling": "standardize",
    }
    trial = run_trial(params)
    assert trial.state == optuna.trial.TrialState.COMPLETE
    assert np.isfinite(trial.user_attrs["final_loss"])


def test_csv_data_without_truth_can_only_be_scored_by_loss(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=300)
    rows = np.stack([a, 2 * a + rng.normal(size=300)], axis=1)
    np.savetxt(tmp_path / "obs.csv", rows, delimiter=",", header="a,b", comments="")
    params = {"dataset": "csv:obs.csv", "data_root": str(tmp_path), "epochs": 20}
    trial = run_trial(params, metric="loss")
    assert trial.state == optuna.trial.TrialState.COMPLETE
    assert trial.value == trial.user_attrs["final_loss"]
    assert "shd" not in trial.user_attrs
    with pytest.raises(ValueError, match="needs a true graph"):
        run_trial(params, metric="shd")


def test_misspelled_parameter_is_an_error_naming_it() -> None:
    with pytest.raises(ValidationError, match="lambda_sparsity"):
        run_trial({**SMALL, "lambda_sparsity": 0.1})
    with pytest.raises(ValidationError, match="dataset"):
        CausalParams(dataset="cora")


def test_registered_objective_exposes_its_parameter_model() -> None:
    registered = resolve_objective("causal_dag")
    assert registered is objective
    assert registered.params_model is CausalParams
    names = set(CausalParams.model_fields)
    assert {
        "lambda_recon", "lambda_sparse", "lambda_acyclic", "lambda_disen", "lr", "weight_decay",
        "clip_norm", "scaling", "w_threshold", "model", "acyclicity", "dataset", "data_root",
    } <= names  # fmt: skip
    CausalParams()  # every parameter has a default
