"""The live board's figures from a real stored study: each running trial's health signals nearest
their rule's threshold, the ETA, the last prunes, and the sparklines `sweeper trial` draws."""

from __future__ import annotations

import math
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState
from rich.console import Console

from storage.engine import open_storage
from sweeper.health.config import HealthConfig
from sweeper.health.rules.base import Limit
from sweeper.live.board import board
from sweeper.live.snapshot import limits_of, snapshot
from sweeper.live.sparkline import sparkline


def test_headroom_reads_how_many_times_a_signal_must_still_move() -> None:
    explosion = Limit("grad_explosion", "grad_norm", ">", 1e4)
    assert explosion.headroom(4.7e3) == pytest.approx(1e4 / 4.7e3)
    assert explosion.headroom(2e4) < 1  # past it
    assert explosion.headroom(math.nan) == 0.0  # a NaN is as close as it gets
    cosine = Limit("embedding_collapse", "embedding_cosine_mean", ">", 0.999, near_one=True)
    assert cosine.headroom(0.98) == pytest.approx(20.0)  # 1 - 0.98 is 20x 1 - 0.999
    rank = Limit("embedding_collapse", "embedding_rank_ratio", "<", 0.05)
    assert rank.headroom(0.2) == pytest.approx(4.0)


def test_the_default_rules_watch_gradients_and_embeddings() -> None:
    watched = {(limit.rule, limit.signal) for limit in limits_of(HealthConfig())}
    assert ("grad_explosion", "grad_norm") in watched
    assert ("embedding_collapse", "embedding_cosine_mean") in watched
    assert ("embedding_collapse", "embedding_rank_ratio") in watched
    assert limits_of(None) == ()


def test_sparkline_climbs_by_orders_of_magnitude_and_marks_gaps() -> None:
    line = sparkline([1.0, 10.0, 100.0, 1e3, 1e4])
    assert line == "▁▃▅▆█"
    assert sparkline([1.0, None, math.inf, 2.0]) == "▁ !█"
    assert sparkline([3.0, 3.0]) == "▅▅"
    assert len(sparkline(list(range(100)), width=40)) == 40


def _study(tmp_path: Path) -> optuna.Study:
    storage = open_storage(f"sqlite:///{tmp_path / 'live.db'}")
    study = optuna.create_study(study_name="live", storage=storage, direction="maximize")
    done = study.ask()
    done.report(0.5, 1)
    study.tell(done, 0.5)
    sick = study.ask()
    sick.set_user_attr(
        "prune_reason", "grad_explosion: grad_norm=4.7e+04 > 1e+04 at epoch 3 (for 2 epochs)"
    )
    study.tell(sick, state=TrialState.PRUNED)
    running = study.ask()
    running.set_user_attr("worker", "hostA:41")
    running.set_user_attr("device", "cuda:1")
    running.set_user_attr("health.grad_norm", 5e3)
    running.set_user_attr("health.embedding_cosine_mean", 0.9)
    running.set_user_attr("health.embedding_rank_ratio", 0.4)
    running.report(0.25, 4)
    return study


def test_snapshot_shows_running_trials_their_nearest_limits_and_the_last_prunes(
    tmp_path: Path,
) -> None:
    study = _study(tmp_path)
    snap = snapshot(
        study.get_trials(),
        study="live",
        metric="hits@20",
        direction="maximize",
        target=6,
        health=HealthConfig(),
        elapsed_s=30.0,
    )
    assert (snap.finished, snap.target) == (2, 6)
    assert snap.best_number == 0
    assert snap.eta_s is not None and snap.eta_s >= 0
    (row,) = snap.running
    assert (row.number, row.worker, row.device, row.epoch, row.value) == (
        2, "hostA:41", "cuda:1", 4, 0.25
    )  # fmt: skip
    assert [c.limit.signal for c in row.nearest] == ["grad_norm", "embedding_rank_ratio"]
    assert row.nearest[0].headroom == pytest.approx(2.0)
    (prune,) = snap.prunes
    assert prune.number == 1 and prune.reason.startswith("grad_explosion: grad_norm=4.7e+04")

    console = Console(record=True, width=160, force_terminal=False)
    console.print(board(snap))
    text = console.export_text()
    assert "2/6 finished (1 COMPLETE, 1 PRUNED, 0 FAIL), 1 running" in text
    assert "hostA:41" in text and "cuda:1" in text
    assert "grad_norm 5e+03 (>1e+04: 2x away)" in text
    assert "trial 1 PRUNED: grad_explosion: grad_norm=4.7e+04 > 1e+04" in text
