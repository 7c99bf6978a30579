"""The health monitor an objective feeds inside its training loop.

Per step it keeps tensors on the training device (gradient norms, loss, clipping flags, sampled
update ratios) and never calls `.item()`; `end_epoch` synchronises once, turns the epoch into a
dict of floats (the signals) and appends it to `series`. `sweeper.trial_reporting` stores those
signals on the trial and lets the pruner decide.

Signals (the keys of `end_epoch`'s dict; each is optional and present only when observed):

- loss: mean step loss; loss.<name>: mean of each weighted component; loss_imbalance: largest /
  smallest absolute component mean, components that are exactly zero left out.
- grad_norm: mean over the epoch's steps of the total gradient norm before clipping (the value
  `clip_grad_norm_` returns); grad_norm_max: its largest step value.
- layer_grad_norm_min: the smallest per-layer gradient norm (each layer's mean over the steps);
  layer_grad_ratio: largest / smallest per-layer gradient norm (inf when a layer gets none).
- clip_fraction: fraction of steps whose gradient was clipped; amp_skipped_steps: steps with
  non-finite gradients that a GradScaler skipped (only with a scaler).
- param_norm: total parameter norm at the end of the epoch; update_ratio: mean of
  ||step update|| / ||parameters|| over the sampled steps.
- embedding_cosine_mean (every epoch embeddings are observed), embedding_cosine_std and
  embedding_rank_ratio (RankMe / min(rows, dim)): the "spectrum", which costs O(n D^2) plus an
  eigendecomposition and so runs on the epochs the monitor's time budget allows (every epoch
  with `budget=None`).
- score_gap: mean positive score minus mean negative score.
- edges, acyclicity: the learned graph's edges above threshold and h(W).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from typing import Any

import torch
from torch import Tensor

from sweeper.health.budget import CostBudget
from sweeper.health.config import HealthConfig
from sweeper.health.embedding import (
    cosine_mean,
    cosine_stats,
    rank_ratio,
    row_norms,
    sample_rows,
)
from sweeper.health.gradients import (
    GradientReading,
    LayerIndex,
    layer_norms,
    named_parameters,
    read_gradients,
    total_norm,
)
from sweeper.health.series import HealthSeries

SIGNIFICANT_DIGITS = 7  # signals come from float32 tensors; more digits only add noise
# The bound is 2% of an epoch measured from outside. The monitor's own clock misses a few tenths
# of a percent (call overhead, the cache its work evicts) and the measured share varies by about
# half a percent from run to run, so its budget aims at half the bound.
DEFAULT_BUDGET = 0.01
# The spectrum runs whatever the budget when the cheap signals look like a collapse: a mean
# cosine this high, or a last rank ratio this low (twice the collapse rule's 0.05). The
# link-prediction default passes 0.9 on 4 of its first 10 epochs (0.5 on 10: about 1% more of an
# epoch), and healthy ranks sit far above 0.1, so a healthy trial pays little more.
SUSPECT_COSINE = 0.9
SUSPECT_RANK = 0.1


def _scalar(value: Tensor | float) -> Tensor:
    """A detached 0-dim float tensor (a non-scalar tensor is averaged)."""
    if isinstance(value, Tensor):
        value = value.detach()
        if value.dtype == torch.float32 and value.dim() == 0:  # a loss, usually: as it is
            return value
        return value.float().mean() if value.numel() != 1 else value.float().reshape(())
    return torch.tensor(float(value))


def _to_cpu(values: list[Tensor]) -> Tensor:
    """Stack per-step tensors on the first one's device and copy them to the CPU in one go."""
    device = values[0].device
    return torch.stack([v.to(device) for v in values]).double().cpu()


def _mean(values: list[Tensor]) -> float:
    """The float64 mean of per-step 0-dim tensors; one step (full-batch training) is read
    directly, which gives the same number without stacking."""
    if len(values) == 1:
        return float(values[0])
    return float(_to_cpu(values).mean())


def _sum(values: list[Tensor]) -> float:
    """The float64 sum of per-step 0-dim tensors (one step read directly, as in `_mean`)."""
    if len(values) == 1:
        return float(values[0])
    return float(_to_cpu(values).sum())


def _round(value: float) -> float:
    return float(f"{value:.{SIGNIFICANT_DIGITS}g}")


class HealthMonitor:
    """Collects training-health signals once per step or epoch at a small, bounded cost.

    Args:
        embedding_rows: at most this many embedding rows are sampled for the embedding signals.
        update_every: the update-to-parameter ratio is measured on every `update_every`-th step
            of the trial (it needs a copy of the parameters), so full-batch training with one
            step per epoch measures it every `update_every` epochs.
        budget: the largest share of the training loop's wall time the monitor may spend
            (timed from its first call). The embedding spectrum (cosine std, RankMe) is computed
            only on epochs where its last cost still fits; every other signal, the mean cosine
            included, is computed every time. None computes the spectrum every epoch (what the
            `embedding_collapse` rule on `signal: rank` needs).
        seed: seeds the row sampling, so a trial's signals are reproducible.
    """

    def __init__(
        self,
        *,
        embedding_rows: int = 2048,
        update_every: int = 8,
        budget: float | None = DEFAULT_BUDGET,
        seed: int = 0,
    ) -> None:
        if embedding_rows < 2:
            raise ValueError(f"embedding_rows must be at least 2, but got {embedding_rows=}.")
        if update_every < 1:
            raise ValueError(f"update_every must be at least 1, but got {update_every=}.")
        self.embedding_rows = embedding_rows
        self.update_every = update_every
        self.budget = CostBudget(budget)
        self._spectrum_cost: float | None = None
        self._last_rank = 1.0
        self.series = HealthSeries()
        self._total_steps = 0
        self._generator = torch.Generator().manual_seed(seed)
        self._index: tuple[tuple[int, ...], LayerIndex] | None = None
        self._names: dict[int, str] = {}
        self._params: list[Tensor] = []
        self._modules: dict[int, tuple[torch.nn.Module, list[Tensor], LayerIndex]] = {}
        self._reset_epoch()

    @classmethod
    def for_rules(cls, health: HealthConfig | None) -> HealthMonitor:
        """The monitor a study's health rules need: the rank-based collapse rule reads the
        embedding spectrum every epoch, so it lifts the budget; every other rule keeps it."""
        rule = health.embedding_collapse if health is not None else None
        wants_rank = rule is not None and rule.enabled and rule.signal == "rank"
        return cls(budget=None if wants_rank else DEFAULT_BUDGET)

    def state_dict(self) -> dict[str, Any]:
        """What a trial checkpoint keeps of the monitor: its series so far and the state that
        decides its next readings (the embedding-sampling generator, the last rank)."""
        return {
            "series": self.series.to_json(),
            "generator": self._generator.get_state(),
            "last_rank": self._last_rank,
            "total_steps": self._total_steps,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from `state_dict()`: the series, and the readings, carry on where they were."""
        self.series = HealthSeries.from_json(state.get("series"))
        if "generator" in state:
            self._generator.set_state(state["generator"])
        self._last_rank = float(state.get("last_rank", self._last_rank))
        self._total_steps = int(state.get("total_steps", self._total_steps))
        self._reset_epoch()

    def _reset_epoch(self) -> None:
        # A model's parameters are resolved once (frozen ones included, so unfreezing needs no
        # new walk of the module tree, which would cost more than a full-batch epoch's reading);
        # an optimizer's once per epoch (a new epoch sees parameter groups added meanwhile).
        self._optimizers: dict[int, tuple[torch.optim.Optimizer, list[Tensor]]] = {}
        self._totals: list[Tensor] = []
        self._readings: list[tuple[GradientReading, LayerIndex]] = []
        self._clipped: list[Tensor] = []
        self._updates: list[Tensor] = []
        self._losses: list[Tensor] = []
        self._components: dict[str, list[Tensor]] = {}
        self._embedding: dict[str, Tensor] = {}
        self._score_gap: Tensor | None = None
        self._graph: dict[str, float] = {}
        self._read_this_step = False
        self._steps = 0
        self._amp = False

    # ----------------------------------------------------------------- per step
    def clip_gradients(
        self,
        model_or_parameters: torch.nn.Module | Tensor | Iterable[Tensor],
        clip_norm: float | None = None,
        *,
        norm_type: float = 2.0,
    ) -> Tensor:
        """Measure the gradients and clip them to `clip_norm` (no clipping when None or 0).

        Returns the total gradient norm before clipping as a 0-dim tensor, exactly what
        `torch.nn.utils.clip_grad_norm_` returns. Call after `backward()` (and after
        `scaler.unscale_(optimizer)` with AMP) and before `step()`.
        """
        # With clipping, reading the norms is the work `clip_grad_norm_` would do anyway (its
        # total is handed to the clipping), so only a loop that does not clip pays for it.
        with self.budget.measure() if not clip_norm else nullcontext():
            params, index = self._resolve(model_or_parameters)
            reading = self._read(params, index, norm_type)
        if reading is None:
            return torch.zeros(())
        if clip_norm:  # the clipping itself is the training loop's work, not the monitor's
            torch.nn.utils.clip_grads_with_norm_(params, clip_norm, reading.total)
            self._clipped.append(reading.total > clip_norm)
        return reading.total

    def step(self, optimizer: torch.optim.Optimizer, scaler: Any | None = None) -> None:
        """Run `optimizer.step()` (or `scaler.step(optimizer); scaler.update()` with AMP) and
        measure the update-to-parameter ratio on sampled steps.

        When `clip_gradients` was not called for this step, the gradients are measured here.
        The optimizer's own step is not counted against the monitor's budget.
        """
        with self.budget.measure():
            params = self._optimizer_params(optimizer)
            if not self._read_this_step:
                self._read(params, self._index_for(params), 2.0)
            sampled = self._total_steps % self.update_every == 0
            before = [p.detach().clone() for p in params] if sampled else None
        if scaler is not None:
            self._amp = True
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        if before is not None and params:
            with self.budget.measure(), torch.no_grad():
                deltas = [p.detach() - b for p, b in zip(params, before, strict=True)]
                ratio = total_norm(deltas) / total_norm(params).clamp_min(1e-30)
                self._updates.append(ratio)
        self._params = params  # bookkeeping too small to be worth timing
        self._steps += 1
        self._total_steps += 1
        self._read_this_step = False

    def observe_loss(
        self, loss: Tensor | float, components: Mapping[str, Tensor | float] | None = None
    ) -> None:
        """Record a step's loss and its weighted components ({"recon": .., "acyclic": ..})."""
        with self.budget.measure():
            self._losses.append(_scalar(loss))
            if components:
                for name, value in components.items():
                    self._components.setdefault(name, []).append(_scalar(value))

    # ---------------------------------------------------------------- per epoch
    @torch.no_grad()
    def observe_embeddings(self, h: Tensor) -> None:
        """Record cosine-similarity statistics and the RankMe rank ratio of node embeddings
        [N, D], on a sample of at most `embedding_rows` rows.

        The mean cosine is computed on every call; the standard deviation and the rank when
        the budget allows their last measured cost (always on the first call), or when the
        embeddings look collapsed (mean cosine > 0.9, or last rank ratio < 0.1), whatever the
        budget, so the collapse rule sees the rank of every suspect epoch.
        """
        if h.dim() != 2:
            raise ValueError(f"embeddings must be [N, D], but got shape {tuple(h.shape)}.")
        if h.size(0) < 2 or h.size(1) < 1:
            return
        with self.budget.measure():
            sample = sample_rows(h.detach(), self.embedding_rows, self._generator)
            norms = row_norms(sample)  # a non-finite entry makes its row's norm non-finite
            if not bool(torch.isfinite(norms).all()) and not bool(torch.isfinite(sample).all()):
                nan = torch.tensor(float("nan"))
                self._embedding = {"cosine_mean": nan, "cosine_std": nan, "rank_ratio": nan}
                return
            if self._spectrum_cost is not None and not self.budget.allows(self._spectrum_cost):
                mean = cosine_mean(sample, norms)
                if float(mean) <= SUSPECT_COSINE and self._last_rank >= SUSPECT_RANK:
                    self._embedding = {"cosine_mean": mean}
                    return
            start = self.budget.clock()
            mean, std = cosine_stats(sample)
            rank = rank_ratio(sample)
            self._embedding = {"cosine_mean": mean, "cosine_std": std, "rank_ratio": rank}
            self._last_rank = float(rank)  # waits for an accelerator: the cost measured is real
            self._spectrum_cost = self.budget.clock() - start

    @torch.no_grad()
    def observe_scores(self, pos_scores: Tensor, neg_scores: Tensor) -> None:
        """Record the score gap: mean positive score minus mean negative score."""
        if pos_scores.numel() == 0 or neg_scores.numel() == 0:
            return
        with self.budget.measure():
            pos, neg = pos_scores.detach().float(), neg_scores.detach().float()
            self._score_gap = pos.mean() - neg.mean()

    def observe_graph(
        self, edges: int | float | Tensor, acyclicity: float | Tensor | None = None
    ) -> None:
        """Record the learned graph: the number of edges above threshold and h(W)."""
        with self.budget.measure():
            self._graph["edges"] = float(edges)
            if acyclicity is not None:
                self._graph["acyclicity"] = float(acyclicity)

    def end_epoch(self, epoch: int) -> dict[str, float]:
        """Close the epoch: the signals as floats, also appended to `series` under `epoch`."""
        with self.budget.measure():
            signals: dict[str, float] = {}
            self._loss_signals(signals)
            self._gradient_signals(signals)
            if self._updates:
                signals["update_ratio"] = _mean(self._updates)
            if self._params:
                signals["param_norm"] = float(total_norm(self._params))
            for name, value in self._embedding.items():
                signals[f"embedding_{name}"] = float(value)
            if self._score_gap is not None:
                signals["score_gap"] = float(self._score_gap)
            signals.update(self._graph)
            signals = {name: _round(value) for name, value in signals.items()}
            self.series.record(epoch, signals)
            self._reset_epoch()
            return signals

    # ---------------------------------------------------------------- internals
    def _resolve(
        self, model_or_parameters: torch.nn.Module | Tensor | Iterable[Tensor]
    ) -> tuple[list[Tensor], LayerIndex]:
        if isinstance(model_or_parameters, torch.nn.Module):
            cached = self._modules.get(id(model_or_parameters))
            if cached is not None and cached[0] is model_or_parameters:
                return cached[1], cached[2]
        names, params = named_parameters(model_or_parameters)
        self._names.update((id(p), n) for n, p in zip(names, params, strict=True) if n is not None)
        index = self._index_for(params)
        if isinstance(model_or_parameters, torch.nn.Module):
            self._modules[id(model_or_parameters)] = (model_or_parameters, params, index)
        return params, index

    def _optimizer_params(self, optimizer: torch.optim.Optimizer) -> list[Tensor]:
        cached = self._optimizers.get(id(optimizer))
        if cached is not None and cached[0] is optimizer:
            return cached[1]
        params = [p for group in optimizer.param_groups for p in group["params"] if p.requires_grad]
        self._optimizers[id(optimizer)] = (optimizer, params)
        return params

    def _index_for(self, params: list[Tensor]) -> LayerIndex:
        key = tuple(id(p) for p in params)
        if self._index is None or self._index[0] != key:
            names = [self._names.get(id(p)) for p in params]
            self._index = (key, LayerIndex(names, params))
        return self._index[1]

    def _read(
        self, params: list[Tensor], index: LayerIndex, norm_type: float
    ) -> GradientReading | None:
        reading = read_gradients(params, norm_type)
        self._read_this_step = True
        if reading is not None:
            self._totals.append(reading.total)
            self._readings.append((reading, index))
            self._norm_type = norm_type
        return reading

    def _loss_signals(self, signals: dict[str, float]) -> None:
        if self._losses:
            signals["loss"] = _mean(self._losses)
        if not self._components:
            return
        means = {name: _mean(v) for name, v in self._components.items() if v}
        signals.update({f"loss.{name}": value for name, value in means.items()})
        sizes = [abs(v) for v in means.values() if v != 0.0]
        if len(sizes) >= 2 and all(math.isfinite(v) for v in sizes):
            signals["loss_imbalance"] = max(sizes) / min(sizes)

    def _gradient_signals(self, signals: dict[str, float]) -> None:
        if not self._totals:
            return
        steps = len(self._totals)
        if steps == 1:  # full-batch training: the step's own figures, read without stacking
            total = float(self._totals[0])
            if self._amp:
                signals["amp_skipped_steps"] = 0.0 if math.isfinite(total) else 1.0
            signals["grad_norm"] = signals["grad_norm_max"] = total
            keep = [True]  # a lone non-finite step is kept, as when every step is non-finite
        else:
            totals = _to_cpu(self._totals)
            finite = torch.isfinite(totals)
            kept = torch.ones_like(finite)
            if self._amp:
                signals["amp_skipped_steps"] = float((~finite).sum())
                if bool(finite.any()):
                    kept = finite  # the scaler skipped those steps; the signal is the rest
            signals["grad_norm"] = float(totals[kept].mean())
            signals["grad_norm_max"] = float(totals[kept].max())
            keep = kept.tolist()
        signals["clip_fraction"] = _sum(self._clipped) / steps if self._clipped else 0.0
        self._layer_signals(signals, keep)

    def _layer_signals(self, signals: dict[str, float], keep: list[bool]) -> None:
        last, index = self._readings[-1]
        rows = [
            reading.norms
            for (reading, idx), kept in zip(self._readings, keep, strict=True)
            if kept and idx is index and reading.order == last.order
        ]
        if not rows:
            return
        gather = index.gather(last.order, last.norms.device)
        if gather is None:
            return
        if (
            len(rows) == 1
            and gather.alone is not None
            and last.norms.dtype != torch.float64
            and self._norm_type in (1.0, 2.0, math.inf)
        ):
            # One step, one parameter per layer: each layer's norm is its parameter's norm
            # (in float64, the square root of the square of a float32 value is that value).
            step_norms = rows[0].tolist()
            per_layer = [step_norms[k] for k in gather.alone]
        else:
            stacked = rows[0].unsqueeze(0) if len(rows) == 1 else torch.stack(rows)
            per_step = layer_norms(stacked, last.order, index, self._norm_type)
            if per_step is None:
                return
            # the mean over one step is that step's row (NaN for a layer without a gradient)
            per_layer = (per_step[0] if len(rows) == 1 else per_step.nanmean(dim=0)).tolist()
        norms = [v for v in per_layer if not math.isnan(v)]
        if not norms:
            return
        smallest, largest = min(norms), max(norms)
        signals["layer_grad_norm_min"] = smallest
        if largest == 0.0:
            signals["layer_grad_ratio"] = 1.0
        else:
            signals["layer_grad_ratio"] = largest / smallest if smallest > 0 else math.inf
