"""gnn-sweeper: Optuna sweeps for graph neural networks that prune trials by training health."""

__version__ = "0.1.0"
