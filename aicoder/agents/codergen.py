"""CoderGen: generate → execute → (analyze → repair → execute)* → final.

The model writes the function; the sandbox runs it against the task's checks; on a failure the
model reads the per-check verdicts and the traceback, writes an error analysis, then the
repaired function; until every check passes or the budget is spent.
"""

from __future__ import annotations

from collections.abc import Iterator

from aicoder.agents.base import Agent, Budget
from aicoder.agents.steps import Event, Step, StepKind
from aicoder.models import ChatModel, Message
from aicoder.prompts import describe_failure, render
from aicoder.tasks import Task, assemble

__all__ = ["CoderGen", "codergen"]


def _key(code: str) -> str:
    return "\n".join(line.rstrip() for line in code.strip().splitlines())


class CoderGen(Agent):
    """The repair loop. ``run(task)`` yields events; see `aicoder.agents.steps`."""

    mode = "codergen"

    def run(self, task: Task) -> Iterator[Event]:
        ctx = self.context()
        system = Message(role="system", content=render("system"))
        ask = Message(role="user", content=render("generate", prompt=task.prompt.strip()))
        answer = yield from ctx.ask(StepKind.GENERATE, 0, [system, ask])
        if answer.error:
            yield ctx.final(0, None, f"model error: {answer.error}")
            return
        seen: dict[str, Step] = {}
        last: Step | None = None
        for round_ in range(self.budget.rounds + 1):
            program = assemble(task, answer.text)
            key = _key(program.candidate)
            if key in seen:
                last = ctx.reuse(round_, program, seen[key])
                yield last
            else:
                last = yield from ctx.execute(round_, program)
                seen[key] = last
            if last.result.passed:
                yield ctx.final(round_, last, f"passed at round {round_}")
                return
            if round_ == self.budget.rounds:
                yield ctx.final(round_, last, f"repair budget spent ({self.budget.rounds} rounds)")
                return
            if why := ctx.spent():
                yield ctx.final(round_, last, why)
                return
            failure = describe_failure(last.result)
            history = [system, ask, Message(role="assistant", content=answer.text),
                       Message(role="user", content=render("analyze", code=program.candidate,
                                                           failure=failure))]
            analysis = yield from ctx.ask(StepKind.ANALYZE, round_ + 1, history)
            if analysis.error:
                yield ctx.final(round_, last, f"model error: {analysis.error}")
                return
            history += [Message(role="assistant", content=analysis.text),
                        Message(role="user", content=render("repair"))]
            answer = yield from ctx.ask(StepKind.REPAIR, round_ + 1, history)
            if answer.error:
                yield ctx.final(round_, last, f"model error: {answer.error}")
                return


def codergen(task: Task, model: ChatModel, budget: Budget | None = None, **options
             ) -> Iterator[Event]:
    """``CoderGen(model, budget=budget, **options).run(task)``."""
    return CoderGen(model, budget=budget, **options).run(task)
