"""Every parameter of the link-prediction objective, with its default and its valid range.

Defaults follow the OGB ddi example (`examples/linkproppred/ddi/gnn.py`: 2-layer GCN, hidden 256,
dropout 0.5, MLP predictor on h_i * h_j, batch 65,536 edges, Adam lr 0.005, clip 1.0, evaluate
every 5 epochs) except where the synthetic default would be slow on a CPU (`epochs`).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

_DATASET = re.compile(r"^(synthetic|planetoid:(Cora|CiteSeer|PubMed)|ogbl-[a-z0-9]+|edge_list:.+)$")


class LinkPredictionParams(BaseModel):
    """The resolved parameters of one link-prediction trial (fixed params plus sampled ones).

    `num_nodes`, `num_communities` and `avg_degree` size the synthetic graph; `val_ratio`,
    `test_ratio` and `neg_sampling_ratio` (fixed negatives per valid/test positive) split every
    dataset but OGB's. `residual` scales the residual connections (0: none; the write-up used
    0.3). `clip_norm` None or 0 turns clipping off. `patience` counts epochs without a better
    validation value (checked on evaluation epochs); None trains all `epochs`. `amp` applies on
    CUDA only.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    # Data.
    dataset: str = "synthetic"
    data_root: str = "data"
    seed: int = 0
    num_nodes: int = Field(default=1000, ge=20, le=1_000_000)
    num_communities: int = Field(default=20, ge=1)
    avg_degree: float = Field(default=8.0, gt=0)
    val_ratio: float = Field(default=0.1, gt=0, lt=0.5)
    test_ratio: float = Field(default=0.1, gt=0, lt=0.5)
    neg_sampling_ratio: float = Field(default=3.0, gt=0)
    num_mrr_negatives: int = Field(default=100, ge=1)

    # Model.
    node_input: Literal["auto", "embedding", "features"] = "auto"
    conv: Literal["gcn", "sage"] = "gcn"
    num_layers: int = Field(default=2, ge=1, le=4)
    hidden_channels: int = Field(default=256, ge=1, le=4096)
    dropout: float = Field(default=0.5, ge=0.0, lt=1.0)
    norm: Literal["none", "batch_norm", "layer_norm", "graph_norm"] = "none"
    residual: float = Field(default=0.0, ge=0.0)
    act: Literal["relu", "leaky_relu", "elu", "gelu", "tanh"] = "relu"
    decoder: Literal["mlp", "dot"] = "mlp"
    decoder_layers: int = Field(default=2, ge=1, le=4)

    # Loss.
    hard_negative_ratio: float = Field(default=0.0, ge=0.0, le=1.0)
    diversity_weight: float = Field(default=0.0, ge=0.0)

    # Optimisation.
    lr: float = Field(default=0.005, gt=0.0)
    weight_decay: float = Field(default=0.0, ge=0.0)
    clip_norm: float | None = Field(default=1.0, ge=0.0)
    scheduler: Literal["none", "plateau", "cosine"] = "none"
    epochs: int = Field(default=100, ge=1)
    batch_size: int = Field(default=65_536, ge=1)
    eval_every: int = Field(default=5, ge=1)
    patience: int | None = Field(default=None, ge=1)
    amp: bool = False
    #: Epochs between trial checkpoints (None: every evaluation, `eval_every`); a killed
    #: trial's retry re-trains at most this many epochs.
    checkpoint_every: int | None = Field(default=None, ge=1)

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, value: str) -> str:
        if not _DATASET.match(value):
            raise ValueError(
                "must be synthetic, planetoid:Cora|CiteSeer|PubMed, ogbl-<name> or "
                f"edge_list:PATH (got {value!r})"
            )
        return value
