"""How much compute pruning spent and saved, per pruning rule.

Definition (also printed in the report): a pruned trial *saved* the epochs it did not run,
`full_epochs - epochs_run`, where `full_epochs` is the median number of epochs the study's
COMPLETE trials ran (the study file's `params.epochs` while no trial has completed). Those epochs
are converted to seconds at the completed trials' median seconds per epoch (at the pruned trial's
own pace while none has completed). The figures are estimates: a pruned trial might have run a
different length, or at a different pace, had it lived.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from sweeper.report.trials import epochs_run, prune_rule, seconds_run
from sweeper.trial_attrs import WOULD_PRUNE_ATTR, WOULD_PRUNE_EPOCH_ATTR, parse_prune_reason

DEFINITION = (
    "Saved compute is an estimate: each pruned trial saved full_epochs - epochs_run epochs, "
    "where full_epochs is the median number of epochs the completed trials ran (the study file's "
    "params.epochs while none has completed); seconds saved convert those epochs at the "
    "completed trials' median seconds per epoch (the pruned trial's own pace while none has "
    "completed)."
)


@dataclass
class RuleSavings:
    """One pruning rule's tally: trials it pruned, what they ran, what they did not."""

    rule: str
    trials: int = 0
    epochs_run: int = 0
    seconds_run: float = 0.0
    epochs_saved: float = 0.0
    seconds_saved: float = 0.0


@dataclass
class Savings:
    """The study's compute: spent on completed and pruned trials, saved per pruning rule."""

    full_epochs: float | None
    completed_trials: int = 0
    completed_epochs: int = 0
    completed_seconds: float = 0.0
    pruned_seconds: float = 0.0
    failed_seconds: float = 0.0
    rules: list[RuleSavings] = field(default_factory=list)

    @property
    def pruned_trials(self) -> int:
        """Trials pruned by any rule."""
        return sum(rule.trials for rule in self.rules)

    @property
    def seconds_saved(self) -> float:
        """Estimated seconds every pruned trial together did not run."""
        return sum(rule.seconds_saved for rule in self.rules)

    @property
    def epochs_saved(self) -> float:
        """Estimated epochs every pruned trial together did not run."""
        return sum(rule.epochs_saved for rule in self.rules)


def full_length(trials: list[FrozenTrial], planned_epochs: Any = None) -> float | None:
    """Epochs a trial runs when nothing stops it: the completed trials' median, else the plan."""
    completed = [epochs_run(t) for t in trials if t.state == TrialState.COMPLETE]
    completed = [e for e in completed if e > 0]
    if completed:
        return float(statistics.median(completed))
    if isinstance(planned_epochs, int) and not isinstance(planned_epochs, bool):
        return float(planned_epochs)
    return None


def epoch_seconds(trials: list[FrozenTrial]) -> float | None:
    """The completed trials' median seconds per epoch, or None while none has completed."""
    paces = []
    for trial in trials:
        seconds, epochs = seconds_run(trial), epochs_run(trial)
        if trial.state == TrialState.COMPLETE and seconds is not None and epochs > 0:
            paces.append(seconds / epochs)
    return float(statistics.median(paces)) if paces else None


def compute_savings(trials: list[FrozenTrial], planned_epochs: Any = None) -> Savings:
    """Tally compute spent on completed, pruned and failed trials and saved per pruning rule."""
    full = full_length(trials, planned_epochs)
    pace = epoch_seconds(trials)
    savings = Savings(full_epochs=full)
    by_rule: dict[str, RuleSavings] = {}
    for trial in trials:
        seconds = seconds_run(trial) or 0.0
        epochs = epochs_run(trial)
        if trial.state == TrialState.COMPLETE:
            savings.completed_trials += 1
            savings.completed_epochs += epochs
            savings.completed_seconds += seconds
        elif trial.state == TrialState.FAIL:
            savings.failed_seconds += seconds
        rule = prune_rule(trial)
        if rule is None:
            continue
        savings.pruned_seconds += seconds
        tally = by_rule.setdefault(rule, RuleSavings(rule))
        tally.trials += 1
        tally.epochs_run += epochs
        tally.seconds_run += seconds
        if full is None:
            continue
        not_run = max(0.0, full - epochs)
        tally.epochs_saved += not_run
        own_pace = seconds / epochs if epochs > 0 else None
        tally.seconds_saved += not_run * (pace if pace is not None else own_pace or 0.0)
    order = Counter({rule: tally.trials for rule, tally in by_rule.items()})
    savings.rules = [by_rule[rule] for rule, _ in order.most_common()]
    return savings


@dataclass(frozen=True)
class ShadowSummary:
    """What the rules would have done over a study's finished trials."""

    trials: int
    seconds_saved: float
    by_rule: dict[str, int]

    def sentence(self) -> str:
        """`health rules would have pruned N trials, saving about X s (rule k, ...)`."""
        unit = "trial" if self.trials == 1 else "trials"
        rules = ", ".join(f"{rule} {n}" for rule, n in self.by_rule.items())
        return (
            f"health rules would have pruned {self.trials} {unit}, saving about "
            f"{self.seconds_saved:.0f} s ({rules})"
        )

    def as_dict(self) -> dict[str, Any]:
        """The summary as `status --json` prints it."""
        return {
            "trials": self.trials,
            "seconds_saved": round(self.seconds_saved, 1),
            "by_rule": self.by_rule,
        }


def shadow_summary(trials: Iterable[FrozenTrial]) -> ShadowSummary | None:
    """The shadow verdicts of the finished trials, or None when no trial carries one.

    A flagged trial would have saved the share of its run after the flagged epoch:
    `seconds * (epochs_run - epoch) / epochs_run`.
    """
    count, saved = 0, 0.0
    by_rule: dict[str, int] = {}
    for trial in trials:
        reason = trial.user_attrs.get(WOULD_PRUNE_ATTR)
        if reason is None or trial.state not in (TrialState.COMPLETE, TrialState.PRUNED):
            continue
        count += 1
        rule, _ = parse_prune_reason(str(reason))
        by_rule[rule] = by_rule.get(rule, 0) + 1
        epochs, seconds = epochs_run(trial), seconds_run(trial)
        epoch = int(trial.user_attrs.get(WOULD_PRUNE_EPOCH_ATTR, epochs))
        if epochs > 0 and seconds is not None:
            saved += seconds * max(epochs - epoch, 0) / epochs
    if count == 0:
        return None
    return ShadowSummary(count, saved, by_rule)
