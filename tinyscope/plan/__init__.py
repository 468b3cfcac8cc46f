"""Planning: the kernel schedule (what fuses), the activation arena, and the analyze figures."""

from tinyscope.plan.arena import ArenaPlan, plan_arena
from tinyscope.plan.schedule import Step, alias_roots, schedule

__all__ = ["ArenaPlan", "Step", "alias_roots", "plan_arena", "schedule"]
