"""The shipped Sachs data, the simulated SEMs and a user's CSV load as documented, offline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from objectives.causal.datasets import (
    load_csv,
    load_sachs,
    load_synthetic,
    scale,
    topological_order,
)
from objectives.causal.metrics import is_dag


def test_sachs_observational_set_is_the_first_853_raw_rows() -> None:
    data = load_sachs()
    full = load_sachs(full=True)
    assert data.x.shape == (853, 11)
    assert full.x.shape == (7466, 11)
    assert np.array_equal(full.x[:853], data.x)
    assert (full.x.min(), full.x.max()) == (1.0, 9058.0)
    # first and last rows of the original cd3cd28 sheet
    assert data.x[0].tolist()[:5] == [26.4, 13.2, 8.82, 18.3, 58.8]
    assert data.x[-1].tolist()[:4] == [46.6, 15.0, 8.51, 120.0]


def test_sachs_truth_is_the_17_edge_consensus_dag_over_the_csv_columns() -> None:
    data = load_sachs()
    assert data.names == [
        "praf", "pmek", "plcg", "PIP2", "PIP3", "p44/42", "pakts473", "PKA", "PKC", "P38", "pjnk"
    ]  # fmt: skip
    assert data.true_graph is not None
    assert int(data.true_graph.sum()) == 17
    assert is_dag(data.true_graph)
    edge = lambda a, b: data.true_graph[data.names.index(a), data.names.index(b)]  # noqa: E731
    assert edge("praf", "pmek") and edge("pmek", "p44/42") and edge("PKC", "PKA")
    assert not edge("PIP2", "PKC")  # in cdt's 18-edge target, not in the consensus graph


@pytest.mark.parametrize("graph", ["er", "sf"])
def test_synthetic_graph_is_a_dag_with_about_edges_per_node_times_d_edges(graph: str) -> None:
    data = load_synthetic(graph=graph, d=20, edges_per_node=2, sem="linear_gaussian", n=50, seed=3)
    assert data.true_graph is not None and is_dag(data.true_graph)
    assert 30 <= int(data.true_graph.sum()) <= 40
    assert data.x.shape == (50, 20)


def test_synthetic_er_has_exactly_the_requested_edges() -> None:
    data = load_synthetic(graph="er", d=20, edges_per_node=2, sem="linear_gaussian", n=10, seed=0)
    assert int(data.true_graph.sum()) == 40


@pytest.mark.parametrize("sem", ["linear_gaussian", "linear_nongaussian", "mlp"])
def test_synthetic_data_are_reproducible_from_the_seed(sem: str) -> None:
    make = lambda seed: load_synthetic(  # noqa: E731
        graph="er", d=6, edges_per_node=1, sem=sem, n=100, seed=seed
    )
    assert np.array_equal(make(1).x, make(1).x)
    assert not np.array_equal(make(1).x, make(2).x)
    assert np.isfinite(make(1).x).all()


def test_linear_data_have_growing_variance_along_the_causal_order() -> None:
    # varsortability: the reason the raw scale helps NOTEARS on simulated data
    data = load_synthetic(graph="er", d=10, edges_per_node=2, sem="linear_gaussian", n=2000, seed=0)
    order = topological_order(data.true_graph)
    variances = data.x.var(axis=0)[order]
    assert variances[-1] > variances[0]


def test_csv_dataset_reads_user_data_and_truth_relative_to_data_root(tmp_path: Path) -> None:
    (tmp_path / "obs.csv").write_text("a,b,c\n1,2,3\n4,5,7\n2,2,2\n")
    (tmp_path / "edges.csv").write_text("source,target\na,b\nb,c\n")
    data = load_csv("obs.csv", truth="edges.csv", data_root=str(tmp_path))
    assert data.names == ["a", "b", "c"]
    assert data.x.shape == (3, 3)
    assert data.true_graph.tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 0]]


def test_csv_truth_naming_an_unknown_variable_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "obs.csv").write_text("a,b\n1,2\n3,4\n")
    (tmp_path / "edges.csv").write_text("source,target\na,z\n")
    with pytest.raises(ValueError, match="does not name two of the variables"):
        load_csv(str(tmp_path / "obs.csv"), truth=str(tmp_path / "edges.csv"))


def test_scaling_options() -> None:
    x = np.array([[1.0, 10.0], [2.0, 30.0], [3.0, 20.0], [100.0, 40.0]])
    standardized = scale(x, "standardize")
    assert np.allclose(standardized.mean(axis=0), 0) and np.allclose(standardized.std(axis=0), 1)
    robust = scale(x, "robust")
    assert np.allclose(np.median(robust, axis=0), 0)
    assert scale(x, "none") is x
