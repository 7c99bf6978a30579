"""What trial checkpoints cost on the quickstart's link-prediction trial (synthetic graph, 30
epochs, a checkpoint at every evaluation, i.e. every 5 epochs): the time spent in
`ctx.checkpoint` (serialising, writing the file, pointing the trial at it, removing the last
one) as a share of the trial's time, and the checkpoint's size. Real SQLite storage, real
file-system artifact store, one torch thread; the share is measured inside each run, so a
loaded machine slows both sides alike. An arm without checkpoints gives the trial time to
compare with.

    python benchmarks/checkpoints.py --json            # 3 repeats of each arm
    python benchmarks/checkpoints.py --smoke --json    # 6 epochs, 1 repeat
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import yaml
from _common import ROOT, json_line, median, parser_for, single_thread


def quickstart_params(epochs: int | None) -> dict[str, Any]:
    """The quickstart study file's fixed parameters with the enqueued trial's sampled ones."""
    data = yaml.safe_load((ROOT / "examples" / "quickstart.yaml").read_text())
    params = dict(data["params"])
    queued = {k: v for k, v in data["enqueue"][0].items() if k != "name"}
    queued["lr"] = 0.003  # a healthy trial: the enqueued one collapses and is pruned at epoch 3
    queued["norm"] = "layer_norm"
    params.update(queued)
    if epochs is not None:
        params["epochs"] = epochs
    return params


def run_once(params: dict[str, Any], checkpoint_every: int | None) -> dict[str, float]:
    """One trial, in-process; seconds in the trial and in `ctx.checkpoint`, and bytes."""
    import optuna
    from optuna.artifacts import FileSystemArtifactStore

    from objectives.link_prediction.objective import objective
    from sweeper.checkpoints import TrialCheckpoints
    from sweeper.context import TrialContext

    work = Path(tempfile.mkdtemp(prefix="ckpt-bench-"))
    store = FileSystemArtifactStore(str(work))
    study = optuna.create_study(storage=f"sqlite:///{work / 's.db'}", direction="maximize")
    trial = study.ask()
    ctx = TrialContext(
        trial,
        metric="hits@20",
        direction="maximize",
        checkpoints=lambda: TrialCheckpoints(trial, store),
    )
    spent = {"s": 0.0, "n": 0}
    save = ctx.checkpoint

    def timed(state: Any) -> None:
        start = time.perf_counter()
        save(state)
        spent["s"] += time.perf_counter() - start
        spent["n"] += 1

    ctx.checkpoint = timed  # type: ignore[method-assign]
    every = checkpoint_every if checkpoint_every is not None else 10**9
    start = time.perf_counter()
    objective(trial, {**params, "checkpoint_every": every}, ctx)
    trial_s = time.perf_counter() - start
    return {
        "trial_s": trial_s,
        "checkpoint_s": spent["s"],
        "checkpoints": spent["n"],
        "bytes": ctx.checkpoint_bytes,
    }


def main() -> None:
    """Both arms, alternating, then the table and the JSON line."""
    parser = parser_for(__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    single_thread()
    repeats = 1 if args.smoke else args.repeats
    params = quickstart_params(6 if args.smoke else None)
    every = params.get("eval_every", 5)
    rows: dict[str, list[dict[str, float]]] = {"off": [], "on": []}
    for _ in range(repeats):
        rows["off"].append(run_once(params, None))
        rows["on"].append(run_once(params, every))
    on = rows["on"]
    share = median(r["checkpoint_s"] / r["trial_s"] for r in on)
    result = {
        "epochs": params["epochs"],
        "checkpoint_every": every,
        "repeats": repeats,
        "trial_s_off": median(r["trial_s"] for r in rows["off"]),
        "trial_s_on": median(r["trial_s"] for r in on),
        "checkpoint_s": median(r["checkpoint_s"] for r in on),
        "checkpoints_per_trial": on[0]["checkpoints"],
        "share_of_trial": share,
        "bytes": on[-1]["bytes"],
    }
    print("| arm | trial s (median) | checkpoints | s in checkpoint | share | bytes |")
    print("|---|---|---|---|---|---|")
    print(f"| off | {result['trial_s_off']:.2f} | 0 | - | - | - |")
    print(
        f"| every {every} | {result['trial_s_on']:.2f} | {result['checkpoints_per_trial']} | "
        f"{result['checkpoint_s']:.3f} | {100 * (share or 0):.2f}% | {result['bytes']:,} |"
    )
    if args.json:
        print(json_line(result))


if __name__ == "__main__":
    main()
