"""`objective: causal_dag`: learn a DAG's weighted adjacency and score it against the true graph.

The trial validates its parameters (`CausalParams`), loads and scales the data, trains a linear or
NOTEARS-MLP SEM (`train.py`) and returns the study's metric (`shd`, `f1`, `tpr`, `fdr`,
`predicted_edges`, or `loss` when there is no true graph) of the *final* graph at `w_threshold`:
picking the best epoch by SHD would use the true graph to choose the answer.

Scaling is searched, not fixed, because it changes which graph is found. On simulated linear
data the noise variance grows along the causal order ("varsortability"), and NOTEARS-style
least-squares methods exploit it: standardizing removes that cue and raises the SHD of NOTEARS
on 20-node ER graphs from about 1 to about 40 (Reisach, Seiler & Weichwald, 2021, "Beware of
the Simulated DAG!"). On real data such as Sachs, raw intensities span [1, 9058] and make the
gradients explode, so no single scaling is right everywhere: search it with the lambdas.

Trial user attributes at the end: shd, f1, tpr, fdr, predicted_edges (at w_threshold),
oracle_f1 and oracle_threshold (the best F1 over all thresholds — it needs the true graph, so it
is a diagnostic, never the objective), is_dag, h, final_loss, and the predicted edges by name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import optuna
import torch

from objectives.causal.datasets import load_dataset, scale
from objectives.causal.metrics import edge_metrics, is_dag, oracle_f1, threshold_graph
from objectives.causal.models import build_model
from objectives.causal.params import METRICS, TRUTH_METRICS, CausalParams
from objectives.causal.train import train
from sweeper.api import SweeperError

if TYPE_CHECKING:
    from sweeper.api import TrialContext

MAX_EDGES_LISTED = 200


def objective(trial: optuna.Trial, params: dict[str, Any], ctx: TrialContext) -> float:
    """Train one causal-discovery trial and return `ctx.metric` of its final graph."""
    p = CausalParams.model_validate(params)
    if ctx.metric not in METRICS:
        raise ValueError(
            f"metric must be one of {list(METRICS)} for causal_dag (got {ctx.metric!r})"
        )
    torch.manual_seed(p.seed)
    np.random.seed(p.seed)

    data = load_dataset(p)
    if ctx.metric in TRUTH_METRICS and data.true_graph is None:
        raise ValueError(f"metric {ctx.metric!r} needs a true graph: set `truth` for csv data")
    x = torch.tensor(scale(data.x, p.scaling), dtype=torch.float64, device=ctx.device)
    model = build_model(
        p.model, x.shape[1], hidden_channels=p.hidden_channels, num_layers=p.num_layers
    ).to(device=ctx.device, dtype=torch.float64)

    result = train(model, x, p, ctx, data.true_graph)

    pred = threshold_graph(result.weight, p.w_threshold)
    attrs: dict[str, Any] = {
        "predicted_edges": int(pred.sum()),
        "is_dag": is_dag(pred),
        "h": result.h,
        "final_loss": result.loss,
    }
    if data.true_graph is not None:
        metrics = edge_metrics(data.true_graph, pred)
        best_f1, best_threshold = oracle_f1(data.true_graph, result.weight)
        attrs.update({k: metrics[k] for k in ("shd", "f1", "tpr", "fdr")})
        attrs.update({"oracle_f1": best_f1, "oracle_threshold": best_threshold})
    if pred.sum() <= MAX_EDGES_LISTED:
        attrs["edges"] = [f"{data.names[i]}->{data.names[j]}" for i, j in np.argwhere(pred)]
    for key, value in attrs.items():
        ctx.set_attr(key, value)
    return float(result.loss) if ctx.metric == "loss" else float(attrs[ctx.metric])


def preflight(params: dict[str, Any]) -> None:
    """Before a study is written: the dataset (and its `truth` edge list) is present and reads;
    raises SweeperError with one line."""
    p = CausalParams.model_validate(params)
    if p.dataset == "synthetic":
        return  # simulated from the seed: nothing to find
    try:
        load_dataset(p)
    except (OSError, ValueError) as error:
        raise SweeperError(f"dataset: {p.dataset}: {' '.join(str(error).split())}") from None


objective.params_model = CausalParams  # type: ignore[attr-defined]
objective.preflight = preflight  # type: ignore[attr-defined]
