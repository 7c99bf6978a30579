"""HealthMonitor on real torch models: gradient norms, clipping, updates, losses, embeddings."""

from __future__ import annotations

import math

import pytest
import torch

from sweeper.health import HealthMonitor
from sweeper.health.embedding import rank_ratio, sample_rows
from sweeper.health.monitor import DEFAULT_BUDGET


def mlp(seed: int = 0) -> torch.nn.Sequential:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 16), torch.nn.ReLU(),
        torch.nn.Linear(16, 1),
    )  # fmt: skip


def backward(model: torch.nn.Module, scale: float = 1.0, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(32, 8, generator=generator)
    y = torch.randn(32, 1, generator=generator)
    model.zero_grad()
    loss = scale * torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    return loss.detach()


@pytest.mark.parametrize("clip_norm", [None, 0.05])
def test_reported_grad_norm_is_the_true_pre_clip_norm(clip_norm: float | None) -> None:
    model, monitor = mlp(), HealthMonitor()
    backward(model)
    true_norm = torch.nn.utils.get_total_norm([p.grad.clone() for p in model.parameters()])
    reference = mlp()
    backward(reference)
    expected = torch.nn.utils.clip_grad_norm_(reference.parameters(), clip_norm or math.inf)

    reported = monitor.clip_gradients(model, clip_norm)

    assert torch.equal(reported, true_norm) and torch.equal(reported, expected)
    after = torch.nn.utils.get_total_norm([p.grad for p in model.parameters()])
    if clip_norm is None:
        assert torch.equal(after, true_norm)
    else:
        assert true_norm > clip_norm and after == pytest.approx(clip_norm, rel=1e-4)
    for mine, theirs in zip(model.parameters(), reference.parameters(), strict=True):
        assert torch.equal(mine.grad, theirs.grad)  # clipped exactly as clip_grad_norm_ does
    monitor.step(torch.optim.SGD(model.parameters(), lr=0.1))
    signals = monitor.end_epoch(1)
    assert signals["grad_norm"] == pytest.approx(float(true_norm), rel=1e-6)
    assert signals["clip_fraction"] == (0.0 if clip_norm is None else 1.0)


def test_epoch_grad_norm_is_the_mean_and_max_over_steps() -> None:
    model, monitor = mlp(), HealthMonitor()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    norms = []
    for step in range(4):
        backward(model, seed=step)
        norms.append(float(monitor.clip_gradients(model, 1.0)))
        monitor.step(optimizer)
    signals = monitor.end_epoch(1)
    assert signals["grad_norm"] == pytest.approx(sum(norms) / 4, rel=1e-6)
    assert signals["grad_norm_max"] == pytest.approx(max(norms), rel=1e-6)
    assert signals["clip_fraction"] == sum(n > 1.0 for n in norms) / 4


def test_tiny_gradients_keep_their_size_instead_of_reading_zero() -> None:
    model, monitor = mlp(), HealthMonitor()
    backward(model, scale=1e-9)
    monitor.clip_gradients(model, 1.0)
    monitor.step(torch.optim.SGD(model.parameters(), lr=0.01))
    signals = monitor.end_epoch(1)
    assert 1e-11 < signals["grad_norm"] < 1e-7
    assert 0 < signals["layer_grad_norm_min"] < 1e-7


def test_step_measures_gradients_when_the_objective_does_not_clip() -> None:
    model, monitor = mlp(), HealthMonitor()
    backward(model)
    expected = float(torch.nn.utils.get_total_norm([p.grad for p in model.parameters()]))
    monitor.step(torch.optim.SGD(model.parameters(), lr=0.01))
    assert monitor.end_epoch(1)["grad_norm"] == pytest.approx(expected, rel=1e-6)


def test_update_ratio_is_the_step_size_over_the_parameter_norm() -> None:
    model, monitor = mlp(), HealthMonitor()
    backward(model)
    grad_norm = float(monitor.clip_gradients(model))
    before = float(torch.nn.utils.get_total_norm([p.detach() for p in model.parameters()]))
    monitor.step(torch.optim.SGD(model.parameters(), lr=0.1))
    after = float(torch.nn.utils.get_total_norm([p.detach() for p in model.parameters()]))
    signals = monitor.end_epoch(1)
    assert signals["update_ratio"] == pytest.approx(0.1 * grad_norm / after, rel=1e-4)
    assert signals["param_norm"] == pytest.approx(after, rel=1e-6) and after != before


def test_dead_first_layer_shows_as_zero_layer_gradient_and_infinite_ratio() -> None:
    model, monitor = mlp(), HealthMonitor()
    torch.nn.init.constant_(model[0].bias, -1e3)  # every first-layer ReLU is dead
    backward(model)
    total = float(monitor.clip_gradients(model))
    monitor.step(torch.optim.SGD(model.parameters(), lr=0.01))
    signals = monitor.end_epoch(1)
    assert total > 0  # the output bias still learns, so the total norm alone hides it
    assert signals["layer_grad_norm_min"] == 0.0 and signals["layer_grad_ratio"] == math.inf


@pytest.mark.parametrize("steps", [1, 3])
@pytest.mark.parametrize("shared", [False, True], ids=["one-matrix-layers", "gru-two-matrices"])
def test_layer_figures_are_each_layers_gradient_norm_averaged_over_the_steps(
    steps: int, shared: bool
) -> None:
    torch.manual_seed(0)
    if shared:  # a GRU cell holds two weight matrices: its layer norm combines both
        model = torch.nn.Sequential(torch.nn.GRUCell(8, 16), torch.nn.Linear(16, 1))
    else:
        model = mlp()
    monitor, optimizer = HealthMonitor(), torch.optim.SGD(model.parameters(), lr=0.01)
    per_step = []
    for step in range(steps):
        backward(model, seed=step)
        layers: dict[str, float] = {}
        for name, param in model.named_parameters():
            if param.dim() >= 2:
                layer = name.rpartition(".")[0]
                layers[layer] = layers.get(layer, 0.0) + float(param.grad.double().norm()) ** 2
        per_step.append({layer: value**0.5 for layer, value in layers.items()})
        monitor.clip_gradients(model, 1.0)
        monitor.step(optimizer)
    means = [sum(s[layer] for s in per_step) / steps for layer in per_step[0]]
    signals = monitor.end_epoch(1)
    assert signals["layer_grad_norm_min"] == pytest.approx(min(means), rel=1e-6)
    assert signals["layer_grad_ratio"] == pytest.approx(max(means) / min(means), rel=1e-6)


def test_loss_components_are_averaged_and_exact_zeros_left_out_of_the_balance() -> None:
    monitor = HealthMonitor()
    for recon in (4.0, 6.0):
        components = {"recon": torch.tensor(recon), "sparse": 5e-5, "disen": 0.0}
        monitor.observe_loss(torch.tensor(recon + 5e-5), components)
    signals = monitor.end_epoch(1)
    assert signals["loss"] == pytest.approx(5.00005)
    assert signals["loss.recon"] == 5.0 and signals["loss.disen"] == 0.0
    assert signals["loss_imbalance"] == pytest.approx(1e5)


def test_identical_embeddings_read_as_collapsed_and_random_ones_as_healthy() -> None:
    monitor = HealthMonitor(budget=None)
    row = torch.randn(1, 64)
    monitor.observe_embeddings(row.expand(500, 64) * torch.rand(500, 1))
    collapsed = monitor.end_epoch(1)
    monitor.observe_embeddings(torch.randn(500, 64))
    healthy = monitor.end_epoch(2)
    assert collapsed["embedding_cosine_mean"] == pytest.approx(1.0, abs=1e-6)
    assert collapsed["embedding_cosine_std"] == pytest.approx(0.0, abs=1e-4)
    assert collapsed["embedding_rank_ratio"] == pytest.approx(1 / 64, rel=1e-3)
    assert abs(healthy["embedding_cosine_mean"]) < 0.05
    assert healthy["embedding_rank_ratio"] > 0.8


def test_cosine_statistics_match_the_full_pairwise_matrix() -> None:
    monitor = HealthMonitor()
    h = torch.randn(300, 16) + 0.5
    monitor.observe_embeddings(h)
    signals = monitor.end_epoch(1)
    unit = torch.nn.functional.normalize(h.double(), dim=1)
    sim = unit @ unit.T
    off = sim[~torch.eye(300, dtype=torch.bool)]
    assert signals["embedding_cosine_mean"] == pytest.approx(float(off.mean()), rel=1e-5)
    assert signals["embedding_cosine_std"] == pytest.approx(float(off.std(correction=0)), rel=1e-4)


def test_rankme_is_exp_of_the_entropy_of_the_normalised_spectrum() -> None:
    singular = torch.tensor([4.0, 2.0, 1.0, 1.0])
    h = torch.diag(singular)
    p = singular / singular.sum()
    expected = math.exp(float(-(p * p.log()).sum())) / 4
    assert float(rank_ratio(h)) == pytest.approx(expected, rel=1e-5)


def test_embedding_sample_is_at_most_2048_rows() -> None:
    generator = torch.Generator().manual_seed(0)
    assert sample_rows(torch.randn(10_000, 8), 2048, generator).shape == (2048, 8)
    assert sample_rows(torch.randn(100, 8), 2048, generator).shape == (100, 8)
    assert HealthMonitor().embedding_rows == 2048


def epochs_with(monitor: HealthMonitor, signal: str) -> list[int]:
    series = monitor.series
    return [e for e, v in zip(series.epochs, series.values(signal), strict=True) if v is not None]


def test_the_spectrum_runs_within_the_time_budget_and_the_mean_cosine_every_epoch() -> None:
    h = torch.randn(2048, 256)
    budgeted, unbounded = HealthMonitor(budget=0.02), HealthMonitor(budget=None)
    epochs = 30
    for epoch in range(1, epochs + 1):
        for monitor in (budgeted, unbounded):
            monitor.observe_embeddings(h)
            monitor.end_epoch(epoch)
        torch.randn(1000, 1000) @ torch.randn(1000, 1000)  # the "training", a few ms

    with_rank = epochs_with(budgeted, "embedding_rank_ratio")
    assert epochs_with(budgeted, "embedding_cosine_mean") == list(range(1, epochs + 1))
    assert with_rank[0] == 1 and len(with_rank) < epochs / 2  # the first, then as budget allows
    assert epochs_with(budgeted, "embedding_cosine_std") == with_rank
    assert epochs_with(unbounded, "embedding_rank_ratio") == list(range(1, epochs + 1))
    mean = budgeted.series.values("embedding_cosine_mean")
    assert mean == unbounded.series.values("embedding_cosine_mean")


def test_score_gap_and_graph_signals() -> None:
    monitor = HealthMonitor()
    monitor.observe_scores(torch.tensor([0.9, 0.7]), torch.tensor([0.2, 0.4]))
    monitor.observe_graph(edges=torch.tensor(7), acyclicity=torch.tensor(2.5e-9))
    signals = monitor.end_epoch(1)
    assert signals["score_gap"] == pytest.approx(0.5)
    assert signals["edges"] == 7.0 and signals["acyclicity"] == pytest.approx(2.5e-9)


def test_nan_loss_and_gradients_show_as_nan_signals() -> None:
    model, monitor = mlp(), HealthMonitor()
    loss = backward(model, scale=math.nan)
    monitor.observe_loss(loss)
    monitor.clip_gradients(model, 1.0)
    monitor.step(torch.optim.SGD(model.parameters(), lr=0.01))
    signals = monitor.end_epoch(1)
    assert math.isnan(signals["loss"]) and math.isnan(signals["grad_norm"])
    assert math.isnan(signals["param_norm"])


def test_gradscaler_skipped_steps_do_not_count_as_nonfinite() -> None:
    model, monitor = mlp(), HealthMonitor()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**10)
    x, y = torch.randn(32, 8), torch.randn(32, 1)
    for scale in [1.0, math.inf, 1.0]:
        optimizer.zero_grad()
        loss = scale * torch.nn.functional.mse_loss(model(x), y)
        scaler.scale(loss).backward()
        scaler.unscale_(optimizer)
        monitor.clip_gradients(model, 1.0)
        monitor.step(optimizer, scaler)
    signals = monitor.end_epoch(1)
    assert signals["amp_skipped_steps"] == 1.0 and math.isfinite(signals["grad_norm"])


def test_each_epoch_is_appended_to_the_series() -> None:
    model, monitor = mlp(), HealthMonitor()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    for epoch in (1, 2, 3):
        monitor.observe_loss(backward(model))
        monitor.clip_gradients(model)
        monitor.step(optimizer)
        monitor.end_epoch(epoch)
    assert monitor.series.epochs == [1, 2, 3]
    assert all(v is not None for v in monitor.series.values("grad_norm"))


def test_a_study_whose_collapse_rule_reads_the_rank_gets_the_rank_every_epoch() -> None:
    from sweeper.health.config import HealthConfig

    rank_rule = HealthConfig.model_validate({"embedding_collapse": {"signal": "rank"}})
    assert HealthMonitor.for_rules(rank_rule).budget.share is None
    assert HealthMonitor.for_rules(HealthConfig()).budget.share == DEFAULT_BUDGET
    assert HealthMonitor.for_rules(None).budget.share == DEFAULT_BUDGET


def test_the_budget_allows_a_cost_only_while_it_fits_in_its_share_of_the_elapsed_time() -> None:
    from sweeper.health.budget import CostBudget

    now = [0.0]
    budget = CostBudget(0.02, clock=lambda: now[0])
    with budget.measure():  # the monitor's first call starts the clock and costs 0.01 s
        now[0] += 0.01
    assert budget.spent == pytest.approx(0.01)
    now[0] = 1.0  # one second of training later: 2% is 0.02 s, 0.01 s of it spent
    assert budget.allows(0.009) and not budget.allows(0.011)
    assert CostBudget(None).allows(1e9)
