"""Which device each worker process gets: `cpu`, `cuda` (every visible GPU) or `cuda:0,cuda:1`."""

from __future__ import annotations

import os
import re

from sweeper.errors import SweeperError

_CUDA_INDEX = re.compile(r"^cuda:(\d+)$")


def visible_gpu_count() -> int:
    """GPUs this machine shows, without importing torch in the launcher when there are none."""
    import torch

    return torch.cuda.device_count()


def parse_devices(spec: str) -> list[str]:
    """Expand a `--devices` value into a list of device names."""
    items = [item.strip() for item in spec.split(",") if item.strip()]
    if not items:
        raise SweeperError("--devices: empty device list")
    devices: list[str] = []
    for item in items:
        if item == "cpu":
            devices.append("cpu")
        elif item == "cuda":
            count = visible_gpu_count()
            if count == 0:
                raise SweeperError("--devices: 'cuda' asked for, but this machine has no GPU")
            devices.extend(f"cuda:{index}" for index in range(count))
        elif _CUDA_INDEX.match(item):
            devices.append(item)
        else:
            raise SweeperError(f"--devices: unknown device '{item}' (use cpu, cuda or cuda:N)")
    return devices


def assign_devices(devices: list[str], workers: int, trials_per_device: int) -> list[str]:
    """Round-robin device per worker; at most `trials_per_device` workers share a GPU."""
    if workers < 1:
        raise SweeperError(f"--workers: must be >= 1 (got {workers})")
    if trials_per_device < 1:
        raise SweeperError(f"--trials-per-device: must be >= 1 (got {trials_per_device})")
    gpus = [d for d in devices if d != "cpu"]
    if gpus and workers > len(gpus) * trials_per_device and "cpu" not in devices:
        raise SweeperError(
            f"--workers: {workers} workers need more than {len(gpus)} GPU(s) x "
            f"{trials_per_device} trials per device"
        )
    return [devices[index % len(devices)] for index in range(workers)]


def pin_device(device: str) -> str:
    """Make only this worker's GPU visible (before torch is imported); return its torch name."""
    match = _CUDA_INDEX.match(device)
    if match:
        os.environ["CUDA_VISIBLE_DEVICES"] = match.group(1)
        return "cuda"
    if device == "cuda":
        return "cuda"
    if device != "cpu":
        raise SweeperError(f"--device: unknown device '{device}' (use cpu, cuda or cuda:N)")
    return "cpu"
