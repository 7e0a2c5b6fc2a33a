"""An agent run as chat messages and panels: the same rendering live and in replay.

`Transcript.feed(event)` keeps one collapsible message per step (title, pending → done,
duration), with the model's text appended token by token; the panels (current attempt, diff
against the previous attempt, per-check verdicts, output, the traceback with the candidate's
failing line marked, a summary) are computed from the finished steps. Replay feeds a stored
run's steps through the same code, so what a reviewer steps through is what a visitor saw.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from aicoder.agents.steps import (
    Event,
    ExecuteStep,
    FinalStep,
    ModelStep,
    ObservationStep,
    Progress,
    Step,
    StepKind,
    StepStarted,
    TextDelta,
    judged,
    place,
)
from aicoder.ui.verdict import STATUS_ICONS, check_rows, summary_markdown
from sandbox import ExecutionResult

__all__ = ["Panels", "Transcript", "diff_markdown", "marked_traceback", "step_title"]

_TITLES = {
    StepKind.GENERATE: "Writing the function",
    StepKind.EXECUTE: "Running the checks",
    StepKind.ANALYZE: "Analysing the failure",
    StepKind.REPAIR: "Writing the repair",
    StepKind.THOUGHT: "Thinking",
    StepKind.ACTION: "Action",
    StepKind.OBSERVATION: "Observation",
    StepKind.FINAL: "Result",
}


def step_title(kind: StepKind, round_: int, candidate: int | None = None,
               turn: int | None = None) -> str:
    """A step's title: its kind and round (ReAct: its step, the model turn from 1), and its
    candidate when a round samples several."""
    if kind is StepKind.FINAL:
        return _TITLES[kind]
    return f"{_TITLES[kind]} · {place(round_, candidate, turn)}"


def _execution_text(step: ExecuteStep | ObservationStep) -> str:
    result = step.result
    if result is None:
        return step.text or step.note
    lines = [summary_markdown(result)]
    if step.note:
        lines.append(f"*{step.note}*")
    for verdict, name, message in check_rows(result):
        lines.append(f"- **{verdict}** `{name}`" + (f" — {message[:200]}" if message else ""))
    return "\n".join(lines)


def diff_markdown(before: str | None, after: str) -> str:
    """The change between two attempts as a fenced unified diff (or a note when none)."""
    if before is None:
        return "*First attempt: nothing to compare with yet.*"
    diff = list(difflib.unified_diff(before.splitlines(), after.splitlines(),
                                     "previous attempt", "this attempt", lineterm="", n=2))
    if not diff:
        return "*Same code as the previous attempt.*"
    return "```diff\n" + "\n".join(diff) + "\n```"


def marked_traceback(result: ExecutionResult | None, code: str) -> str:
    """The traceback, then the candidate's lines around its failing line with that line
    marked ``>>``: what a person looks at first."""
    if result is None or result.traceback is None:
        return ""
    tb = result.traceback
    text = tb.text or tb.summary()
    frames = tb.candidate_frames
    if not frames or not code:
        return text
    line = frames[-1].line
    lines = code.splitlines()
    start, end = max(line - 3, 1), min(line + 2, len(lines))
    excerpt = [f"{'>>' if n == line else '  '} {n:4d} | {lines[n - 1]}"
               for n in range(start, end + 1) if n <= len(lines)]
    return text.rstrip() + "\n\nin your code (candidate.py):\n" + "\n".join(excerpt)


@dataclass
class Panels:
    """What the side panels show for the attempt a transcript has reached."""

    code: str = ""
    diff: str = ""
    checks: list[list[str]] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    traceback: str = ""
    summary: str = ""


class Transcript:
    """Chat messages for a run, built event by event (live) or step by step (replay)."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.steps: list[Step] = []
        self._position: dict[int, int] = {}

    def _message(self, index: int) -> dict:
        return self.messages[self._position[index]]

    def _open(self, index: int, kind: StepKind, round_: int, candidate: int | None = None,
              turn: int | None = None) -> dict:
        if index not in self._position:
            self._position[index] = len(self.messages)
            self.messages.append({"role": "assistant", "content": "", "metadata": {
                "title": step_title(kind, round_, candidate, turn), "id": index,
                "status": "pending"}})
        return self._message(index)

    def feed(self, event: Event) -> None:
        if isinstance(event, StepStarted):
            self._open(event.index, event.kind, event.round, event.candidate, event.turn)
        elif isinstance(event, TextDelta):
            if event.index in self._position:
                self._message(event.index)["content"] += event.text
        elif isinstance(event, Progress):
            if event.index in self._position:
                self._message(event.index)["metadata"]["log"] = \
                    f"{event.what}, {event.elapsed_s:.1f} s"
        elif isinstance(event, Step):
            self._finish(event)

    def _finish(self, step: Step) -> None:
        self.steps.append(step)
        if isinstance(step, FinalStep):
            icon = "✓" if step.passed else "✗"
            self.messages.append({"role": "assistant", "content":
                                  f"**{icon} {'Passed' if step.passed else 'Not passed'}** — "
                                  f"{step.text} ({step.duration_s:.1f} s, "
                                  f"{self.tokens():,} tokens)"})
            return
        message = self._open(step.index, step.kind, step.round, step.candidate, step.turn)
        meta = message["metadata"]
        meta["status"] = "done"
        meta["duration"] = round(step.duration_s, 2)
        meta.pop("log", None)
        ran = isinstance(step, ExecuteStep) or (isinstance(step, ObservationStep)
                                                and step.result is not None)
        error = step.error if isinstance(step, ModelStep) else None
        if ran:
            if step.result is not None:
                meta["title"] += f" — {STATUS_ICONS.get(step.result.status, '?')} " \
                                 f"{step.result.status.value}"
            message["content"] = _execution_text(step)
        else:
            message["content"] = step.text or ("*(no text)*" if not error else "")
            if step.note:  # how it sampled, a cut, a degenerate analysis
                message["content"] += f"\n\n*{step.note}*"
        if error:
            message["content"] += f"\n\n**Model error:** {error}"

    def tokens(self) -> int:
        return sum(s.tokens for s in self.steps)

    def panels(self) -> Panels:
        """The panels for the latest finished execution (and the one before it); once the run
        is over, for the attempt it kept (CoderGen's best candidate)."""
        runs = [s for s in judged(self.steps) if s.code is not None]
        final = next((s for s in reversed(self.steps) if isinstance(s, FinalStep)), None)
        if not runs:
            return Panels(summary=final.text if final else "")
        at = len(runs) - 1
        kept = next((i for i, s in enumerate(runs) if final is not None
                     and s.index == final.verdict_step), at)
        if runs[kept].code != runs[at].code:  # a better candidate than the last one run
            at = kept
        last = runs[at]
        before = runs[at - 1].code if at > 0 else None
        result = last.result
        summary = summary_markdown(result)
        if final is not None:
            summary = (f"### {'✓ Passed' if final.passed else '✗ Not passed'} — {final.text}\n\n"
                       f"{len(runs)} execution{'s' if len(runs) > 1 else ''}, "
                       f"{self.tokens():,} tokens, {final.duration_s:.1f} s\n\n" + summary)
        return Panels(code=last.code, diff=diff_markdown(before, last.code),
                      checks=check_rows(result), stdout=result.stdout, stderr=result.stderr,
                      traceback=marked_traceback(result, last.code), summary=summary)

    @classmethod
    def from_steps(cls, steps: list[Step]) -> Transcript:
        """A finished run's transcript (replay): each step as if it had just finished."""
        transcript = cls()
        for step in steps:
            transcript.feed(step)
        return transcript
