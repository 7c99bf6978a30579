"""`sweeper report`: one offline HTML file, the compute-savings tally, and its failure modes."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import FrozenTrial, TrialState

from sweeper.config import parse_config
from sweeper.report.html import build_report
from sweeper.report.savings import compute_savings
from sweeper.studies import create_or_continue
from tests.conftest import run_cli
from tests.sweeper_tests.browse_study import BrowseStudy, browse_study  # noqa: F401 - fixture

START = datetime(2026, 1, 5, 9, 0, 0)


def _trial(
    number: int, state: TrialState, epochs: int, seconds: float, reason: str | None = None
) -> FrozenTrial:
    attrs = {"prune_reason": reason} if reason else {}
    return FrozenTrial(
        number=number,
        state=state,
        value=0.5 if state in (TrialState.COMPLETE, TrialState.PRUNED) else None,
        datetime_start=START,
        datetime_complete=START + timedelta(seconds=seconds),
        params={"lr": 0.1},
        distributions={"lr": FloatDistribution(1e-3, 1.0, log=True)},
        user_attrs=attrs,
        system_attrs={},
        intermediate_values={epoch: 0.5 for epoch in range(1, epochs + 1)},
        trial_id=number,
    )


def test_each_rule_is_credited_with_the_epochs_its_trials_did_not_run() -> None:
    trials = [
        _trial(0, TrialState.COMPLETE, 20, 20.0),
        _trial(1, TrialState.COMPLETE, 20, 40.0),
        _trial(2, TrialState.COMPLETE, 30, 30.0),
        _trial(3, TrialState.PRUNED, 2, 4.0, "grad_explosion: grad_norm=4.7e+04 > 1e+04"),
        _trial(4, TrialState.PRUNED, 5, 5.0, "grad_explosion: grad_norm=2e+05 > 1e+04"),
        _trial(5, TrialState.PRUNED, 10, 10.0, "base_pruner: val=1e+00 at epoch 10"),
    ]
    savings = compute_savings(trials)
    assert savings.full_epochs == 20  # the completed trials' median length
    by_rule = {rule.rule: rule for rule in savings.rules}
    assert [rule.rule for rule in savings.rules] == ["grad_explosion", "base_pruner"]
    assert by_rule["grad_explosion"].trials == 2
    assert by_rule["grad_explosion"].epochs_saved == 18 + 15
    # at the completed trials' median pace: 1 s per epoch
    assert by_rule["grad_explosion"].seconds_saved == 33.0
    assert by_rule["base_pruner"].epochs_saved == 10
    assert savings.completed_seconds == 90.0 and savings.pruned_seconds == 19.0


def test_before_any_trial_completes_savings_use_the_planned_epochs_and_own_pace() -> None:
    trials = [_trial(0, TrialState.PRUNED, 4, 8.0, "nonfinite: loss=nan at epoch 4")]
    savings = compute_savings(trials, planned_epochs=50)
    assert savings.full_epochs == 50
    assert savings.rules[0].epochs_saved == 46
    assert savings.rules[0].seconds_saved == 46 * 2.0


def test_report_is_one_offline_html_file_with_every_section(
    browse_study: BrowseStudy,  # noqa: F811
    tmp_path: Path,
) -> None:
    output = tmp_path / "out" / "report.html"
    output.parent.mkdir()
    done = run_cli(
        "report", "--study", browse_study.name, "--storage", browse_study.url, "-o", str(output)
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"wrote {output} (")
    html = output.read_text()
    assert html.count("window.PlotlyConfig") == 1  # plotly.js inlined exactly once
    assert not re.search(r"<script[^>]+src=", html)  # nothing loaded from anywhere
    assert not re.search(r"<link[^>]+href=", html)
    for div_id in ("fig-pruning", "fig-history", "fig-importances", "fig-parallel", "fig-health"):
        assert f'id="{div_id}"' in html
    assert "grad_explosion" in html and "seconds saved (est.)" in html
    assert "median number of epochs the completed trials ran" in html  # the definition
    assert "Best configuration" in html and "lr" in html


def test_report_default_output_is_report_html_in_the_current_directory(
    browse_study: BrowseStudy,  # noqa: F811
    tmp_path: Path,
) -> None:
    done = run_cli(
        "report", "--study", browse_study.name, "--storage", browse_study.url, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "report.html").stat().st_size > 1_000_000  # plotly.js is inside


def test_report_on_a_missing_study_is_one_line_and_exit_2(
    browse_study: BrowseStudy,  # noqa: F811
    tmp_path: Path,
) -> None:
    done = run_cli("report", "--study", "nope", "--storage", browse_study.url, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == f"error: study 'nope' does not exist in {browse_study.url}\n"
    assert not (tmp_path / "report.html").exists()


def test_report_on_a_young_study_explains_missing_importances(tmp_path: Path) -> None:
    config = parse_config(
        {
            "study": "young",
            "objective": "toy_regression",
            "direction": "minimize",
            "metric": "val_mse",
            "n_trials": 5,
            "space": {"lr": {"type": "float", "low": 0.001, "high": 0.1, "log": True}},
        }
    )
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'young.db'}")
    study = create_or_continue(storage, config)
    study.add_trial(
        optuna.trial.create_trial(
            params={"lr": 0.01},
            distributions={"lr": FloatDistribution(0.001, 0.1, log=True)},
            value=0.3,
        )
    )
    html = build_report(study, config, storage_label="sqlite:///young.db")
    assert "Parameter importances need at least 4 completed trials (this study has 1)." in html
    assert 'id="fig-history"' in html and 'id="fig-importances"' not in html
    assert "No trial was pruned." in html


def test_report_says_why_each_trial_was_pruned_near_the_top_with_rounded_parameters(
    browse_study: BrowseStudy,  # noqa: F811
    tmp_path: Path,
) -> None:
    output = tmp_path / "report.html"
    done = run_cli("report", browse_study.name, "--storage", browse_study.url, "-o", str(output))
    assert done.returncode == 0, done.stderr
    html = output.read_text(encoding="utf-8")
    why = html.index("<h2>Pruned trials: why</h2>")
    assert html.index("<h2>Best configuration</h2>") < why < html.index("<h2>Why trials were")
    table = html[why : html.index("</table>", why)]
    study = browse_study.load()
    for trial in study.trials:
        if trial.state == TrialState.PRUNED:
            lr = trial.params["lr"]
            assert f"lr={lr:.4g}" in table
            assert f"lr={lr!r}" not in table or f"{lr:.4g}" == repr(lr)
