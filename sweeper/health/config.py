"""The study file's `pruner.health` section: one entry per rule, each tunable or switched off.

```yaml
pruner:
  name: median
  health:
    grad_explosion: {threshold: 1.0e+5, patience: 3}
    embedding_collapse: {signal: rank}
    loss_imbalance: false          # off; `true` or `{}` keeps the defaults
```

`warmup` is the number of first epochs a rule ignores; `patience` the number of consecutive
epochs (that carry the signal) the condition must hold before the trial is pruned.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

COSINE_COLLAPSE = 0.999
RANK_COLLAPSE = 0.05


class RuleConfig(BaseModel):
    """What every rule has: on/off, consecutive epochs before it fires, epochs it ignores."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    patience: int = Field(default=1, ge=1)
    warmup: int = Field(default=0, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _switch(cls, data: Any) -> Any:
        """`rule: false` switches a rule off; `rule: true` keeps its defaults."""
        if isinstance(data, bool):
            return {"enabled": data}
        return data


class NonfiniteRule(RuleConfig):
    """Prune as soon as the loss, a loss component, the gradient or parameter norm, the
    embeddings or the metric is NaN or infinite."""


class GradExplosionRule(RuleConfig):
    """Prune when the epoch's mean pre-clip gradient norm stays above `threshold`.

    1e4 is four orders of magnitude above the O(1) norms of a healthy mean-reduced loss (the
    write-up's fixed run: 0.3-2.5) and below its exploding one (46,767).
    """

    threshold: float = Field(default=1e4, gt=0, allow_inf_nan=False)
    patience: int = Field(default=2, ge=1)


class GradVanishingRule(RuleConfig):
    """Prune when some layer's gradient norm stays below `threshold` for a whole epoch.

    1e-8 is Adam's epsilon and, times any sane learning rate, below the float32 resolution of an
    O(1) weight: such a layer no longer learns (dead ReLUs, all-zero weights).
    """

    threshold: float = Field(default=1e-8, ge=0, allow_inf_nan=False)
    patience: int = Field(default=3, ge=1)


class EmbeddingCollapseRule(RuleConfig):
    """Prune when the embeddings collapse: mean pairwise cosine above 0.999 (signal cosine), or
    RankMe rank / dimension below 0.05 (signal rank), or either (signal any, the default: a
    collapsed rank can come with a moderate, oscillating mean cosine). `threshold` overrides the
    single signal's default; with `any`, each signal keeps its own."""

    signal: Literal["any", "cosine", "rank"] = "any"
    threshold: float | None = Field(default=None, allow_inf_nan=False)
    patience: int = Field(default=2, ge=1)
    warmup: int = Field(default=1, ge=0)

    @field_validator("threshold")
    @classmethod
    def _threshold_in_range(cls, value: float | None, info: ValidationInfo) -> float | None:
        signal = info.data.get("signal", "any")
        if value is not None and signal == "any":
            raise ValueError("a threshold needs signal cosine or rank (any keeps both defaults)")
        if value is not None and signal == "cosine" and not -1.0 <= value < 1.0:
            raise ValueError(f"a cosine threshold must be in [-1, 1) (got {value})")
        if value is not None and signal == "rank" and not 0.0 < value <= 1.0:
            raise ValueError(f"a rank-ratio threshold must be in (0, 1] (got {value})")
        return value

    @model_validator(mode="after")
    def _default_threshold(self) -> EmbeddingCollapseRule:
        if self.threshold is None and self.signal != "any":
            self.threshold = COSINE_COLLAPSE if self.signal == "cosine" else RANK_COLLAPSE
        return self

    def thresholds(self) -> dict[str, float]:
        """The threshold of each signal the rule reads: {"cosine": ..., "rank": ...}."""
        if self.signal == "any":
            return {"cosine": COSINE_COLLAPSE, "rank": RANK_COLLAPSE}
        assert self.threshold is not None
        return {self.signal: self.threshold}


class EdgeCollapseRule(RuleConfig):
    """Prune when a learned graph that had edges decays to at most `threshold` edges above its
    edge threshold for `patience` epochs. A graph that has not grown edges yet (e.g. from a zero
    start at a small learning rate) is learning slowly, not collapsing, and is left to the other
    rules. Off by default: on the causal sweeps of `benchmarks/pruning.py` (five seeds), graphs
    emptied for 5-40 epochs after an augmented-Lagrangian step and regrew, three of them into
    their study's best or second-best graph; switch it on (`edge_collapse: true`) where an
    empty graph cannot recover."""

    enabled: bool = False
    threshold: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    patience: int = Field(default=30, ge=1)
    warmup: int = Field(default=5, ge=0)


class LossImbalanceRule(RuleConfig):
    """Prune when the largest weighted loss component stays more than `threshold` times the
    smallest non-zero one. Off by default: a healthy NOTEARS-style run reaches 1e10 while its
    acyclicity term converges towards zero, so no threshold separates it from a sick one; switch
    it on (`loss_imbalance: true`) for objectives whose terms should stay comparable.
    """

    enabled: bool = False
    threshold: float = Field(default=1e8, ge=1, allow_inf_nan=False)
    patience: int = Field(default=10, ge=1)
    warmup: int = Field(default=5, ge=0)


class NoProgressRule(RuleConfig):
    """Prune when the metric has not moved by more than `threshold` for `patience` epochs (over
    at least `min_reports` reported values), is no better than its first value, and the training
    loss has not improved by more than `min_loss_improvement` (relative) over those epochs.

    A run that improved and then settled is converged, not stuck; a run whose metric is flat
    while its loss still falls is learning (e.g. edges still growing towards the threshold).
    Off by default: on the causal sweeps of `benchmarks/pruning.py` the SHD of runs that ended
    best in their study stayed flat at its first value for 20-30 epochs early on.
    """

    enabled: bool = False
    threshold: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    patience: int = Field(default=20, ge=1)
    min_reports: int = Field(default=3, ge=2)
    min_loss_improvement: float = Field(default=0.01, ge=0, allow_inf_nan=False)


class LossStallRule(RuleConfig):
    """Prune when the training loss, by epoch `patience`, has not fallen more than
    `min_improvement` (relative) below its first epoch's value at any epoch since: a run whose
    loss has not moved (a learning rate too small to learn, a dead model) or only grows.

    Off by default: on the wide link-prediction sweep, slow starters whose loss fell only
    0.2-0.8% in ten epochs finished 2nd and 3rd of 20, while the one that never learned fell
    0.1%; no default separates them safely. Switch it on with a threshold that fits your loss.
    """

    enabled: bool = False
    patience: int = Field(default=10, ge=2)
    min_improvement: float = Field(default=0.01, ge=0, lt=1, allow_inf_nan=False)


class HealthConfig(BaseModel):
    """All health rules; an empty section (`health: {}`) means every rule with its defaults.

    `mode: shadow` runs every rule but never stops a trial: the first rule that fires is recorded
    on the trial (`would_prune`, `would_prune_epoch`), so a cautious user can see what the rules
    would do before letting them act. `sampler_feedback` says how a health-pruned trial teaches
    the sampler: `stand_in` reports a finite value below every healthy one (TPE ranks it among
    the worst pruned trials), `infeasible` also marks it as violating a `health` constraint
    (Optuna's `Trial.set_constraint`), so TPE ranks it below every feasible trial.
    """

    model_config = ConfigDict(extra="forbid")

    mode: Literal["prune", "shadow"] = "prune"
    sampler_feedback: Literal["stand_in", "infeasible"] = "stand_in"

    nonfinite: NonfiniteRule = Field(default_factory=NonfiniteRule)
    grad_explosion: GradExplosionRule = Field(default_factory=GradExplosionRule)
    grad_vanishing: GradVanishingRule = Field(default_factory=GradVanishingRule)
    embedding_collapse: EmbeddingCollapseRule = Field(default_factory=EmbeddingCollapseRule)
    edge_collapse: EdgeCollapseRule = Field(default_factory=EdgeCollapseRule)
    loss_imbalance: LossImbalanceRule = Field(default_factory=LossImbalanceRule)
    no_progress: NoProgressRule = Field(default_factory=NoProgressRule)
    loss_stall: LossStallRule = Field(default_factory=LossStallRule)
