"""Trial checkpoints in the study's artifact store, so a killed or preempted trial's retry
continues from its last checkpoint instead of epoch 1.

A checkpoint is whatever the objective hands `ctx.checkpoint` (model and optimizer state, RNG
states, counters), plus what the sweep itself must carry over: the epochs already reported to
Optuna and the health monitor's state. It is written with `torch.save` under a fresh artifact id;
only once the write is complete does the trial's `checkpoint` attribute point at it (one row in
the storage: the switch is atomic), and the previous one is removed. A crash mid-write leaves
the last complete checkpoint in charge. Any Optuna `ArtifactStore` works: only `write`,
`open_reader` and `remove` are used.

A retried trial finds its predecessors through Optuna's `retry_history` (what
`RetryHeartbeatStaleTrialCallback.retried_trial_number` reads) and restores the newest
checkpoint along that chain, on any machine that sees the store. When a trial ends (COMPLETE,
PRUNED, or FAIL by an error of its own) its chain's checkpoints are deleted unless the study
file says `checkpoints: {keep: true}`.
"""

from __future__ import annotations

import io
import logging
import uuid
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.artifacts.exceptions import ArtifactNotFound

from sweeper.errors import SweeperError
from sweeper.trial_attrs import CHECKPOINT_ATTR, RESUMED_FROM_ATTR

__all__ = [
    "CHECKPOINT_ATTR",
    "RESUMED_FROM_ATTR",
    "CheckpointError",
    "Restored",
    "TrialCheckpoints",
]

log = logging.getLogger("sweeper.checkpoints")


class CheckpointError(SweeperError):
    """A checkpoint could not be written (a full or read-only artifact store): the trial fails
    with this one line as its reason; the worker goes on."""


@dataclass(frozen=True)
class Restored:
    """A checkpoint read back: the objective's state, the sweep's own part, where it came from."""

    state: Any
    sweep: dict[str, Any]
    trial: int
    epoch: int


class TrialCheckpoints:
    """The checkpoints of one running trial and of the trials it retries."""

    def __init__(self, trial: optuna.Trial, store: Any, *, keep: bool = False) -> None:
        self.trial = trial
        self.store = store
        self.keep = keep
        self.where = str(getattr(store, "where", None) or getattr(store, "_base_path", None)
                         or type(store).__name__)  # fmt: skip
        self._own: str | None = None  # the artifact id this trial wrote last

    def save(self, state: Any, sweep: dict[str, Any], epoch: int) -> int:
        """Write a checkpoint as of the end of `epoch` and point the trial at it; its size."""
        import torch

        buffer = io.BytesIO()
        torch.save({"state": state, "sweep": sweep, "epoch": epoch}, buffer)
        data = buffer.getvalue()
        artifact_id = f"checkpoint-trial-{self.trial._trial_id}-epoch-{epoch}-{uuid.uuid4().hex}"
        try:
            self.store.write(artifact_id, io.BytesIO(data))
        except Exception as error:  # a full disk, a read-only folder, a refused S3 request
            self._discard(artifact_id)
            why = getattr(error, "strerror", None) or _short(error)
            raise CheckpointError(
                f"checkpoint: cannot write to the artifact store {self.where}: {why}"
            ) from None
        self.trial.set_user_attr(
            CHECKPOINT_ATTR,
            {
                "artifact_id": artifact_id,
                "epoch": epoch,
                "bytes": len(data),
                "trial": self.trial.number,
            },
        )
        previous, self._own = self._own, artifact_id
        if previous is not None:
            self._discard(previous)
        return len(data)

    def chain(self) -> list[optuna.trial.FrozenTrial]:
        """This trial and the trials it retries, newest first, as stored now. A trial that
        retries nothing costs one trial read, not the study's (a round trip a fleet queues for)."""
        me = self.trial.storage.get_trial(self.trial._trial_id)
        history = [int(n) for n in me.system_attrs.get("retry_history") or []]
        if not history:
            return [me]
        trials = {t.number: t for t in self.trial.study.get_trials(deepcopy=False)}
        return [me, *(trials[n] for n in reversed(history) if n in trials)]

    def latest(self) -> Restored | None:
        """The newest readable checkpoint of the retry chain (None: start from epoch 1). A
        checkpoint that cannot be read is skipped with a warning."""
        import torch

        pointers = []
        for trial in self.chain():
            pointer = trial.user_attrs.get(CHECKPOINT_ATTR)
            if isinstance(pointer, dict) and "artifact_id" in pointer:
                pointers.append((int(pointer.get("epoch", 0)), trial.number, pointer))
        seen: set[str] = set()
        for epoch, number, pointer in sorted(pointers, key=lambda p: (p[0], p[1]), reverse=True):
            artifact_id = str(pointer["artifact_id"])
            if artifact_id in seen:  # a retry carries its predecessor's attributes
                continue
            seen.add(artifact_id)
            origin = int(pointer.get("trial", number))  # a retry carries its predecessor's
            try:
                with self.store.open_reader(artifact_id) as reader:
                    payload = torch.load(io.BytesIO(reader.read()), weights_only=False)
                state, sweep = payload["state"], payload["sweep"]
            except ArtifactNotFound:
                log.warning(
                    "warning: trial %d: checkpoint of trial %d (epoch %d) is gone from %s; "
                    "starting from epoch 1",
                    self.trial.number, origin, epoch, self.where,
                )  # fmt: skip
                continue
            except Exception as error:  # a truncated or foreign file: never worth a failed trial
                log.warning(
                    "warning: trial %d: checkpoint of trial %d (epoch %d) is unreadable "
                    "(%s: %s); ignored, starting from epoch 1",
                    self.trial.number, origin, epoch, type(error).__name__, _short(error),
                )  # fmt: skip
                continue
            return Restored(state, sweep, origin, int(payload.get("epoch", epoch)))
        return None

    def finish(self) -> None:
        """The trial ended on its own: delete its chain's checkpoints (unless the study keeps
        them)."""
        if self.keep:
            return
        ids = {self._own} if self._own else set()
        for trial in self.chain():
            pointer = trial.user_attrs.get(CHECKPOINT_ATTR)
            if isinstance(pointer, dict) and "artifact_id" in pointer:
                ids.add(str(pointer["artifact_id"]))
        for artifact_id in ids:
            self._discard(artifact_id)

    def _discard(self, artifact_id: str) -> None:
        try:
            self.store.remove(artifact_id)
        except Exception:  # already gone, or the store cannot delete: nothing to undo
            pass


def _short(error: BaseException) -> str:
    """The first sentence of an error's message, for a one-line warning."""
    text = " ".join(str(error).split())
    return text.split(". ")[0][:200]
