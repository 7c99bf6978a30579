"""SHD, F1, TPR, FDR and the oracle F1 on graphs small enough to count by hand."""

from __future__ import annotations

import numpy as np

from objectives.causal.metrics import (
    edge_metrics,
    is_dag,
    oracle_f1,
    structural_hamming_distance,
    threshold_graph,
)

CHAIN = np.array([[0, 1, 0], [0, 0, 1], [0, 0, 0]])  # 0 -> 1 -> 2


def test_reversed_edge_counts_once_in_shd() -> None:
    reversed_one = np.array([[0, 0, 0], [1, 0, 1], [0, 0, 0]])  # 1 -> 0 instead of 0 -> 1
    assert structural_hamming_distance(CHAIN, reversed_one) == 1


def test_missing_and_extra_edges_each_count_once() -> None:
    pred = np.array([[0, 1, 1], [0, 0, 0], [0, 0, 0]])  # 1 -> 2 missing, 0 -> 2 extra
    assert structural_hamming_distance(CHAIN, pred) == 2
    assert structural_hamming_distance(CHAIN, np.zeros((3, 3))) == 2


def test_reversed_edge_is_a_false_discovery_and_a_miss() -> None:
    pred = np.array([[0, 0, 0], [1, 0, 1], [0, 0, 0]])
    metrics = edge_metrics(CHAIN, pred)
    assert metrics == {"shd": 1.0, "f1": 0.5, "tpr": 0.5, "fdr": 0.5, "predicted_edges": 2.0}


def test_empty_prediction_has_zero_f1_and_fdr() -> None:
    metrics = edge_metrics(CHAIN, np.zeros((3, 3)))
    assert (metrics["f1"], metrics["tpr"], metrics["fdr"]) == (0.0, 0.0, 0.0)


def test_threshold_keeps_only_weights_above_it_and_ignores_the_diagonal() -> None:
    weight = np.array([[5.0, 0.4, -0.6], [0.1, 0.0, 0.0], [0.0, 0.0, 0.0]])
    assert threshold_graph(weight, 0.3).tolist() == [[0, 1, 1], [0, 0, 0], [0, 0, 0]]


def test_oracle_f1_finds_the_threshold_that_separates_true_edges() -> None:
    weight = np.array([[0.0, 0.05, 0.02], [0.0, 0.0, 0.04], [0.0, 0.0, 0.0]])
    best_f1, threshold = oracle_f1(CHAIN, weight)
    assert best_f1 == 1.0
    assert 0.02 <= threshold < 0.04
    assert edge_metrics(CHAIN, threshold_graph(weight, 0.3))["f1"] == 0.0


def test_is_dag_detects_a_cycle() -> None:
    assert is_dag(CHAIN)
    assert not is_dag(CHAIN + CHAIN.T)
