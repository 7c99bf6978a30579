"""Pruners: the health pruner that wraps the study file's base pruner."""

from sweeper.pruners.health import HealthPruner

__all__ = ["HealthPruner"]
