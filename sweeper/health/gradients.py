"""Gradient norms in one pass: the total pre-clip norm (what `clip_grad_norm_` returns) and the
per-layer norms, both from the same per-parameter norms.

A "layer" is the module that owns a parameter (`conv1.lin` for `conv1.lin.weight`). Only
parameters with two or more dimensions count for the per-layer figures: a bias just before a
normalisation layer legitimately gets a zero gradient and must not read as a vanishing layer.
Everything stays on the parameters' device; nothing here synchronises with a GPU.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

import torch
from torch import Tensor


class GradientReading(NamedTuple):
    """One step's gradient norms, as tensors on the parameters' device (a tuple: one is made
    every training step)."""

    total: Tensor  # 0-dim: the norm of all gradients viewed as one vector (before clipping)
    norms: Tensor  # [k]: the norm of each parameter's gradient, in the order of `order`
    order: tuple[int, ...]  # positions (in the parameter list) of the k parameters with a grad


class Gather(NamedTuple):
    """How per-parameter norms in one order map to layers (see `LayerIndex.gather`)."""

    keep: Tensor  # positions, among the norms, of the entries that belong to a layer
    target: Tensor  # the layer of each kept entry
    missing: Tensor | None  # [layers] True for a layer without an entry; None when there is none
    alone: tuple[int, ...] | None  # `keep` as ints when no two entries share a layer, else None


class LayerIndex:
    """Which layer each parameter belongs to, built once per set of parameters."""

    def __init__(self, names: Sequence[str | None], params: Sequence[Tensor]) -> None:
        keys: dict[str, int] = {}
        layer_of: list[int] = []
        for position, (name, param) in enumerate(zip(names, params, strict=True)):
            if param.dim() < 2:
                layer_of.append(-1)
                continue
            key = name.rpartition(".")[0] if name is not None else f"#{position}"
            layer_of.append(keys.setdefault(key, len(keys)))
        self.num_layers = len(keys)
        self.layer_of = layer_of
        self._gathers: dict[tuple[tuple[int, ...], torch.device], Gather | None] = {}

    def gather(self, order: Sequence[int], device: torch.device) -> Gather | None:
        """For per-parameter norms in `order`: which entries belong to a layer, to which one,
        which layers get none, and whether each layer has a single entry; None when no entry
        belongs to a layer.

        Cached, so a training step creates no new index tensors once the pattern repeats.
        """
        key = (tuple(order), device)
        if key not in self._gathers:
            keep = [k for k, i in enumerate(order) if self.layer_of[i] >= 0]
            target = [self.layer_of[order[k]] for k in keep]
            covered = set(target)
            missing = [layer not in covered for layer in range(self.num_layers)]
            self._gathers[key] = None
            if keep:
                self._gathers[key] = Gather(
                    keep=torch.tensor(keep, dtype=torch.long, device=device),
                    target=torch.tensor(target, dtype=torch.long, device=device),
                    missing=torch.tensor(missing, dtype=torch.bool, device=device)
                    if any(missing)
                    else None,
                    alone=tuple(keep) if len(covered) == len(target) else None,
                )
        return self._gathers[key]


def named_parameters(
    model_or_parameters: torch.nn.Module | Tensor | Iterable[Tensor],
) -> tuple[list[str | None], list[Tensor]]:
    """The parameters and, for a module, their names (None for a bare iterable).

    Frozen parameters are included: they have no gradient, so `read_gradients` skips them as
    `clip_grad_norm_` does, and a parameter unfrozen later is read without resolving again.
    """
    if isinstance(model_or_parameters, torch.nn.Module):
        pairs = list(model_or_parameters.named_parameters())
        return [n for n, _ in pairs], [p for _, p in pairs]
    if isinstance(model_or_parameters, Tensor):
        return [None], [model_or_parameters]
    params = list(model_or_parameters)
    return [None] * len(params), params


def _norms(tensors: list[Tensor], norm_type: float) -> list[Tensor]:
    """One norm per tensor, with the foreach kernel where the device has one."""
    try:
        return list(torch._foreach_norm(tensors, norm_type))
    except (RuntimeError, TypeError):
        return [torch.linalg.vector_norm(t, norm_type) for t in tensors]


@torch.no_grad()
def read_gradients(params: Sequence[Tensor], norm_type: float = 2.0) -> GradientReading | None:
    """The total and per-parameter gradient norms of `params`, or None when no parameter has a
    grad. Grouped by device and dtype in first-seen order, exactly as `clip_grad_norm_` does, so
    the total is the same number it would return."""
    groups: dict[tuple[torch.device, torch.dtype], list[int]] = {}
    for position, param in enumerate(params):
        grad = param.grad
        if grad is not None:
            groups.setdefault((grad.device, grad.dtype), []).append(position)
    if not groups:
        return None
    order: list[int] = []
    norms: list[Tensor] = []
    first_device = next(iter(groups))[0]
    for positions in groups.values():
        order.extend(positions)
        norms.extend(_norms([params[i].grad for i in positions], norm_type))  # type: ignore[misc]
    if len(groups) > 1:
        norms = [n.to(first_device) for n in norms]
    stacked = torch.stack(norms)
    total = torch.linalg.vector_norm(stacked, norm_type)
    return GradientReading(total=total, norms=stacked, order=tuple(order))


def layer_norms(
    norms: Tensor, order: Sequence[int], index: LayerIndex, norm_type: float = 2.0
) -> Tensor | None:
    """Per-layer norms from per-parameter norms [steps, k] (columns in `order`): [steps, layers],
    NaN for a layer without a grad; None when no parameter belongs to a layer."""
    gather = index.gather(order, norms.device)
    if gather is None:
        return None
    keep, target, missing, _ = gather
    values = norms.index_select(1, keep).double()  # a new tensor: the ops below may work in place
    steps, size = norms.size(0), index.num_layers
    out = torch.zeros(steps, size, dtype=torch.float64, device=norms.device)
    if norm_type == float("inf"):
        expanded = target.expand(steps, -1)
        out = out.scatter_reduce(1, expanded, values, reduce="amax", include_self=False)
    else:
        out = out.index_add_(1, target, values.pow_(norm_type)).pow_(1.0 / norm_type)
    return out if missing is None else out.masked_fill_(missing, float("nan"))


@torch.no_grad()
def total_norm(tensors: Sequence[Tensor]) -> Tensor:
    """The 2-norm of `tensors` viewed as one vector (0-dim tensor on the first one's device)."""
    if not tensors:
        return torch.zeros(())
    norms = _norms(list(tensors), 2.0)  # no graph is recorded under no_grad
    device = norms[0].device
    if any(n.device != device for n in norms):
        norms = [n.to(device) for n in norms]
    return torch.linalg.vector_norm(torch.stack(norms))
