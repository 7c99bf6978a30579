"""The trainer's fast path gives the plain path's results: the GCN layer whose backward reuses a
cached transpose, and the decoder's loss backpropagated in chunks."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch_geometric.nn import GCNConv

from objectives.link_prediction.datasets import synthetic_graph
from objectives.link_prediction.graph import (
    TransposeCachedGCNConv,
    csr_transpose,
    propagation_graph,
)
from objectives.link_prediction.model import build_model
from objectives.link_prediction.params import LinkPredictionParams
from objectives.link_prediction.train import decode_backward


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def _directed(num_nodes: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(1)
    edges = torch.randint(num_nodes, (2, 400), generator=generator)
    return torch.unique(edges[:, edges[0] != edges[1]], dim=1)


@pytest.mark.parametrize("undirected", [True, False])
def test_the_cached_transpose_gcn_gives_gcnconvs_outputs_and_gradients(undirected):
    num_nodes = 90
    edge_index = synthetic_graph(num_nodes, 3, 5.0, seed=0) if undirected else _directed(90)
    graph = propagation_graph(edge_index, num_nodes)
    results = []
    for layer in (GCNConv(16, 16, cached=True), TransposeCachedGCNConv(16, 16)):
        torch.manual_seed(0)
        layer.reset_parameters()
        x = torch.randn(num_nodes, 16, requires_grad=True)
        for _ in range(2):  # the second step runs on the cached adjacency (and transpose)
            x.grad = None
            layer.zero_grad()
            out = layer(x, graph)
            out.square().sum().backward()
        results.append((out.detach(), x.grad, layer.lin.weight.grad))
    for plain, fast in zip(*results, strict=True):
        torch.testing.assert_close(fast, plain)


def test_a_symmetric_adjacency_is_its_own_transpose_and_others_are_transposed():
    symmetric = propagation_graph(synthetic_graph(60, 3, 5.0, seed=0), 60)
    assert csr_transpose(symmetric) is symmetric
    directed = propagation_graph(_directed(60), 60)
    transposed = csr_transpose(directed)
    assert transposed.layout == torch.sparse_csr
    torch.testing.assert_close(transposed.to_dense(), directed.to_dense().t())


def test_chunked_decoding_gives_the_whole_batchs_loss_and_gradients():
    params = LinkPredictionParams(hidden_channels=32, dropout=0.0, decoder="mlp")
    model = build_model(params, 80, None)
    h = torch.randn(80, 32)
    pos = torch.randint(80, (2, 300))
    neg = torch.randint(80, (2, 250))

    model.zero_grad()
    leaf = h.clone().requires_grad_()
    pos_out, neg_out = model.decode(leaf, pos), model.decode(leaf, neg)
    loss = F.binary_cross_entropy_with_logits(pos_out, torch.ones_like(pos_out))
    loss = loss + F.binary_cross_entropy_with_logits(neg_out, torch.zeros_like(neg_out))
    loss.backward()
    whole = [p.grad.clone() for p in model.decoder.parameters()]

    model.zero_grad()
    grad_h, chunked_loss, chunk_pos, chunk_neg = decode_backward(model, h.clone(), pos, neg, 64)
    torch.testing.assert_close(chunked_loss, loss.detach())
    torch.testing.assert_close(grad_h, leaf.grad)
    torch.testing.assert_close(chunk_pos, pos_out.detach())
    torch.testing.assert_close(chunk_neg, neg_out.detach())
    for mine, reference in zip(model.decoder.parameters(), whole, strict=True):
        torch.testing.assert_close(mine.grad, reference)
