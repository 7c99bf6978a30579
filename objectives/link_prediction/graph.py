"""The training graph in the form PyG layers propagate through fastest on a fixed graph.

OGB's ddi example propagates through a sparse adjacency (`adj_t`) rather than `edge_index`:
message passing over `edge_index` materialises one message per edge and layer (on ogbl-ddi,
2.1 M edges x 256 channels, about 2 GB per layer, mostly page faults), where a sparse-dense
product reads the adjacency in place. GCNConv and SAGEConv give the same result either way.
"""

from __future__ import annotations

import warnings

from torch import Tensor
from torch_geometric.utils import to_torch_csr_tensor

# PyG builds CSR tensors of its own for GCN normalisation; torch's notices about them (beta
# support, invariant checks off) are noise to a user of a sweep.
warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly disabled")


def propagation_graph(edge_index: Tensor, num_nodes: int) -> Tensor:
    """`edge_index` [2, E] (source, target) as a sparse CSR `adj_t` whose rows are the targets,
    on the same device, for `conv(x, adj_t)`."""
    return to_torch_csr_tensor(edge_index.flip(0), size=(num_nodes, num_nodes))
