"""`sweeper proxy`: Optuna's gRPC storage proxy in front of one database, with the heartbeat
and stale-trial re-queueing that Optuna's proxy protocol lacks."""
