"""What goes into the sandbox (`Program`, `Limits`) and what comes out (`ExecutionResult`).

These types are the whole contract between the product and the sandbox: the sandbox never
raises for anything the untrusted program does; it describes it here.
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, Field

__all__ = [
    "CheckResult",
    "CheckState",
    "ExecutionResult",
    "Frame",
    "Limits",
    "Program",
    "Status",
    "Tamper",
    "TracebackInfo",
]

#: stdout and stderr are each kept up to this many bytes (head and tail), the rest is counted.
OUTPUT_CAP = 64 * 1024


class Status(str, Enum):
    """The verdict of one execution, from best to worst."""

    PASSED = "passed"
    """The test ran to its end, at least one check ran, and every check that ran passed."""
    FAILED = "failed"
    """At least one check failed (an assertion was false)."""
    VACUOUS = "vacuous"
    """The test ended without error but no check ran (e.g. it caught an error and printed)."""
    ERROR = "error"
    """An exception escaped the program, or the test swallowed one with a catch-all handler."""
    TIMEOUT = "timeout"
    """The wall-clock or CPU-time limit was reached; the process group was killed."""
    MEMORY = "memory"
    """The memory limit was reached."""
    CRASHED = "crashed"
    """The process ended without the harness's own final record (os._exit, a signal, a kill)."""
    CANCELLED = "cancelled"
    """Stopped from outside (a Stop button) before it finished; the process group was killed."""
    TAMPERED = "tampered"
    """The candidate reached into the harness or the test: introspection the harness refused,
    a patched library or builtin the test relies on, or a value whose class the candidate made
    to compare equal. Never a pass, whatever the checks said; see ``ExecutionResult.tamper``."""

    @property
    def ok(self) -> bool:
        return self is Status.PASSED


class Program(BaseModel, frozen=True):
    """A program to judge: the candidate's module, the test module, and the test function to call.

    The two sources are compiled under their own file names so that tracebacks can tell the
    candidate's frames from the test's.
    """

    candidate: str = Field(description="imports + the candidate function (and its helpers)")
    test: str = Field(description="the test module: defines the test function (and may import)")
    entry: str = Field(description="the name of the test function the harness calls")
    candidate_name: str = Field(default="candidate.py", description="file name for tracebacks")
    test_name: str = Field(default="test.py", description="file name for tracebacks")
    script: bool = Field(default=False, description=(
        "run ``candidate`` as a plain script, as ``python file.py`` would (an uncaught "
        "exception's traceback goes to stderr); no checks, so never 'passed'. For scoring "
        "the way other harnesses did; ``test`` and ``entry`` are ignored"))

    def text(self, call: str | None = None) -> str:
        """The program as one script, as a person would run it by hand."""
        call = call if call is not None else f"{self.entry}()"
        parts = [self.candidate.rstrip(), self.test.rstrip(), call.strip()]
        return "\n\n\n".join(p for p in parts if p) + "\n"


class Limits(BaseModel, frozen=True):
    """Resource limits of one execution. Defaults suit a task that loads a small Hub model."""

    wall_s: float = Field(default=60.0, gt=0, description="wall-clock seconds before the kill")
    cpu_s: int = Field(default=120, gt=0, description="CPU seconds (RLIMIT_CPU), all threads")
    memory_mb: int = Field(default=4096, gt=0, description="private memory (RLIMIT_DATA), MiB")
    file_size_mb: int = Field(default=256, gt=0, description="largest file it may write, MiB")
    open_files: int = Field(default=256, gt=0, description="RLIMIT_NOFILE")
    processes: int = Field(default=256, gt=0, description="processes and threads (RLIMIT_NPROC);"
                           " torch starts a thread per core")
    tmp_mb: int = Field(default=512, gt=0, description="size of the private /tmp (bubblewrap)")
    output_bytes: int = Field(default=OUTPUT_CAP, gt=0, description="kept of stdout / stderr")


class Frame(BaseModel, frozen=True):
    """One frame of a traceback."""

    file: str
    line: int
    function: str
    code: str = ""
    in_candidate: bool = Field(default=False, description="the frame is in the candidate's code")


class TracebackInfo(BaseModel, frozen=True):
    """An exception as the repair prompt needs it."""

    exc_type: str = Field(description="e.g. 'ZeroDivisionError'")
    message: str
    frames: list[Frame] = Field(default_factory=list)
    text: str = Field(default="", description="the formatted traceback, trimmed")

    @property
    def candidate_frames(self) -> list[Frame]:
        return [f for f in self.frames if f.in_candidate]

    def summary(self) -> str:
        return f"{self.exc_type}: {self.message}" if self.message else self.exc_type


class Tamper(BaseModel, frozen=True):
    """One piece of evidence that the candidate tampered with the test."""

    event: str = Field(description="what was refused or found: 'sys._getframe', 'comparison', "
                       "'patched' ...")
    detail: str = Field(description="one line for people: what the candidate asked for or did")
    file: str = Field(default="", description="where: the candidate's file (or the test's)")
    line: int = Field(default=0, description="the line there, 0 when unknown")
    code: str = Field(default="", description="the source of that line, when known")

    def summary(self) -> str:
        where = f" at line {self.line}" if self.line else ""
        code = f": `{self.code}`" if self.code else ""
        return f"{self.detail}{where}{code}"


class CheckState(str, Enum):
    """What became of one check: every renderer (the Space, the terminal, the prompts) shows
    these three words."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_RUN = "not run"


class CheckResult(BaseModel, frozen=True):
    """One check of the test function: a top-level assert, or a `Test case` block."""

    name: str = Field(description="e.g. 'line 12: assert len(out) == 3' or 'Test case 2/3'")
    line: int = Field(description="first line of the check in the test module")
    passed: bool
    executed: bool = Field(description="False when the test never reached it")
    message: str = Field(default="", description="why it failed, or why it did not run")
    evidence: str = Field(default="", description=(
        "what the harness saw when it failed: the compared values (a short repr each; shape, "
        "dtype and a few values of an array; where two sequences first differ), or the line "
        "where the candidate's code raised and its local variables there"))

    @property
    def state(self) -> CheckState:
        if self.passed:
            return CheckState.PASSED
        return CheckState.FAILED if self.executed else CheckState.NOT_RUN


class ExecutionResult(BaseModel, frozen=True):
    """Everything the sandbox learned from one execution."""

    status: Status
    checks: list[CheckResult] = Field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    stdout_bytes: int = Field(default=0, description="bytes written in all (kept: stdout)")
    stderr_bytes: int = 0
    traceback: TracebackInfo | None = None
    reason: str = Field(default="", description="one line that says why, for people")
    duration_s: float = Field(default=0.0, description="wall time of the whole execution")
    peak_memory_mb: float | None = Field(
        default=None, description="max RSS, when known (a warm run's includes the pages it "
        "shares with its zygote's preloaded libraries)")
    exit_code: int | None = None
    backend: str = ""
    warm: bool = Field(default=False, description="ran in a child forked from a warm zygote")
    tamper: list[Tamper] = Field(default_factory=list, description="evidence, when tampered")

    @property
    def vacuous(self) -> bool:
        """No check ran, so the result says nothing about the candidate: never a pass, for
        SR@All, SR@Any or pass@k. The one place of this rule outside the harness (which
        reports ``vacuous`` itself); it also covers a ``passed`` without a check."""
        return self.status is Status.VACUOUS or self.checks_executed == 0

    @property
    def passed(self) -> bool:
        """SR@All for one sample: every check passed (and at least one ran)."""
        return self.status is Status.PASSED and not self.vacuous

    @property
    def any_passed(self) -> bool:
        """SR@Any for one sample: at least one check passed (never when tampered or vacuous)."""
        return (self.status is not Status.TAMPERED and not self.vacuous
                and any(c.passed for c in self.checks))

    @property
    def checks_executed(self) -> int:
        return sum(c.executed for c in self.checks)
