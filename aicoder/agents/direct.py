"""Direct generation, the paper's "without agent" baseline: one answer, one execution."""

from __future__ import annotations

from collections.abc import Iterator

from aicoder.agents.base import Agent
from aicoder.agents.steps import Event, StepKind
from aicoder.models import Message
from aicoder.prompts import render
from aicoder.tasks import Task, assemble

__all__ = ["Direct"]


class Direct(Agent):
    mode = "direct"

    def run(self, task: Task) -> Iterator[Event]:
        ctx = self.context()
        messages = [Message(role="system", content=render("system")),
                    Message(role="user", content=render("generate", prompt=task.prompt.strip()))]
        answer = yield from ctx.ask(StepKind.GENERATE, 0, messages)
        if answer.error:
            yield ctx.final(0, None, f"model error: {answer.error}")
            return
        executed = yield from ctx.execute(0, assemble(task, answer.text))
        yield ctx.final(0, executed, "passed" if executed.result.passed else "did not pass")
