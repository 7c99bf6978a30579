"""Ranking metrics as OGB defines them, and the common-neighbours baseline.

Hits@K: the fraction of positive edges scored strictly above the K-th highest negative score
(1.0 when there are fewer than K negatives). MRR: each positive is ranked among its own
negatives, ties counted half-way (OGB's optimistic/pessimistic mean), and 1/rank is averaged.
"""

from __future__ import annotations

import re

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from sweeper.api import SweeperError

_METRIC = re.compile(r"^(hits@([1-9][0-9]*)|mrr)$")


def parse_metric(metric: str) -> tuple[str, int | None]:
    """A metric name as its kind and K: "hits@20" -> ("hits", 20), "mrr" -> ("mrr", None)."""
    match = _METRIC.match(metric)
    if match is None:
        raise SweeperError(f"metric: link_prediction reports hits@K or mrr (got {metric!r})")
    if match.group(2) is not None:
        return "hits", int(match.group(2))
    return "mrr", None


def hits_at_k(pos_scores: Tensor, neg_scores: Tensor, k: int) -> float:
    """OGB Hits@K: share of positives scored strictly above the K-th highest shared negative."""
    if neg_scores.numel() < k:
        return 1.0
    kth = torch.topk(neg_scores.view(-1), k).values[-1]
    return float((pos_scores.view(-1) > kth).float().mean())


def mrr(pos_scores: Tensor, neg_scores: Tensor) -> float:
    """OGB MRR: `pos_scores` [P] ranked within the rows of `neg_scores` [P, M]."""
    pos = pos_scores.view(-1, 1)
    optimistic = (neg_scores > pos).sum(dim=1)
    pessimistic = (neg_scores >= pos).sum(dim=1)
    rank = 0.5 * (optimistic + pessimistic).float() + 1.0
    return float((1.0 / rank).mean())


def ogb_score(ogb_name: str, metric: str, pos_scores: Tensor, neg_scores: Tensor) -> float | None:
    """Score through the official `ogb.linkproppred.Evaluator` when it computes `metric` for
    `ogb_name`; None when it does not (then our identical implementation is used)."""
    from ogb.linkproppred import Evaluator

    evaluator = Evaluator(name=ogb_name)
    kind, k = parse_metric(metric)
    if kind == "hits" and evaluator.eval_metric.startswith("hits@"):
        evaluator.K = k
        return float(evaluator.eval({"y_pred_pos": pos_scores, "y_pred_neg": neg_scores})[metric])
    if kind == "mrr" and evaluator.eval_metric == "mrr" and neg_scores.dim() == 2:
        result = evaluator.eval({"y_pred_pos": pos_scores, "y_pred_neg": neg_scores})
        return float(result["mrr_list"].float().mean())
    return None


def common_neighbours(edge_index: Tensor, num_nodes: int, pairs: Tensor) -> Tensor:
    """The number of common neighbours of each node pair in `pairs` [2, E] on the graph
    `edge_index` (both directions): the heuristic a trained model has to beat."""
    row, col = edge_index.cpu().numpy()
    adj = sp.csr_matrix((np.ones(row.size), (row, col)), shape=(num_nodes, num_nodes))
    adj.data[:] = 1.0  # duplicates count once
    u, v = pairs.cpu().numpy()
    counts = np.asarray(adj[u].multiply(adj[v]).sum(axis=1)).ravel()
    return torch.from_numpy(counts).float()
