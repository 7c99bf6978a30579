"""The health rules on hand-written signal series: thresholds, patience, warm-up, messages."""

from __future__ import annotations

import math
import re

import pytest
from pydantic import ValidationError

from sweeper.health import HealthConfig
from sweeper.health.formatting import sci
from sweeper.health.rules import RULE_NAMES, evaluate, is_health_reason
from sweeper.health.series import HealthSeries

MESSAGE = re.compile(
    r"^(?P<rule>[a-z_]+): (?P<signal>[a-z_.@0-9]+)=(?P<value>\S+) (?P<op>>|<|<=|is not) "
    r"(?P<threshold>\S+) at epoch (?P<epoch>\d+) \(for (?P<k>\d+) epochs?\)$"
)


#: The defaults with the rules that are off by default switched on, whose logic these tests check.
RULES_ON = HealthConfig.model_validate({"edge_collapse": True, "no_progress": True})


def test_edge_collapse_and_no_progress_are_off_by_default() -> None:
    """On the causal benchmark sweeps both flagged their studies' best trials (README)."""
    config = HealthConfig()
    assert not config.edge_collapse.enabled and not config.no_progress.enabled
    assert verdict_at(series_of(edges=[3] + [0] * 60), config) is None


def series_of(**columns: list[float | None]) -> HealthSeries:
    """A series with epochs 1..n and the given signal columns."""
    series = HealthSeries()
    length = len(next(iter(columns.values())))
    for epoch in range(1, length + 1):
        series.record(epoch, {name: column[epoch - 1] for name, column in columns.items()})
    return series


def verdict_at(series: HealthSeries, config: HealthConfig | None = None, **kwargs):
    """The verdict at the series' last epoch."""
    metric = kwargs.pop("metric", {})
    return evaluate(
        config or RULES_ON,
        series,
        metric,
        epoch=series.last_epoch,
        maximize=kwargs.pop("maximize", True),
    )


def test_explosion_message_names_rule_signal_value_threshold_epoch_and_duration() -> None:
    series = series_of(grad_norm=[1.0, 2.0, 46767.0, 52000.0])
    verdict = verdict_at(series)
    assert verdict.message == "grad_explosion: grad_norm=5.2e+04 > 1e+04 at epoch 4 (for 2 epochs)"
    parts = MESSAGE.match(verdict.message)
    assert parts is not None and parts["rule"] in RULE_NAMES


def test_explosion_waits_for_its_patience() -> None:
    assert verdict_at(series_of(grad_norm=[1.0, 2.0, 46767.0])) is None


def test_a_single_spike_between_healthy_epochs_is_forgiven() -> None:
    assert verdict_at(series_of(grad_norm=[1.0, 5e4, 1.0, 5e4])) is None


def test_nonfinite_loss_prunes_at_once_and_says_which_value() -> None:
    verdict = verdict_at(series_of(loss=[0.5, 0.4, math.nan], grad_norm=[1.0, 1.0, math.nan]))
    assert verdict.message == "nonfinite: loss=nan is not finite at epoch 3 (for 1 epoch)"


def test_nonfinite_metric_value_prunes_without_any_signal() -> None:
    verdict = evaluate(
        HealthConfig(), HealthSeries(), {1: 0.3, 2: math.inf}, epoch=2, maximize=True
    )
    assert verdict.rule == "nonfinite" and verdict.signal == "value"


def test_tiny_gradients_are_printed_in_scientific_notation_not_as_zero() -> None:
    series = series_of(layer_grad_norm_min=[3.1e-9, 2.0e-9, 1.5e-9])
    verdict = verdict_at(series)
    assert verdict.message == (
        "grad_vanishing: layer_grad_norm_min=1.5e-09 < 1e-08 at epoch 3 (for 3 epochs)"
    )
    assert sci(3.1e-9) == "3.1e-09" and sci(46767) == "4.7e+04"


def test_a_value_that_rounds_to_the_threshold_is_printed_with_more_digits() -> None:
    verdict = verdict_at(series_of(grad_norm=[10400.0, 10400.0]))
    assert "grad_norm=1.04e+04 > 1e+04" in verdict.message


def test_warmup_epochs_do_not_count_toward_patience() -> None:
    config = HealthConfig.model_validate({"embedding_collapse": {"warmup": 3, "patience": 3}})
    early = series_of(embedding_cosine_mean=[1.0] * 5)
    assert verdict_at(early, config) is None
    later = series_of(embedding_cosine_mean=[1.0] * 6)
    assert verdict_at(later, config).message == (
        "embedding_collapse: embedding_cosine_mean=1e+00 > 9.99e-01 at epoch 6 (for 3 epochs)"
    )


def test_rank_collapse_uses_the_rank_ratio_when_chosen() -> None:
    config = HealthConfig.model_validate({"embedding_collapse": {"signal": "rank", "warmup": 0}})
    series = series_of(embedding_rank_ratio=[0.01] * 3, embedding_cosine_mean=[0.2] * 3)
    assert verdict_at(series, config).signal == "embedding_rank_ratio"
    cosine_only = HealthConfig.model_validate({"embedding_collapse": {"signal": "cosine"}})
    assert verdict_at(series, cosine_only) is None  # the cosine is healthy


def test_epochs_without_the_signal_are_skipped_not_counted() -> None:
    readings = [5, 0, None, None, 0] + [None, 0] * 29  # 29 zero readings after the warm-up
    series = series_of(edges=readings)
    assert verdict_at(series) is None
    series.record(len(readings) + 1, {"edges": 0})
    verdict = verdict_at(series)
    assert verdict.message == "edge_collapse: edges=0e+00 <= 0e+00 at epoch 64 (for 30 epochs)"


def test_a_graph_that_empties_for_a_while_and_regrows_is_not_pruned() -> None:
    """As on the wide causal sweeps: an augmented-Lagrangian step empties the graph for some
    epochs; it regrows (one such run found its study's second-best graph)."""
    edges = [0] * 70 + [1, 2, 3] + [0] * 25 + [2, 4, 6]
    for epoch in range(1, len(edges) + 1):  # at no epoch of it
        assert verdict_at(series_of(edges=edges[:epoch])) is None, epoch


def test_a_healthy_loss_balance_of_1e5_is_not_pruned_even_with_the_rule_on() -> None:
    config = HealthConfig.model_validate({"loss_imbalance": True})
    components = {
        "loss.recon": [5.0] * 40,
        "loss.sparse": [5e-5] * 40,
        "loss_imbalance": [1e5] * 40,
    }
    assert verdict_at(series_of(**components), config) is None


def test_loss_imbalance_is_off_by_default() -> None:
    assert verdict_at(series_of(loss_imbalance=[1e12] * 40)) is None


def test_a_graph_that_never_had_edges_is_not_an_edge_collapse() -> None:
    assert verdict_at(series_of(edges=[0] * 30)) is None


def test_an_extreme_loss_imbalance_is_pruned_when_switched_on() -> None:
    config = HealthConfig.model_validate({"loss_imbalance": {"enabled": True}})
    verdict = verdict_at(series_of(loss_imbalance=[1e9] * 20), config)
    assert verdict.message.startswith("loss_imbalance: loss_imbalance=1e+09 > 1e+08 at epoch 20")


def test_a_switched_off_rule_never_fires() -> None:
    config = HealthConfig.model_validate({"grad_explosion": False, "nonfinite": {"enabled": False}})
    series = series_of(grad_norm=[1e9] * 10, loss=[math.nan] * 10)
    assert verdict_at(series, config) is None


def test_a_metric_stuck_at_its_first_value_is_no_progress() -> None:
    metric = {epoch: 0.0 for epoch in range(1, 22)}
    series = series_of(loss=[0.7] * 21)
    verdict = verdict_at(series, metric=metric)
    assert verdict.message == "no_progress: value_range=0e+00 <= 0e+00 at epoch 21 (for 20 epochs)"


def test_a_flat_metric_is_not_no_progress_while_the_loss_still_falls() -> None:
    metric = {epoch: 20.0 for epoch in range(1, 40)}
    series = series_of(loss=[10.0 / epoch for epoch in range(1, 40)])
    assert verdict_at(series, metric=metric, maximize=False) is None


NO_STALL = HealthConfig.model_validate({"loss_stall": False})
STALL = HealthConfig.model_validate({"loss_stall": True})


def test_two_equal_sparse_evaluations_are_not_enough_for_no_progress() -> None:
    metric = {100: 3.0, 200: 3.0}
    series = series_of(loss=[1.0] * 200)
    assert verdict_at(series, NO_STALL, metric=metric, maximize=False) is None


def test_a_converged_metric_that_improved_first_is_not_no_progress() -> None:
    metric = {epoch: min(1.0, 0.1 * epoch) for epoch in range(1, 60)}
    assert verdict_at(series_of(loss=[0.1] * 59), NO_STALL, metric=metric) is None


def test_a_loss_that_has_not_moved_since_its_first_epoch_is_a_stall_at_epoch_10() -> None:
    flat = [1.386, 1.386, 1.385, 1.386, 1.384, 1.385, 1.386, 1.384, 1.385, 1.385]
    assert verdict_at(series_of(loss=flat)) is None  # off by default
    assert verdict_at(series_of(loss=flat[:9]), STALL) is None  # too early
    assert verdict_at(series_of(loss=flat), STALL).message == (
        "loss_stall: loss_change=-1.4e-03 > -1e-02 at epoch 10 (for 10 epochs)"
    )


def test_a_slow_start_that_falls_1_percent_within_10_epochs_is_not_a_stall() -> None:
    # A quickstart trial that ended among the best: flat for five epochs, then falling.
    loss = [1.3803, 1.378, 1.3745, 1.3691, 1.3603, 1.3453, 1.3261, 1.2967, 1.27, 1.25]
    assert verdict_at(series_of(loss=loss), STALL) is None


def test_a_loss_that_grows_from_its_first_epoch_is_a_stall() -> None:
    assert (
        verdict_at(series_of(loss=[1.0 + 0.1 * e for e in range(10)]), STALL).rule == "loss_stall"
    )


def test_a_loss_that_fell_once_is_never_a_stall_even_if_it_rises_later() -> None:
    assert verdict_at(series_of(loss=[1.0, 0.9, 1.2, 1.3, 1.4, 1.5, 1.6]), STALL) is None


def test_a_collapsed_rank_with_an_oscillating_cosine_is_an_embedding_collapse() -> None:
    # The lp_wide trial at lr 0.4: the cosine swings 0.58-0.99, the rank stays below 0.05.
    series = series_of(
        loss=[3.0, 2.0, 1.5, 1.2, 1.0],
        embedding_cosine_mean=[0.993, 0.681, 0.579, 0.827, 0.692],
        embedding_rank_ratio=[0.025, 0.0438, 0.016, 0.0185, 0.0185],
    )
    assert verdict_at(series).message == (
        "embedding_collapse: embedding_rank_ratio=1.8e-02 < 5e-02 at epoch 5 (for 4 epochs)"
    )


def test_no_progress_counts_epochs_between_sparse_evaluations() -> None:
    metric = {epoch: 12.0 for epoch in range(5, 30, 5)}  # every 5 epochs, minimizing, never moved
    series = series_of(loss=[1.0] * 25)
    assert verdict_at(series, metric=metric, maximize=False).epochs == 20


def test_prune_reason_recognises_health_rules_only() -> None:
    assert is_health_reason("grad_explosion: grad_norm=5e+04 > 1e+04 at epoch 3 (for 2 epochs)")
    assert not is_health_reason("base_pruner: hits@20=1e-02 at epoch 5 (MedianPruner)")
    assert not is_health_reason(None)


def test_series_survives_json_with_nan_and_inf() -> None:
    series = series_of(loss=[0.5, math.nan], grad_norm=[math.inf, None])
    data = series.to_json()
    assert data["loss"] == [0.5, "nan"] and data["grad_norm"] == ["inf", None]
    back = HealthSeries.from_json(data)
    assert math.isnan(back.latest("loss")) and back.values("grad_norm")[0] == math.inf


@pytest.mark.parametrize(
    ("section", "location", "fragment"),
    [
        ({"grad_explosion": {"threshold": -1}}, ("grad_explosion", "threshold"), "greater than 0"),
        ({"grad_explosion": {"patience": 0}}, ("grad_explosion", "patience"), "greater than"),
        (
            {"embedding_collapse": {"signal": "cosine", "threshold": 1.5}},
            ("embedding_collapse", "threshold"),
            "[-1, 1)",
        ),
        (
            {"embedding_collapse": {"threshold": 0.9}},
            ("embedding_collapse", "threshold"),
            "needs signal cosine or rank",
        ),
        ({"loss_stall": {"min_improvement": 1.0}}, ("loss_stall", "min_improvement"), "less than"),
        ({"gradient_explosion": {}}, ("gradient_explosion",), "Extra inputs"),
        ({"no_progress": {"patiense": 3}}, ("no_progress", "patiense"), "Extra inputs"),
        ({"loss_imbalance": {"threshold": math.nan}}, ("loss_imbalance", "threshold"), "finite"),
    ],
)
def test_bad_health_sections_name_the_field(section: dict, location: tuple, fragment: str) -> None:
    with pytest.raises(ValidationError) as caught:
        HealthConfig.model_validate(section)
    (error,) = caught.value.errors()
    assert error["loc"] == location and fragment in error["msg"]


def test_true_and_false_switch_rules_on_and_off() -> None:
    config = HealthConfig.model_validate({"no_progress": False, "grad_explosion": True})
    assert not config.no_progress.enabled
    assert config.grad_explosion.enabled and config.grad_explosion.threshold == 1e4


def test_a_value_close_to_its_threshold_prints_with_enough_digits_to_differ() -> None:
    series = series_of(embedding_cosine_mean=[0.9993] * 5)
    assert verdict_at(series).message == (
        "embedding_collapse: embedding_cosine_mean=9.993e-01 > 9.99e-01 at epoch 5 (for 4 epochs)"
    )
