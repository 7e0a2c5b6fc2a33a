"""CoderGen: generate → execute → (analyze → repair → execute)* → final.

The model writes the function; the sandbox runs it against the task's checks; on a failure the
model reads the per-check verdicts, the evidence and the traceback, writes an error analysis,
then the repaired function; until every check passes or the budget is spent. How a round asks
and samples, what counts as a dead round, and the paper's exchange (``prompts="paper"``) are
`aicoder.agents.policy`.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass

from aicoder.agents.base import Agent, Budget, RunContext
from aicoder.agents.policy import (
    RepairPolicy,
    degenerate,
    failure_line,
    review_analysis,
    trim_analysis,
)
from aicoder.agents.steps import Event, ExecuteStep, ModelStep, StepKind
from aicoder.models import ChatModel, Message
from aicoder.prompts import describe_failure, render
from aicoder.tasks import Task, assemble
from sandbox import Sandbox

__all__ = ["CoderGen", "codergen"]


def _key(code: str) -> str:
    return "\n".join(line.rstrip() for line in code.strip().splitlines())


@dataclass
class _Attempt:
    """An attempt that ran: its number (from 1), its execute step and what it cost."""

    number: int
    step: ExecuteStep
    tokens: int

    @property
    def score(self) -> tuple[int, int]:
        """Higher is better: passed, then checks passed, then fewer tokens."""
        result = self.step.result
        return (int(result.passed), sum(c.passed for c in result.checks), -self.tokens)


class CoderGen(Agent):
    """The repair loop. ``run(task)`` yields events; see `aicoder.agents.steps`."""

    mode = "codergen"

    def __init__(self, model: ChatModel, sandbox: Sandbox | None = None, *,
                 policy: RepairPolicy | None = None, **options) -> None:
        super().__init__(model, sandbox, **options)
        self.policy = policy or RepairPolicy()

    def run(self, task: Task) -> Iterator[Event]:
        ctx = self.context()
        system = Message(role="system", content=render("system"))
        ask = Message(role="user", content=render("generate", prompt=task.prompt.strip()))
        answer = yield from ctx.ask(StepKind.GENERATE, 0, [system, ask])
        if answer.error:
            yield ctx.final(0, None, f"model error: {answer.error}")
            return
        if self.policy.paper:
            yield from self._paper(ctx, task, system, ask, answer)
        else:
            yield from self._policy(ctx, task, system, ask, answer)

    def _paper(self, ctx: RunContext, task: Task, system: Message, ask: Message, answer: ModelStep
               ) -> Generator[Event, None, None]:
        """The paper's exchange: the same history every round, analysis then repair."""
        seen: dict[str, ExecuteStep] = {}
        last: ExecuteStep | None = None
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

    def _policy(self, ctx: RunContext, task: Task, system: Message, ask: Message, answer: ModelStep
                ) -> Generator[Event, None, None]:
        """The repair policy: compact history, repeats said plainly and resampled, candidates."""
        policy = self.policy
        attempts: list[_Attempt] = []
        by_key: dict[str, _Attempt] = {}
        level = 0  # the stuck level: repeats and degenerate analyses so far
        notice = ""  # what the next analysis request must say about the last round

        def attempt(round_: int, code_answer: ModelStep, candidate: int | None
                    ) -> Generator[Event, None, tuple[_Attempt, bool]]:
            """Run a repair's code, or record that it repeats an attempt: (the attempt, new)."""
            program = assemble(task, code_answer.text)
            key = _key(program.candidate)
            tokens = code_answer.prompt_tokens + code_answer.completion_tokens
            if key in by_key:
                earlier = by_key[key]
                yield ctx.reuse(round_, program, earlier.step, candidate=candidate,
                                note=f"identical to attempt {earlier.number}: not run again")
                return earlier, False
            step = yield from ctx.execute(round_, program, candidate=candidate)
            by_key[key] = done = _Attempt(len(attempts) + 1, step, tokens)
            attempts.append(done)
            return done, True

        first, _ = yield from attempt(0, answer, None)
        best = first
        for round_ in range(1, self.budget.rounds + 2):
            if best.step.result.passed:
                yield ctx.final(best.step.round, best.step, f"passed at round {best.step.round}")
                return
            if round_ > self.budget.rounds:
                yield ctx.final(round_ - 1, best.step,
                                f"repair budget spent ({self.budget.rounds} rounds)")
                return
            if why := ctx.spent():
                yield ctx.final(round_ - 1, best.step, why)
                return
            history = [system, ask,
                       Message(role="assistant", content=f"```python\n{best.step.code}\n```"),
                       Message(role="user", content=render(
                           "feedback", failure=describe_failure(best.step.result),
                           attempts=_attempt_list(attempts), notice=notice))]
            params = policy.sampling(ctx.params, round_=round_, level=level, analysis=True)
            analysis = yield from ctx.ask(StepKind.ANALYZE, round_, history, params=params,
                                          review=review_analysis)
            if analysis.error:
                yield ctx.final(round_ - 1, best.step, f"model error: {analysis.error}")
                return
            bad = degenerate(analysis.text, cut=bool(analysis.cut))
            fed = trim_analysis(analysis.text, bad)
            if bad is not None:
                level += 1
            if fed:
                history += [Message(role="assistant", content=fed),
                            Message(role="user", content=render("repair_policy"))]
            else:  # nothing of the analysis is worth reading: ask for the repair directly
                history[-1] = Message(role="user", content=history[-1].content + "\n\n"
                                      + render("repair_policy"))
            notice = ""
            ran: list[_Attempt] = []
            retries = policy.retries
            n = policy.candidates
            for candidate in range(n):
                if ctx.spent():
                    break
                label = candidate if n > 1 else None
                messages = list(history)
                while True:
                    params = policy.sampling(ctx.params, round_=round_, level=level,
                                             candidate=candidate)
                    repair = yield from ctx.ask(StepKind.REPAIR, round_, messages,
                                                params=params, candidate=label)
                    if repair.error:
                        yield ctx.final(round_ - 1, best.step, f"model error: {repair.error}")
                        return
                    earlier, new = yield from attempt(round_, repair, label)
                    if new:
                        ran.append(earlier)
                        break
                    level += 1
                    why = failure_line(earlier.step.result)
                    notice = (f"\nYour last repair was identical to attempt {earlier.number}, "
                              f"which failed with: {why}. Take another approach.\n")
                    if retries <= 0 or ctx.spent():
                        break
                    retries -= 1
                    # a fresh conversation without the code: shown its own code, a small
                    # model copies it even when sampled hotter
                    findings = f"What your last analysis found: {fed}\n" if fed else ""
                    messages = [system, Message(role="user", content=ask.content + "\n\n" + render(
                        "fresh", number=earlier.number, why=why,
                        attempts=_attempt_list(attempts, header=False), analysis=findings))]
                if ran and ran[-1].step.result.passed:
                    break
            if ran:
                best = max(ran, key=lambda a: a.score)
                if bad is not None and not notice:
                    notice = (f"\nYour last analysis was not usable ({bad}); keep it to a few "
                              "sentences about the failing check.\n")
            elif not notice:
                notice = "\nYour last repair produced no new code. Take another approach.\n"


def _attempt_list(attempts: list[_Attempt], *, header: bool = True) -> str:
    """The compact list of failed attempts. With the header (the feedback after an attempt),
    only when there is more than the one shown in full."""
    lines = [f"  {a.number}. round {a.step.round}: {failure_line(a.step.result)}"
             for a in attempts if not a.step.result.passed]
    if not header:
        return "\n".join(lines)
    if len(attempts) < 2:
        return ""
    return "\nAttempts that failed so far (do not send any of them again):\n" + \
        "\n".join(lines) + "\n"


def codergen(task: Task, model: ChatModel, budget: Budget | None = None, **options
             ) -> Iterator[Event]:
    """``CoderGen(model, budget=budget, **options).run(task)``."""
    return CoderGen(model, budget=budget, **options).run(task)
