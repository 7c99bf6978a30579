"""The parameters of the causal-discovery objective, validated before a trial trains.

Every parameter has a default, so a study file names only what it fixes or searches; a misspelled
name is an error naming the field (extra="forbid").
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

TRUTH_METRICS = ("shd", "f1", "tpr", "fdr", "predicted_edges")
METRICS = (*TRUTH_METRICS, "loss")


class CausalParams(BaseModel):
    """Every parameter of `objective: causal_dag`: data, model, loss, optimiser, evaluation."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    # data
    dataset: str = "synthetic"
    """`sachs` (853 observational rows), `sachs_full` (7,466 rows), `synthetic`, or `csv:PATH`."""
    data_root: str | None = None
    """Directory for relative csv/truth paths, or holding `sachs_cyto_full.csv` for sachs."""
    truth: str | None = None
    """Edge list (`source,target` per line) of the true graph for `csv:PATH` data."""
    graph: Literal["er", "sf"] = "er"
    d: int = Field(default=20, ge=2, le=500)
    edges_per_node: float = Field(default=2.0, gt=0)
    sem: Literal["linear_gaussian", "linear_nongaussian", "mlp"] = "linear_gaussian"
    n: int = Field(default=1000, ge=2)
    seed: int = 0
    scaling: Literal["none", "standardize", "robust"] = "none"

    # model
    model: Literal["linear", "mlp"] = "linear"
    hidden_channels: int = Field(default=10, ge=1)
    num_layers: int = Field(default=2, ge=2, le=6)
    """Layers of each variable's MLP in the nonlinear model (2 = NOTEARS-MLP's d -> m -> 1)."""

    # loss
    acyclicity: Literal["notears", "poly"] = "notears"
    lambda_recon: float = Field(default=1.0, ge=0)
    lambda_sparse: float = Field(default=1.0, ge=0)
    lambda_acyclic: float = Field(default=0.0, ge=0)
    lambda_disen: float = Field(default=0.0, ge=0)
    augmented_lagrangian: bool = True
    rho_init: float = Field(default=1.0, gt=0)
    rho_growth: float = Field(default=10.0, ge=1)
    rho_max: float = Field(default=1e6, gt=0)
    al_interval: int = Field(default=20, ge=1)
    """Epochs per augmented-Lagrangian phase (dual update and rho growth at its end)."""
    h_tol: float = Field(default=1e-8, ge=0)

    # optimiser and schedule
    lr: float = Field(default=1e-2, gt=0)
    weight_decay: float = Field(default=0.0, ge=0)
    clip_norm: float | None = Field(default=None, ge=0)
    lr_factor: float = Field(default=0.5, gt=0, lt=1)
    lr_patience: int = Field(default=3, ge=0)
    lr_cooldown: int = Field(default=1, ge=0)
    epochs: int = Field(default=300, ge=1)
    batch_size: int | None = Field(default=100, ge=1)
    """Rows per step (an epoch is one pass over the rows); None trains full-batch."""

    # evaluation
    eval_every: int = Field(default=10, ge=1)
    w_threshold: float = Field(default=0.3, ge=0)
    #: Epochs between trial checkpoints (None: every evaluation, `eval_every`).
    checkpoint_every: int | None = Field(default=None, ge=1)

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, value: str) -> str:
        if value in ("sachs", "sachs_full", "synthetic"):
            return value
        if value.startswith("csv:") and len(value) > 4:
            return value
        raise ValueError(f"must be sachs, sachs_full, synthetic or csv:PATH (got {value!r})")
