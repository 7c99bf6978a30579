"""The trial user attributes sweeper and the objectives write, named once (a light module: no
Optuna import), and how a prune reason is read.

A pruned trial carries `prune_reason`: `rule: detail`, e.g. `grad_explosion: grad_norm=4.7e+04 >
1e+04 at epoch 3 (for 2 epochs)`; the study's own pruner writes `base_pruner: ...`. Study-level
attributes are in `sweeper.study_attrs`.
"""

from __future__ import annotations

__all__ = [
    "BASE_PRUNER_RULE",
    "CHECKPOINT_ATTR",
    "RESUMED_FROM_ATTR",
    "DEVICE_ATTR",
    "FAIL_REASON_ATTR",
    "JUDGED_LIVE_ATTR",
    "PARAM_OVERRIDES_ATTR",
    "PRUNE_REASON_ATTR",
    "SERIES_ATTR",
    "SIGNAL_ATTR_PREFIX",
    "TEST_METRIC_PREFIX",
    "TRIAL_NAME_ATTR",
    "WORKER_ATTR",
    "WOULD_PRUNE_ATTR",
    "WOULD_PRUNE_EPOCH_ATTR",
    "parse_prune_reason",
]

#: Why the trial was pruned: `rule: detail` (see `parse_prune_reason`).
PRUNE_REASON_ATTR = "prune_reason"
#: The rule of a trial pruned by the study's own pruner (the base pruner), not a health rule.
BASE_PRUNER_RULE = "base_pruner"
#: Shadow mode: the first health verdict's message, and its epoch (the trial trained on).
WOULD_PRUNE_ATTR = "would_prune"
WOULD_PRUNE_EPOCH_ATTR = "would_prune_epoch"
#: True on a trial whose health rules the sweeper applies as each epoch ends, to the live signals
#: and before the epoch's value is reported (`sweeper.trial_reporting`): a rule that fired has
#: already pruned it, so its HealthPruner asks only the base pruner. Absent (a user's own
#: objective that reports values and a `health_series`), the pruner judges the stored series.
JUDGED_LIVE_ATTR = "health_judged_live"
#: Why the trial's objective failed: `Type: message`.
FAIL_REASON_ATTR = "fail_reason"
#: Values of fixed parameters enqueued with the trial (they override the study file's `params`).
PARAM_OVERRIDES_ATTR = "param_overrides"
#: An enqueued parameter set's label, shown on its trial's line.
TRIAL_NAME_ATTR = "name"
#: Who ran the trial (`host:pid`) and on which device.
WORKER_ATTR = "worker"
DEVICE_ATTR = "device"
#: The trial's newest checkpoint: {"artifact_id", "epoch", "bytes", "trial" (who wrote it)}.
CHECKPOINT_ATTR = "checkpoint"
#: On a trial that restored a checkpoint: {"trial": N, "epoch": E}, where it continued from.
RESUMED_FROM_ATTR = "resumed_from"
#: The per-epoch history of every health signal ({"epoch": [...], signal: [...], ...}).
SERIES_ATTR = "health_series"
#: `health.<signal>` holds the signal's latest value (what optuna-dashboard shows live).
SIGNAL_ATTR_PREFIX = "health."
#: `test_<metric>`: the test value at the best validation epoch (link prediction).
TEST_METRIC_PREFIX = "test_"


def parse_prune_reason(reason: str) -> tuple[str, str]:
    """The rule and the detail of a prune reason: the text before and after its first colon.

    `parse_prune_reason("grad_explosion: grad_norm=4.7e+04 > 1e+04 at epoch 3")` is
    `("grad_explosion", "grad_norm=4.7e+04 > 1e+04 at epoch 3")`; a reason without a colon is
    all rule.
    """
    rule, _, detail = reason.partition(":")
    return rule.strip(), detail.strip()
