"""The study user attributes sweeper writes, named once (a light module: no Optuna import).

`sweeper.config` is the validated study file a study was created from; `sweeper.target` is how
many finished (COMPLETE or PRUNED) trials it should reach. `sweeper.stopped` and
`sweeper.failures_from` belong to the failure budget (`sweeper.failures`). Trial attributes are
in `sweeper.trial_attrs`.
"""

from __future__ import annotations

CONFIG_ATTR = "sweeper.config"
TARGET_ATTR = "sweeper.target"
#: Why the study stopped (a dict), while its failure budget is spent.
STOPPED_ATTR = "sweeper.stopped"
#: The first trial number the current failure budget counts (set by a resume).
COUNT_FROM_ATTR = "sweeper.failures_from"
