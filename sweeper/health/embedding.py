"""Embedding health on a row sample: pairwise cosine similarity and RankMe effective rank.

Both are computed from the sample's Gram matrices, O(n D^2), instead of
the O(n^2 D) of a full n x n similarity matrix.
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


@torch.no_grad()
def cosine_stats(h: Tensor) -> tuple[Tensor, Tensor]:
    """Mean and standard deviation of the cosine similarity over all pairs of distinct rows.

    Rows of zeros count as identical to each other (a dead encoder is a collapsed one).
    """
    h = h.float()
    n = h.size(0)
    norms = torch.linalg.vector_norm(h, dim=1, keepdim=True)
    if float(norms.max()) == 0.0:
        return torch.ones((), dtype=torch.float64), torch.zeros((), dtype=torch.float64)
    unit = h / norms.clamp_min(torch.finfo(h.dtype).tiny)
    diag = (norms.squeeze(1) > 0).double()  # cos(i, i) is 1, or 0 for a zero row
    pairs = n * (n - 1)
    total = unit.double().sum(0).square().sum() - diag.sum()
    gram = unit.T @ unit if unit.size(1) <= n else unit @ unit.T
    squares = gram.double().square().sum() - diag.sum()
    mean = total / pairs
    std = (squares / pairs - mean.square()).clamp_min(0.0).sqrt()
    return mean, std


@torch.no_grad()
def rank_ratio(h: Tensor) -> Tensor:
    """RankMe effective rank (exp of the entropy of the normalised singular values) divided by
    the largest rank the sample can have, min(rows, dim); 0 for an all-zero sample.

    The singular values come from the eigenvalues of the smaller Gram matrix in float64, which
    is several times cheaper than an SVD of the sample and as accurate for the entropy.
    """
    h = h.double()
    gram = h.T @ h if h.size(1) <= h.size(0) else h @ h.T
    sv = torch.linalg.eigvalsh(gram).clamp_min(0.0).sqrt()
    scale = sv.sum()
    if float(scale) == 0.0:
        return torch.zeros((), dtype=torch.float64)
    p = sv / scale + RANKME_EPS
    rank = torch.exp(-(p * torch.log(p)).sum())
    return rank / min(h.size(0), h.size(1))
