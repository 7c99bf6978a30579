"""The two consoles every command prints through: results on stdout, problems on stderr."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(data: Any) -> None:
    """One JSON object on stdout, nothing else on the line (for scripts)."""
    print(json.dumps(data, sort_keys=False))
