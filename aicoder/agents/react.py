"""The paper's ReAct baseline: Thought / Action / Observation until `finish` or the step budget.

Actions:
  run_tests(code) — the task's checks on a candidate, observed as the per-check verdicts;
  python(snippet) — a snippet run in the sandbox to inspect an API (help, dir, versions);
  finish(code)    — the final answer, judged like CoderGen's.
A reply without a valid action is answered with an observation that says how to fix it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from aicoder.agents.base import Agent
from aicoder.agents.steps import Event, FinalStep, ObservationStep, StepKind
from aicoder.models import Message
from aicoder.prompts import describe_failure, render, trim_middle
from aicoder.prompts.extract import fenced_blocks
from aicoder.tasks import Task, assemble
from sandbox import ExecutionResult, Program, Status

__all__ = ["ACTIONS", "ReAct", "parse_action"]

ACTIONS = ("run_tests", "python", "finish")
_ACTION = re.compile(r"Action\s*:\s*[`*]*\s*(run_tests|python|finish)\b", re.IGNORECASE)
MALFORMED = ("Observation: I could not find a valid action. Reply with `Thought: ...` and then "
             "`Action: run_tests`, `Action: python` or `Action: finish`, followed by the code "
             "in a ```python block.")


def parse_action(reply: str, function_name: str) -> tuple[str, str] | str:
    """``(action, code)`` from a reply, or the observation explaining why it is malformed."""
    match = _ACTION.search(reply)
    if match is None:
        return MALFORMED
    action = match.group(1).lower()
    after = reply[match.end():]
    blocks = fenced_blocks(after)
    if not blocks:
        return (f"Observation: `{action}` needs its code in a ```python block right after the "
                "Action line.")
    if action == "python":
        return action, blocks[0]
    code = next((b for b in blocks if re.search(rf"\bdef {re.escape(function_name)}\b", b)),
                None)
    if code is None:
        return (f"Observation: the code after `Action: {action}` must define "
                f"`{function_name}` with its original signature.")
    return action, code


def _observe_tests(result: ExecutionResult) -> str:
    if result.passed:
        return f"Observation: all {len(result.checks)} checks passed. Reply with Action: finish."
    return "Observation:\n" + describe_failure(result)


def _observe_python(result: ExecutionResult) -> str:
    parts = []
    if result.stdout.strip():
        parts.append(trim_middle(result.stdout.strip(), 2000))
    if result.traceback is not None and result.status is Status.ERROR:
        parts.append(trim_middle(result.traceback.text or result.traceback.summary(), 1500))
    elif result.status in (Status.TIMEOUT, Status.MEMORY, Status.CRASHED):
        parts.append(f"({result.status.value}: {result.reason})")
    return "Observation:\n" + ("\n".join(parts) if parts else "(no output)")


class ReAct(Agent):
    """Each step records its model ``turn``; its ``round`` is the attempt it belongs to (the
    test runs before it), as CoderGen's rounds are, so that the repair curve and ``rounds``
    mean the same in every mode: a pass at the first ``run_tests`` is round 0."""

    mode = "react"

    def run(self, task: Task) -> Iterator[Event]:
        ctx = self.context()
        steps = self.budget.react_steps
        history = [Message(role="system", content=render("system")),
                   Message(role="user", content=render("react", prompt=task.prompt.strip(),
                                                       steps=steps))]
        last_test: ObservationStep | None = None
        tests = 0  # run_tests / finish executions so far

        def end(turn: int, why: str) -> FinalStep:
            return ctx.final(max(tests - 1, 0), last_test, why, turn=turn)

        for turn in range(steps):
            thought = yield from ctx.ask(StepKind.THOUGHT, tests, history, turn=turn)
            if thought.error:
                yield end(turn, f"model error: {thought.error}")
                return
            history.append(Message(role="assistant", content=thought.text))
            parsed = parse_action(thought.text, task.function_name)
            if isinstance(parsed, str):
                yield ctx.observe(tests, turn, parsed, note="malformed action")
                history.append(Message(role="user", content=parsed))
                continue
            action, code = parsed
            yield ctx.action(tests, turn, action, code)
            if action == "python":
                probe = Program(candidate=task.imports + "\n" + code,
                                test="def test_probe():\n    pass\n", entry="test_probe")
                observed = yield from ctx.execute(tests, probe, observe=(action, turn),
                                                  describe=_observe_python)
            else:
                observed = yield from ctx.execute(tests, assemble(task, "```python\n" + code
                                                                  + "\n```"),
                                                  observe=(action, turn),
                                                  describe=_observe_tests)
                last_test = observed
                tests += 1
                if action == "finish":
                    verdict = "passed" if observed.result.passed else "did not pass"
                    yield end(turn, f"finished at step {turn + 1}: {verdict}")
                    return
            history.append(Message(role="user", content=observed.text))
            if why := ctx.spent():
                yield end(turn, why)
                return
        yield end(steps, f"step budget spent ({steps} steps) without finish")
