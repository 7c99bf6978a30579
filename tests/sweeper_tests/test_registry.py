"""The pruner and sampler names a study file may give are the registry's, and each builds its
Optuna class: the study file, the pruner factory and the sampler builder read the same table."""

from __future__ import annotations

import typing

import optuna
import pytest

from sweeper.config import PrunerConfig, SamplerConfig, parse_config
from sweeper.errors import SweeperError
from sweeper.pruners import HealthPruner
from sweeper.pruners.factory import build_base_pruner, build_pruner
from sweeper.registry import PRUNERS, SAMPLERS
from sweeper.samplers import TrialSeededSampler, build_sampler

STUDY = {"study": "s", "objective": "toy_regression", "direction": "minimize", "metric": "loss"}
SPACE = {"x": {"type": "categorical", "choices": [1, 2]}}
REQUIRED_ARGS = {"percentile": {"percentile": 25.0}, "threshold": {"upper": 1.0}}


def test_the_study_file_accepts_exactly_the_registered_names() -> None:
    assert typing.get_args(PrunerConfig.model_fields["name"].annotation) == tuple(PRUNERS)
    assert typing.get_args(SamplerConfig.model_fields["name"].annotation) == tuple(SAMPLERS)
    with pytest.raises(SweeperError, match=r"^pruner -> name: Input should be 'median', "):
        parse_config({**STUDY, "n_trials": 1, "pruner": "guess"})


@pytest.mark.parametrize("name", list(PRUNERS))
def test_every_registered_pruner_builds_its_optuna_class_wrapped_in_the_health_rules(
    name: str,
) -> None:
    pruner_file = {"name": name, "args": REQUIRED_ARGS.get(name, {})}
    config = parse_config({**STUDY, "n_trials": 1, "pruner": pruner_file}).pruner
    pruner = build_pruner(config)
    assert isinstance(pruner, HealthPruner)
    assert type(pruner.base_pruner) is PRUNERS[name]()
    assert issubclass(PRUNERS[name](), optuna.pruners.BasePruner)
    assert type(build_base_pruner(config)) is PRUNERS[name]()


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_every_registered_sampler_builds_seeded_per_trial_unless_it_shares_a_sequence(
    name: str,
) -> None:
    config = parse_config(
        {**STUDY, "n_trials": 2, "sampler": {"name": name, "seed": 7}, "space": SPACE}
    )
    sampler = build_sampler(config)
    kind = SAMPLERS[name]
    if kind.seed_per_trial:
        assert isinstance(sampler, TrialSeededSampler)
        assert str(sampler).startswith(f"TrialSeededSampler({kind.load().__name__}")
    else:
        assert type(sampler) is kind.load()


def test_bad_sampler_options_are_one_line_naming_the_section() -> None:
    config = parse_config({**STUDY, "n_trials": 1, "sampler": {"name": "tpe", "options": {"x": 1}}})
    with pytest.raises(SweeperError, match=r"^sampler -> options: .*'x'"):
        build_sampler(config)
