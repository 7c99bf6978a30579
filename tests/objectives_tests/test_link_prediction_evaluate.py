"""Hits@K and MRR follow OGB's definitions (checked against ogb's own Evaluator)."""

from __future__ import annotations

import pytest
import torch
from ogb.linkproppred import Evaluator

from objectives.link_prediction.evaluate import common_neighbours, hits_at_k, mrr, parse_metric
from sweeper.errors import SweeperError


def test_a_positive_tied_with_the_kth_negative_does_not_count():
    neg = torch.tensor([5.0, 4.0, 3.0, 2.0])
    pos = torch.tensor([4.0, 4.5, 1.0, 6.0])  # K=2: the 2nd highest negative is 4.0
    assert hits_at_k(pos, neg, 2) == pytest.approx(0.5)


def test_fewer_negatives_than_k_counts_every_positive_as_a_hit():
    assert hits_at_k(torch.tensor([0.0, -1.0]), torch.tensor([3.0]), 20) == 1.0


@pytest.mark.parametrize("k", [1, 20, 50])
def test_hits_matches_the_ogb_evaluator_including_ties(k):
    gen = torch.Generator().manual_seed(k)
    pos = torch.randint(0, 30, (500,), generator=gen).float()  # many ties on purpose
    neg = torch.randint(0, 40, (800,), generator=gen).float()
    evaluator = Evaluator(name="ogbl-ddi")
    evaluator.K = k
    expected = evaluator.eval({"y_pred_pos": pos, "y_pred_neg": neg})[f"hits@{k}"]
    assert hits_at_k(pos, neg, k) == pytest.approx(expected)


def test_mrr_matches_the_ogb_evaluator_with_ties():
    gen = torch.Generator().manual_seed(0)
    pos = torch.randint(0, 10, (200,), generator=gen).float()
    neg = torch.randint(0, 10, (200, 30), generator=gen).float()
    expected = Evaluator(name="ogbl-citation2").eval({"y_pred_pos": pos, "y_pred_neg": neg})
    assert mrr(pos, neg) == pytest.approx(float(expected["mrr_list"].mean()))


def test_metric_names_parse_into_kind_and_k():
    assert parse_metric("hits@20") == ("hits", 20)
    assert parse_metric("mrr") == ("mrr", None)
    with pytest.raises(SweeperError, match="hits@K or mrr"):
        parse_metric("auc")


def test_common_neighbours_counts_shared_neighbours_once():
    # 0-1, 0-2, 1-2, 2-3, 1-3 (and a duplicated 0-1): 0 and 3 share 1 and 2.
    edges = torch.tensor([[0, 0, 1, 2, 1, 0], [1, 2, 2, 3, 3, 1]])
    edge_index = torch.cat([edges, edges.flip(0)], dim=1)
    counts = common_neighbours(edge_index, 4, torch.tensor([[0, 0], [3, 1]]))
    assert counts.tolist() == [2.0, 1.0]
