"""Start K worker processes on their devices, restart crashed ones, stop them all on a signal."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from storage.urls import ENV_VAR
from sweeper.exit_codes import ExitCode

MAX_RESTARTS_PER_SLOT = 3
#: Exits a restart cannot help: done, bad input, storage away or not writable, failure budget
#: spent, stopped by a signal.
_NOT_CRASHED = frozenset(ExitCode) - {ExitCode.BUG}
#: Exits that are no error of the worker's own.
_NOT_FAILED = (ExitCode.OK, ExitCode.SIGINT, ExitCode.SIGTERM)
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: a worker gets SIGTERM (and so fails its trial cleanly) if the launcher dies."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


@dataclass
class WorkerSlot:
    """One worker position: its device and the process currently filling it."""

    ordinal: int
    device: str
    process: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    exit_codes: list[int] = field(default_factory=list)


class WorkerPool:
    """Worker processes of one study; each is `python -m sweeper worker` with the storage URL
    passed in the environment (never on a command line another user can read)."""

    def __init__(
        self,
        *,
        storage_url: str,
        study_name: str,
        devices: list[str],
        threads: int,
        deadline: float | None,
        verbose: bool = False,
    ) -> None:
        self.storage_url = storage_url
        self.verbose = verbose
        self.study_name = study_name
        self.threads = threads
        self.deadline = deadline
        self.slots = [WorkerSlot(ordinal, device) for ordinal, device in enumerate(devices)]

    def start(self) -> None:
        """Start every worker."""
        for slot in self.slots:
            self._spawn(slot)

    def _spawn(self, slot: WorkerSlot) -> None:
        command = [
            sys.executable, "-m", "sweeper", "worker",
            "--study", self.study_name,
            "--device", slot.device,
            "--ordinal", str(slot.ordinal),
            "--threads", str(self.threads),
            "--silent",
        ]  # fmt: skip
        if self.deadline is not None:
            command += ["--deadline", repr(self.deadline)]
        if self.verbose:
            command.append("--verbose")
        env = dict(os.environ, **{ENV_VAR: self.storage_url})
        slot.process = subprocess.Popen(command, env=env, preexec_fn=_die_with_parent)

    def poll(self, study_done: Callable[[], bool]) -> bool:
        """Reap exited workers, restart crashed ones while the study needs them; True while
        any worker is still running."""
        alive = False
        for slot in self.slots:
            if slot.process is None:
                continue
            code = slot.process.poll()
            if code is None:
                alive = True
                continue
            slot.exit_codes.append(code)
            slot.process = None
            crashed = code < 0 or code not in _NOT_CRASHED
            if crashed and slot.restarts < MAX_RESTARTS_PER_SLOT and not study_done():
                slot.restarts += 1
                self._spawn(slot)
                alive = True
        return alive

    def signal_all(self, signum: int) -> None:
        """Pass a stop signal on to every running worker."""
        for slot in self.slots:
            if slot.process is not None and slot.process.poll() is None:
                try:
                    slot.process.send_signal(signum)
                except ProcessLookupError:
                    pass

    def wait(self, timeout_s: float = 120.0) -> None:
        """Wait for every worker to exit; kill those that outlive the timeout."""
        end = time.monotonic() + timeout_s
        for slot in self.slots:
            if slot.process is None:
                continue
            try:
                slot.process.wait(timeout=max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                slot.process.kill()
                slot.process.wait()
            slot.exit_codes.append(slot.process.returncode)
            slot.process = None

    @property
    def failed_codes(self) -> list[int]:
        """Exit codes of workers that ended with an error (not 0 or a stop)."""
        return [c for slot in self.slots for c in slot.exit_codes if c not in _NOT_FAILED]
