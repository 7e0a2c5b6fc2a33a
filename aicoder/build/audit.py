"""How strong a task's tests are: what ``eval audit`` reports and what ``aicoder.build`` keeps.

For each task, in the sandbox:

* **determinism**: the reference runs ``runs`` times (3); its status and every check's verdict
  must be the same each time, and it must pass, non-vacuously;
* **stub kill**: the signature and docstring with ``raise NotImplementedError`` for a body
  must fail every check (a check a stub passes checks nothing of the function);
* **mutation score**: the share of the reference's mutants (``aicoder.build.mutate``) that
  fail the test; the survivors are listed, since each is a change the tests cannot see;
* the number of checks, and how many ran.

Mutants run under a short wall limit (a mutant that loops forever is killed by it, and counts
as killed): five times the slowest reference run, at least ``MUTANT_MIN_WALL_S``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

from aicoder.build.mutate import Mutant, mutants
from aicoder.tasks import Task, assemble, reference_program
from sandbox import CheckResult, ExecutionResult, Limits, Program, Status

__all__ = ["DEFAULT_MIN_SCORE", "TaskAudit", "audit_tasks", "check_cause", "stub_program",
           "weak_reasons"]

DEFAULT_MIN_SCORE = 0.6
DEFAULT_MAX_MUTANTS = 40
MUTANT_MIN_WALL_S = 10.0
FAILURE_CHARS = 2000


@dataclass
class TaskAudit:
    """The strength check of one task."""

    task_id: str
    domain: str
    framework: str
    reference: str = ""                 # "passed", or the status of the first run that did not
    reason: str = ""                    # why the reference did not pass
    failure: str = ""                   # and what it said: each check, the exception (trimmed)
    runs: list[str] = field(default_factory=list)  # each run's status
    # the checks the reference failed (first run that did not pass): line, name, and where it
    # failed (``check_cause``)
    failed_checks: list[dict] = field(default_factory=list)
    deterministic: bool = False          # every run gave the same verdicts
    checks: int = 0                      # checks of the test
    checks_executed: int = 0             # of them, how many ran with the reference
    stub: str = ""                       # the stub's status
    stub_passed_checks: list[str] = field(default_factory=list)  # checks a stub passes
    mutants: int = 0
    killed: int = 0
    timeouts: int = 0                    # of the killed, by the wall limit
    survivors: list[dict] = field(default_factory=list)
    seconds: float = 0.0                 # sandbox seconds of all its runs

    @property
    def score(self) -> float | None:
        return round(self.killed / self.mutants, 4) if self.mutants else None

    @property
    def stub_killed(self) -> bool:
        return bool(self.stub) and not self.stub_passed_checks and self.stub != Status.PASSED.value

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "score": self.score, "stub_killed": self.stub_killed}

    @classmethod
    def from_dict(cls, data: dict) -> TaskAudit:
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})


def weak_reasons(audit: TaskAudit, min_score: float = DEFAULT_MIN_SCORE) -> list[str]:
    """Why a task's tests cannot be trusted to tell a right answer from a wrong one ([] when
    they can)."""
    out = []
    if audit.runs and not audit.deterministic:
        out.append("reference not deterministic (" + ", ".join(audit.runs) + ")")
    elif audit.reference != Status.PASSED.value:
        out.append(f"reference {audit.reference or 'not run'}")
    if audit.checks and audit.checks_executed < audit.checks:
        out.append(f"{audit.checks - audit.checks_executed} of {audit.checks} checks never ran")
    if audit.stub and not audit.stub_killed:
        out.append("a stub passes " + (", ".join(audit.stub_passed_checks)
                                        if audit.stub_passed_checks else "the test"))
    if audit.score is not None and audit.score < min_score:
        out.append(f"mutation score {audit.score:.2f} < {min_score:g}")
    elif audit.reference == Status.PASSED.value and audit.mutants == 0:
        out.append("no mutant could be made")
    return out


_IN_FUNCTION = re.compile(r"^\s*in your function \S+, line (\d+): (.*)$", re.MULTILINE)


def check_cause(check: CheckResult, source: str = "") -> str:
    """Where a failed check failed, from what the harness saw: ``"assert"``, an assert of the
    test; ``"test"``, the test's own code raised (a name it never defined, a call with the wrong
    arguments); ``"raise"``, a ``raise`` or ``assert`` statement of the function (it refused
    the input); ``"crash"``, the function raised anywhere else (a call of a library in it), or
    a ``raise`` in an ``except`` of ``source`` (the function's module: it raised again what
    broke)."""
    where = _IN_FUNCTION.search(check.evidence)
    if where is None:
        return "assert" if check.message.startswith("AssertionError") else "test"
    if not re.match(r"(raise|assert)\b", where.group(2)):
        return "crash"
    return "crash" if int(where.group(1)) in _handler_lines(source) else "raise"


def _handler_lines(source: str) -> set[int]:
    """The lines of ``source`` inside an ``except`` block."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {n for h in ast.walk(tree) if isinstance(h, ast.ExceptHandler)
            for n in range(h.lineno, (h.end_lineno or h.lineno) + 1)}


def stub_program(task: Task) -> Program:
    """The task's signature and docstring with a body that only raises."""
    return assemble(task, "raise NotImplementedError")


def mutant_program(task: Task, mutant: Mutant) -> Program:
    return Program(candidate=task.imports + mutant.code, test=task.test_code,
                   entry=task.test_entry)


def _verdicts(result: ExecutionResult) -> tuple:
    return (result.status.value, tuple((c.name, c.passed) for c in result.checks))


def audit_tasks(tasks: Sequence[Task], run: Callable[[Program, Limits], ExecutionResult],
                limits: Limits, *, workers: int = 2, runs: int = 3,
                max_mutants: int | None = DEFAULT_MAX_MUTANTS, seed: int = 0,
                progress: Callable[[TaskAudit], None] | None = None) -> list[TaskAudit]:
    """Audit ``tasks`` with ``run`` (a sandbox's run), ``workers`` programs at a time.

    Each task's references run first; its stub and mutants follow once they all passed.
    ``progress`` is called with each finished task's audit, in the order they finish.
    """
    pool = ThreadPoolExecutor(max(1, workers))
    try:
        return _audit(tasks, run, limits, pool, runs, max_mutants, seed, progress)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _audit(tasks, run, limits, pool, runs, max_mutants, seed, progress) -> list[TaskAudit]:
    audits = {t.task_id: TaskAudit(t.task_id, t.domain, t.framework) for t in tasks}
    refs: dict[str, list[Future]] = {
        t.task_id: [pool.submit(run, reference_program(t), limits) for _ in range(runs)]
        for t in tasks}
    second: dict[str, tuple[Future, list[tuple[Mutant, Future]]]] = {}
    for task in tasks:  # the stubs and mutants of a task go in once its references are back
        audit = audits[task.task_id]
        results = [f.result() for f in refs[task.task_id]]
        audit.runs = [r.status.value for r in results]
        first_bad = next((r for r in results if r.status is not Status.PASSED), None)
        audit.reference = (first_bad or results[0]).status.value
        audit.reason = first_bad.reason if first_bad is not None else ""
        if first_bad is not None:
            from aicoder.prompts.render import describe_failure

            audit.failure = describe_failure(first_bad, output_chars=600)[:FAILURE_CHARS]
            audit.failed_checks = [
                {"line": c.line, "name": c.name, "cause": check_cause(
                    c, task.imports + task.reference_code)}
                for c in first_bad.checks if c.executed and not c.passed]
        audit.deterministic = len({_verdicts(r) for r in results}) == 1
        audit.checks = max(len(r.checks) for r in results)
        audit.checks_executed = min(r.checks_executed for r in results)
        audit.seconds = sum(r.duration_s for r in results)
        if first_bad is not None:
            audit.seconds = round(audit.seconds, 2)
            if progress:
                progress(audit)
            continue
        slowest = max(r.duration_s for r in results)
        wall = min(limits.wall_s, max(MUTANT_MIN_WALL_S, 5 * slowest))
        short = limits.model_copy(update={"wall_s": wall, "cpu_s": max(1, int(wall * 2))})
        stub = pool.submit(run, stub_program(task), short)
        muts = [(m, pool.submit(run, mutant_program(task, m), short))
                for m in mutants(task.reference_code, limit=max_mutants, seed=seed)]
        second[task.task_id] = (stub, muts)
    for task in tasks:
        if task.task_id not in second:
            continue
        audit = audits[task.task_id]
        stub, muts = second[task.task_id]
        stub_result = stub.result()
        audit.seconds += stub_result.duration_s
        audit.stub = stub_result.status.value
        audit.stub_passed_checks = [c.name for c in stub_result.checks if c.passed]
        for mutant, future in muts:
            result = future.result()
            audit.seconds += result.duration_s
            audit.mutants += 1
            if result.status is Status.PASSED:
                audit.survivors.append(mutant.to_dict())
            else:
                audit.killed += 1
                audit.timeouts += result.status is Status.TIMEOUT
        audit.seconds = round(audit.seconds, 2)
        if progress:
            progress(audit)
    return [audits[t.task_id] for t in tasks]
