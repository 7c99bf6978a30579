"""HealthPruner end to end: real torch models trained inside real Optuna studies."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest
import torch
from torch_geometric.nn import GCNConv
from torch_geometric.utils import negative_sampling, stochastic_blockmodel_graph

from sweeper.context import TrialContext
from sweeper.health.rules import RULE_NAMES
from sweeper.health.series import HealthSeries
from sweeper.pruners import HealthPruner
from sweeper.trial_attrs import JUDGED_LIVE_ATTR, SERIES_ATTR

optuna.logging.set_verbosity(optuna.logging.WARNING)

Objective = Callable[[optuna.Trial], float]


def run_study(
    objective: Callable[[optuna.Trial, TrialContext], float],
    *,
    pruner: optuna.pruners.BasePruner | None = None,
    direction: str = "minimize",
    storage: str | None = None,
    study: optuna.Study | None = None,
) -> optuna.trial.FrozenTrial:
    """Run one trial of `objective` with a TrialContext, the way a worker does."""
    if study is None:
        study = optuna.create_study(
            direction=direction, pruner=pruner or HealthPruner(), storage=storage
        )

    def wrapped(trial: optuna.Trial) -> float:
        ctx = TrialContext(trial, metric="val_loss", direction=study.direction.name.lower())
        return objective(trial, ctx)

    study.optimize(wrapped, n_trials=1)
    return study.trials[-1]


def reason(trial: optuna.trial.FrozenTrial) -> str:
    return str(trial.user_attrs.get("prune_reason", ""))


def pruned_epoch(trial: optuna.trial.FrozenTrial) -> int:
    return int(reason(trial).split(" at epoch ")[1].split()[0])


# ------------------------------------------------------------------------------ MLP regression
@dataclass
class MLPRun:
    """An MLP regression trained for `epochs`; `sick_from` injects a fault from that epoch on."""

    lr: float = 1e-2
    optimizer: str = "adam"
    clip_norm: float | None = None
    epochs: int = 50
    hidden: int = 32
    layers: int = 2
    act: str = "relu"
    norm: bool = False
    fault: str | None = None  # lr10 | dead | zero | nan_loss
    sick_from: int = 1
    seed: int = 0

    def __call__(self, trial: optuna.Trial, ctx: TrialContext) -> float:
        torch.manual_seed(self.seed)
        generator = torch.Generator().manual_seed(self.seed)
        x = torch.randn(192, 8, generator=generator)
        y = torch.sin(x @ torch.randn(8, 1, generator=generator)) + 0.1 * x[:, :1]
        act = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "gelu": torch.nn.GELU}[self.act]
        blocks: list[torch.nn.Module] = []
        width = 8
        for _ in range(self.layers):
            blocks += [torch.nn.Linear(width, self.hidden)]
            blocks += [torch.nn.LayerNorm(self.hidden)] if self.norm else []
            blocks += [act()]
            width = self.hidden
        model = torch.nn.Sequential(*blocks, torch.nn.Linear(width, 1))
        optim_cls = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}[self.optimizer]
        optimizer = optim_cls(model.parameters(), lr=self.lr)
        value = math.inf
        for epoch in range(1, self.epochs + 1):
            if epoch == self.sick_from:
                self._inject(model, optimizer)
            model.train()
            for start in range(0, 128, 32):
                optimizer.zero_grad()
                loss = torch.nn.functional.mse_loss(
                    model(x[start : start + 32]), y[start : start + 32]
                )
                if self.fault == "nan_loss" and epoch >= self.sick_from:
                    loss = loss * math.nan
                loss.backward()
                ctx.monitor.clip_gradients(model, self.clip_norm)
                ctx.monitor.step(optimizer)
                ctx.monitor.observe_loss(loss.detach())
            with torch.no_grad():
                value = torch.nn.functional.mse_loss(model(x[128:]), y[128:]).item()
            ctx.report(epoch, value)
        return value

    def _inject(self, model: torch.nn.Sequential, optimizer: torch.optim.Optimizer) -> None:
        with torch.no_grad():
            if self.fault == "lr10":
                for group in optimizer.param_groups:
                    group["lr"] = 10.0
            elif self.fault == "dead":
                model[0].bias.fill_(-1e3)  # every first-layer ReLU is dead
            elif self.fault == "zero":
                for param in model.parameters():
                    param.zero_()


def test_mlp_at_learning_rate_10_without_clipping_is_pruned_within_three_epochs() -> None:
    trial = run_study(MLPRun(optimizer="sgd", fault="lr10", sick_from=4))
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert reason(trial).split(":")[0] in ("grad_explosion", "nonfinite")
    assert 4 <= pruned_epoch(trial) <= 4 + 3


def test_mlp_at_learning_rate_10_with_adam_from_the_start_is_pruned_within_three_epochs() -> None:
    trial = run_study(MLPRun(optimizer="adam", lr=10.0))
    assert reason(trial).split(":")[0] in ("grad_explosion", "nonfinite")
    assert pruned_epoch(trial) <= 3


def test_relus_that_die_mid_training_are_pruned_as_vanishing_gradients() -> None:
    trial = run_study(MLPRun(fault="dead", sick_from=3))
    assert reason(trial).startswith("grad_vanishing: layer_grad_norm_min=0e+00 < 1e-08")
    assert pruned_epoch(trial) == 3 + 2  # the default patience is 3 epochs


def test_all_zero_initial_weights_are_pruned_as_vanishing_gradients() -> None:
    trial = run_study(MLPRun(fault="zero", sick_from=1))
    assert reason(trial) == (
        "grad_vanishing: layer_grad_norm_min=0e+00 < 1e-08 at epoch 3 (for 3 epochs)"
    )


def test_nan_loss_is_pruned_as_nonfinite_at_that_epoch() -> None:
    trial = run_study(MLPRun(fault="nan_loss", sick_from=5))
    assert reason(trial) == "nonfinite: loss=nan is not finite at epoch 5 (for 1 epoch)"
    assert trial.last_step == 5


def test_health_pruned_trial_keeps_a_finite_value_below_healthy_trials() -> None:
    study = optuna.create_study(direction="minimize", pruner=HealthPruner())
    healthy = [run_study(MLPRun(epochs=8, seed=s), study=study) for s in (0, 1)]
    sick = run_study(MLPRun(optimizer="sgd", fault="lr10", sick_from=2), study=study)
    assert sick.state == optuna.trial.TrialState.PRUNED
    assert math.isfinite(sick.value)
    assert sick.value > max(t.value for t in healthy)  # minimizing: worse than every healthy one


def test_prune_reason_is_the_trialpruned_message_and_signals_are_stored(sqlite_url: str) -> None:
    trial = run_study(MLPRun(fault="nan_loss", sick_from=2), storage=sqlite_url)
    stored = optuna.load_study(study_name=None, storage=sqlite_url).trials[0]
    assert stored.user_attrs["prune_reason"] == reason(trial)
    assert stored.user_attrs["health.loss"] == "nan"  # JSON-safe in a real database
    series = stored.user_attrs["health_series"]
    assert series["epoch"] == [1, 2] and series["loss"][1] == "nan"
    assert (
        isinstance(series["loss"][0], float) and series["value"][0] == stored.intermediate_values[1]
    )


def test_latest_signals_are_user_attrs_while_the_trial_runs() -> None:
    seen: dict[str, object] = {}

    def objective(trial: optuna.Trial, ctx: TrialContext) -> float:
        value = MLPRun(epochs=3)(trial, ctx)
        seen.update(trial.user_attrs)
        return value

    trial = run_study(objective)
    assert trial.state == optuna.trial.TrialState.COMPLETE
    for signal in ("loss", "grad_norm", "grad_norm_max", "layer_grad_norm_min", "param_norm"):
        assert seen[f"health.{signal}"] == trial.user_attrs["health_series"][signal][-1]
    assert len(trial.user_attrs["health_series"]["grad_norm"]) == 3


def test_check_health_prunes_on_an_epoch_without_evaluation() -> None:
    def objective(trial: optuna.Trial, ctx: TrialContext) -> float:
        for epoch in range(1, 11):
            loss = torch.tensor(math.nan if epoch == 3 else 1.0 / epoch)
            ctx.monitor.observe_loss(loss)
            if epoch % 5 == 0:
                ctx.report(epoch, float(loss))
            else:
                ctx.check_health(epoch)
        return 0.0

    trial = run_study(objective)
    assert reason(trial) == "nonfinite: loss=nan is not finite at epoch 3 (for 1 epoch)"
    assert list(trial.intermediate_values) == [3] and math.isfinite(trial.value)


def test_a_prune_the_objective_decides_reports_a_stand_in_value_as_a_health_rule_does() -> None:
    def objective(trial: optuna.Trial, ctx: TrialContext) -> float:
        ctx.report(1, 0.5)
        ctx.check_health(2)
        ctx.prune(2, "nonfinite: loss=nan at epoch 2")
        return 0.0

    trial = run_study(objective, pruner=optuna.pruners.NopPruner())
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert reason(trial) == "nonfinite: loss=nan at epoch 2"
    assert list(trial.intermediate_values) == [1, 2]
    assert trial.value == 1.5  # minimizing: the worst healthy value 0.5, moved by max(|0.5|, 1)


def test_base_pruner_decides_exactly_as_alone_when_no_rule_fires() -> None:
    def make(pruner: optuna.pruners.BasePruner) -> optuna.Study:
        return optuna.create_study(direction="maximize", pruner=pruner)

    alone = make(optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1))
    wrapped = make(HealthPruner(optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1)))
    generator = torch.Generator().manual_seed(0)
    curves = torch.rand(8, 10, generator=generator).cumsum(dim=1).tolist()
    decisions: dict[int, list[list[bool]]] = {id(alone): [], id(wrapped): []}
    for study in (alone, wrapped):
        for curve in curves:
            trial = study.ask()
            answers = []
            for step, value in enumerate(curve):
                trial.report(value, step)
                answers.append(trial.should_prune())
            decisions[id(study)].append(answers)
            study.tell(trial, curve[-1])
    assert decisions[id(alone)] == decisions[id(wrapped)]
    assert any(any(row) for row in decisions[id(alone)])  # the base pruner did prune some


def test_base_pruner_prune_is_reported_with_its_reason() -> None:
    study = optuna.create_study(
        direction="minimize",
        pruner=HealthPruner(optuna.pruners.ThresholdPruner(upper=0.01)),
    )
    trial = run_study(MLPRun(epochs=5), study=study)
    assert reason(trial).startswith("base_pruner: val_loss=")
    assert reason(trial).endswith("at epoch 1 (ThresholdPruner)")


def test_a_users_own_objective_is_pruned_from_its_stored_health_series() -> None:
    study = optuna.create_study(direction="minimize", pruner=HealthPruner())
    trial = study.ask()
    series = HealthSeries()
    answers = []
    for epoch in (1, 2, 3):
        series.record(epoch, {"grad_norm": 5e4})
        trial.set_user_attr(SERIES_ATTR, series.to_json())
        trial.report(1.0, epoch)
        answers.append(trial.should_prune())
    assert answers == [False, True, True]  # grad_explosion, patience 2


def test_a_trial_judged_live_is_left_to_the_base_pruner_whatever_its_stored_series_says() -> None:
    study = optuna.create_study(direction="minimize", pruner=HealthPruner())
    sick = HealthSeries()
    for epoch in (1, 2):
        sick.record(epoch, {"grad_norm": 5e4})
    answers = {}
    for judged_live in (False, True):
        trial = study.ask()
        if judged_live:
            trial.set_user_attr(JUDGED_LIVE_ATTR, True)
        trial.set_user_attr(SERIES_ATTR, sick.to_json())
        trial.report(1.0, 1)
        trial.report(1.0, 2)
        answers[judged_live] = trial.should_prune()
        study.tell(trial, 1.0)
    assert answers == {False: True, True: False}


def test_the_live_verdict_decides_when_the_stored_series_is_older() -> None:
    # The metric is flat but the loss falls: no_progress does not fire on the live series. The
    # stored copy, throttled, holds the first epoch only: judged again, it would find no loss
    # improvement and prune.
    health = {"no_progress": {"enabled": True, "patience": 3, "min_reports": 2}}
    study = optuna.create_study(direction="maximize", pruner=HealthPruner(config=health))

    def objective(trial: optuna.Trial) -> float:
        ctx = TrialContext(trial, metric="acc", direction="maximize", health_sync_s=3600.0)
        for epoch in range(1, 9):
            ctx.monitor.observe_loss(torch.tensor(1.0 / epoch))
            ctx.report(epoch, 0.5)
        return 0.5

    study.optimize(objective, n_trials=1)
    trial = study.trials[-1]
    assert trial.state == optuna.trial.TrialState.COMPLETE, reason(trial)
    assert trial.user_attrs[JUDGED_LIVE_ATTR] is True
    stored = HealthSeries.from_json(trial.user_attrs[SERIES_ATTR])
    assert stored.epochs == [1]
    assert HealthPruner(config=health).verdict(study, trial) is not None


def test_health_pruner_rejects_what_is_not_a_pruner_or_a_health_section() -> None:
    with pytest.raises(TypeError, match="base_pruner must be an optuna pruner"):
        HealthPruner("median")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="grad_explosion"):
        HealthPruner(None, {"grad_explosion": {"threshold": -1}})
    assert HealthPruner(None, {"no_progress": False}).config.no_progress.enabled is False


# ----------------------------------------------------------------------- link prediction (GCN)
@dataclass
class LinkRun:
    """A 2-layer GCN link predictor on a stochastic block model graph."""

    lr: float = 1e-2
    hidden: int = 32
    clip_norm: float | None = None
    constant_features: bool = False  # every node the same input: embeddings collapse
    epochs: int = 50
    seed: int = 0

    def __call__(self, trial: optuna.Trial, ctx: TrialContext) -> float:
        torch.manual_seed(self.seed)
        edge_index = stochastic_blockmodel_graph(
            [30, 30, 30], [[0.3, 0.02, 0.02], [0.02, 0.3, 0.02], [0.02, 0.02, 0.3]]
        )
        num_nodes = 90
        if self.constant_features:
            x = torch.ones(num_nodes, 16)
        else:
            x = torch.eye(num_nodes)[:, :16] + 0.1 * torch.randn(num_nodes, 16)
            x[:, :3] += torch.nn.functional.one_hot(torch.arange(num_nodes) // 30, 3).float()
        conv1 = GCNConv(16, self.hidden, bias=not self.constant_features)
        conv2 = GCNConv(self.hidden, self.hidden, bias=not self.constant_features)
        model = torch.nn.ModuleList([conv1, conv2])
        optimizer = torch.optim.Adam(model.parameters(), lr=self.lr)

        def encode() -> torch.Tensor:
            return conv2(conv1(x, edge_index).relu(), edge_index)

        value = math.inf
        for epoch in range(1, self.epochs + 1):
            optimizer.zero_grad()
            h = encode()
            neg = negative_sampling(edge_index, num_nodes=num_nodes)
            pos_out = (h[edge_index[0]] * h[edge_index[1]]).sum(-1)
            neg_out = (h[neg[0]] * h[neg[1]]).sum(-1)
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                torch.cat([pos_out, neg_out]),
                torch.cat([torch.ones_like(pos_out), torch.zeros_like(neg_out)]),
            )
            loss.backward()
            ctx.monitor.clip_gradients(model, self.clip_norm)
            ctx.monitor.step(optimizer)
            ctx.monitor.observe_loss(loss.detach())
            ctx.monitor.observe_embeddings(h.detach())
            ctx.monitor.observe_scores(pos_out.detach().sigmoid(), neg_out.detach().sigmoid())
            value = float(loss.detach())
            ctx.report(epoch, value)
        return value


def test_encoder_with_identical_embeddings_is_pruned_as_embedding_collapse() -> None:
    trial = run_study(LinkRun(constant_features=True))
    assert reason(trial).startswith("embedding_collapse: embedding_cosine_mean=1e+00 > 9.99e-01")
    assert pruned_epoch(trial) == 3  # 1 warm-up epoch, then the default patience of 2


# -------------------------------------------------------------------- learned adjacency (SEM)
@dataclass
class GraphRun:
    """A linear SEM X ~ X W with a learned adjacency W, started from the true graph's support."""

    lambda_sparse: float = 1e-3
    lambda_acyclic: float = 1e-2
    lr: float = 1e-2
    epochs: int = 50
    seed: int = 0

    def __call__(self, trial: optuna.Trial, ctx: TrialContext) -> float:
        torch.manual_seed(self.seed)
        d = 6
        truth = torch.triu(torch.ones(d, d), diagonal=1) * (torch.rand(d, d) < 0.5)
        weights = truth * (0.8 + 0.4 * torch.rand(d, d))
        noise = torch.randn(400, d)
        x = noise @ torch.linalg.inv(torch.eye(d) - weights)
        weight = torch.nn.Parameter(0.5 * truth + 0.01 * torch.randn(d, d))
        optimizer = torch.optim.Adam([weight], lr=self.lr)
        value = math.inf
        for epoch in range(1, self.epochs + 1):
            for start in range(0, 400, 100):
                batch = x[start : start + 100]
                optimizer.zero_grad()
                w = weight * (1 - torch.eye(d))
                recon = 10.0 * ((batch - batch @ w) ** 2).mean()
                sparse = self.lambda_sparse * w.abs().mean()
                acyclic = self.lambda_acyclic * (torch.linalg.matrix_exp(w * w).trace() - d)
                loss = recon + sparse + acyclic
                loss.backward()
                ctx.monitor.clip_gradients([weight], 1.0)
                ctx.monitor.step(optimizer)
                ctx.monitor.observe_loss(
                    loss.detach(), {"recon": recon, "sparse": sparse, "acyclic": acyclic}
                )
            with torch.no_grad():
                w = weight * (1 - torch.eye(d))
                edges = int((w.abs() > 0.3).sum())
                h = float(torch.linalg.matrix_exp(w * w).trace() - d)
                value = float(((x - x @ w) ** 2).mean())
            ctx.monitor.observe_graph(edges, acyclicity=h)
            ctx.report(epoch, value)
        return value


def test_learned_adjacency_that_decays_to_zero_is_pruned_as_edge_collapse() -> None:
    pruner = HealthPruner(None, {"edge_collapse": True})  # off by default
    trial = run_study(GraphRun(lambda_sparse=2000.0, lr=2e-2), pruner=pruner)
    assert reason(trial) == "edge_collapse: edges=0e+00 <= 0e+00 at epoch 35 (for 30 epochs)"
    edges = trial.user_attrs["health_series"]["edges"]
    assert edges[0] > 0 and edges[-1] == 0


# ---------------------------------------------------------------------------- healthy configs
HEALTHY = [
    MLPRun(lr=1e-2),
    MLPRun(lr=1e-3, hidden=64, seed=1),
    MLPRun(lr=3e-3, clip_norm=1.0, layers=3, seed=2),
    MLPRun(lr=5e-2, optimizer="sgd", act="tanh", seed=3),
    MLPRun(lr=1e-3, norm=True, act="gelu", layers=4, seed=4),
    MLPRun(lr=2e-3, clip_norm=0.1, hidden=16, seed=5),
    LinkRun(lr=1e-2),
    LinkRun(lr=5e-3, hidden=64, clip_norm=1.0, seed=1),
    GraphRun(),
    GraphRun(lambda_sparse=1e-4, lambda_acyclic=1e-5, lr=5e-3, seed=1),
]


@pytest.mark.parametrize(
    "config", HEALTHY, ids=[f"{type(c).__name__}-{i}" for i, c in enumerate(HEALTHY)]
)
def test_healthy_configurations_over_50_epochs_are_never_pruned_by_a_health_rule(config) -> None:
    assert config.epochs == 50
    trial = run_study(config)
    assert trial.state == optuna.trial.TrialState.COMPLETE, reason(trial)
    assert reason(trial).split(":")[0] not in RULE_NAMES
    assert len(trial.user_attrs["health_series"]["epoch"]) == 50


def test_hyperband_with_health_samples_and_prunes_exactly_as_hyperband_alone(
    tmp_path: Path,
) -> None:
    """A study file's `hyperband` pruner wrapped by the health rules gives healthy trials the
    same parameters and the same prunes as Hyperband alone (Optuna's samplers read a study's
    trials through `Study._get_trials`, which Hyperband's bracket view does not filter, so
    nothing is lost by the wrapper hiding that the pruner is a HyperbandPruner)."""
    from sweeper.config import PrunerConfig
    from sweeper.pruners.factory import build_pruner

    def run(pruner: optuna.pruners.BasePruner, path: Path) -> list[tuple[float, str]]:
        study = optuna.create_study(
            study_name="hyperband",  # brackets are drawn from the study name and trial number
            storage=f"sqlite:///{path}",
            direction="minimize",
            sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=3),
            pruner=pruner,
        )

        def objective(trial: optuna.Trial) -> float:
            x = trial.suggest_float("x", -3.0, 3.0)
            value = 0.0
            for step in range(9):
                value = (x - 1.0) ** 2 + 4.0 / (step + 1)
                trial.report(value, step)
                if trial.should_prune():
                    raise optuna.TrialPruned()
            return value

        study.optimize(objective, n_trials=24)
        return [(t.params["x"], t.state.name) for t in study.trials]

    config = PrunerConfig.model_validate(
        {"name": "hyperband", "args": {"min_resource": 1, "max_resource": 9}, "health": {}}
    )
    wrapped = build_pruner(config)
    assert isinstance(wrapped, HealthPruner)
    alone = run(optuna.pruners.HyperbandPruner(min_resource=1, max_resource=9), tmp_path / "a.db")
    with_health = run(wrapped, tmp_path / "b.db")
    assert with_health == alone
    assert {"PRUNED", "COMPLETE"} <= {state for _, state in alone}
