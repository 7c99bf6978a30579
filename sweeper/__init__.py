"""gnn-sweeper: Optuna sweeps for graph neural networks that prune trials by training health."""

import warnings

from optuna.exceptions import ExperimentalWarning

# Heartbeat, retry callbacks and metric names are marked experimental by Optuna; we rely on them
# deliberately, and users should not see a warning per worker for it.
warnings.filterwarnings("ignore", category=ExperimentalWarning)

__version__ = "0.1.0"
