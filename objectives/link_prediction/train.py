"""The training loop, written the way OGB's ddi example is: a full-graph encoder for every
mini-batch of positive edges, one fresh negative per positive, evaluate every few epochs.

The sweep's health monitor sees every step (gradient norm through `clip_gradients`, the update
ratio through `step`, the loss and its weighted parts) and, once per epoch, the node embeddings
and the positive/negative score gap.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import DataLoader

from objectives.link_prediction.datasets import EvalEdges, LinkSplit
from objectives.link_prediction.evaluate import hits_at_k, mrr, ogb_score, parse_metric
from objectives.link_prediction.graph import propagation_graph
from objectives.link_prediction.model import LinkModel
from objectives.link_prediction.negatives import NegativeSampler
from objectives.link_prediction.params import LinkPredictionParams
from objectives.rng import rng_state, set_rng_state

if TYPE_CHECKING:
    from sweeper.api import TrialContext


@dataclass
class TrainResult:
    """What a finished (or early-stopped) run reports: best validation value, test value at the
    best validation epoch, that epoch, and how many epochs ran."""

    best_valid: float
    test_at_best: float
    best_epoch: int
    epochs_run: int


def diversity_loss(h: Tensor, max_rows: int = 1024) -> Tensor:
    """Mean cosine similarity between distinct node embeddings (a sample of at most `max_rows`):
    high when embeddings collapse onto one direction."""
    if h.size(0) > max_rows:
        h = h[torch.randperm(h.size(0), device=h.device)[:max_rows]]
    z = F.normalize(h.float(), dim=-1)
    sim = z @ z.t()
    n = z.size(0)
    return (sim.sum() - sim.diagonal().sum()) / max(n * (n - 1), 1)


def train_epoch(
    model: LinkModel,
    split: LinkSplit,
    optimizer: torch.optim.Optimizer,
    params: LinkPredictionParams,
    ctx: TrialContext,
    *,
    scaler: torch.amp.GradScaler | None = None,
    negatives: NegativeSampler | None = None,
    graph: Tensor | None = None,
) -> None:
    """One pass over the training positives in mini-batches, feeding the health monitor (which
    keeps the loss on the device: no per-step synchronisation here either). The encoder reads
    `graph` and negatives come from `negatives` (defaults: built from the split; `run` builds
    both once per trial)."""
    model.train()
    x, edge_index, train_pos = split.x, split.edge_index, split.train_pos
    if graph is None:
        graph = propagation_graph(edge_index, split.num_nodes)
    if negatives is None:
        negatives = NegativeSampler(edge_index, split.num_nodes, graph)
    device_type = edge_index.device.type
    chunk = decode_chunk(model.encoder.hidden_channels)
    # PyG's idiom: a range is a map-style dataset of edge indices (torch types it as Dataset).
    edge_ids = range(train_pos.size(1))
    for perm in DataLoader(edge_ids, params.batch_size, shuffle=True):  # type: ignore[arg-type]
        optimizer.zero_grad()
        with torch.autocast(device_type, enabled=scaler is not None):
            h = model.encode(x, graph)
        pos_edge = train_pos[:, perm.to(train_pos.device)]
        neg_edge = negatives.for_positives(pos_edge, params.hard_negative_ratio)
        grad_h, bce, pos_out, neg_out = decode_backward(
            model, h.detach(), pos_edge, neg_edge, chunk, scaler
        )
        outputs: list[Tensor] = [h]
        grads: list[Tensor | None] = [grad_h]
        components = {"bce": bce}
        loss = bce
        if params.diversity_weight > 0:
            with torch.autocast(device_type, enabled=scaler is not None):
                diversity = params.diversity_weight * diversity_loss(h)
            outputs.append(scaler.scale(diversity) if scaler is not None else diversity)
            grads.append(None)
            components["diversity"] = diversity.detach()
            loss = loss + components["diversity"]
        torch.autograd.backward(outputs, grads)
        if scaler is not None:
            scaler.unscale_(optimizer)
        ctx.monitor.clip_gradients(model, params.clip_norm)
        ctx.monitor.step(optimizer, scaler)
        ctx.monitor.observe_loss(loss, components)
    ctx.monitor.observe_embeddings(h.detach())
    ctx.monitor.observe_scores(torch.sigmoid(pos_out), torch.sigmoid(neg_out))


#: How many activations (pairs x channels) the decoder computes at once: 2**22 floats are 16 MB,
#: a block glibc's malloc serves from its heap and reuses, where a whole batch's (on ogbl-ddi
#: 65,536 pairs x 256 channels, 67 MB, each of a dozen per step) is mapped afresh and faulted in
#: page by page on every step: most of an epoch's kernel time, and most of its peak memory.
DECODE_CHUNK_ELEMENTS = 2**22


def decode_chunk(channels: int) -> int:
    """Pairs per decoder pass for embeddings `channels` wide (at least 1,024)."""
    return max(1024, DECODE_CHUNK_ELEMENTS // max(channels, 1))


def decode_backward(
    model: LinkModel,
    h: Tensor,
    pos_edge: Tensor,
    neg_edge: Tensor,
    chunk: int,
    scaler: torch.amp.GradScaler | None = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The binary cross-entropy of the positives' and negatives' logits (the mean of each, summed)
    backpropagated through the decoder `chunk` pairs at a time, so no batch-sized activation is
    ever held: the decoder's gradients accumulate in its parameters, the embeddings' in the
    returned `grad_h` (scaled as the loss is, with a `scaler`), which the caller passes on to
    the encoder. Returns (grad_h, the detached loss, positive logits, negative logits); the
    gradients equal one pass over the whole batch's, up to summation order."""
    leaf = h.requires_grad_()
    total = h.new_zeros((), dtype=torch.float)
    logits: list[list[Tensor]] = [[], []]
    for side, (edges, target) in enumerate(((pos_edge, 1.0), (neg_edge, 0.0))):
        count = edges.size(1)
        for start in range(0, count, chunk):
            with torch.autocast(h.device.type, enabled=scaler is not None):
                out = model.decode(leaf, edges[:, start : start + chunk])
                part = F.binary_cross_entropy_with_logits(
                    out, torch.full_like(out, target), reduction="sum"
                ) / count
            (scaler.scale(part) if scaler is not None else part).backward()
            total += part.detach().float()
            logits[side].append(out.detach())
    grad_h = leaf.grad if leaf.grad is not None else torch.zeros_like(h)
    pos_out, neg_out = (torch.cat(parts) if parts else h.new_zeros(0) for parts in logits)
    return grad_h, total, pos_out, neg_out


@torch.no_grad()
def score_edges(model: LinkModel, h: Tensor, edges: Tensor, batch_size: int) -> Tensor:
    """Logits for `edges` [2, E], computed in batches of `batch_size` pairs (at most
    `decode_chunk` of them, as in training: smaller blocks, reused)."""
    batch_size = min(batch_size, decode_chunk(h.size(-1)))
    out = [
        model.decode(h, edges[:, i : i + batch_size]) for i in range(0, edges.size(1), batch_size)
    ]
    return torch.cat(out).float() if out else edges.new_zeros(0, dtype=torch.float)


@torch.no_grad()
def evaluate_split(
    model: LinkModel,
    h: Tensor,
    edges: EvalEdges,
    metric: str,
    batch_size: int,
    ogb_name: str | None,
) -> float:
    """The value of `metric` (hits@K or mrr) on one evaluation part, with OGB's rules."""
    kind, k = parse_metric(metric)
    pos = score_edges(model, h, edges.pos, batch_size)
    if kind == "hits":
        neg = score_edges(model, h, edges.neg, batch_size)
    else:
        neg_per_pos = edges.neg_per_pos
        assert neg_per_pos is not None  # an mrr study's splits carry them (objective.py)
        src = edges.pos[0].view(-1, 1).expand_as(neg_per_pos)
        pairs = torch.stack([src.reshape(-1), neg_per_pos.reshape(-1)])
        neg = score_edges(model, h, pairs, batch_size).view_as(neg_per_pos)
    if ogb_name is not None:
        official = ogb_score(ogb_name, metric, pos.cpu(), neg.cpu())
        if official is not None:
            return official
    return hits_at_k(pos, neg, k) if k is not None else mrr(pos, neg)  # only hits@K has a K


@torch.no_grad()
def test(
    model: LinkModel,
    split: LinkSplit,
    metric: str,
    batch_size: int,
    graph: Tensor | None = None,
) -> tuple[float, float]:
    """(valid, test) values of `metric`, scoring with the full training graph as OGB does
    (`graph` as in `train_epoch`)."""
    model.eval()
    if graph is None:
        graph = propagation_graph(split.edge_index, split.num_nodes)
    h = model.encode(split.x, graph)
    valid = evaluate_split(model, h, split.valid, metric, batch_size, split.ogb_name)
    test_value = evaluate_split(model, h, split.test, metric, batch_size, split.ogb_name)
    return valid, test_value


def make_scheduler(
    optimizer: torch.optim.Optimizer, params: LinkPredictionParams
) -> torch.optim.lr_scheduler.LRScheduler | torch.optim.lr_scheduler.ReduceLROnPlateau | None:
    """ReduceLROnPlateau on the validation metric, cosine annealing over the epochs, or none."""
    if params.scheduler == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="max", factor=0.5, patience=2
        )
    if params.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=params.epochs)
    return None


def run(
    model: LinkModel,
    split: LinkSplit,
    params: LinkPredictionParams,
    ctx: TrialContext,
    device: torch.device,
) -> TrainResult:
    """Train `model` on `split` for up to `params.epochs` epochs, evaluating every
    `params.eval_every` epochs, reporting to the sweep and stopping early after `patience`."""
    optimizer = torch.optim.Adam(model.parameters(), lr=params.lr, weight_decay=params.weight_decay)
    scheduler = make_scheduler(optimizer, params)
    use_amp = params.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler(device.type) if use_amp else None
    graph = propagation_graph(split.edge_index, split.num_nodes)
    negatives = NegativeSampler(split.edge_index, split.num_nodes, graph)
    best = TrainResult(
        best_valid=float("-inf"), test_at_best=float("nan"), best_epoch=0, epochs_run=0
    )
    every = params.checkpoint_every or params.eval_every

    def save(epoch: int) -> None:
        """A checkpoint at the end of `epoch` when one is due or a stop is pending."""
        if epoch % every == 0 or ctx.stop_pending:
            ctx.checkpoint(
                {
                    "epoch": epoch,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": None if scheduler is None else scheduler.state_dict(),
                    "scaler": None if scaler is None else scaler.state_dict(),
                    "best": asdict(best),
                    "rng": rng_state(),
                }
            )

    start = 1
    state = ctx.restore()
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if scheduler is not None and state["scheduler"] is not None:
            scheduler.load_state_dict(state["scheduler"])
        if scaler is not None and state["scaler"] is not None:
            scaler.load_state_dict(state["scaler"])
        best = TrainResult(**state["best"])
        set_rng_state(state["rng"])
        start = int(state["epoch"]) + 1
    for epoch in range(start, params.epochs + 1):
        train_epoch(
            model,
            split,
            optimizer,
            params,
            ctx,
            scaler=scaler,
            negatives=negatives,
            graph=graph,
        )
        best.epochs_run = epoch
        if isinstance(scheduler, torch.optim.lr_scheduler.CosineAnnealingLR):
            scheduler.step()
        if epoch % params.eval_every != 0 and epoch != params.epochs:
            ctx.check_health(epoch)
            save(epoch)
            continue
        valid, test_value = test(model, split, ctx.metric, params.batch_size, graph)
        if valid > best.best_valid:
            best.best_valid, best.test_at_best, best.best_epoch = valid, test_value, epoch
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(valid)
        ctx.report(epoch, valid)
        if params.patience is not None and epoch - best.best_epoch >= params.patience:
            break
        if epoch != params.epochs:
            save(epoch)
    return best
