"""`SWEEPER_KEEP_FREED_MEMORY=1` makes a worker process keep the pages of freed large tensors for
the next step (glibc); by default they go back to the kernel, as glibc does."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO, cli_env

PROBE = """
import torch
from sweeper.workers.memory import retain_freed_memory
print(retain_freed_memory())
def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
before = rss_mb()
block = torch.ones(64 * 2**20)  # 256 MB, far above glibc's mmap threshold
del block
print(round(rss_mb() - before))
"""


def _probe(**env: str) -> tuple[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, env=cli_env(**env), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    kept, grown = done.stdout.split()
    return kept, int(grown)


def test_freed_large_tensors_go_back_to_the_kernel_by_default() -> None:
    kept, grown = _probe()
    assert kept == "False" and grown < 64


def test_keep_freed_memory_keeps_a_freed_large_tensors_pages_for_reuse() -> None:
    kept, grown = _probe(SWEEPER_KEEP_FREED_MEMORY="1")
    assert kept == "True" and grown > 200
