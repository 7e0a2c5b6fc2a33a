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
from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter

from sandbox import ExecutionResult

__all__ = ["STEP", "ActionStep", "AnyStep", "Event", "ExecuteStep", "FinalStep", "ModelStep",
           "ObservationStep", "Progress", "Step", "StepKind", "StepList", "StepStarted",
           "TextDelta", "judged", "place", "steps_only"]


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
    turn: int | None = None  #: ReAct: the model turn (from 0)


class TextDelta(BaseModel, frozen=True):
    index: int
    text: str


class Progress(BaseModel, frozen=True):
    index: int
    elapsed_s: float
    what: str = "running"  #: "running" (the sandbox), "waiting for the model", "generating"


class Step(BaseModel, frozen=True):
    """One finished step of a run: what every kind has. Each kind is a subclass that carries
    only what it means (`ModelStep`, `ExecuteStep`, `ActionStep`, `ObservationStep`,
    `FinalStep`); `STEP` and `StepList` read any of them back by ``kind``."""

    index: int = Field(description="position in the run, from 0")
    kind: StepKind
    round: int = Field(description="the attempt this step belongs to: 0 for the first, k for "
                       "the k-th repair (ReAct: the test runs before it)")
    duration_s: float = 0.0
    note: str = Field(default="", description="e.g. 'same code as round 1: not run again'")
    candidate: int | None = Field(default=None, description="codergen: the candidate's number "
                                  "in its round (from 0) when a round samples several")
    turn: int | None = Field(default=None, description="ReAct: the model turn (from 0)")

    @property
    def tokens(self) -> int:
        """Prompt and completion tokens this step spent (only the model's steps spend any)."""
        return 0


class ModelStep(Step, frozen=True):
    """The model wrote something: the function, an analysis, a repair, a ReAct thought."""

    kind: Literal[StepKind.GENERATE, StepKind.ANALYZE, StepKind.REPAIR, StepKind.THOUGHT]
    text: str = Field(default="", description="what the model wrote, verbatim")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    time_to_first_token_s: float | None = None
    error: str | None = Field(default=None, description="a model failure, stored, not raised")
    cut: bool | None = Field(default=None, description="it stopped at its token limit")

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class ExecuteStep(Step, frozen=True):
    """The sandbox ran a candidate against the task's checks (or reused an earlier run of
    the same code: see ``note``)."""

    kind: Literal[StepKind.EXECUTE] = StepKind.EXECUTE
    code: str | None = Field(default=None, description="the candidate code that ran")
    result: ExecutionResult | None = None
    text: str = Field(default="", description="eval score: the prediction the code came from")


class ActionStep(Step, frozen=True):
    """ReAct: the action the model chose, parsed from its thought."""

    kind: Literal[StepKind.ACTION] = StepKind.ACTION
    action: str | None = Field(default=None, description="run_tests | python | finish")
    code: str | None = None
    text: str = ""


class ObservationStep(Step, frozen=True):
    """ReAct: what an action returned (the checks' verdicts, a snippet's output), or how to
    fix a malformed reply (then no action and no result)."""

    kind: Literal[StepKind.OBSERVATION] = StepKind.OBSERVATION
    text: str = ""
    action: str | None = None
    code: str | None = None
    result: ExecutionResult | None = None


class FinalStep(Step, frozen=True):
    """The run's end: passed or not, after how many rounds, and why it stopped (``text``)."""

    kind: Literal[StepKind.FINAL] = StepKind.FINAL
    text: str = Field(default="", description="why the run stopped")
    passed: bool | None = Field(default=None, description="every check passed")
    any_passed: bool | None = Field(default=None, description="at least one check passed")
    rounds: int | None = Field(default=None, description="repair rounds used")
    verdict_step: int | None = Field(default=None, description="the index of the execution "
                                     "whose verdict the run ended with")


AnyStep = Annotated[ModelStep | ExecuteStep | ActionStep | ObservationStep | FinalStep,
                    Field(discriminator="kind")]
#: a run's steps as stored (samples.jsonl, a replay): each read back as its kind's class; a
#: step written before the kinds were typed carries every field, and loads the same way
StepList = list[AnyStep]
#: reads one stored step back as its kind's class: ``STEP.validate_json(line)``
STEP: TypeAdapter[Step] = TypeAdapter(AnyStep)


def place(round_: int, candidate: int | None = None, turn: int | None = None) -> str:
    """Where a step is in its run, for titles: ``round 1`` (ReAct: ``step 3``, its turn from
    1), and ``· candidate 2`` when its round samples several."""
    where = f"round {round_}" if turn is None else f"step {turn + 1}"
    return where if candidate is None else f"{where} · candidate {candidate + 1}"


def judged(steps) -> list[ExecuteStep | ObservationStep]:
    """The steps that ran the task's checks on a candidate, in order: CoderGen's executions
    and ReAct's ``run_tests`` / ``finish`` observations (not its ``python`` probes)."""
    return [s for s in steps
            if (isinstance(s, ExecuteStep) or (isinstance(s, ObservationStep)
                                               and s.action in ("run_tests", "finish")))
            and s.result is not None]


Event = StepStarted | TextDelta | Progress | Step


def steps_only(events) -> list[Step]:
    """Drain an agent's events, keeping the finished Steps (headless mode)."""
    return [e for e in events if isinstance(e, Step)]
