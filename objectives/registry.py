"""Moved to `sweeper.objective_registry` (finding an objective is the service's job, not an
objective's). Kept only so that scripts written against the old path keep working; import
`sweeper.objective_registry` instead."""

from sweeper.objective_registry import (  # noqa: F401
    ENTRY_POINT_GROUP,
    registered_objectives,
    resolve_objective,
    run_preflight,
)
