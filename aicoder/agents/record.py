"""A finished run summed up: one line of eval's ``samples.jsonl`` (and the Space's download).

Every number of a report is computed from these records, so they carry what the metrics need:
the final execution's status and per-check counts (SR@All, SR@Any, vacuous), the round at
which the sample first passed (the repair curve), tokens and time. The full Step list is kept
so a reviewer can replay the sample and check the verdict against the raw result.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, Field

from aicoder.agents.steps import Step, StepKind
from sandbox import ExecutionResult, Status

__all__ = ["CompatVerdict", "SampleRecord", "record_from_steps"]


class CompatVerdict(BaseModel, frozen=True):
    """How the authors' published harness judged the same prediction (``--compat authors``)."""

    passed: bool = Field(description="no 'Error' in stderr and no 'failed' in stdout")
    stderr_has_error: bool
    stdout_has_failed: bool
    status: str = Field(description="how the plain script run ended, in our words")
    program: str = Field(description="the script the authors' harness would have run")
    stderr_tail: str = Field(default="", description="the end of the script's stderr")
    stdout_tail: str = Field(default="", description="the end of the script's stdout")


class SampleRecord(BaseModel, frozen=True):
    """A finished sample of one task."""

    task_id: str
    sample: int = Field(description="0-based sample index of this task")
    status: str = Field(description="the last execution's status; 'no_code' when none ran")
    passed: bool = Field(description="SR@All: every check passed (and at least one ran)")
    any_passed: bool = Field(description="SR@Any: at least one check passed (never if vacuous)")
    checks_total: int = 0
    checks_passed: int = 0
    checks_executed: int = 0
    passed_at_round: int | None = Field(default=None, description="first round that passed")
    rounds: int = Field(default=0, description="repair rounds used")
    prompt_tokens: int = 0
    completion_tokens: int = 0
    duration_s: float = Field(default=0.0, description="wall time of the sample, queueing "
                              "included")
    queued_s: float = Field(default=0.0, description="time it waited for a model or sandbox "
                            "slot while other samples used them")
    why: str = Field(default="", description="why the run stopped, or why it has no code")
    model_error: str | None = None
    steps: list[Step] = Field(default_factory=list)
    compat: CompatVerdict | None = None


def _counts(result: ExecutionResult | None) -> dict:
    if result is None:
        return {"status": "no_code", "passed": False, "any_passed": False}
    vacuous = result.status is Status.VACUOUS or result.checks_executed == 0
    return {
        "status": Status.VACUOUS.value if vacuous and result.status is Status.PASSED
        else result.status.value,
        "passed": result.passed and not vacuous,
        "any_passed": result.any_passed and not vacuous,
        "checks_total": len(result.checks),
        "checks_passed": sum(c.passed for c in result.checks),
        "checks_executed": result.checks_executed,
    }


def record_from_steps(task_id: str, sample: int, steps: Sequence[Step], *,
                      compat: CompatVerdict | None = None, queued_s: float = 0.0
                      ) -> SampleRecord:
    """Sum a finished run up. The verdict is that of the execution the run ended with (the
    final step's ``verdict_step``; the last execution in records from before it existed); the
    repair curve uses the first execution that passed."""
    executions = [s for s in steps if s.kind is StepKind.EXECUTE and s.result is not None]
    final = next((s for s in reversed(steps) if s.kind is StepKind.FINAL), None)
    # the attempt the run kept (CoderGen's candidates), else the last one
    kept = next((s for s in executions if final is not None and s.index == final.verdict_step),
                executions[-1] if executions else None)
    last = kept.result if kept is not None else None
    first_pass = next((s.round for s in executions if _counts(s.result)["passed"]), None)
    errors = [s.error for s in steps if s.error]
    return SampleRecord(
        task_id=task_id, sample=sample, **_counts(last), passed_at_round=first_pass,
        rounds=(final.rounds or 0) if final else max((s.round for s in steps), default=0),
        prompt_tokens=sum(s.prompt_tokens for s in steps),
        completion_tokens=sum(s.completion_tokens for s in steps),
        duration_s=final.duration_s if final else round(sum(s.duration_s for s in steps), 3),
        why=final.text if final else "", model_error=errors[0] if errors else None,
        queued_s=round(queued_s, 3), steps=list(steps), compat=compat)
