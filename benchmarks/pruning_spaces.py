"""The four search spaces `pruning.py` measures on, fixed by issue 13 (never tuned to results).

- lp_seed: `examples/quickstart.yaml` as it stands (the GCN write-up's knobs in sane ranges);
- lp_wide: the same data and epochs, searched as a user who does not know good ranges yet would;
- causal_seed: `examples/causal-sachs.yaml` as it stands (the RC-GNN write-up's before/after);
- causal_wide: the same data and epochs, with first-sweep ranges of the lambdas, lr and clipping.

Each study keeps its file's median-pruner arguments; only `n_trials` comes from the benchmark.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "examples" / "quickstart.yaml"
CAUSAL_SACHS = ROOT / "examples" / "causal-sachs.yaml"

LP_WIDE_SPACE: dict[str, Any] = {
    "lr": {"type": "float", "low": 1.0e-5, "high": 1.0, "log": True},
    "clip_norm": {"type": "categorical", "choices": [0.0, 0.1, 1.0, 10.0, 100.0]},
    "num_layers": {"type": "int", "low": 1, "high": 4},
    "hidden_channels": {"type": "categorical", "choices": [64, 128, 256, 512]},
    "dropout": {"type": "float", "low": 0.0, "high": 0.8},
    "norm": {"type": "categorical", "choices": ["none", "batch_norm", "layer_norm", "graph_norm"]},
    "decoder": {"type": "categorical", "choices": ["mlp", "dot"]},
    "diversity_weight": {"type": "float", "low": 1.0e-4, "high": 1.0, "log": True},
    "hard_negative_ratio": {"type": "float", "low": 0.0, "high": 0.5},
    "weight_decay": {"type": "float", "low": 1.0e-8, "high": 1.0e-2, "log": True},
}

CAUSAL_WIDE_SPACE: dict[str, Any] = {
    "lambda_recon": {"type": "float", "low": 1.0e-2, "high": 1.0e2, "log": True},
    "lambda_sparse": {"type": "float", "low": 1.0e-6, "high": 10.0, "log": True},
    "lambda_acyclic": {"type": "float", "low": 1.0e-6, "high": 1.0e2, "log": True},
    "lambda_disen": {"type": "float", "low": 1.0e-6, "high": 1.0, "log": True},
    "lr": {"type": "float", "low": 1.0e-4, "high": 1.0e-1, "log": True},
    "clip_norm": {"type": "categorical", "choices": [0.0, 1.0, 10.0, 100.0]},
    "scaling": {"type": "categorical", "choices": ["none", "standardize", "robust"]},
    "w_threshold": {"type": "float", "low": 0.05, "high": 0.5},
}

#: space -> (study file it starts from, the space that replaces the file's, trials per study)
SPACES: dict[str, tuple[Path, dict[str, Any] | None, int]] = {
    "lp_seed": (QUICKSTART, None, 20),
    "lp_wide": (QUICKSTART, LP_WIDE_SPACE, 20),
    "causal_seed": (CAUSAL_SACHS, None, 30),
    "causal_wide": (CAUSAL_SACHS, CAUSAL_WIDE_SPACE, 30),
}
WIDE_SPACES = ("lp_wide", "causal_wide")


def study_config(space: str, *, n_trials: int | None = None, epochs: int | None = None) -> Any:
    """The space's study file as a validated `StudyConfig`, with this run's budget."""
    import yaml

    from sweeper.config import parse_config

    path, replacement, default_trials = SPACES[space]
    data = yaml.safe_load(path.read_text())
    data["study"] = f"bench-{space.replace('_', '-')}"
    data["n_trials"] = n_trials or default_trials
    if replacement is not None:
        data["space"] = replacement
    if epochs is not None:
        data["params"] = {**data["params"], "epochs": epochs}
    data.pop("enqueue", None)  # the quickstart's named trial is a demo, not part of the space
    return parse_config(data)
