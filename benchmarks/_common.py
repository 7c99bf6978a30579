"""Helpers the benchmark scripts share: the repository on sys.path, one torch thread, the
command-line flags every script takes, and the JSON line a script ends with.

Every script prints a table for people and, with `--json`, one JSON object as its last line for
`BENCHMARKS.md` and the smoke tests; `--quick` is a rough figure in at most 10 minutes on 2 cores
and `--smoke` a seconds-long run that only checks the script works.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def single_thread() -> None:
    """One torch thread per process (the figures are CPU-seconds, comparable across arms)."""
    import optuna
    import torch

    torch.set_num_threads(1)
    optuna.logging.set_verbosity(optuna.logging.WARNING)


def parser_for(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser with the flags every benchmark takes: --json, --quick, --smoke."""
    parser = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0])
    parser.add_argument("--json", action="store_true", help="end with one JSON object")
    parser.add_argument("--quick", action="store_true", help="a rough figure in <= 10 minutes")
    parser.add_argument("--smoke", action="store_true", help="seconds-long: checks it runs")
    return parser


def median(values: Iterable[float | None]) -> float | None:
    """The median of the finite values, or None when there are none."""
    kept = [v for v in values if v is not None and math.isfinite(v)]
    return statistics.median(kept) if kept else None


def json_line(data: Any) -> str:
    """`data` as one JSON line; NaN and infinity become null (JSON has neither)."""

    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    return json.dumps(clean(data))


def fmt(value: float | None, spec: str = ".1f") -> str:
    """A table cell: the number in `spec`, or '-' for a missing one."""
    return "-" if value is None else format(value, spec)
