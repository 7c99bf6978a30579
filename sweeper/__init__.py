"""gnn-sweeper: Optuna sweeps for graph neural networks that prune trials by training health."""

import warnings

# Heartbeat, retry callbacks and metric names are marked experimental by Optuna; we rely on them
# deliberately, and users should not see a warning per worker for it. Matched by Optuna's two
# messages rather than by `optuna.exceptions.ExperimentalWarning`, so that importing `sweeper`
# does not import Optuna (a command that needs no study starts in a fraction of the time).
warnings.filterwarnings("ignore", message=r".* is experimental \(supported from v")
warnings.filterwarnings("ignore", message=r"Argument ``\w+`` is an experimental feature")

__version__ = "0.1.0"
