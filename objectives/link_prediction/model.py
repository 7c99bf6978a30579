"""The link-prediction model: a GCN or GraphSAGE encoder over the training graph and a decoder
that scores node pairs (the OGB ddi MLP predictor on h_i * h_j, or a dot product).

Built from PyG layers only. Scores are logits; the loss applies the sigmoid.
"""

from __future__ import annotations

from typing import cast

import torch
from torch import Tensor
from torch.nn import Embedding, Identity, Linear, ModuleList
from torch_geometric.nn import SAGEConv
from torch_geometric.nn.norm import BatchNorm, GraphNorm, LayerNorm
from torch_geometric.nn.resolver import activation_resolver

from objectives.link_prediction.graph import TransposeCachedGCNConv
from objectives.link_prediction.params import LinkPredictionParams


def make_norm(norm: str, channels: int) -> torch.nn.Module:
    """The normalisation layer named `norm`: none, batch_norm, layer_norm (per node, as
    torch.nn.LayerNorm) or graph_norm (PyG GraphNorm, normalising over the graph)."""
    if norm == "none":
        return Identity()
    if norm == "batch_norm":
        return BatchNorm(channels)
    if norm == "layer_norm":
        return LayerNorm(channels, mode="node")
    if norm == "graph_norm":
        return GraphNorm(channels)
    raise ValueError(f"norm must be none, batch_norm, layer_norm or graph_norm but got {norm=}.")


def make_conv(conv: str, channels: int) -> torch.nn.Module:
    """A GCN layer (its normalised adjacency cached: the training graph never changes, as in the
    OGB example; see `TransposeCachedGCNConv`) or a GraphSAGE layer, `channels` wide."""
    if conv == "gcn":
        return TransposeCachedGCNConv(channels, channels)
    return SAGEConv(channels, channels)


class Encoder(torch.nn.Module):
    """Node input (a learnable embedding, or features through a linear layer) followed by
    `num_layers` GCN/SAGE layers with norm, activation and dropout between them, and residual
    connections scaled by `residual` (0 turns them off)."""

    def __init__(
        self,
        num_nodes: int,
        in_channels: int | None,
        hidden_channels: int,
        num_layers: int,
        *,
        conv: str = "gcn",
        dropout: float = 0.5,
        norm: str = "none",
        residual: float = 0.0,
        act: str = "relu",
    ) -> None:
        super().__init__()
        if conv not in ("gcn", "sage"):
            raise ValueError(f"conv must be gcn or sage but got {conv=}.")
        self.conv, self.norm_name = conv, norm
        self.hidden_channels, self.num_layers = hidden_channels, num_layers
        self.dropout, self.residual = dropout, residual
        self.emb = Embedding(num_nodes, hidden_channels) if in_channels is None else None
        self.lin = Linear(in_channels, hidden_channels) if in_channels is not None else None
        self.convs = ModuleList([make_conv(conv, hidden_channels) for _ in range(num_layers)])
        self.norms = ModuleList([make_norm(norm, hidden_channels) for _ in range(num_layers - 1)])
        self.act = activation_resolver(act)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-initialise every weight (the embedding with Xavier, as the OGB example does)."""
        if self.emb is not None:
            torch.nn.init.xavier_uniform_(self.emb.weight)
        if self.lin is not None:
            self.lin.reset_parameters()
        for module in [*self.convs, *self.norms]:
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()

    def forward(self, x: Tensor | None, graph: Tensor) -> Tensor:
        """Node embeddings [num_nodes, hidden_channels] of `graph`: an `edge_index` [2, E] or
        the sparse `adj_t` of `propagation_graph` (the same result, much faster)."""
        if self.emb is not None:
            h = self.emb.weight
        else:
            assert self.lin is not None  # no embedding: the features go through `lin`
            h = self.lin(x)
        for i, conv in enumerate(self.convs):
            out = _propagate(conv, h, graph)
            if i < self.num_layers - 1:
                out = self.norms[i](out)
                out = self.act(out)
                out = torch.nn.functional.dropout(out, p=self.dropout, training=self.training)
            h = out + self.residual * h if self.residual else out
        return h

    def __repr__(self) -> str:
        source = "embedding" if self.lin is None else f"linear({self.lin.in_features})"
        return (
            f"Encoder({self.conv}, {source}, num_layers={self.num_layers}, "
            f"hidden_channels={self.hidden_channels}, norm={self.norm_name}, "
            f"dropout={self.dropout}, residual={self.residual})"
        )


def _propagate(conv: torch.nn.Module, h: Tensor, graph: Tensor) -> Tensor:
    """`conv(h, graph)`; a sparse graph under autocast runs in float32, since sparse CSR
    products have no half-precision kernel on every device."""
    if graph.layout == torch.strided or not torch.is_autocast_enabled(h.device.type):
        return conv(h, graph)
    with torch.autocast(h.device.type, enabled=False):
        return conv(h.float(), graph)


class MLPDecoder(torch.nn.Module):
    """The OGB LinkPredictor: an MLP on h_i * h_j that returns one logit per pair."""

    def __init__(self, hidden_channels: int, num_layers: int = 2, dropout: float = 0.5) -> None:
        super().__init__()
        self.dropout = dropout
        sizes = [hidden_channels] * num_layers + [1]
        self.lins = ModuleList([Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)])

    def reset_parameters(self) -> None:
        """Re-initialise the linear layers."""
        for lin in self.lins:
            cast(Linear, lin).reset_parameters()

    def forward(self, h_i: Tensor, h_j: Tensor) -> Tensor:
        """Logits [E] for the pairs whose embeddings are `h_i` and `h_j`."""
        x = h_i * h_j
        for lin in self.lins[:-1]:
            x = torch.nn.functional.relu(lin(x))
            x = torch.nn.functional.dropout(x, p=self.dropout, training=self.training)
        return self.lins[-1](x).view(-1)

    def __repr__(self) -> str:
        return f"MLPDecoder(num_layers={len(self.lins)}, dropout={self.dropout})"


class DotDecoder(torch.nn.Module):
    """The dot product of the two embeddings as the logit."""

    def reset_parameters(self) -> None:
        """Nothing to reset (kept so every model part can be reset the same way)."""

    def forward(self, h_i: Tensor, h_j: Tensor) -> Tensor:
        """Logits [E] for the pairs whose embeddings are `h_i` and `h_j`."""
        return (h_i * h_j).sum(dim=-1)

    def __repr__(self) -> str:
        return "DotDecoder()"


Decoder = MLPDecoder | DotDecoder


class LinkModel(torch.nn.Module):
    """Encoder plus decoder, with `encode`/`decode` as in PyG's examples/link_pred.py."""

    def __init__(self, encoder: Encoder, decoder: Decoder) -> None:
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def reset_parameters(self) -> None:
        """Re-initialise encoder and decoder."""
        self.encoder.reset_parameters()
        self.decoder.reset_parameters()

    def encode(self, x: Tensor | None, graph: Tensor) -> Tensor:
        """Node embeddings of the training graph (`edge_index` or sparse `adj_t`)."""
        return self.encoder(x, graph)

    def decode(self, h: Tensor, edge_label_index: Tensor) -> Tensor:
        """Logits for the node pairs `edge_label_index` [2, E]. Rows are gathered with
        `index_select`, whose backward (`index_add_`) is about 3x faster on CPU than that of
        `h[index]` (an accumulating `index_put_` that sorts the indices first)."""
        src, dst = edge_label_index
        return self.decoder(h.index_select(0, src), h.index_select(0, dst))

    def __repr__(self) -> str:
        return f"LinkModel({self.encoder!r}, {self.decoder!r})"


def build_model(params: LinkPredictionParams, num_nodes: int, in_channels: int | None) -> LinkModel:
    """The model a LinkPredictionParams describes, for a graph of `num_nodes` nodes whose
    features have `in_channels` channels (None: learn an embedding per node)."""
    encoder = Encoder(
        num_nodes,
        in_channels,
        params.hidden_channels,
        params.num_layers,
        conv=params.conv,
        dropout=params.dropout,
        norm=params.norm,
        residual=params.residual,
        act=params.act,
    )
    decoder: Decoder
    if params.decoder == "mlp":
        decoder = MLPDecoder(params.hidden_channels, params.decoder_layers, params.dropout)
    else:
        decoder = DotDecoder()
    return LinkModel(encoder, decoder)
