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
from sweeper.trial_attrs import JUDGED_LIVE_ATTR, SERIES_ATTR


class HealthPruner(BasePruner):
    """Wraps the study file's base pruner with the health rules of `pruner.health`.

    A trial is pruned when a health rule fires on the signals stored in its user attribute
    `health_series` or on its reported values; when no rule fires, the base pruner decides
    exactly as it would alone. A trial run through `TrialContext.report` / `check_health` is
    judged there instead, once per epoch on the live signals (see `prune`).

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
        the base pruner's answer.

        A trial the sweeper judges live (`JUDGED_LIVE_ATTR`, set by `trial_reporting`) had its
        epoch's verdict before the value was reported: the stored `health_series` may be older
        (its writes are throttled), so the rules are not asked again."""
        if self._config.mode == "shadow":  # shadow rules record, never prune
            return self._base_pruner.prune(study, trial)
        judged_live = trial.user_attrs.get(JUDGED_LIVE_ATTR, False)
        if not judged_live and self.verdict(study, trial) is not None:
            return True
        return self._base_pruner.prune(study, trial)

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
