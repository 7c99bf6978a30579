"""optuna-dashboard for sweeper studies: the server, the per-trial health artifacts, and the
study-level pruning figure. Submodules import their heavy dependencies themselves."""
