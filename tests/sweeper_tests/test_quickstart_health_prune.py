"""The README's first command shows a health prune: the quickstart's queued trial 0 (embeddings
that collapse, as in the first write-up) is pruned by the embedding_collapse rule, and both the
launch output and `sweeper status` say so."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.conftest import run_cli

REPO = Path(__file__).resolve().parents[2]


def test_the_quickstarts_queued_trial_is_pruned_for_its_health_and_status_says_why(
    sqlite_url: str, tmp_path: Path
) -> None:
    study = yaml.safe_load((REPO / "examples" / "quickstart.yaml").read_text())
    assert study["enqueue"][0]["name"] == "collapsed-embeddings"
    study["n_trials"] = 1  # only the queued trial: the rest of the study is the sampler's
    path = tmp_path / "quickstart.yaml"
    path.write_text(yaml.safe_dump(study))
    launched = run_cli("launch", str(path), "--storage", sqlite_url, "--workers", "1")
    assert launched.returncode == 0, launched.stderr
    assert "trial 0 PRUNED (embedding_collapse at epoch 3)" in launched.stdout
    status = run_cli("status", "--study", "quickstart", "--storage", sqlite_url, "--json")
    trial = yaml.safe_load(status.stdout)["trials"][0]
    assert trial["user_attrs"]["name"] == "collapsed-embeddings"
    assert re.match(
        r"embedding_collapse: embedding_rank_ratio=\d\.\de-02 < 5e-02 at epoch 3",
        trial["user_attrs"]["prune_reason"],
    ), trial["user_attrs"]["prune_reason"]
    text = run_cli("status", "--study", "quickstart", "--storage", sqlite_url)
    assert "pruned by: embedding_collapse 1" in text.stdout
