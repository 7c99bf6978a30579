"""The causal-discovery loss and its weighted components.

    loss = lambda_recon * recon + lambda_sparse * sparse + acyclic + lambda_disen * disen

- recon  = mean over rows and variables of (x_hat - x)^2.
- sparse = mean over the d x d entries of |W| (L1, mean-reduced).
- acyclic = lambda_acyclic * h(W), plus, under the augmented-Lagrangian schedule,
  alpha * h(W) + rho / 2 * h(W)^2 (NOTEARS' dual term and quadratic penalty).
- disen  = the mean squared off-diagonal entry of the correlation matrix of the residuals
  x - x_hat over the batch. In an SEM the residuals estimate the exogenous noise terms, the model's
  latent factors, which are mutually independent; this term decorrelates them (0 = uncorrelated,
  1 = perfectly collinear). It is 0 when the batch has fewer than two rows.
Every component is returned already weighted, which is what the health monitor compares.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from objectives.causal.acyclicity import Acyclicity


@dataclass
class LossTerms:
    """The total loss, its weighted components, and the unweighted h(W)."""

    total: torch.Tensor
    recon: torch.Tensor
    sparse: torch.Tensor
    acyclic: torch.Tensor
    disen: torch.Tensor
    h: torch.Tensor

    def components(self) -> dict[str, torch.Tensor]:
        """The weighted components, detached, for `monitor.observe_loss` (no device sync)."""
        return {
            "recon": self.recon.detach(),
            "sparse": self.sparse.detach(),
            "acyclic": self.acyclic.detach(),
            "disen": self.disen.detach(),
        }


def residual_decorrelation(residual: torch.Tensor) -> torch.Tensor:
    """Mean squared off-diagonal correlation of the residual columns ([N, d] -> [0, 1])."""
    n, d = residual.shape
    if n < 2 or d < 2:
        return residual.new_zeros(())
    centred = residual - residual.mean(dim=0, keepdim=True)
    scaled = centred / (centred.norm(dim=0, keepdim=True) + 1e-12)
    corr = scaled.t() @ scaled
    off_diagonal = corr - torch.diag(torch.diagonal(corr))
    return (off_diagonal * off_diagonal).sum() / (d * (d - 1))


def causal_loss(
    x: torch.Tensor,
    x_hat: torch.Tensor,
    weight: torch.Tensor,
    *,
    acyclicity: Acyclicity,
    lambda_recon: float,
    lambda_sparse: float,
    lambda_acyclic: float,
    lambda_disen: float,
    alpha: float = 0.0,
    rho: float = 0.0,
) -> LossTerms:
    """Compute the weighted loss terms for one batch (see the module docstring)."""
    residual = x - x_hat
    recon = lambda_recon * (residual * residual).mean()
    sparse = lambda_sparse * weight.abs().mean()
    h = acyclicity(weight)
    acyclic = lambda_acyclic * h + alpha * h + 0.5 * rho * h * h
    disen = (
        lambda_disen * residual_decorrelation(residual)
        if lambda_disen > 0
        else residual.new_zeros(())
    )
    return LossTerms(
        total=recon + sparse + acyclic + disen,
        recon=recon,
        sparse=sparse,
        acyclic=acyclic,
        disen=disen,
        h=h,
    )
