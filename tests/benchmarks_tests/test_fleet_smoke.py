"""`benchmarks/fleet.py --smoke` runs 8 real `sweeper worker` processes directly on PostgreSQL
and through `sweeper proxy`, and ends with one JSON object of the documented shape (the figures
themselves live in benchmarks/results/fleet-*.json)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ROW_FIGURES = {
    "trials_per_s", "ideal_per_s", "share_of_ideal", "gap_p50_s", "gap_p95_s", "report_p50_ms",
    "report_p95_ms", "peak_connections", "rss_mb_median", "exit_codes", "database_check", "cpu",
}  # fmt: skip


def test_fleet_smoke_measures_both_paths_and_the_growth_in_the_documented_json() -> None:
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "fleet.py"), "--smoke", "--json"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    rows = {(row["path"], row["workers"]): row for row in result["rows"]}
    assert set(rows) == {("direct", 8), ("proxy", 8)}
    for row in rows.values():
        assert ROW_FIGURES <= set(row), sorted(ROW_FIGURES - set(row))
        assert row["trials"] > 0 and row["peak_connections"] > 0
        assert row["exit_codes"] == {"0": 8}
        check = row["database_check"]
        assert check["recorded_twice"] == 0 and check["recorded_not_complete"] == 0
        assert check["recorded_other_worker"] == 0
    [series] = result["growth"].values()
    assert [window["size"] for window in series] == [0, 60]
    assert series[-1]["finished_at_start"] >= 60
    assert {"fleet_gap", "sampler_alone"} <= set(result["tpe_limit"])
    assert len(result["floors"]) == 3 and all("pass" in f for f in result["floors"].values())
    assert result["torch_check"]["trials"] > 0
    assert "import_chain" in result["torch_check"]
