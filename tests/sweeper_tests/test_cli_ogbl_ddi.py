"""The first write-up's own study file on the real ogbl-ddi: `sweeper launch` of
`examples/gcn-structural-v2.yaml` (one epoch, one trial) trains the write-up's V2 configuration
on the official split and stores OGB's valid and test Hits@20."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.conftest import REPO, run_cli
from tests.real_data import copy_ogbl_ddi


def test_the_v2_study_file_trains_its_queued_v2_trial_on_the_real_ogbl_ddi(
    sqlite_url: str, tmp_path: Path
) -> None:
    copy_ogbl_ddi(tmp_path / "data")  # the study file's data_root, relative to where it runs
    config = yaml.safe_load((REPO / "examples" / "gcn-structural-v2.yaml").read_text())
    config["n_trials"] = 1
    config["params"] |= {"epochs": 1, "eval_every": 1}
    study_file = tmp_path / "v2.yaml"
    study_file.write_text(yaml.safe_dump(config, sort_keys=False))

    launched = run_cli("launch", str(study_file), "--storage", sqlite_url, cwd=tmp_path)
    assert launched.returncode == 0, (launched.stdout, launched.stderr)
    assert launched.stderr.strip() == ""
    assert "trial 0 COMPLETE hits@20=" in launched.stdout

    shown = run_cli("status", "gcn-structural-v2", "--storage", sqlite_url, "--json")
    (trial,) = json.loads(shown.stdout)["trials"]
    assert config["enqueue"][0].items() <= trial["params"].items()  # weight_decay is sampled
    assert 0.0 < trial["value"] <= 1.0
    assert 0.0 <= trial["user_attrs"]["test_hits@20"] <= 1.0
    assert "hidden_channels=256" in trial["user_attrs"]["model"]
