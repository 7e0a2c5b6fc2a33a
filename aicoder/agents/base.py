"""What the agents share: the budget, and the two things every agent does — ask the model
(streaming its text) and run code in the sandbox (interruptibly) — each as a step."""

from __future__ import annotations

import contextvars
import queue
import threading
import time
from collections.abc import Callable, Generator

from pydantic import BaseModel, Field

from aicoder.agents.steps import (
    ActionStep,
    Event,
    ExecuteStep,
    FinalStep,
    ModelStep,
    ObservationStep,
    Progress,
    StepKind,
    StepStarted,
    TextDelta,
)
from aicoder.models import (
    ChatModel,
    Completion,
    FinishReason,
    GenerationParams,
    Message,
    ModelError,
    ModelUnavailable,
)
from sandbox import ExecutionResult, Limits, Program, Sandbox

__all__ = ["Agent", "Budget", "RunContext"]


class Budget(BaseModel, frozen=True):
    """When a run stops if it has not passed yet."""

    rounds: int = Field(default=3, ge=0, description="repair rounds after the first attempt")
    max_tokens: int | None = Field(default=None, gt=0, description="prompt + completion, total")
    wall_s: float | None = Field(default=None, gt=0, description="seconds for the whole run")
    react_steps: int = Field(default=8, gt=0, description="ReAct: model turns")


class RunContext:
    """One run's counters, and the step-producing primitives.

    Both primitives are generators of events whose *return value* is the finished Step (they
    also yield it). A consumer that stops iterating closes them: the model's stream is closed
    and the sandbox run is cancelled on the spot.
    """

    def __init__(self, model: ChatModel, sandbox: Sandbox, params: GenerationParams,
                 limits: Limits, budget: Budget) -> None:
        self.model = model
        self.sandbox = sandbox
        self.params = params
        self.limits = limits
        self.budget = budget
        self.index = 0
        self.tokens = 0
        self.start = time.monotonic()

    def _next_index(self) -> int:
        self.index += 1
        return self.index - 1

    def spent(self) -> str | None:
        """Why the budget is spent, or None."""
        if self.budget.max_tokens is not None and self.tokens >= self.budget.max_tokens:
            return f"token budget spent ({self.tokens} of {self.budget.max_tokens})"
        if self.budget.wall_s is not None and time.monotonic() - self.start >= self.budget.wall_s:
            return f"time budget spent ({self.budget.wall_s:g} s)"
        return None

    def ask(self, kind: StepKind, round_: int, messages: list[Message], *,
            params: GenerationParams | None = None, candidate: int | None = None,
            turn: int | None = None, review: Callable[[str, bool], str] | None = None
            ) -> Generator[Event, None, ModelStep]:
        """Stream the model's answer as a step.

        ``params`` replaces the run's sampling for this request (CoderGen's repair policy);
        the step's note then says how it sampled. ``review(text, cut)`` adds to the note
        (CoderGen: a degenerate analysis and what of it was fed back). A failed generation
        (ModelError) is stored on the step; a model that cannot be used at all
        (ModelUnavailable: server down, bad name) is raised.
        """
        index = self._next_index()
        yield StepStarted(index=index, kind=kind, round=round_, candidate=candidate, turn=turn)
        cancel = threading.Event()
        used = params or self.params
        stream = self.model.stream(messages, used, cancel)
        # The stream runs on a thread of its own: a server that holds its first token back
        # (loading, queueing) blocks that thread, not this generator, which keeps yielding
        # Progress, so that Stop and Ctrl-C are seen at once and close it.
        pieces: queue.Queue = queue.Queue()

        def pump() -> None:
            try:
                while not cancel.is_set():
                    try:
                        pieces.put(("delta", next(stream)))
                    except StopIteration as stop:
                        pieces.put(("done", stop.value))
                        return
            except BaseException as exc:  # re-raised in the agent's thread
                pieces.put(("raised", exc))
            finally:
                stream.close()

        # a copy of this context: what the stream waits for is accounted to this run's caller
        threading.Thread(target=contextvars.copy_context().run, args=(pump,), daemon=True,
                         name="model-stream").start()
        text, completion, error = "", None, None
        start = time.monotonic()
        try:
            while True:
                try:
                    what, value = pieces.get(timeout=0.25)
                except queue.Empty:
                    yield Progress(index=index, elapsed_s=round(time.monotonic() - start, 2),
                                   what="generating" if text else "waiting for the model")
                    continue
                if what == "done":
                    completion = value
                    break
                if what == "raised":
                    raise value
                text += value
                yield TextDelta(index=index, text=value)
        except ModelUnavailable:
            raise  # the model cannot be used at all (down, misnamed): the caller says so
        except ModelError as exc:
            error = str(exc)  # one failed generation: stored on the step, the run ends cleanly
        finally:
            cancel.set()  # the pump closes the stream (at its next token, if it is blocked)
        completion = completion or Completion(text=text, finish_reason=FinishReason.CANCELLED
                                              if error is None else FinishReason.ERROR)
        self.tokens += completion.prompt_tokens + completion.completion_tokens
        notes = []
        if used is not self.params and (used.temperature, used.seed) != (self.params.temperature,
                                                                          self.params.seed):
            notes.append(f"sampled at temperature {used.temperature:g}"
                         + (f", seed {used.seed}" if used.seed is not None else ""))
        if completion.cut:
            notes.append("cut at the token limit")
        if review is not None and not error and (extra := review(text, completion.cut)):
            notes.append(extra)
        step = ModelStep(index=index, kind=kind, round=round_, text=text,
                         prompt_tokens=completion.prompt_tokens,
                         completion_tokens=completion.completion_tokens,
                         duration_s=round(time.monotonic() - start, 3),
                         time_to_first_token_s=completion.time_to_first_token_s, error=error,
                         note="; ".join(notes), candidate=candidate, turn=turn,
                         cut=completion.cut or None)
        yield step
        return step

    def execute(self, round_: int, program: Program, *, note: str = "",
                candidate: int | None = None, observe: tuple[str, int] | None = None,
                describe: Callable[[ExecutionResult], str] | None = None
                ) -> Generator[Event, None, ExecuteStep | ObservationStep]:
        """Run a program in the sandbox as a step, reporting progress while it runs.

        ``observe=(action, turn)`` makes it a ReAct observation of that action, whose text is
        ``describe(result)``.
        """
        kind = StepKind.EXECUTE if observe is None else StepKind.OBSERVATION
        index = self._next_index()
        yield StepStarted(index=index, kind=kind, round=round_, candidate=candidate,
                          turn=None if observe is None else observe[1])
        cancel = threading.Event()
        box: dict[str, ExecutionResult | BaseException] = {}

        def work() -> None:
            try:
                box["result"] = self.sandbox.run(program, self.limits, cancel)
            except BaseException as exc:  # re-raised in the agent's thread
                box["error"] = exc

        thread = threading.Thread(target=contextvars.copy_context().run, args=(work,),
                                  daemon=True, name="sandbox-run")
        start = time.monotonic()
        thread.start()
        try:
            while thread.is_alive():
                thread.join(timeout=0.25)
                if thread.is_alive():
                    yield Progress(index=index, elapsed_s=round(time.monotonic() - start, 2))
        finally:
            # Closed mid-run (Stop): the sandbox kills the process group at once.
            cancel.set()
            thread.join()
        if "error" in box:
            raise box["error"]  # the sandbox's own failure is a bug or a broken host: raise
        result = box["result"]
        duration = round(time.monotonic() - start, 3)
        if observe is None:
            step: ExecuteStep | ObservationStep = ExecuteStep(
                index=index, round=round_, code=program.candidate, result=result,
                duration_s=duration, note=note, candidate=candidate)
        else:
            step = ObservationStep(index=index, round=round_, code=program.candidate,
                                   result=result, action=observe[0], turn=observe[1],
                                   duration_s=duration, note=note,
                                   text=describe(result) if describe else "")
        yield step
        return step

    def action(self, round_: int, turn: int, action: str, code: str) -> ActionStep:
        """ReAct: the action parsed from the model's thought."""
        return ActionStep(index=self._next_index(), round=round_, turn=turn, action=action,
                          code=code, text=f"Action: {action}")

    def observe(self, round_: int, turn: int, text: str, note: str = "") -> ObservationStep:
        """ReAct: an observation that ran nothing (how to fix a malformed reply)."""
        return ObservationStep(index=self._next_index(), round=round_, turn=turn, text=text,
                               note=note)

    def reuse(self, round_: int, program: Program, earlier: ExecuteStep, *,
              note: str | None = None, candidate: int | None = None) -> ExecuteStep:
        """An execute step for code identical to an earlier attempt: not run again."""
        return ExecuteStep(index=self._next_index(), round=round_, code=program.candidate,
                           result=earlier.result, candidate=candidate,
                           note=note or f"same code as round {earlier.round}: not run again")

    def final(self, round_: int, last: ExecuteStep | ObservationStep | None, why: str, *,
              rounds: int | None = None, turn: int | None = None) -> FinalStep:
        """The run's end, judged by ``last``; ``rounds`` (default ``round_``) repair rounds
        used."""
        result = last.result if last is not None else None
        return FinalStep(index=self._next_index(), round=round_, turn=turn,
                         text=why, passed=bool(result and result.passed),
                         any_passed=bool(result and result.any_passed),
                         rounds=round_ if rounds is None else rounds,
                         duration_s=round(time.monotonic() - self.start, 3),
                         verdict_step=last.index if last is not None else None)


class Agent:
    """What CoderGen, Direct and ReAct share: how they are built, and a fresh context per run.

    Subclasses implement ``run(task) -> Iterator[Event]``.
    """

    mode = ""

    def __init__(self, model: ChatModel, sandbox: Sandbox | None = None, *,
                 budget: Budget | None = None,
                 params: GenerationParams | None = None, limits: Limits | None = None) -> None:
        self.model = model
        self.sandbox = sandbox
        self.budget = budget or Budget()
        self.params = params or GenerationParams()
        self.limits = limits or Limits()

    def context(self) -> RunContext:
        from sandbox import default_sandbox

        return RunContext(self.model, self.sandbox or default_sandbox(), self.params,
                          self.limits, self.budget)
