"""A killed trial costs one checkpoint interval, not the trial: real workers, real kills.

A 30-epoch link-prediction trial (checkpoint every 5 epochs) is killed mid-run; its retry, run
by a worker with another HOME and working directory that shares only the storage URL and the
artifact folder ("another machine"), starts from the last checkpoint. On CPU with a fixed seed
its final value equals an uninterrupted run's exactly: the checkpoint carries the model,
optimizer, RNG and early-stopping state, and the same float operations run in the same order.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
import yaml

from storage.engine import open_storage
from tests.conftest import cli_env, run_cli, start_cli

PARAMS = {"lr": 0.01, "num_layers": 2}


def _study_file(path: Path, name: str, artifacts: Path) -> Path:
    data = {
        "study": name,
        "objective": "link_prediction",
        "direction": "maximize",
        "metric": "hits@20",
        "n_trials": 1,
        "sampler": {"name": "random", "seed": 0},
        "pruner": {"name": "none"},
        "params": {
            "dataset": "synthetic",
            "epochs": 30,
            "eval_every": 5,
            "hidden_channels": 64,
            "batch_size": 512,
            "seed": 0,
        },
        "space": {
            "lr": {"type": "float", "low": 1e-3, "high": 1e-1, "log": True},
            "num_layers": {"type": "int", "low": 1, "high": 3},
        },
        "enqueue": [PARAMS],
        "heartbeat": {"interval": 1, "grace_period": 4, "max_retry": 2},
        "artifacts": str(artifacts),
    }
    path.write_text(yaml.safe_dump(data))
    return path


def _trials(url: str, name: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(
        study_name=name, storage=open_storage(url, must_exist=True)
    ).get_trials(deepcopy=False)


def _wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _checkpoint_epoch(url: str, name: str) -> int:
    trials = _trials(url, name)
    pointer = trials[0].user_attrs.get("checkpoint") if trials else None
    return int(pointer["epoch"]) if pointer else 0


def _elsewhere(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """Another machine: its own HOME, data home and working directory."""
    home = tmp_path / "other-machine"
    (home / "work").mkdir(parents=True)
    env = cli_env()
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / "share"))
    return home / "work", env


def _uninterrupted(tmp_path: Path, url: str) -> optuna.trial.FrozenTrial:
    study = _study_file(tmp_path / "whole.yaml", "whole", tmp_path / "whole-artifacts")
    done = run_cli("launch", str(study), "--storage", url, "--quiet", timeout=600)
    assert done.returncode == 0, done.stderr
    (trial,) = _trials(url, "whole")
    return trial


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM"])
def test_a_killed_trial_resumes_from_its_checkpoint_elsewhere_with_the_same_value(
    tmp_path: Path, storage_url: str, how: str
) -> None:
    artifacts = tmp_path / "shared-artifacts"
    study = _study_file(tmp_path / "cut.yaml", "cut", artifacts)
    created = run_cli("create", str(study), "--storage", storage_url)
    assert created.returncode == 0, created.stderr

    first = start_cli("worker", "--study", "cut", "--storage", storage_url, "--silent")
    try:
        if how == "SIGKILL":
            _wait(lambda: _checkpoint_epoch(storage_url, "cut") >= 15, 400, "epoch 15")
            os.kill(first.pid, signal.SIGKILL)
        else:
            _wait(lambda: _checkpoint_epoch(storage_url, "cut") >= 10, 400, "epoch 10")
            time.sleep(0.3)  # mid-epoch, past the checkpoint
            os.kill(first.pid, signal.SIGTERM)
        first.wait(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
    cut = _trials(storage_url, "cut")[0]
    saved = cut.user_attrs["checkpoint"]
    if how == "SIGTERM":
        assert first.returncode == 143
        assert cut.state.name == "FAIL"
        # the stop waited for the end of the step and checkpointed it: at most one step lost
        last_epoch = max(cut.user_attrs["health_series"]["epoch"])
        assert saved["epoch"] == last_epoch, (saved, last_epoch)
    assert saved["epoch"] >= 10 and saved["bytes"] > 1000
    assert list(artifacts.glob("checkpoint-*")), "the checkpoint is in the shared artifact folder"

    cwd, env = _elsewhere(tmp_path)
    if how == "SIGKILL":
        time.sleep(5)  # the heartbeat's grace period: the silent trial is failed and re-queued
    second = subprocess.run(
        [*_python_sweeper(), "worker", "--study", "cut", "--storage", storage_url],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    trials = _trials(storage_url, "cut")
    retry = next(t for t in trials if t.state.name == "COMPLETE")
    assert retry.system_attrs["retry_history"] == [0]
    assert retry.user_attrs["resumed_from"] == {"trial": 0, "epoch": saved["epoch"]}
    # no epoch reported twice, one continuous curve: the retry holds every evaluation
    assert sorted(retry.intermediate_values) == [5, 10, 15, 20, 25, 30]
    assert retry.user_attrs["health_series"]["epoch"] == list(range(1, 31))
    assert not list(artifacts.glob("checkpoint-*")), "a finished trial's checkpoints are deleted"

    whole = _uninterrupted(tmp_path, storage_url)
    assert retry.value == whole.value
    assert retry.user_attrs["test_hits@20"] == whole.user_attrs["test_hits@20"]
    assert retry.intermediate_values == whole.intermediate_values

    status = json.loads(run_cli("status", "cut", "--storage", storage_url, "--json").stdout)
    resumed = [t for t in status["trials"] if t.get("resumed_from")]
    assert resumed and resumed[0]["resumed_from"] == {"trial": 0, "epoch": saved["epoch"]}


def _python_sweeper() -> list[str]:
    import sys

    return [sys.executable, "-m", "sweeper"]


def _toy(path: Path, artifacts: Path, *, epochs: int = 12, delay: float = 0.0) -> Path:
    data = {
        "study": "toy",
        "objective": "toy_regression",
        "direction": "minimize",
        "metric": "val_mse",
        "n_trials": 1,
        "sampler": {"name": "random", "seed": 0},
        "pruner": {"name": "none"},
        "params": {"epochs": epochs, "epoch_delay": delay, "checkpoint_every": 2},
        "space": {"lr": {"type": "float", "low": 1e-3, "high": 1e-1, "log": True}},
        "heartbeat": {"interval": 1, "grace_period": 3, "max_retry": 2},
        "failures": {"max_consecutive": 1},
        "artifacts": str(artifacts),
    }
    path.write_text(yaml.safe_dump(data))
    return path


def test_an_artifact_store_that_cannot_be_written_fails_the_trial_with_one_reason(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    study = _toy(tmp_path / "toy.yaml", blocker / "artifacts")
    url = f"sqlite:///{tmp_path / 'toy.db'}"
    done = run_cli("launch", str(study), "--storage", url)
    assert done.returncode == 4, (done.stdout, done.stderr)  # the failure budget (1) stopped it
    (trial,) = _trials(url, "toy")
    assert trial.state.name == "FAIL"
    reason = trial.user_attrs["fail_reason"]
    assert reason.startswith("SweeperError: artifacts: cannot create ")
    assert "Not a directory" in reason and "\n" not in reason
    assert "Traceback" not in done.stderr


def test_a_corrupted_checkpoint_is_ignored_with_a_warning_and_training_restarts(
    tmp_path: Path,
) -> None:
    artifacts = tmp_path / "artifacts"
    study = _toy(tmp_path / "toy.yaml", artifacts, epochs=16, delay=0.3)
    url = f"sqlite:///{tmp_path / 'toy.db'}"
    assert run_cli("create", str(study), "--storage", url).returncode == 0
    first = start_cli("worker", "--study", "toy", "--storage", url, "--silent")
    try:
        _wait(lambda: _checkpoint_epoch(url, "toy") >= 4, 300, "a checkpoint at epoch 4")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
    (blob,) = artifacts.glob("checkpoint-*")
    blob.write_bytes(blob.read_bytes()[:100])  # a torn file
    time.sleep(4)  # past the heartbeat's grace period
    second = run_cli("worker", "--study", "toy", "--storage", url)
    assert second.returncode == 0, second.stderr
    assert "checkpoint of trial 0 (epoch" in second.stderr
    assert "unreadable" in second.stderr and "starting from epoch 1" in second.stderr
    assert "Traceback" not in second.stderr
    retry = next(t for t in _trials(url, "toy") if t.state.name == "COMPLETE")
    assert "resumed_from" not in retry.user_attrs
    assert sorted(retry.intermediate_values) == list(range(1, 17))


@pytest.fixture
def s3_endpoint() -> Iterator[str]:
    """A real S3-compatible server (moto's) on loopback, with one bucket, `ckpts`."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
    )  # fmt: skip
    client.create_bucket(Bucket="ckpts")
    yield endpoint
    server.stop()


def test_checkpoints_in_an_s3_store_resume_on_another_machine(
    tmp_path: Path, s3_endpoint: str
) -> None:
    import boto3

    study = _toy(tmp_path / "toy.yaml", tmp_path / "unused", epochs=16, delay=0.3)
    data = yaml.safe_load(study.read_text())
    data["artifacts"] = "s3://ckpts/sweeps/toy"
    study.write_text(yaml.safe_dump(data))
    url = f"sqlite:///{tmp_path / 'toy.db'}"
    aws = {
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    env = {**cli_env(), **aws}
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")  # fmt: skip

    def keys() -> list[str]:
        listed = client.list_objects_v2(Bucket="ckpts", Prefix="sweeps/toy/")
        return [item["Key"] for item in listed.get("Contents", [])]

    assert run_cli("create", str(study), "--storage", url, env=env).returncode == 0
    first = start_cli("worker", "--study", "toy", "--storage", url, "--silent", env=env)
    try:
        _wait(lambda: _checkpoint_epoch(url, "toy") >= 6, 300, "a checkpoint at epoch 6")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
    (key,) = keys()
    assert key.startswith("sweeps/toy/checkpoint-")
    epoch = _checkpoint_epoch(url, "toy")
    time.sleep(4)  # past the heartbeat's grace period
    cwd, other = _elsewhere(tmp_path)
    second = subprocess.run(
        [*_python_sweeper(), "worker", "--study", "toy", "--storage", url],
        cwd=cwd, env={**other, **aws}, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert second.returncode == 0, second.stderr
    retry = next(t for t in _trials(url, "toy") if t.state.name == "COMPLETE")
    assert retry.user_attrs["resumed_from"] == {"trial": 0, "epoch": epoch}
    assert sorted(retry.intermediate_values) == list(range(1, 17))
    assert keys() == []  # deleted once the trial finished
