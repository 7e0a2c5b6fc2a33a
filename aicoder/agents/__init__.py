"""Agents: CoderGen (the repair loop), Direct (one shot), ReAct (the baseline).

Each is built with a model (and optionally a sandbox, a budget, sampling params, limits) and
has ``run(task)``, a generator of events (see `aicoder.agents.steps`).
"""

from aicoder.agents.base import Budget
from aicoder.agents.codergen import CoderGen, codergen
from aicoder.agents.direct import Direct
from aicoder.agents.policy import RepairPolicy
from aicoder.agents.react import ReAct
from aicoder.agents.record import SampleRecord, record_from_steps
from aicoder.agents.steps import (
    Event,
    Progress,
    Step,
    StepKind,
    StepStarted,
    TextDelta,
    steps_only,
)

AGENTS = {"codergen": CoderGen, "direct": Direct, "react": ReAct}

__all__ = [
    "AGENTS",
    "Budget",
    "CoderGen",
    "Direct",
    "Event",
    "Progress",
    "ReAct",
    "RepairPolicy",
    "SampleRecord",
    "Step",
    "StepKind",
    "StepStarted",
    "TextDelta",
    "codergen",
    "record_from_steps",
    "steps_only",
]
