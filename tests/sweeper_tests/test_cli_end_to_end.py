"""A user's whole path through the CLI, on a SQLite file and on a fresh PostgreSQL database:
launch with two workers, join with a worker, kill and resume, copy to another storage."""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import datetime
from pathlib import Path

import optuna
import yaml

from tests.conftest import cli_env, run_cli, start_cli
from tests.real_data import copy_ogbl_ddi
from tests.sweeper_tests import fault_support


def write_study(
    path: Path, *, name: str = "toy", n_trials: int = 6, epochs: int = 6, delay: float = 0.15
) -> Path:
    """A toy-regression study file (TPE, seed 0) whose trials last about `epochs * delay` s."""
    return fault_support.write_study(
        path, name=name, n_trials=n_trials, epochs=epochs, delay=delay, sampler="tpe"
    )


def status_of(url: str, name: str = "toy") -> dict:
    result = run_cli("status", "--study", name, "--storage", url, "--json", "--series")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _interval(trial: dict) -> tuple[datetime, datetime]:
    return (
        datetime.fromisoformat(trial["datetime_start"]),
        datetime.fromisoformat(trial["datetime_complete"]),
    )


def test_launch_with_two_workers_finishes_the_target_with_overlapping_trials(
    storage_url: str, tmp_path: Path
) -> None:
    study_file = write_study(tmp_path / "toy.yaml", n_trials=6)
    result = run_cli("launch", str(study_file), "--storage", storage_url, "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("COMPLETE") >= 6  # one plain line per finished trial

    status = status_of(storage_url)
    counts = status["counts"]
    assert counts["COMPLETE"] + counts["PRUNED"] == 6
    assert counts["RUNNING"] == 0 and counts["WAITING"] == 0
    assert status["target"] == 6
    finished = [t for t in status["trials"] if t["state"] in ("COMPLETE", "PRUNED")]
    workers = {t["user_attrs"]["worker"] for t in finished}
    assert len(workers) == 2
    assert all(t["user_attrs"]["device"] == "cpu" for t in finished)
    for trial in finished:  # the whole health history reached the storage, throttled or not
        epochs_run = len(trial["intermediate_values"])
        assert trial["user_attrs"]["health_series"]["epoch"] == list(range(1, epochs_run + 1))
        assert "health.grad_norm" in trial["user_attrs"]
    overlapping = any(
        a["user_attrs"]["worker"] != b["user_attrs"]["worker"]
        and _interval(a)[0] < _interval(b)[1]
        and _interval(b)[0] < _interval(a)[1]
        for a in finished
        for b in finished
    )
    assert overlapping, "two workers should run trials at the same time"
    assert status["best"]["value"] == min(
        t["value"] for t in status["trials"] if t["state"] == "COMPLETE"
    )
    assert status["trials"][0]["datetime_start"].endswith("Z")


def test_worker_joins_with_only_the_url_and_the_name(storage_url: str, tmp_path: Path) -> None:
    study_file = write_study(tmp_path / "toy.yaml", n_trials=3, delay=0.0)
    created = run_cli("create", str(study_file), "--storage", storage_url)
    assert created.returncode == 0, created.stderr
    assert status_of(storage_url)["counts"]["COMPLETE"] == 0

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()  # no study file here: the worker reads it from the storage
    result = run_cli("worker", "--study", "toy", "--storage", storage_url, cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    status = status_of(storage_url)
    assert status["counts"]["COMPLETE"] + status["counts"]["PRUNED"] == 3
    assert status["counts"]["RUNNING"] == 0


def test_worker_reads_the_storage_url_from_the_environment(sqlite_url: str, tmp_path: Path) -> None:
    study_file = write_study(tmp_path / "toy.yaml", n_trials=1, delay=0.0)
    env = cli_env(SWEEPER_STORAGE=sqlite_url)
    assert run_cli("create", str(study_file), env=env).returncode == 0
    assert run_cli("worker", "--study", "toy", env=env).returncode == 0
    assert status_of(sqlite_url)["counts"]["COMPLETE"] == 1


def _wait_for_finished(url: str, count: int, timeout: float = 120) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            study = optuna.load_study(study_name="toy", storage=url)
        except KeyError:  # not created yet
            time.sleep(0.3)
            continue
        states = [t.state for t in study.get_trials(deepcopy=False)]
        if sum(s.is_finished() and s != optuna.trial.TrialState.FAIL for s in states) >= count:
            return
        time.sleep(0.3)
    raise AssertionError(f"fewer than {count} trials finished within {timeout}s")


def _launch_and_kill(
    study_file: Path, url: str, *, workers: int, after_finished: int, then_wait: float = 0.0
) -> None:
    """Launch, and once `after_finished` trials finished (and `then_wait` s more), kill -9 the
    launcher and its workers: no clean-up at all."""
    launcher = start_cli("launch", str(study_file), "--storage", url, "--workers", str(workers))
    try:
        _wait_for_finished(url, after_finished)
        time.sleep(then_wait)
    finally:
        os.killpg(launcher.pid, signal.SIGKILL)
        launcher.wait()


def test_resume_after_the_launcher_and_its_workers_are_killed(
    storage_url: str, tmp_path: Path
) -> None:
    study_file = write_study(tmp_path / "toy.yaml", n_trials=6, epochs=10, delay=0.2)
    _launch_and_kill(study_file, storage_url, workers=2, after_finished=2, then_wait=0.5)
    before = {t["number"]: t for t in status_of(storage_url)["trials"] if t["state"] == "COMPLETE"}
    assert before

    result = run_cli("resume", "--study", "toy", "--storage", storage_url, "--workers", "2")
    assert result.returncode == 0, result.stderr
    status = status_of(storage_url)
    assert status["counts"]["COMPLETE"] + status["counts"]["PRUNED"] == 6
    assert status["counts"]["RUNNING"] == 0 and status["counts"]["WAITING"] == 0
    after = {t["number"]: t for t in status["trials"]}
    for number, trial in before.items():  # no finished trial lost or changed
        assert after[number]["state"] == "COMPLETE"
        assert after[number]["value"] == trial["value"]
    failed = [t for t in status["trials"] if t["state"] == "FAIL"]
    retried = {t["params"]["lr"] for t in status["trials"] if t["state"] != "FAIL"}
    assert all(t["params"]["lr"] in retried for t in failed), "a killed trial is retried as it was"


def test_a_resumed_seeded_study_does_not_propose_its_first_parameters_again(
    sqlite_url: str, tmp_path: Path
) -> None:
    study_file = write_study(tmp_path / "toy.yaml", n_trials=4, epochs=10, delay=0.2)
    _launch_and_kill(study_file, sqlite_url, workers=1, after_finished=1)

    result = run_cli("resume", "--study", "toy", "--storage", sqlite_url, "--workers", "1")
    assert result.returncode == 0, result.stderr
    trials = [t for t in status_of(sqlite_url)["trials"] if t["state"] == "COMPLETE"]
    assert len(trials) == 4
    learning_rates = [t["params"]["lr"] for t in trials]
    assert len(set(learning_rates)) == 4, f"a resumed sampler repeated {learning_rates}"


def test_sigint_fails_the_trial_in_flight_and_resume_completes(
    sqlite_url: str, tmp_path: Path
) -> None:
    study_file = write_study(tmp_path / "toy.yaml", n_trials=4, epochs=20, delay=0.2)
    launcher = start_cli("launch", str(study_file), "--storage", sqlite_url, "--workers", "2")
    _wait_for_finished(sqlite_url, 1)
    os.killpg(launcher.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    launcher.communicate(timeout=120)
    assert launcher.returncode == 130
    status = status_of(sqlite_url)
    assert status["counts"]["RUNNING"] == 0
    assert status["counts"]["WAITING"] >= 1  # the interrupted trials wait to be retried

    result = run_cli("resume", "--study", "toy", "--storage", sqlite_url, "--workers", "2")
    assert result.returncode == 0, result.stderr
    status = status_of(sqlite_url)
    assert status["counts"]["COMPLETE"] + status["counts"]["PRUNED"] == 4
    assert status["counts"]["RUNNING"] == 0 and status["counts"]["WAITING"] == 0


def test_copy_from_sqlite_to_postgres_keeps_every_trial(
    sqlite_url: str, postgres_url: str, tmp_path: Path
) -> None:
    study_file = write_study(tmp_path / "toy.yaml", n_trials=3, delay=0.0)
    assert run_cli("launch", str(study_file), "--storage", sqlite_url).returncode == 0
    result = run_cli("copy", "--study", "toy", "--from", sqlite_url, "--to", postgres_url)
    assert result.returncode == 0, result.stderr

    original, copied = status_of(sqlite_url), status_of(postgres_url)
    assert copied["counts"] == original["counts"]
    assert copied["target"] == original["target"]
    for a, b in zip(original["trials"], copied["trials"], strict=True):
        for key in ("state", "value", "params", "user_attrs", "intermediate_values"):
            assert a[key] == b[key], key
    # the copy is a full study: a worker can continue it there
    again = run_cli("copy", "--study", "toy", "--from", sqlite_url, "--to", postgres_url)
    assert again.returncode == 2
    assert "already exists" in again.stderr


def test_enqueued_parameter_set_runs_first_with_its_override_recorded(
    sqlite_url: str, tmp_path: Path
) -> None:
    study_file = write_study(tmp_path / "toy.yaml", n_trials=2, delay=0.0)
    result = run_cli(
        "launch", str(study_file), "--storage", sqlite_url,
        "--enqueue", '{"lr": 0.05, "hidden_channels": 8, "epochs": 3}',
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    first = status_of(sqlite_url)["trials"][0]
    assert first["params"] == {"lr": 0.05, "hidden_channels": 8}
    assert first["user_attrs"]["param_overrides"] == {"epochs": 3}
    assert len(first["intermediate_values"]) == 3  # the override really ran


def test_best_output_writes_a_study_file_that_reruns_the_best_trial(
    sqlite_url: str, tmp_path: Path
) -> None:
    study_file = write_study(tmp_path / "toy.yaml", n_trials=3, delay=0.0)
    assert run_cli("launch", str(study_file), "--storage", sqlite_url).returncode == 0
    rerun = tmp_path / "best.yaml"
    result = run_cli(
        "best", "--study", "toy", "--storage", sqlite_url, "--json", "--output", str(rerun)
    )
    assert result.returncode == 0, result.stderr
    best = json.loads(result.stdout)
    again = run_cli("launch", str(rerun), "--storage", sqlite_url)
    assert again.returncode == 0, again.stderr
    rerun_status = status_of(sqlite_url, yaml.safe_load(rerun.read_text())["study"])
    assert rerun_status["trials"][0]["value"] == best["value"]


def test_relaunching_with_a_different_file_is_refused_naming_the_field(
    sqlite_url: str, tmp_path: Path
) -> None:
    study_file = write_study(tmp_path / "toy.yaml", n_trials=1, delay=0.0)
    assert run_cli("launch", str(study_file), "--storage", sqlite_url).returncode == 0
    changed = yaml.safe_load(study_file.read_text())
    changed["space"]["lr"]["high"] = 0.5
    study_file.write_text(yaml.safe_dump(changed))
    result = run_cli("launch", str(study_file), "--storage", sqlite_url)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: study 'toy' exists with a different study file: 'space.lr.high' differs "
        "(use the same file, or another --study name)"
    ]


def test_list_and_delete(sqlite_url: str, tmp_path: Path) -> None:
    study_file = write_study(tmp_path / "toy.yaml", n_trials=1, delay=0.0)
    assert run_cli("launch", str(study_file), "--storage", sqlite_url).returncode == 0
    listed = run_cli("list", "--storage", sqlite_url, "--json")
    assert [row["study"] for row in json.loads(listed.stdout)["studies"]] == ["toy"]
    refused = run_cli("delete", "--study", "toy", "--storage", sqlite_url)
    assert refused.returncode == 2
    assert run_cli("delete", "--study", "toy", "--storage", sqlite_url, "--yes").returncode == 0
    assert json.loads(run_cli("list", "--storage", sqlite_url, "--json").stdout)["studies"] == []


def test_timeout_stops_starting_trials_and_lets_the_running_one_finish(
    sqlite_url: str, tmp_path: Path
) -> None:
    study_file = write_study(tmp_path / "toy.yaml", n_trials=100, epochs=5, delay=0.2)
    result = run_cli("launch", str(study_file), "--storage", sqlite_url, "--timeout", "15")
    assert result.returncode == 0, result.stderr
    counts = status_of(sqlite_url)["counts"]
    assert 1 <= counts["COMPLETE"] + counts["PRUNED"] < 100
    assert counts["RUNNING"] == 0 and counts["FAIL"] == 0


def test_the_study_files_enqueue_list_is_queued_once_as_the_first_trials(
    sqlite_url: str, tmp_path: Path
) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "gcn-structural-v2.yaml"
    copy_ogbl_ddi(tmp_path / "data")  # the example's data_root, for its pre-flight
    for _ in range(2):  # a second create of the same file must not queue it again
        created = run_cli("create", str(example), "--storage", sqlite_url, cwd=tmp_path)
        assert created.returncode == 0, created.stderr
    trials = status_of(sqlite_url, "gcn-structural-v2")["trials"]
    assert [t["state"] for t in trials] == ["WAITING"]
    config = yaml.safe_load(example.read_text())
    assert trials[0]["params"] == {k: v for k, v in config["enqueue"][0].items()}
