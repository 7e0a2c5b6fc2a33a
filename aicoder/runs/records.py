"""One line of ``samples.jsonl``: a finished sample summed up (eval's runs, the Space's
download).

Every number of a report is computed from these records, so they carry what the metrics need:
the status and per-check counts of the execution the run ended with (SR@All, SR@Any,
vacuous), the round at which the sample first passed (the repair curve), tokens and time. The
full Step list is kept so a reviewer can replay the sample and check the verdict against the
raw result.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

from pydantic import BaseModel, Field

from aicoder.agents.steps import FinalStep, ModelStep, Step, StepList, judged
from sandbox import ExecutionResult, Status

__all__ = ["CompatVerdict", "SampleRecord", "SampleStatus", "record_from_steps"]


class SampleStatus(str, Enum):
    """Every value a sample's status can have: an execution's `sandbox.Status`, or why there
    was no execution to judge."""

    PASSED = "passed"
    FAILED = "failed"
    VACUOUS = "vacuous"
    ERROR = "error"
    TIMEOUT = "timeout"
    MEMORY = "memory"
    CRASHED = "crashed"
    CANCELLED = "cancelled"
    TAMPERED = "tampered"
    NO_CODE = "no_code"
    """The run ended before any code ran (the model failed, or wrote no function)."""
    MISSING = "missing"
    """``eval score``: the predictions hold nothing for this task (a failure)."""
    SKIPPED = "skipped"
    """``eval check-gt``: the reference was not run (its Hub repositories are not cached)."""

    @classmethod
    def of(cls, result: ExecutionResult | None) -> SampleStatus:
        """The status of a sample that ended with ``result``: a pass without a check is
        vacuous (the rule is `ExecutionResult.vacuous`)."""
        if result is None:
            return cls.NO_CODE
        if result.vacuous and result.status is Status.PASSED:
            return cls.VACUOUS
        return cls(result.status.value)


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
    status: SampleStatus = Field(description="the status of the execution the run ended "
                                 "with; no_code when none ran, missing when nothing to score")
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
    steps: StepList = Field(default_factory=list)
    compat: CompatVerdict | None = None

    @classmethod
    def missing(cls, task_id: str, why: str) -> SampleRecord:
        """A task with nothing to judge: scored as a failure."""
        return cls(task_id=task_id, sample=0, status=SampleStatus.MISSING, passed=False,
                   any_passed=False, why=why)


def _counts(result: ExecutionResult | None) -> dict:
    if result is None:
        return {"status": SampleStatus.NO_CODE, "passed": False, "any_passed": False}
    return {
        "status": SampleStatus.of(result),
        "passed": result.passed,
        "any_passed": result.any_passed,
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
    executions = judged(steps)
    final = next((s for s in reversed(steps) if isinstance(s, FinalStep)), None)
    # the attempt the run kept (CoderGen's candidates), else the last one
    kept = next((s for s in executions if final is not None and s.index == final.verdict_step),
                executions[-1] if executions else None)
    last = kept.result if kept is not None else None
    first_pass = next((s.round for s in executions if s.result.passed), None)
    spoken = [s for s in steps if isinstance(s, ModelStep)]
    errors = [s.error for s in spoken if s.error]
    return SampleRecord(
        task_id=task_id, sample=sample, **_counts(last), passed_at_round=first_pass,
        rounds=(final.rounds or 0) if final else max((s.round for s in steps), default=0),
        prompt_tokens=sum(s.prompt_tokens for s in spoken),
        completion_tokens=sum(s.completion_tokens for s in spoken),
        duration_s=final.duration_s if final else round(sum(s.duration_s for s in steps), 3),
        why=final.text if final else "", model_error=errors[0] if errors else None,
        queued_s=round(queued_s, 3), steps=list(steps), compat=compat)
