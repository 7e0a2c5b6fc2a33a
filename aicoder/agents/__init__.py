"""Agents: CoderGen (the repair loop), Direct (one shot), ReAct (the baseline).

Each is built with a model (and optionally a sandbox, a budget, sampling params, limits) and
has ``run(task)``, a generator of events (see `aicoder.agents.steps`).
"""

from aicoder.agents.base import Budget
from aicoder.agents.codergen import CoderGen, codergen
from aicoder.agents.direct import Direct
from aicoder.agents.policy import RepairPolicy
from aicoder.agents.react import ReAct
from aicoder.agents.steps import (
    STEP,
    ActionStep,
    Event,
    ExecuteStep,
    FinalStep,
    ModelStep,
    ObservationStep,
    Progress,
    Step,
    StepKind,
    StepList,
    StepStarted,
    TextDelta,
    judged,
    steps_only,
)

AGENTS = {"codergen": CoderGen, "direct": Direct, "react": ReAct}

__all__ = [
    "AGENTS",
    "STEP",
    "ActionStep",
    "Budget",
    "CoderGen",
    "Direct",
    "Event",
    "ExecuteStep",
    "FinalStep",
    "ModelStep",
    "ObservationStep",
    "Progress",
    "ReAct",
    "RepairPolicy",
    "Step",
    "StepKind",
    "StepList",
    "StepStarted",
    "TextDelta",
    "codergen",
    "judged",
    "steps_only",
]
