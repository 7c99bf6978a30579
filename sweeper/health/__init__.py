"""Training-health signals (HealthMonitor) and the rules that judge them (HealthConfig).

Imports are lazy so that reading a study file or printing a status never imports torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sweeper.health.config import HealthConfig
    from sweeper.health.monitor import HealthMonitor

__all__ = ["HealthConfig", "HealthMonitor"]


def __getattr__(name: str) -> Any:
    if name == "HealthConfig":
        from sweeper.health.config import HealthConfig

        return HealthConfig
    if name == "HealthMonitor":
        from sweeper.health.monitor import HealthMonitor

        return HealthMonitor
    raise AttributeError(name)
