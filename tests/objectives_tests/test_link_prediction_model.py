"""The encoder, decoders and hard negatives."""

from __future__ import annotations

import pytest
import torch

from objectives.link_prediction.datasets import synthetic_graph
from objectives.link_prediction.model import build_model
from objectives.link_prediction.negatives import NegativeSampler
from objectives.link_prediction.params import LinkPredictionParams


@pytest.fixture(autouse=True)
def _one_thread():
    torch.set_num_threads(1)


def _graph() -> torch.Tensor:
    return synthetic_graph(120, 4, 6.0, seed=0)


def test_model_repr_is_one_line_naming_its_settings():
    p = LinkPredictionParams(norm="layer_norm", dropout=0.2, residual=0.3, hidden_channels=32)
    text = repr(build_model(p, 50, None))
    assert "\n" not in text
    assert text == (
        "LinkModel(Encoder(gcn, embedding, num_layers=2, hidden_channels=32, norm=layer_norm, "
        "dropout=0.2, residual=0.3), MLPDecoder(num_layers=2, dropout=0.2))"
    )


@pytest.mark.parametrize("norm", ["none", "batch_norm", "layer_norm", "graph_norm"])
@pytest.mark.parametrize("conv", ["gcn", "sage"])
def test_every_norm_and_conv_gives_finite_embeddings_and_scores(norm, conv):
    p = LinkPredictionParams(conv=conv, norm=norm, num_layers=3, hidden_channels=16, residual=0.3)
    model = build_model(p, 120, None)
    edge_index = _graph()
    h = model.encode(None, edge_index)
    assert h.shape == (120, 16)
    assert torch.isfinite(model.decode(h, edge_index[:, :10])).all()


def test_node_features_go_through_a_linear_layer():
    p = LinkPredictionParams(hidden_channels=8, decoder="dot")
    model = build_model(p, 120, 5)
    assert "linear(5)" in repr(model)
    h = model.encode(torch.randn(120, 5), _graph())
    assert h.shape == (120, 8)


def test_reset_parameters_restores_a_fresh_model():
    p = LinkPredictionParams(hidden_channels=8, norm="batch_norm")
    torch.manual_seed(0)
    model = build_model(p, 120, None)
    torch.manual_seed(1)
    model.reset_parameters()
    first = [t.clone() for t in model.parameters()]
    with torch.no_grad():
        for t in model.parameters():
            t.add_(1.0)
    torch.manual_seed(1)
    model.reset_parameters()
    assert all(torch.equal(a, b) for a, b in zip(first, model.parameters(), strict=True))


def test_hard_negatives_are_two_hops_away_and_not_edges():
    edge_index = _graph()
    sampler = NegativeSampler(edge_index, 120)
    torch.manual_seed(0)
    neg = sampler.two_hop(edge_index[0], 200)
    adj = torch.zeros(120, 120, dtype=torch.bool)
    adj[edge_index[0], edge_index[1]] = True
    two_hops = (adj.float() @ adj.float()) > 0
    u, w = neg
    assert neg.size(1) == 200
    assert not adj[u, w].any()
    assert (u != w).all()
    assert two_hops[u, w].float().mean() > 0.95  # the rest only tops up a shortfall


def test_hard_negative_ratio_sets_the_share_of_hard_negatives():
    edge_index = _graph()
    pos = edge_index[:, :100]
    torch.manual_seed(0)
    neg = NegativeSampler(edge_index, 120).for_positives(pos, hard_ratio=0.3)
    assert neg.size(1) == 100
    adj = torch.zeros(120, 120)
    adj[edge_index[0], edge_index[1]] = 1.0
    two_hops = (adj @ adj) > 0
    assert two_hops[neg[0, 70:], neg[1, 70:]].all()


def test_uniform_negatives_are_distinct_non_edges_spread_over_all_pairs():
    edge_index = _graph()
    torch.manual_seed(0)
    neg = NegativeSampler(edge_index, 120).uniform(20_000)
    adj = torch.zeros(120, 120, dtype=torch.bool)
    adj[edge_index[0], edge_index[1]] = True
    u, w = neg
    assert neg.shape == (2, 20_000)
    assert not adj[u, w].any() and (u != w).all()
    # uniform over the allowed pairs: every node shows up as a source about equally often
    counts = torch.bincount(u, minlength=120).float()
    assert counts.min() > 0.6 * counts.mean() and counts.max() < 1.4 * counts.mean()
