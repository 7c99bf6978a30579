"""Offline datasets for causal discovery: Sachs (shipped), simulated SEMs, and a user's CSV.

- `sachs`: the first 853 rows of Sachs et al. (2005), the observational CD3/CD28 condition;
  `sachs_full`: all 7,466 rows. Ground truth: the 17-edge consensus graph. Both files live in
  `objectives/causal/data/` (see its README for provenance); nothing is downloaded.
- `synthetic`: an Erdős–Rényi (`er`) or scale-free (`sf`) DAG with `edges_per_node * d` expected
  edges, edge weights uniform in ±[0.5, 2], and a linear-Gaussian, linear non-Gaussian (Laplace
  noise) or nonlinear (random sigmoid MLP per variable) SEM with unit noise scale, as in NOTEARS.
- `csv:PATH`: a header row of variable names and numeric rows; `truth` optionally names an edge
  list (`source,target` per line, header optional) over those names.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from objectives.causal.params import CausalParams

DATA_DIR = Path(__file__).resolve().parent / "data"
SACHS_FILE = "sachs_cyto_full.csv"
SACHS_TRUTH_FILE = "sachs_consensus_17.csv"
SACHS_OBSERVATIONAL_ROWS = 853


@dataclass
class CausalData:
    """Samples [n, d] (float64), the variable names, and the true graph when known."""

    x: np.ndarray
    names: list[str]
    true_graph: np.ndarray | None


def read_table(path: Path) -> tuple[list[str], np.ndarray]:
    """Read a CSV with a header row of names into (names, float64 array [n, d])."""
    if not path.is_file():
        raise FileNotFoundError(f"dataset file not found: {path}")
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle))
    if len(rows) < 2:
        raise ValueError(f"{path}: needs a header row and at least one data row")
    names = [name.strip() for name in rows[0]]
    try:
        x = np.array([[float(v) for v in row] for row in rows[1:] if row], dtype=np.float64)
    except ValueError as exc:
        raise ValueError(f"{path}: non-numeric value ({exc})") from None
    if x.ndim != 2 or x.shape[1] != len(names):
        raise ValueError(f"{path}: every row must have {len(names)} values")
    return names, x


def read_edge_list(path: Path, names: list[str]) -> np.ndarray:
    """Read `source,target` lines over `names` into a 0/1 adjacency (a header row is skipped)."""
    if not path.is_file():
        raise FileNotFoundError(f"truth file not found: {path}")
    index = {name: i for i, name in enumerate(names)}
    graph = np.zeros((len(names), len(names)), dtype=np.int64)
    with path.open(newline="") as handle:
        rows = [[v.strip() for v in row] for row in csv.reader(handle) if row]
    if rows and not (rows[0][0] in index and rows[0][1] in index):
        rows = rows[1:]  # header
    for row in rows:
        if len(row) != 2 or row[0] not in index or row[1] not in index:
            raise ValueError(f"{path}: edge {row} does not name two of the variables {names}")
        graph[index[row[0]], index[row[1]]] = 1
    return graph


def load_sachs(*, full: bool = False, data_root: str | None = None) -> CausalData:
    """Sachs et al. (2005): 853 observational rows (or all 7,466) and the 17-edge graph."""
    root = Path(data_root) if data_root else DATA_DIR
    names, x = read_table(root / SACHS_FILE)
    if not full:
        x = x[:SACHS_OBSERVATIONAL_ROWS]
    return CausalData(
        x=x, names=names, true_graph=read_edge_list(DATA_DIR / SACHS_TRUTH_FILE, names)
    )


def _resolve(path: str, root: Path) -> Path:
    return Path(path) if Path(path).is_absolute() else root / path


def load_csv(path: str, *, truth: str | None = None, data_root: str | None = None) -> CausalData:
    """A user's CSV (and optional truth edge list); relative paths are read from `data_root`."""
    root = Path(data_root) if data_root else Path.cwd()
    names, x = read_table(_resolve(path, root))
    true_graph = read_edge_list(_resolve(truth, root), names) if truth else None
    return CausalData(x=x, names=names, true_graph=true_graph)


def simulate_dag(graph: str, d: int, edges_per_node: float, rng: np.random.Generator) -> np.ndarray:
    """A random DAG: `er` with round(edges_per_node * d) edges, or `sf` (Barabási–Albert)."""
    adjacency = np.zeros((d, d), dtype=np.int64)
    if graph == "er":
        pairs = [(i, j) for j in range(d) for i in range(j)]  # i < j: acyclic by construction
        m = min(int(round(edges_per_node * d)), len(pairs))
        for k in rng.choice(len(pairs), size=m, replace=False):
            adjacency[pairs[k]] = 1
    elif graph == "sf":
        m = max(1, int(round(edges_per_node)))
        degree = np.zeros(d)
        for new in range(1, d):
            weights = degree[:new] + 1.0
            targets = rng.choice(new, size=min(m, new), replace=False, p=weights / weights.sum())
            adjacency[targets, new] = 1  # older hubs cause newer nodes
            degree[targets] += 1
            degree[new] += len(targets)
    else:
        raise ValueError(f"graph must be 'er' or 'sf' (got {graph!r})")
    order = rng.permutation(d)
    return adjacency[np.ix_(order, order)]


def _edge_weights(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(0.5, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def topological_order(adjacency: np.ndarray) -> list[int]:
    """A topological order of a DAG's nodes (raises on a cycle)."""
    remaining = adjacency.astype(bool).copy()
    order: list[int] = []
    active = set(range(adjacency.shape[0]))
    while active:
        roots = [j for j in sorted(active) if not remaining[list(active), j].any()]
        if not roots:
            raise ValueError("graph has a cycle")
        order.extend(roots)
        active -= set(roots)
    return order


def simulate_sem(adjacency: np.ndarray, n: int, sem: str, rng: np.random.Generator) -> np.ndarray:
    """Sample n rows from a `linear_gaussian`, `linear_nongaussian` or `mlp` SEM on the DAG."""
    d = adjacency.shape[0]
    weights = adjacency * _edge_weights((d, d), rng)
    x = np.zeros((n, d))
    for j in topological_order(adjacency):
        parents = np.flatnonzero(adjacency[:, j])
        noise = (
            rng.laplace(scale=1 / np.sqrt(2), size=n)
            if sem == "linear_nongaussian"
            else (rng.normal(size=n))
        )
        if sem in ("linear_gaussian", "linear_nongaussian"):
            x[:, j] = x[:, parents] @ weights[parents, j] + noise
        elif sem == "mlp":
            if len(parents) == 0:
                x[:, j] = noise
                continue
            hidden = 1 / (1 + np.exp(-x[:, parents] @ _edge_weights((len(parents), 100), rng)))
            x[:, j] = hidden @ _edge_weights((100,), rng) + noise
        else:
            raise ValueError(
                f"sem must be linear_gaussian, linear_nongaussian or mlp (got {sem!r})"
            )
    return x


def load_synthetic(
    *, graph: str, d: int, edges_per_node: float, sem: str, n: int, seed: int
) -> CausalData:
    """Simulate a DAG and n samples of an SEM on it, deterministically from `seed`."""
    rng = np.random.default_rng(seed)
    adjacency = simulate_dag(graph, d, edges_per_node, rng)
    x = simulate_sem(adjacency, n, sem, rng)
    return CausalData(x=x, names=[f"x{i}" for i in range(d)], true_graph=adjacency)


def scale(x: np.ndarray, method: str) -> np.ndarray:
    """`none` (raw values), `standardize` (z-score) or `robust` ((x - median) / IQR) per column."""
    if method == "none":
        return x
    if method == "standardize":
        std = x.std(axis=0)
        return (x - x.mean(axis=0)) / np.where(std > 0, std, 1.0)
    if method == "robust":
        q25, median, q75 = np.percentile(x, [25, 50, 75], axis=0)
        iqr = q75 - q25
        return (x - median) / np.where(iqr > 0, iqr, 1.0)
    raise ValueError(f"scaling must be none, standardize or robust (got {method!r})")


def load_dataset(params: CausalParams) -> CausalData:
    """The dataset named by `params.dataset`, before scaling."""
    if params.dataset in ("sachs", "sachs_full"):
        return load_sachs(full=params.dataset == "sachs_full", data_root=params.data_root)
    if params.dataset == "synthetic":
        return load_synthetic(
            graph=params.graph,
            d=params.d,
            edges_per_node=params.edges_per_node,
            sem=params.sem,
            n=params.n,
            seed=params.seed,
        )
    path = params.dataset[len("csv:") :]
    return load_csv(path, truth=params.truth, data_root=params.data_root)
