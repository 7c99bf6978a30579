"""Objectives: what a trial trains. Registered by name through the `gnn_sweeper.objectives`
entry-point group, or named `package.module:function` (`sweeper.objective_registry` finds them).
Objectives import from gnn-sweeper only its objective contract, `sweeper.api`."""
