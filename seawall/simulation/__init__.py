"""A simulated messaging platform that writes contract-v1 events and ground-truth labels.

Ordinary people, innocent hard cases and many kinds of abusers, modelled on
``shared/background.md``; used to measure detection. Run ``seawall simulate`` or::

    from seawall.simulation import simulate
    result = simulate(accounts=2000, days=2, seed=1, out_dir="out/sim")
"""

from seawall.simulation.config import ARCHETYPES, ConfigError, SimulationConfig, load_config
from seawall.simulation.platform import DEFAULT_START, SimulationResult, simulate

__all__ = ["ARCHETYPES", "DEFAULT_START", "ConfigError", "SimulationConfig", "SimulationResult",
           "load_config", "simulate"]
