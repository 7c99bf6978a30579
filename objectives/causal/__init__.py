"""Causal-discovery objective (`objective: causal_dag`): learn a DAG's weighted adjacency with a
linear or NOTEARS-MLP SEM and score it by SHD, F1, TPR and FDR against the true graph."""

from objectives.causal.objective import objective
from objectives.causal.params import CausalParams

__all__ = ["CausalParams", "objective"]
