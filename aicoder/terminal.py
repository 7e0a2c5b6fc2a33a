"""Rendering an agent's events in a terminal with rich (the agents know nothing of this).

Text streams as the model writes it; each finished execution gets its per-check table; a
repair shows the diff against the previous attempt; the run ends with a summary.
"""

from __future__ import annotations

import difflib

from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.rule import Rule
from rich.syntax import Syntax
from rich.table import Table

from aicoder.agents.steps import (
    ActionStep,
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
    place,
)
from aicoder.tasks import Task
from sandbox import CheckState, ExecutionResult

__all__ = ["TerminalRenderer", "checks_table"]

_TITLES = {
    StepKind.GENERATE: "generate", StepKind.EXECUTE: "execute", StepKind.ANALYZE: "analysis",
    StepKind.REPAIR: "repair", StepKind.THOUGHT: "thought", StepKind.ACTION: "action",
    StepKind.OBSERVATION: "observation", StepKind.FINAL: "final",
}
_STREAMED = (StepKind.GENERATE, StepKind.ANALYZE, StepKind.REPAIR, StepKind.THOUGHT)


def checks_table(result: ExecutionResult) -> Table:
    table = Table(show_header=True, header_style="bold", expand=False)
    table.add_column("verdict", no_wrap=True)
    table.add_column("check")
    table.add_column("message", overflow="fold")
    for check in result.checks:
        verdict = _CHECK_STYLE[check.state]
        message = check.message + (f"\n{check.evidence}" if check.evidence else "")
        table.add_row(verdict, check.name, escape(message))
    return table


_CHECK_STYLE = {CheckState.PASSED: "[green]✓ passed[/]", CheckState.FAILED: "[red]✗ failed[/]",
                CheckState.NOT_RUN: "[yellow]– not run[/]"}


class TerminalRenderer:
    def __init__(self, task: Task, model: str, mode: str, console: Console | None = None) -> None:
        self.task = task
        self.model = model
        self.mode = mode
        self.console = console or Console(highlight=False)
        self.streaming: int | None = None
        self.last_code: str | None = None
        self.tokens = 0

    def header(self) -> None:
        self.console.print(Panel.fit(
            f"[bold]{self.task.task_id}[/] · {self.task.framework} · {self.task.domain}\n"
            f"model [cyan]{self.model}[/] · mode [cyan]{self.mode}[/]", title="AICoder"))

    def show(self, event: Event) -> None:
        if isinstance(event, StepStarted):
            title = f"{_TITLES[event.kind]} · {place(event.round, event.candidate, event.turn)}"
            self.console.print(Rule(title, align="left"))
            self.streaming = event.index if event.kind in _STREAMED else None
        elif isinstance(event, TextDelta):
            if event.index == self.streaming:
                self.console.out(event.text, end="", highlight=False)
        elif isinstance(event, Progress):
            pass  # a terminal shows the result when it comes; the UI shows elapsed time
        elif isinstance(event, Step):
            self._finished(event)

    def _finished(self, step: Step) -> None:
        self.tokens += step.tokens
        if isinstance(step, ModelStep):
            self.console.out("")
            meta = f"{step.completion_tokens} tokens in {step.duration_s:.1f} s"
            if step.time_to_first_token_s is not None:
                meta += f" (first after {step.time_to_first_token_s:.2f} s)"
            if step.note:
                meta += f" · {step.note}"
            self.console.print(f"[dim]{meta}[/]")
            if step.error:
                self.console.print(f"[red]model error: {step.error}[/]")
        elif isinstance(step, (ExecuteStep, ObservationStep)) and step.result is not None:
            self._execution(step)
        elif isinstance(step, ActionStep):
            self.console.print(f"[bold]{step.action}[/]")
        elif isinstance(step, ObservationStep):
            self.console.print(step.text)
        elif isinstance(step, FinalStep):
            colour = "green" if step.passed else "red"
            verdict = "PASSED" if step.passed else "NOT PASSED"
            self.console.print(Panel.fit(
                f"[bold {colour}]{verdict}[/] — {step.text}\n"
                f"{self.tokens} tokens · {step.duration_s:.1f} s", title="summary"))

    def _execution(self, step: ExecuteStep | ObservationStep) -> None:
        result = step.result
        probe = isinstance(step, ObservationStep) and step.action == "python"
        if step.code and self.last_code and step.code != self.last_code and not step.note:
            diff = "".join(difflib.unified_diff(
                self.last_code.splitlines(True), step.code.splitlines(True),
                "previous attempt", "this attempt"))
            if diff:
                self.console.print(Syntax(diff, "diff", theme="ansi_dark"))
        if step.code and not probe:
            self.last_code = step.code
        if probe:
            self.console.print(step.text)
            return
        colour = "green" if result.passed else "red"
        self.console.print(f"[bold {colour}]{result.status.value.upper()}[/] — {result.reason} "
                           f"[dim]({result.duration_s:.2f} s)[/]" + (f" · {step.note}"
                                                                     if step.note else ""))
        for evidence in result.tamper[:5]:
            self.console.print(f"[bold magenta]refused[/] {escape(evidence.event)}: "
                               f"{escape(evidence.summary())}", highlight=False)
        if result.checks:
            self.console.print(checks_table(result))
        if result.traceback is not None and not result.passed:
            frames = result.traceback.candidate_frames
            if frames:
                where = frames[-1]
                self.console.print(f"[red]{result.traceback.summary()}[/] at line {where.line}: "
                                   f"[bold]{where.code}[/]")
            else:
                self.console.print(f"[red]{result.traceback.summary()}[/]")

    def stopped(self) -> None:
        self.console.print("\n[yellow]stopped: the generation and the sandbox run were ended[/]")
