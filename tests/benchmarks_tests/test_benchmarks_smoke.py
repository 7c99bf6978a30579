"""The benchmark scripts run end to end in their seconds-long `--smoke` mode and end with one
JSON object of the documented shape (the figures themselves live in BENCHMARKS.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = ("pruning", "overhead", "scaling", "parallel_cpu", "checkpoints")
ARMS = {"none", "median", "asha", "health", "health_median", "health_asha"}
ORACLES = {"rule_oracle", "outcome_oracle"}
ARM_FIGURES = {"compute_s", "best", "to_none_best_s", "sick_compute_s"}


@pytest.fixture(scope="module")
def smoke_runs() -> Iterator[dict[str, subprocess.Popen[str]]]:
    """All the scripts started at once (they wait mostly on process start-up and storage)."""
    runs = {
        name: subprocess.Popen(
            [sys.executable, str(REPO / "benchmarks" / f"{name}.py"), "--smoke", "--json"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in SCRIPTS
    }
    yield runs
    for run in runs.values():
        if run.poll() is None:
            run.kill()
            run.wait()


def last_json(run: subprocess.Popen[str]) -> dict:
    out, err = run.communicate(timeout=600)
    assert run.returncode == 0, err[-2000:]
    return json.loads(out.strip().splitlines()[-1])


def test_pruning_reports_every_arm_and_oracle_in_the_documented_json(smoke_runs: dict) -> None:
    result = last_json(smoke_runs["pruning"])
    assert set(result) == {"lp_wide", "causal_wide"}
    for space in result.values():
        assert space["seeds"] == [0]
        assert set(space["arms"]) == ARMS | ORACLES
        for figures in space["arms"].values():
            assert ARM_FIGURES <= set(figures)
            assert len(figures["compute_s"]) == 1 and figures["compute_s"][0] > 0
        assert set(space["rule_oracle_captured"]) == ARMS - {"none"}
        assert set(space["outcome_oracle_captured"]) == ARMS - {"none"}
        assert 0.0 <= space["false_prune_rate"] <= 1.0


def test_overhead_compares_both_storages_and_the_monitor_share(smoke_runs: dict) -> None:
    result = last_json(smoke_runs["overhead"])
    for backend in ("sqlite", "postgresql"):
        row = result["storage"][backend]
        assert row["plain_ms"] > 0 and row["service_ms"] > 0 and row["ratio"] > 0
    assert 0 < result["monitor_share"]["monitored_ms"]


def test_checkpoints_reports_the_share_of_trial_time_and_the_size(smoke_runs: dict) -> None:
    result = last_json(smoke_runs["checkpoints"])
    assert result["checkpoints_per_trial"] >= 1 and result["bytes"] > 1000
    assert 0 < result["share_of_trial"] < 1


def test_scaling_reports_trials_per_hour_for_one_and_two_workers(smoke_runs: dict) -> None:
    result = last_json(smoke_runs["scaling"])
    assert set(result["runs"]) == {"1", "2"}
    assert all(
        run["trials"] == 2 and run["trials_per_hour_span"] > 0 for run in result["runs"].values()
    )
    assert result["speedup_span"] > 0


def test_parallel_cpu_reports_the_ceiling_of_two_processes(smoke_runs: dict) -> None:
    result = last_json(smoke_runs["parallel_cpu"])
    assert result["alone_s"] > 0 and len(result["pair_s"]) == 2 and result["ceiling"] > 0


def test_trainer_speed_on_the_real_ogbl_ddi_reports_the_three_loops() -> None:
    """The documented JSON line of `trainer_speed.py --dataset ogbl-ddi` (its smoke mode trains
    16 channels wide, one epoch per loop, on a copy of the real graph)."""
    command = [sys.executable, str(REPO / "benchmarks" / "trainer_speed.py"), "--dataset"]
    done = subprocess.run(
        [*command, "ogbl-ddi", "--smoke", "--hits", "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])["ogbl-ddi"]
    assert set(result) == {"ogb_sparse", "edge_index", "project"}
    for row in result.values():
        assert {"epoch_s", "user_s", "sys_s", "peak_rss_mb"} <= set(row)
        assert row["epoch_s"] > 0 and row["peak_rss_mb"] > 0
        assert 0.0 <= row["valid_hits@20"] <= 1.0
    # the sparse adjacency and edge_index propagate the same (up to float summation order)
    sparse, dense = (result[k]["valid_hits@20"] for k in ("ogb_sparse", "edge_index"))
    assert abs(sparse - dense) < 0.005


def test_seed_ddi_sweeps_then_trains_v2_and_the_sweeps_choice_on_the_real_graph(
    tmp_path: Path,
) -> None:
    """`seed_ddi.py --smoke` runs the health-pruned sweep through `sweeper launch` on a copy of
    the real ogbl-ddi, trains V2 and the sweep's best configuration, draws the figure and ends
    with the documented JSON line."""
    figure = tmp_path / "seed.png"
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "seed_ddi.py"), "--smoke", "--json",
         "--plot", str(figure)],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["sweep"]["trials"] == 1 and result["sweep"]["params"]["hidden_channels"] == 16
    assert set(result["runs"]) == {"V2", "chosen"}
    for run in result["runs"].values():
        assert run["epochs"] >= 1 and 0.0 <= run["test_at_best"] <= 1.0
        assert 0.0 < run["max_cosine_mean"] <= 1.0
    assert figure.stat().st_size > 10_000
