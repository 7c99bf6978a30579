"""The link-prediction objective run as a sweep runs it: inside a real Optuna study with a
TrialContext, its health monitor and (where it matters) the health pruner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest
import torch
from pydantic import ValidationError

from objectives.link_prediction import LinkPredictionParams, objective
from objectives.link_prediction.evaluate import common_neighbours, hits_at_k
from objectives.link_prediction.objective import prepare_split
from sweeper.config import load_config
from sweeper.context import TrialContext
from sweeper.health import HealthConfig
from sweeper.objective_registry import resolve_objective
from sweeper.pruners.health import HealthPruner
from tests.objectives_tests.link_prediction_files import write_tiny_planetoid
from tests.real_data import copy_ogbl_ddi

EXAMPLES = Path(__file__).parents[2] / "examples"
SMALL = {"num_nodes": 300, "hidden_channels": 16, "epochs": 6, "eval_every": 2}


@pytest.fixture(autouse=True)
def _quiet_single_thread():
    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def run_trial(
    params: dict[str, Any], metric: str = "hits@20", pruner: optuna.pruners.BasePruner | None = None
) -> optuna.trial.FrozenTrial:
    """Run `objective` as one trial of a fresh in-memory study and return the finished trial."""
    study = optuna.create_study(direction="maximize", pruner=pruner or optuna.pruners.NopPruner())

    def trial_fn(trial: optuna.Trial) -> float:
        ctx = TrialContext(trial, device="cpu", metric=metric, direction="maximize")
        return objective(trial, params, ctx)

    study.optimize(trial_fn, n_trials=1)
    return study.trials[0]


def test_the_objective_is_registered_and_exposes_its_params_model():
    assert resolve_objective("link_prediction") is objective
    assert objective.params_model is LinkPredictionParams


def test_a_misspelled_parameter_is_an_error_naming_it():
    with pytest.raises(ValidationError, match="hiden_channels"):
        LinkPredictionParams.model_validate({"hiden_channels": 64})
    with pytest.raises(ValidationError, match="norm"):
        LinkPredictionParams.model_validate({"norm": "instance_norm"})


def test_every_knob_of_the_write_up_is_a_parameter():
    knobs = ["lr", "clip_norm", "num_layers", "hidden_channels", "dropout", "norm"]
    knobs += ["diversity_weight", "hard_negative_ratio", "weight_decay", "patience"]
    assert set(knobs + ["dataset", "data_root"]) <= set(LinkPredictionParams.model_fields)


def test_trial_returns_best_validation_hits_and_stores_test_hits_at_that_epoch():
    trial = run_trial(SMALL)
    assert trial.state == optuna.trial.TrialState.COMPLETE
    assert sorted(trial.intermediate_values) == [2, 4, 6]
    best_epoch = trial.user_attrs["best_epoch"]
    assert trial.value == max(trial.intermediate_values.values())
    assert trial.intermediate_values[best_epoch] == trial.value
    assert 0.0 <= trial.user_attrs["test_hits@20"] <= 1.0
    assert trial.user_attrs["epochs_run"] == 6


def test_health_monitor_sees_gradients_embeddings_and_the_score_gap_every_epoch():
    trial = run_trial(SMALL | {"diversity_weight": 0.01})
    for signal in ["grad_norm", "embedding_cosine_mean", "score_gap", "loss.diversity"]:
        assert f"health.{signal}" in trial.user_attrs, signal
    assert trial.user_attrs["health.grad_norm"] > 0


def test_same_seed_trains_the_same_way():
    first, second = run_trial(SMALL), run_trial(SMALL)
    assert first.value == second.value
    assert first.user_attrs["test_hits@20"] == second.user_attrs["test_hits@20"]


def test_patience_stops_a_trial_that_no_longer_improves():
    trial = run_trial(SMALL | {"lr": 1e-12, "epochs": 40, "eval_every": 1, "patience": 3})
    assert trial.user_attrs["best_epoch"] == 1
    assert trial.user_attrs["epochs_run"] == 4


def test_exploding_trial_is_pruned_for_health_with_the_reason():
    params = SMALL | {"lr": 50.0, "clip_norm": None, "decoder": "dot", "dropout": 0.0}
    trial = run_trial(params, pruner=HealthPruner(optuna.pruners.NopPruner(), HealthConfig()))
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert trial.user_attrs["prune_reason"].startswith(("grad_explosion", "nonfinite"))


def test_mrr_ranks_each_positive_against_its_own_negatives():
    trial = run_trial(SMALL | {"num_mrr_negatives": 20}, metric="mrr")
    assert 0.0 < trial.value <= 1.0
    assert "test_mrr" in trial.user_attrs


@pytest.mark.parametrize(
    "extra", [{"scheduler": "plateau"}, {"scheduler": "cosine", "hard_negative_ratio": 0.2}]
)
def test_schedulers_and_hard_negatives_train(extra):
    trial = run_trial(SMALL | {"conv": "sage", "norm": "graph_norm", "residual": 0.3} | extra)
    assert trial.state == optuna.trial.TrialState.COMPLETE


def test_good_configuration_beats_a_bad_one_and_common_neighbours_on_the_synthetic_default():
    common = {"epochs": 30, "hidden_channels": 64, "batch_size": 512, "dropout": 0.2}
    common["decoder"] = "dot"
    good = run_trial(common | {"lr": 0.01, "num_layers": 2})
    bad = run_trial(common | {"lr": 1e-5, "num_layers": 2})
    split = prepare_split(LinkPredictionParams(), "hits@20", torch.device("cpu"))
    cn = hits_at_k(
        common_neighbours(split.edge_index, split.num_nodes, split.valid.pos),
        common_neighbours(split.edge_index, split.num_nodes, split.valid.neg),
        20,
    )
    figures = f"good={good.value:.3f} bad={bad.value:.3f} common_neighbours={cn:.3f}"
    assert good.value - bad.value >= 0.05, figures
    assert cn < good.value - 0.05, figures


def test_the_real_ogbl_ddi_trains_one_epoch_through_its_split_and_ogbs_evaluator(tmp_path):
    """One whole epoch (17 steps of 65,536 positives) on the real graph, a narrow model so it
    fits a test; valid and test Hits@20 come from OGB's Evaluator on the official negatives."""
    params = {"dataset": "ogbl-ddi", "data_root": str(copy_ogbl_ddi(tmp_path))}
    trial = run_trial(params | {"hidden_channels": 16, "epochs": 1, "eval_every": 1})
    assert trial.state == optuna.trial.TrialState.COMPLETE
    assert "embedding" in trial.user_attrs["model"]
    assert 0.0 <= trial.value <= 1.0 and 0.0 <= trial.user_attrs["test_hits@20"] <= 1.0
    assert trial.intermediate_values == {1: trial.value}


def test_tiny_planetoid_trains_from_its_node_features(tmp_path):
    write_tiny_planetoid(tmp_path / "planetoid", "CiteSeer")
    trial = run_trial({"dataset": "planetoid:CiteSeer", "data_root": str(tmp_path)} | SMALL)
    assert trial.state == optuna.trial.TrialState.COMPLETE
    assert "linear(16)" in trial.user_attrs["model"]


@pytest.mark.parametrize("name", ["quickstart.yaml", "gcn-structural-v2.yaml"])
def test_example_study_files_name_only_known_parameters(name):
    config = load_config(EXAMPLES / name)
    assert config.objective == "link_prediction"
    assert set(config.params) | set(config.space) <= set(LinkPredictionParams.model_fields)
    LinkPredictionParams.model_validate(config.params)


def test_the_write_ups_v2_settings_in_the_example_fit_its_search_space():
    config = load_config(EXAMPLES / "gcn-structural-v2.yaml")
    enqueued = config.enqueue[0]
    assert enqueued == {
        "norm": "layer_norm",
        "dropout": 0.2,
        "num_layers": 2,
        "hidden_channels": 256,
        "diversity_weight": 0.01,
        "hard_negative_ratio": 0.05,
        "clip_norm": 1.0,
        "lr": 0.003,
    }
    for name, value in enqueued.items():
        space = config.space[name]
        if space.type == "categorical":
            assert value in space.choices, name
        else:
            assert space.low <= value <= space.high, name
    LinkPredictionParams.model_validate(config.params | enqueued)
