"""h(W) is zero exactly on DAGs, positive on cycles, and its gradient is exact."""

from __future__ import annotations

import pytest
import torch

from objectives.causal.acyclicity import notears_acyclicity, poly_acyclicity, resolve_acyclicity

DAG = torch.tensor([[0.0, 1.5, 0.0], [0.0, 0.0, -2.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
CYCLE = DAG + torch.tensor([[0, 0, 0], [0, 0, 0], [0.7, 0, 0]], dtype=torch.float64)


@pytest.mark.parametrize("name", ["notears", "poly"])
def test_acyclicity_is_zero_on_a_dag_and_positive_on_a_cycle(name: str) -> None:
    h = resolve_acyclicity(name)
    assert abs(float(h(DAG))) < 1e-12
    assert float(h(CYCLE)) > 1e-3


def test_notears_gradient_matches_finite_differences() -> None:
    weight = 0.3 * torch.randn(
        5, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )
    assert torch.autograd.gradcheck(notears_acyclicity, (weight.requires_grad_(),))


def test_poly_acyclicity_is_the_dag_gnn_polynomial() -> None:
    d = CYCLE.shape[0]
    expected = torch.trace(torch.linalg.matrix_power(torch.eye(d) + CYCLE * CYCLE / d, d)) - d
    assert float(poly_acyclicity(CYCLE)) == pytest.approx(float(expected))


def test_unknown_acyclicity_names_the_choices() -> None:
    with pytest.raises(ValueError, match="notears"):
        resolve_acyclicity("dagma")
