"""`objective: link_prediction`: train a GNN link predictor and return its best validation
Hits@K or MRR, storing the test value at that epoch as `test_<metric>`."""

from __future__ import annotations

import functools
import random
from dataclasses import replace
from typing import Any

import numpy as np
import optuna
import torch

from objectives.link_prediction.datasets import (
    LinkSplit,
    check_dataset,
    load_dataset,
    with_per_positive_negatives,
)
from objectives.link_prediction.evaluate import parse_metric
from objectives.link_prediction.model import build_model
from objectives.link_prediction.params import LinkPredictionParams
from objectives.link_prediction.train import run
from sweeper.api import TEST_METRIC_PREFIX, TrialContext


@functools.lru_cache(maxsize=2)
def _load_cached(dataset: str, data_root: str, seed: int, sizes: tuple[Any, ...]) -> LinkSplit:
    num_nodes, num_communities, avg_degree, val_ratio, test_ratio, neg_sampling_ratio = sizes
    return load_dataset(
        dataset,
        data_root=data_root,
        seed=seed,
        num_nodes=num_nodes,
        num_communities=num_communities,
        avg_degree=avg_degree,
        val_ratio=val_ratio,
        test_ratio=test_ratio,
        neg_sampling_ratio=neg_sampling_ratio,
    )


def prepare_split(params: LinkPredictionParams, metric: str, device: torch.device) -> LinkSplit:
    """The dataset's split (loaded once per worker process and reused by its later trials), with
    per-positive negatives for MRR and node features only when the model reads them."""
    sizes = (
        params.num_nodes,
        params.num_communities,
        params.avg_degree,
        params.val_ratio,
        params.test_ratio,
        params.neg_sampling_ratio,
    )
    split = _load_cached(params.dataset, params.data_root, params.seed, sizes)
    if params.node_input == "features" and split.x is None:
        raise ValueError(f"node_input=features but dataset {params.dataset} has no node features")
    if params.node_input == "embedding":
        split = replace(split, x=None)
    if parse_metric(metric)[0] == "mrr":
        m, seed = params.num_mrr_negatives, params.seed
        split = replace(
            split,
            valid=with_per_positive_negatives(split.valid, split.num_nodes, m, seed=seed),
            test=with_per_positive_negatives(split.test, split.num_nodes, m, seed=seed + 1),
        )
    return split.to(device)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch so a trial with the same parameters trains the same way."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def objective(trial: optuna.Trial, params: dict[str, Any], ctx: TrialContext) -> float:
    """Train the model `params` describes on its dataset and return the best validation value
    of `ctx.metric` (hits@K or mrr); the test value at that epoch is stored as `test_<metric>`."""
    p = LinkPredictionParams.model_validate(params)
    parse_metric(ctx.metric)
    device = torch.device(ctx.device)
    split = prepare_split(p, ctx.metric, device)
    seed_everything(p.seed)
    in_channels = None if split.x is None else split.x.size(1)
    model = build_model(p, split.num_nodes, in_channels).to(device)
    ctx.set_attr("model", repr(model))
    result = run(model, split, p, ctx, device)
    ctx.set_attr(f"{TEST_METRIC_PREFIX}{ctx.metric}", result.test_at_best)
    ctx.set_attr("best_epoch", result.best_epoch)
    ctx.set_attr("epochs_run", result.epochs_run)
    return result.best_valid


def preflight(params: dict[str, Any]) -> None:
    """Before a study is written: the dataset is present (or downloadable) and loads, and its
    optional packages (ogb for `ogbl-*`) are installed; raises SweeperError with one line."""
    p = LinkPredictionParams.model_validate(params)
    _check_dataset_once(p.dataset, p.data_root)


@functools.lru_cache(maxsize=8)
def _check_dataset_once(dataset: str, data_root: str) -> None:
    """One check per dataset, however many parameter sets the pre-flight is asked about (a
    failure is not cached: it raises)."""
    check_dataset(dataset, data_root)


objective.params_model = LinkPredictionParams  # type: ignore[attr-defined]
objective.preflight = preflight  # type: ignore[attr-defined]
