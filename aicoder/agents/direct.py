"""Direct generation, the paper's "without agent" baseline: one answer, one execution."""

from __future__ import annotations

from collections.abc import Iterator

from aicoder.agents.base import Budget, RunContext
from aicoder.agents.steps import Event, StepKind
from aicoder.models import ChatModel, GenerationParams, Message
from aicoder.prompts import render
from aicoder.tasks import Task, assemble
from sandbox import Limits, default_sandbox

__all__ = ["Direct"]


class Direct:
    mode = "direct"

    def __init__(self, model: ChatModel, sandbox=None, *, budget: Budget | None = None,
                 params: GenerationParams | None = None, limits: Limits | None = None) -> None:
        self.model = model
        self.sandbox = sandbox
        self.budget = budget or Budget()
        self.params = params or GenerationParams()
        self.limits = limits or Limits()

    def run(self, task: Task) -> Iterator[Event]:
        ctx = RunContext(self.model, self.sandbox or default_sandbox(), self.params,
                         self.limits, self.budget)
        messages = [Message(role="system", content=render("system")),
                    Message(role="user", content=render("generate", prompt=task.prompt.strip()))]
        answer = yield from ctx.ask(StepKind.GENERATE, 0, messages)
        if answer.error:
            yield ctx.final(0, None, f"model error: {answer.error}")
            return
        executed = yield from ctx.execute(0, assemble(task, answer.text))
        yield ctx.final(0, executed, "passed" if executed.result.passed else "did not pass")
