"""Structure-recovery metrics of a predicted graph against the true one.

Adjacency matrices are d x d 0/1 arrays with A[i, j] = 1 for the edge i -> j.
- SHD: the number of unordered node pairs whose edge state differs (missing, extra, or reversed;
  a reversed edge counts once).
- TPR = correctly oriented predicted edges / true edges; FDR = the other predicted edges /
  predicted edges (a reversed edge is a false discovery); F1 from precision = 1 - FDR and TPR.
- Oracle F1: the best F1 over every threshold of |W|. It needs the true graph to pick the
  threshold, so it is a diagnostic (the write-up's "auto-tuned threshold"), never an objective.
"""

from __future__ import annotations

import numpy as np


def threshold_graph(weight: np.ndarray, w_threshold: float) -> np.ndarray:
    """The 0/1 graph of the edges with |W[i, j]| > w_threshold (diagonal ignored)."""
    graph = (np.abs(weight) > w_threshold).astype(np.int64)
    np.fill_diagonal(graph, 0)
    return graph


def structural_hamming_distance(true_graph: np.ndarray, pred_graph: np.ndarray) -> int:
    """SHD with a reversed edge counted once."""
    diff = np.abs(np.asarray(true_graph, dtype=np.int64) - np.asarray(pred_graph, dtype=np.int64))
    pair_differs = np.triu((diff + diff.T) > 0, k=1)
    return int(pair_differs.sum())


def edge_metrics(true_graph: np.ndarray, pred_graph: np.ndarray) -> dict[str, float]:
    """SHD, F1, TPR, FDR and the number of predicted edges."""
    true_graph = np.asarray(true_graph, dtype=bool)
    pred_graph = np.asarray(pred_graph, dtype=bool)
    n_true = int(true_graph.sum())
    n_pred = int(pred_graph.sum())
    true_pos = int((true_graph & pred_graph).sum())
    tpr = true_pos / n_true if n_true else 0.0
    fdr = (n_pred - true_pos) / n_pred if n_pred else 0.0
    precision = true_pos / n_pred if n_pred else 0.0
    f1 = 2 * precision * tpr / (precision + tpr) if precision + tpr > 0 else 0.0
    return {
        "shd": float(structural_hamming_distance(true_graph, pred_graph)),
        "f1": f1,
        "tpr": tpr,
        "fdr": fdr,
        "predicted_edges": float(n_pred),
    }


def oracle_f1(true_graph: np.ndarray, weight: np.ndarray) -> tuple[float, float]:
    """The best F1 over all thresholds of |W| and the threshold reaching it (uses the truth)."""
    magnitudes = np.abs(np.asarray(weight, dtype=np.float64)).copy()
    np.fill_diagonal(magnitudes, 0.0)
    candidates = np.unique(magnitudes[magnitudes > 0])
    best_f1, best_threshold = 0.0, float(magnitudes.max(initial=0.0))
    # An edge is kept when |W| > threshold, so threshold just below each magnitude.
    for value in candidates:
        threshold = float(np.nextafter(value, 0.0))
        f1 = edge_metrics(true_graph, threshold_graph(weight, threshold))["f1"]
        if f1 > best_f1:
            best_f1, best_threshold = f1, threshold
    return best_f1, best_threshold


def is_dag(graph: np.ndarray) -> bool:
    """True when the 0/1 graph has no directed cycle (Kahn's algorithm)."""
    graph = np.asarray(graph, dtype=bool)
    in_degree = graph.sum(axis=0).astype(np.int64)
    ready = [j for j in range(graph.shape[0]) if in_degree[j] == 0]
    seen = 0
    while ready:
        i = ready.pop()
        seen += 1
        for j in np.flatnonzero(graph[i]):
            in_degree[j] -= 1
            if in_degree[j] == 0:
                ready.append(int(j))
    return seen == graph.shape[0]
