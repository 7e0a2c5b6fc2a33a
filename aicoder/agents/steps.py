"""The events of an agent run: `Step`s, and the live events that lead to them.

An agent is a generator of events. Three kinds:

* `StepStarted` — a step begins (the UI opens a pending message);
* `TextDelta` — a piece of the text the model is writing for that step (tokens as they come),
  or `Progress` — still working, with the elapsed seconds: the sandbox is running, or the model
  is being waited for or is generating (a Stop is seen at each of these);
* `Step` — the step is done, with everything it produced. A run is its list of Steps; eval
  stores them, the UI renders them, replay reads them back.

Headless use keeps only the Steps: ``steps = [e for e in agent.run(task) if isinstance(e, Step)]``.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, Field

from sandbox import ExecutionResult

__all__ = ["Event", "Progress", "Step", "StepKind", "StepStarted", "TextDelta", "steps_only"]


class StepKind(str, Enum):
    GENERATE = "generate"
    """The model writes the function."""
    EXECUTE = "execute"
    """The sandbox runs the function against the task's checks."""
    ANALYZE = "analyze"
    """The model explains the failure."""
    REPAIR = "repair"
    """The model writes the repaired function."""
    THOUGHT = "thought"
    """ReAct: the model's reasoning before an action."""
    ACTION = "action"
    """ReAct: the action the model chose (run_tests, python, finish)."""
    OBSERVATION = "observation"
    """ReAct: what the action returned."""
    FINAL = "final"
    """The run's end: passed or not, after how many rounds, and why it stopped."""


class StepStarted(BaseModel, frozen=True):
    index: int
    kind: StepKind
    round: int
    candidate: int | None = None  #: CoderGen: the candidate's number in its round (from 0)


class TextDelta(BaseModel, frozen=True):
    index: int
    text: str


class Progress(BaseModel, frozen=True):
    index: int
    elapsed_s: float
    what: str = "running"  #: "running" (the sandbox), "waiting for the model", "generating"


class Step(BaseModel, frozen=True):
    """One finished step of a run."""

    index: int = Field(description="position in the run, from 0")
    kind: StepKind
    round: int = Field(description="0 for the first attempt, k for the k-th repair")
    text: str = Field(default="", description="what the model wrote, verbatim")
    code: str | None = Field(default=None, description="the candidate code of this step")
    result: ExecutionResult | None = Field(default=None, description="for execute steps")
    action: str | None = Field(default=None, description="ReAct: run_tests | python | finish")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    duration_s: float = 0.0
    time_to_first_token_s: float | None = None
    error: str | None = Field(default=None, description="a model failure, stored, not raised")
    note: str = Field(default="", description="e.g. 'same code as round 1: not run again'")
    passed: bool | None = Field(default=None, description="final: every check passed")
    any_passed: bool | None = Field(default=None, description="final: at least one passed")
    rounds: int | None = Field(default=None, description="final: repair rounds used")
    candidate: int | None = Field(default=None, description="codergen: the candidate's number "
                                  "in its round (from 0) when a round samples several")
    cut: bool | None = Field(default=None, description="a model step that stopped at its "
                             "token limit")
    verdict_step: int | None = Field(default=None, description="final: the index of the "
                                     "execute step whose verdict the run ended with")


Event = StepStarted | TextDelta | Progress | Step


def steps_only(events) -> list[Step]:
    """Drain an agent's events, keeping the finished Steps (headless mode)."""
    return [e for e in events if isinstance(e, Step)]
