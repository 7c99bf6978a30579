"""The package layers as a new contributor meets them (ARCHITECTURE.md): `lint-imports` keeps
the contracts; this checks what the contracts cannot say, that no import cycle exists even
through imports written inside functions, and that `import storage` loads no part of `sweeper`."""

from __future__ import annotations

import subprocess
import sys

import grimp

PACKAGES = ("sweeper", "objectives", "storage")


def _a_cycle(graph: grimp.ImportGraph) -> list[str] | None:
    """One import cycle among the project's modules, or None (an iterative depth-first search)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in sorted(graph.modules):
        if root in state:
            continue
        path: list[str] = [root]
        pending = [iter(sorted(graph.find_modules_directly_imported_by(root)))]
        state[root] = 1
        while pending:
            child = next(pending[-1], None)
            if child is None:
                state[path.pop()] = 2
                pending.pop()
            elif state.get(child) == 1:
                return path[path.index(child) :] + [child]
            elif child not in state:
                state[child] = 1
                path.append(child)
                pending.append(iter(sorted(graph.find_modules_directly_imported_by(child))))
    return None


def test_the_import_graph_has_no_cycle_counting_imports_inside_functions() -> None:
    graph = grimp.build_graph(*PACKAGES)  # grimp reads every import statement, nested ones too
    assert len(graph.modules) > 50
    assert _a_cycle(graph) is None, " -> ".join(_a_cycle(graph) or [])


def test_importing_the_storage_layer_loads_nothing_of_the_service() -> None:
    probe = (
        "import sys, storage.urls, storage.engine, storage.copying\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sweeper'))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"
