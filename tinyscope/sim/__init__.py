"""The cycle-approximate Cortex-M7 simulator: unicorn executes, native hooks count cycles."""

from tinyscope.sim.engine import simulate
from tinyscope.sim.result import SimResult

__all__ = ["SimResult", "simulate"]
