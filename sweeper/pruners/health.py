"""HealthPruner: prunes a sick trial by the health rules, otherwise asks the base pruner."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import optuna
from optuna.pruners import BasePruner, NopPruner
from optuna.study import StudyDirection

from sweeper.health.config import HealthConfig
from sweeper.health.rules import Verdict, evaluate
from sweeper.health.series import HealthSeries
from sweeper.trial_attrs import SERIES_ATTR


class HealthPruner(BasePruner):
    """Wraps the study file's base pruner with the health rules of `pruner.health`.

    A trial is pruned when a health rule fires on the signals stored in its user attribute
    `health_series` (written each epoch by `TrialContext.report` / `check_health`) or on its
    reported values; when no rule fires, the base pruner decides exactly as it would alone.

    Args:
        base_pruner: the pruner that decides for healthy trials (None: never prune them).
        config: the rules, as a `HealthConfig` or the study file's mapping (None: defaults).
    """

    def __init__(
        self,
        base_pruner: BasePruner | None = None,
        config: HealthConfig | Mapping[str, Any] | None = None,
    ) -> None:
        if base_pruner is None:
            base_pruner = NopPruner()
        if not isinstance(base_pruner, BasePruner):
            raise TypeError(
                f"base_pruner must be an optuna pruner, but got {type(base_pruner).__name__}."
            )
        if config is None:
            config = HealthConfig()
        elif isinstance(config, Mapping):
            config = HealthConfig.model_validate(config)
        elif not isinstance(config, HealthConfig):
            raise TypeError(
                f"config must be a HealthConfig or a mapping, but got {type(config).__name__}."
            )
        self._base_pruner = base_pruner
        self._config = config
        self._judged_live: tuple[int, int] | None = None

    @property
    def base_pruner(self) -> BasePruner:
        """The pruner that decides when no health rule fires."""
        return self._base_pruner

    @property
    def config(self) -> HealthConfig:
        """The health rules."""
        return self._config

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        """True when a health rule fires at the trial's latest epoch (never in shadow mode), else
        the base pruner's answer."""
        if self._config.mode == "shadow":  # shadow rules record, never prune
            return self._base_pruner.prune(study, trial)
        already_judged = (trial.number, trial.last_step) == self._judged_live
        if not already_judged and self.verdict(study, trial) is not None:
            return True
        return self._base_pruner.prune(study, trial)

    def judged_live(self, trial_number: int, epoch: int) -> None:
        """Note that the rules found nothing in the trial's live signals at `epoch`, so `prune`
        for that step asks the base pruner at once instead of judging the stored (throttled,
        so older) copy of the same signals again."""
        self._judged_live = (trial_number, epoch)

    def verdict(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> Verdict | None:
        """The health rule that fires for `trial` at its latest epoch, or None."""
        series = HealthSeries.from_json(trial.user_attrs.get(SERIES_ATTR))
        last_step = trial.last_step if trial.last_step is not None else -1
        epoch = max(series.last_epoch if series.last_epoch is not None else -1, last_step)
        if epoch < 0:
            return None
        maximize = study.direction == StudyDirection.MAXIMIZE
        return self.evaluate(series, trial.intermediate_values, epoch=epoch, maximize=maximize)

    def evaluate(
        self,
        series: HealthSeries,
        metric: Mapping[int, float],
        *,
        epoch: int,
        maximize: bool,
    ) -> Verdict | None:
        """The health rule that fires at `epoch` for these signals and metric values, or None."""
        return evaluate(self._config, series, metric, epoch=epoch, maximize=maximize)
