"""Embedding health on a row sample: pairwise cosine similarity and RankMe effective rank.

The mean cosine similarity is exact in O(n D); its standard deviation and the rank come from
the sample's Gram matrices, O(n D^2), instead of the O(n^2 D) of a full n x n similarity
matrix. The monitor runs those two (the "spectrum") within its time budget.
"""

from __future__ import annotations

import torch
from torch import Tensor

RANKME_EPS = 1e-7  # the epsilon of RankMe (Garrido et al., 2023) added to the normalised spectrum


def sample_rows(h: Tensor, max_rows: int, generator: torch.Generator) -> Tensor:
    """At most `max_rows` rows of `h`, drawn without replacement (all rows when it has fewer)."""
    if h.size(0) <= max_rows:
        return h
    index = torch.randperm(h.size(0), generator=generator)[:max_rows]
    return h[index.to(h.device)]


def _unit_rows(h: Tensor) -> tuple[Tensor, Tensor] | None:
    """Rows scaled to unit length (zero rows stay zero) and, per row, cos(i, i) as float64:
    1, or 0 for a zero row. None when every row is zero."""
    h = h.float()
    norms = torch.linalg.vector_norm(h, dim=1, keepdim=True)
    if float(norms.max()) == 0.0:
        return None
    unit = h / norms.clamp_min(torch.finfo(h.dtype).tiny)
    return unit, (norms.squeeze(1) > 0).double()


def _mean_from(unit: Tensor, diag: Tensor) -> Tensor:
    n = unit.size(0)
    return (unit.double().sum(0).square().sum() - diag.sum()) / (n * (n - 1))


def row_norms(h: Tensor) -> Tensor:
    """The Euclidean length of every row, in float32 (one pass over the sample)."""
    return torch.linalg.vector_norm(h.float(), dim=1)


@torch.no_grad()
def cosine_mean(h: Tensor, norms: Tensor | None = None) -> Tensor:
    """Mean cosine similarity over all pairs of distinct rows, exactly, in O(n D).

    It is the squared length of the sum of the unit rows (one float64 matrix-vector product),
    less the n self-pairs, over the n (n - 1) pairs. Rows of zeros count as identical to each
    other (a dead encoder is a collapsed one). `norms` are the rows' lengths when already known.
    """
    norms = (row_norms(h) if norms is None else norms).double()
    nonzero = norms > 0
    if not bool(nonzero.any()):
        return torch.ones((), dtype=torch.float64)
    n = h.size(0)
    total = torch.where(nonzero, 1.0 / norms, 0.0) @ h.double()
    return (total.square().sum() - nonzero.sum()) / (n * (n - 1))


@torch.no_grad()
def cosine_stats(h: Tensor) -> tuple[Tensor, Tensor]:
    """Mean and standard deviation of the cosine similarity over all pairs of distinct rows.

    The standard deviation needs the sum of squared similarities, the squared Frobenius norm of
    the smaller Gram matrix of the unit rows: O(n D^2), the costly part.
    """
    rows = _unit_rows(h)
    if rows is None:
        return torch.ones((), dtype=torch.float64), torch.zeros((), dtype=torch.float64)
    unit, diag = rows
    n = unit.size(0)
    pairs = n * (n - 1)
    mean = _mean_from(unit, diag)
    gram = unit.T @ unit if unit.size(1) <= n else unit @ unit.T
    squares = gram.double().square().sum() - diag.sum()
    std = (squares / pairs - mean.square()).clamp_min(0.0).sqrt()
    return mean, std


@torch.no_grad()
def rank_ratio(h: Tensor) -> Tensor:
    """RankMe effective rank (exp of the entropy of the normalised singular values) divided by
    the largest rank the sample can have, min(rows, dim); 0 for an all-zero sample.

    The singular values are the square roots of the eigenvalues of the smaller Gram matrix,
    formed in float32 (half the cost of float64) and decomposed in float64. Eigenvalues below
    float32's resolution of the largest one are rounding noise of the Gram product, not
    directions of the data, and count as zero: without that cut a fully collapsed 64-d sample
    reads 0.0160 instead of 1/64.
    """
    h = h.float()
    gram = h.T @ h if h.size(1) <= h.size(0) else h @ h.T
    eigenvalues = torch.linalg.eigvalsh(gram.double()).clamp_min(0.0)
    noise = eigenvalues.max() * torch.finfo(torch.float32).eps
    sv = torch.where(eigenvalues > noise, eigenvalues, 0.0).sqrt()
    scale = sv.sum()
    if float(scale) == 0.0:
        return torch.zeros((), dtype=torch.float64)
    p = sv / scale + RANKME_EPS
    rank = torch.exp(-(p * torch.log(p)).sum())
    return rank / min(h.size(0), h.size(1))
