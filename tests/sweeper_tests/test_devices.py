"""Device assignment for worker processes (GPU paths run here on a machine without a GPU)."""

from __future__ import annotations

import os

import pytest

from sweeper.errors import SweeperError
from sweeper.workers.devices import assign_devices, parse_devices, pin_device


def test_workers_are_assigned_round_robin_over_listed_gpus() -> None:
    devices = parse_devices("cuda:0,cuda:1")
    assert assign_devices(devices, 4, trials_per_device=2) == [
        "cuda:0",
        "cuda:1",
        "cuda:0",
        "cuda:1",
    ]


def test_more_workers_than_gpu_slots_is_refused() -> None:
    with pytest.raises(SweeperError, match="--workers"):
        assign_devices(["cuda:0"], 3, trials_per_device=2)


def test_cpu_workers_share_the_cpu() -> None:
    assert assign_devices(parse_devices("cpu"), 3, trials_per_device=1) == ["cpu"] * 3


def test_a_cuda_worker_sees_only_its_own_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    assert pin_device("cuda:3") == "cuda"
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "3"


def test_cuda_on_a_machine_without_gpus_is_a_clear_error() -> None:
    import torch

    if torch.cuda.is_available():  # pragma: no cover - a GPU machine
        assert parse_devices("cuda")
        return
    with pytest.raises(SweeperError, match="no GPU"):
        parse_devices("cuda")
