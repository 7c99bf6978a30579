"""The study user attributes sweeper writes, named once (a light module: no Optuna import).

`sweeper.config` is the validated study file a study was created from; `sweeper.target` is how
many finished (COMPLETE or PRUNED) trials it should reach.
"""

from __future__ import annotations

CONFIG_ATTR = "sweeper.config"
TARGET_ATTR = "sweeper.target"
