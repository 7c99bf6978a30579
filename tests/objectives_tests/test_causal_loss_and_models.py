"""The loss components are weighted as documented; models keep a zero diagonal."""

from __future__ import annotations

import pytest
import torch

from objectives.causal.acyclicity import notears_acyclicity
from objectives.causal.loss import causal_loss, residual_decorrelation
from objectives.causal.models import MLPSEM, LinearSEM, build_model


def test_decorrelation_is_zero_for_independent_and_one_for_collinear_residuals() -> None:
    generator = torch.Generator().manual_seed(0)
    independent = torch.randn(20_000, 3, dtype=torch.float64, generator=generator)
    assert float(residual_decorrelation(independent)) < 1e-3
    column = independent[:, :1]
    collinear = torch.cat([column, -2 * column], dim=1)
    assert float(residual_decorrelation(collinear)) == pytest.approx(1)


def test_loss_components_are_the_weighted_terms() -> None:
    x = torch.randn(50, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    weight = torch.tensor([[0, 0.5, 0], [0, 0, 0], [0.2, 0, 0]], dtype=torch.float64)
    terms = causal_loss(
        x,
        x @ weight,
        weight,
        acyclicity=notears_acyclicity,
        lambda_recon=10.0,
        lambda_sparse=0.1,
        lambda_acyclic=2.0,
        lambda_disen=0.5,
        alpha=1.0,
        rho=4.0,
    )
    h = notears_acyclicity(weight)
    assert float(terms.recon) == pytest.approx(10 * float(((x - x @ weight) ** 2).mean()))
    assert float(terms.sparse) == pytest.approx(0.1 * 0.7 / 9)
    assert float(terms.acyclic) == pytest.approx(float(2 * h + h + 2 * h * h))
    assert float(terms.total) == pytest.approx(sum(terms.components().values()))


def test_linear_sem_starts_empty_and_never_learns_a_self_loop() -> None:
    model = LinearSEM(4)
    assert repr(model) == "LinearSEM(4)"
    assert float(model.adjacency().detach().abs().sum()) == 0.0
    with torch.no_grad():
        model.weight.fill_(1.0)
    assert torch.diagonal(model.adjacency()).abs().sum() == 0


def test_mlp_sem_adjacency_reflects_which_inputs_each_output_reads() -> None:
    model = build_model("mlp", 3, hidden_channels=4, num_layers=3)
    assert repr(model) == "MLPSEM(3, hidden_channels=4, num_layers=3)"
    with torch.no_grad():
        model.first_weight[2, :, 0] = 0.0  # x2's MLP ignores x0
    adjacency = model.adjacency().detach()
    assert float(adjacency[0, 2]) < 1e-9 and float(adjacency[1, 2]) > 0
    assert torch.diagonal(adjacency).abs().sum() == 0
    x = torch.randn(7, 3)
    assert model(x).shape == (7, 3)
    x_changed = x.clone()
    x_changed[:, 0] += 5.0
    assert torch.allclose(model(x)[:, 2], model(x_changed)[:, 2])


def test_mlp_sem_needs_two_layers() -> None:
    with pytest.raises(ValueError, match="num_layers"):
        MLPSEM(3, num_layers=1)
