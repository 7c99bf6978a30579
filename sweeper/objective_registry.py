"""Find an objective by its registered name or by `package.module:function`, and ask it whether
it can start.

An objective may carry two optional attributes beside the callable:
- `params_model`: a pydantic model the CLI checks the study file's parameters against;
- `preflight(params) -> None`: called by `sweeper launch` and `sweeper create` before anything
  is written, with the fixed parameters and each categorical choice of the study file. It checks
  that a trial can start (its data is present and loadable, its optional packages installed) and
  raises `SweeperError` with one line when it cannot.
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from sweeper.errors import SweeperError

ENTRY_POINT_GROUP = "gnn_sweeper.objectives"
_MODULE_FUNCTION = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")

Objective = Callable[..., float]
Preflight = Callable[[dict[str, Any]], None]


def registered_objectives() -> dict[str, Any]:
    """Entry points of every installed objective, by name (other packages can add theirs)."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def resolve_objective(name: str) -> Objective:
    """Return the objective callable named `name`; raise SweeperError naming the problem."""
    registered = registered_objectives()
    if name in registered:
        return registered[name].load()
    if ":" not in name:
        known = ", ".join(sorted(registered)) or "none"
        raise SweeperError(f"objective: unknown objective '{name}' (registered: {known})")
    if not _MODULE_FUNCTION.match(name):
        raise SweeperError(f"objective: '{name}' is not of the form package.module:function")
    module_name, function_name = name.split(":", 1)
    _import_from_working_directory()
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SweeperError(f"objective: cannot import module '{module_name}' ({exc})") from None
    function = getattr(module, function_name, None)
    if not callable(function):
        raise SweeperError(f"objective: module '{module_name}' has no function '{function_name}'")
    return function


def _import_from_working_directory() -> None:
    """Let `package.module:function` name a module of the current directory, as `python -m`,
    uvicorn and celery do (the `sweeper` script alone would not find `my_models/`)."""
    here = os.getcwd()
    if here not in sys.path and "" not in sys.path:
        sys.path.append(here)


def run_preflight(objective: Objective, params: dict[str, Any], *, name: str) -> None:
    """Run the objective's `preflight` hook, if it has one, on `params`; any failure becomes one
    SweeperError line naming the objective."""
    check: Preflight | None = getattr(objective, "preflight", None)
    if check is None:
        return
    try:
        check(dict(params))
    except SweeperError:
        raise
    except Exception as error:  # a user's hook raising anything else: still one line
        message = " ".join(f"{type(error).__name__}: {error}".split())
        raise SweeperError(f"objective: {name} cannot start: {message}") from None
