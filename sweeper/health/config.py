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
epochs (that carry the signal) the condition must hold before the trial is pruned. The rules'
entries come from the registry (`sweeper.health.rules.RULES`), in its order, each with its own
config model (in the rule's module).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from sweeper.health.rules import RULES
from sweeper.health.rules.base import RuleConfig

__all__ = ["HealthConfig", "RuleConfig"]


class _HealthModes(BaseModel):
    """The section's entries that are not rules (see `HealthConfig`)."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["prune", "shadow"] = "prune"
    sampler_feedback: Literal["stand_in", "infeasible"] = "stand_in"


_RULE_FIELDS: dict[str, Any] = {
    rule.name: (rule.config, Field(default_factory=rule.config)) for rule in RULES
}

_DOC = """All health rules; an empty section (`health: {}`) means every rule with its defaults.

    `mode: shadow` runs every rule but never stops a trial: the first rule that fires is recorded
    on the trial (`would_prune`, `would_prune_epoch`), so a cautious user can see what the rules
    would do before letting them act. `sampler_feedback` says how a health-pruned trial teaches
    the sampler: `stand_in` reports a finite value below every healthy one (TPE ranks it among
    the worst pruned trials), `infeasible` also marks it as violating a `health` constraint
    (Optuna's `Trial.set_constraint`), so TPE ranks it below every feasible trial.
    """

if TYPE_CHECKING:
    from sweeper.health.rules.embedding_collapse import EmbeddingCollapseRule

    class HealthConfig(_HealthModes):
        """What a type checker sees of the model built below: the modes, the one rule read by
        name (`HealthMonitor.for_rules`), and every other rule as a `RuleConfig`."""

        embedding_collapse: EmbeddingCollapseRule = Field(default_factory=EmbeddingCollapseRule)

        def __getattr__(self, name: str) -> RuleConfig: ...

else:
    HealthConfig = create_model(
        "HealthConfig",
        __base__=_HealthModes,
        __module__=__name__,
        __doc__=_DOC,
        **_RULE_FIELDS,
    )
