"""Objectives: what a trial trains. Registered by name through the `gnn_sweeper.objectives`
entry-point group, or named `package.module:function`."""

from objectives.registry import registered_objectives, resolve_objective

__all__ = ["registered_objectives", "resolve_objective"]
