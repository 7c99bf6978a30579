"""The dataset loaders: the synthetic default, and the real OGB, Planetoid and edge-list loaders
reading tiny datasets written in their on-disk formats (offline)."""

from __future__ import annotations

import socket
import sys
import time

import pytest
import torch

from objectives.link_prediction.datasets import (
    NETWORK_PROBE_S,
    OFFLINE_ENV,
    load_dataset,
    require_network,
    synthetic_graph,
)
from sweeper.errors import SweeperError
from tests.objectives_tests.link_prediction_files import write_tiny_planetoid
from tests.real_data import DDI_NODES, DDI_TEST, DDI_TRAIN_EDGES, DDI_VALID, copy_ogbl_ddi


def _pairs(edges: torch.Tensor) -> set[tuple[int, int]]:
    return {(min(u, v), max(u, v)) for u, v in edges.t().tolist()}


def test_synthetic_graph_is_the_same_for_a_seed_and_differs_across_seeds():
    first = synthetic_graph(300, 5, 6.0, seed=3)
    assert torch.equal(first, synthetic_graph(300, 5, 6.0, seed=3))
    assert not torch.equal(first, synthetic_graph(300, 5, 6.0, seed=4))


def test_synthetic_split_keeps_valid_and_test_edges_out_of_the_training_graph():
    split = load_dataset("synthetic", num_nodes=400, seed=1)
    train_graph = _pairs(split.edge_index)
    assert _pairs(split.train_pos) <= train_graph
    assert not _pairs(split.valid.pos) & train_graph
    assert not _pairs(split.test.pos) & train_graph
    assert not _pairs(split.valid.neg) & (train_graph | _pairs(split.valid.pos))
    assert split.valid.neg.size(1) == 3 * split.valid.pos.size(1) > 150
    assert split.x is None


def test_synthetic_graph_has_hubs():
    edge_index = synthetic_graph(1000, 10, 8.0, seed=0)
    degree = torch.bincount(edge_index[0], minlength=1000).float()
    assert degree.max() > 5 * degree.mean()


def test_the_real_ogbl_ddi_loads_through_the_ogb_package_with_the_official_split(tmp_path):
    """OGB's released split files pickle numpy arrays (numpy 1's module names); they load under
    torch's weights-only unpickler with only numpy's array globals allowed."""
    split = load_dataset("ogbl-ddi", data_root=str(copy_ogbl_ddi(tmp_path)))
    assert split.ogb_name == "ogbl-ddi"
    assert split.num_nodes == DDI_NODES
    assert split.train_pos.shape == (2, DDI_TRAIN_EDGES)
    assert (split.valid.pos.size(1), split.valid.neg.size(1)) == DDI_VALID
    assert (split.test.pos.size(1), split.test.neg.size(1)) == DDI_TEST
    assert split.edge_index.size(1) == 2 * DDI_TRAIN_EDGES  # both directions, as OGB's example
    assert _pairs(split.train_pos[:, :1000]) <= _pairs(split.edge_index)
    assert (tmp_path / "ogbl_ddi" / "processed" / "geometric_data_processed.pt").is_file()
    again = load_dataset("ogbl-ddi", data_root=str(tmp_path))  # from processed/ this time
    assert torch.equal(again.valid.neg, split.valid.neg)


def test_ogb_dataset_without_the_ogb_package_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ogb.linkproppred", None)
    with pytest.raises(SweeperError, match=r"gnn-sweeper\[ogb\]"):
        load_dataset("ogbl-ddi", data_root=str(tmp_path))


def test_ogb_folder_from_another_release_is_refused_instead_of_prompting(tmp_path):
    copy_ogbl_ddi(tmp_path)
    (tmp_path / "ogbl_ddi" / "RELEASE_v1.txt").unlink()
    with pytest.raises(SweeperError, match="RELEASE_v1.txt"):
        load_dataset("ogbl-ddi", data_root=str(tmp_path))


def test_tiny_planetoid_raw_files_load_through_pyg_and_split_by_seed(tmp_path):
    num_edges = write_tiny_planetoid(tmp_path / "planetoid", "Cora")
    split = load_dataset("planetoid:Cora", data_root=str(tmp_path), seed=0)
    assert split.num_nodes == 560
    assert split.x.shape == (560, 16)
    total = split.train_pos.size(1) + split.valid.pos.size(1) + split.test.pos.size(1)
    assert total == num_edges
    again = load_dataset("planetoid:Cora", data_root=str(tmp_path), seed=0)
    assert torch.equal(split.valid.pos, again.valid.pos)
    other = load_dataset("planetoid:Cora", data_root=str(tmp_path), seed=1)
    assert not torch.equal(split.valid.pos, other.valid.pos)


def test_planetoid_files_in_pygs_own_layout_load_without_a_planetoid_folder(tmp_path):
    num_edges = write_tiny_planetoid(tmp_path, "Cora")  # tmp/Cora/raw, as Planetoid(root) does
    split = load_dataset("planetoid:Cora", data_root=str(tmp_path), seed=0)
    total = split.train_pos.size(1) + split.valid.pos.size(1) + split.test.pos.size(1)
    assert total == num_edges
    assert not (tmp_path / "planetoid").exists(), "nothing downloaded or copied"


def test_a_missing_planetoid_dataset_offline_names_both_folders(tmp_path, monkeypatch):
    monkeypatch.setenv(OFFLINE_ENV, "1")
    with pytest.raises(SweeperError) as raised:
        load_dataset("planetoid:PubMed", data_root=str(tmp_path))
    assert str(raised.value) == (
        f"dataset: planetoid:PubMed is not in {tmp_path}/PubMed/raw or "
        f"{tmp_path}/planetoid/PubMed/raw (not downloaded: $SWEEPER_OFFLINE is set)"
    )


def test_a_download_server_that_does_not_answer_is_given_up_within_the_probe_time():
    # A real server whose accept queue is full: the kernel drops further connection attempts
    # unanswered, as a firewalled network does.
    with socket.socket() as server, socket.socket() as first:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = server.getsockname()[1]
        first.connect(("127.0.0.1", port))  # fills the queue; never accepted
        start = time.monotonic()
        with pytest.raises(SweeperError, match=r"cannot be reached to download it \(offline\?\)$"):
            require_network("127.0.0.1", "dataset: x is not in data/x", port=port)
        seconds = time.monotonic() - start
    assert NETWORK_PROBE_S - 1 <= seconds < NETWORK_PROBE_S + 2


@pytest.mark.parametrize("delimiter, header", [(",", "source,target\n"), ("\t", "")])
def test_edge_list_csv_or_tsv_loads_with_string_ids(tmp_path, delimiter, header):
    path = tmp_path / "edges.txt"
    rows = [f"n{i}{delimiter}n{(i * 7 + 1) % 60}" for i in range(60)]
    rows += [f"n{i}{delimiter}n{(i * 3 + 2) % 60}" for i in range(60)]
    path.write_text(header + "\n".join(rows) + "\n")
    split = load_dataset(f"edge_list:{path}", seed=0)
    assert split.num_nodes == 60
    total = split.train_pos.size(1) + split.valid.pos.size(1) + split.test.pos.size(1)
    assert total == len(_pairs(split.edge_index) | _pairs(split.valid.pos) | _pairs(split.test.pos))


def test_missing_edge_list_is_a_one_line_error(tmp_path):
    with pytest.raises(SweeperError, match="does not exist"):
        load_dataset(f"edge_list:{tmp_path / 'nope.csv'}")


def test_split_negatives_do_not_depend_on_the_state_of_pythons_random():
    import random

    random.seed(1)
    first = load_dataset("synthetic", num_nodes=300, seed=5)
    random.seed(2)
    second = load_dataset("synthetic", num_nodes=300, seed=5)
    assert torch.equal(first.valid.neg, second.valid.neg)
    assert torch.equal(first.test.neg, second.test.neg)
