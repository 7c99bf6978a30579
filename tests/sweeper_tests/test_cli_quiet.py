"""The terminal holds the sweep's own lines: Optuna's log lines (`[W 2026-...] Trial 3 failed
...`) and Python warnings (`UserWarning: Fixed parameter ... is out of range`) stay off it by
default, and `--verbose` shows them all."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.conftest import REPO, run_cli

OPTUNA_LOG_LINE = re.compile(r"^\[[DIWEC] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+\]", re.MULTILINE)
WARNING_LINE = re.compile(r"\b\w*Warning: ", re.MULTILINE)


def _quickstart_like(path: Path) -> Path:
    """examples/quickstart.yaml, cut to two short trials."""
    study = yaml.safe_load((REPO / "examples" / "quickstart.yaml").read_text())
    study.update(n_trials=2)
    study["params"].update(epochs=5)
    path.write_text(yaml.safe_dump(study))
    return path


def test_the_quickstart_default_output_has_no_optuna_log_line_or_warning(tmp_path: Path) -> None:
    out_of_range = '{"lr": 1.0}'  # above the space's 0.03: Optuna warns "Fixed parameter ..."
    launched = run_cli(
        "launch", str(_quickstart_like(tmp_path / "quickstart.yaml")),
        "--storage", f"sqlite:///{tmp_path / 's.db'}", "--workers", "2",
        "--enqueue", out_of_range,
    )  # fmt: skip
    assert launched.returncode == 0, (launched.stdout, launched.stderr)
    output = launched.stdout + launched.stderr
    assert OPTUNA_LOG_LINE.search(output) is None, output
    assert WARNING_LINE.search(output) is None, output
    assert launched.stderr.strip() == "", launched.stderr


def _failing_study(path: Path) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "study": "noisy",
                "objective": "tests.sweeper_tests.user_objectives:fails_below_zero",
                "direction": "minimize",
                "metric": "loss",
                "n_trials": 1,
                "pruner": {"name": "none"},
                "space": {"x": {"type": "float", "low": 0.0, "high": 2.0}},
                "enqueue": [{"x": -1.0}, {"x": 5.0}],  # fails; out of range
            }
        )
    )
    return path


def test_a_failed_trial_and_an_out_of_range_value_are_quiet_unless_verbose(
    tmp_path: Path,
) -> None:
    study_file = _failing_study(tmp_path / "s.yaml")
    quiet = run_cli("launch", str(study_file), "--storage", f"sqlite:///{tmp_path / 'q.db'}")
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr.strip() == "", quiet.stderr
    assert OPTUNA_LOG_LINE.search(quiet.stdout) is None, quiet.stdout
    assert "trial 0 FAIL (ValueError: x=-1.000 is negative)" in quiet.stdout

    verbose = run_cli(
        "launch", str(study_file), "--storage", f"sqlite:///{tmp_path / 'v.db'}", "--verbose"
    )
    assert verbose.returncode == 0, verbose.stderr
    assert re.search(r"^\[W .*\] Trial 0 failed with parameters", verbose.stderr, re.M)
    assert "Traceback" in verbose.stderr
    assert "UserWarning: Fixed parameter x with value 5.0 is out of range" in verbose.stderr
