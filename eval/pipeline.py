"""The one pipeline of ``eval run`` and ``eval score``: a `Work` says how a sample is made (a
model and an agent, or a stored prediction); everything else is here, the same for both.

Task selection, exclusions and skipped tasks, the execution environment and the bounded
sandbox, the run directory (created, resumed, or refused with the differences), the jobs not
yet done, the progress bar, Ctrl-C (the command that resumes is printed), and the report.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import TYPE_CHECKING

from eval.commands.common import base_config, make_sandbox, resolve_env, select, skip_reasons

if TYPE_CHECKING:  # imported when a pipeline runs: `python -m eval --help` stays quick
    from aicoder.runs import RunDir, SampleRecord
    from aicoder.tasks import Task
    from eval.runner import BoundedSandbox

__all__ = ["Work", "run_pipeline"]


class Work(ABC):
    """What one command adds to the pipeline, called in this order: ``prepare`` (the tasks
    are chosen), ``start`` (the sandbox is ready, skipped tasks known), ``config``, then
    ``sample`` for each job not yet done, on ``threads`` threads."""

    #: what the command's config.json says it is
    kind: str = "run"
    #: the progress bar's label
    label: str = "samples"

    def prepare(self, tasks: list[Task]) -> None:  # noqa: B027 (optional hook)
        """Check the command's own inputs against the tasks, before the sandbox starts."""

    def start(self, sandbox: BoundedSandbox, stop: threading.Event) -> None:  # noqa: B027
        """Load what making a sample needs (a model)."""

    @abstractmethod
    def config(self) -> dict:
        """The command's own keys of config.json."""

    @abstractmethod
    def samples(self, task: Task) -> int:
        """How many samples ``task`` has."""

    @abstractmethod
    def sample(self, task: Task, sample: int, stop: threading.Event) -> SampleRecord | None:
        """Make and judge one sample; None when ``stop`` was set part-way."""

    def threads(self, sandbox: BoundedSandbox) -> int:
        return sandbox.workers

    def describe(self) -> str:
        """The end of the line that says what runs (model, mode ...)."""
        return ""

    def postfix(self, elapsed_s: float) -> str:
        """More for the progress bar (tokens per second)."""
        return ""


def run_pipeline(args: argparse.Namespace, argv: Sequence[str], work: Work) -> int:
    """Select the tasks, open the run directory, run every job not yet done, write the
    report. Returns the exit status: 0 done, 2 the model stopped answering, 130 interrupted
    (each with what is saved and the command that resumes)."""
    from aicoder.runs import RunConfig, RunDir
    from eval.report import terminal_table, write_report
    from eval.runner import BoundedSandbox, Job, RunStopped, run_jobs

    tasks, source_sha = select(args)
    work.prepare(tasks)
    env = resolve_env(args)
    stop = threading.Event()  # set on Ctrl-C: queued samples give up at once
    sandbox = BoundedSandbox(make_sandbox(args, env, tasks), args.workers, stop)
    try:
        skipped = skip_reasons(tasks, source_sha, env.name, exclude=args.exclude,
                               check_hub=not args.no_skip)
        runnable = [t for t in tasks if t.task_id not in skipped]
        work.start(sandbox, stop)
        # the command that resumes: --fresh would wipe what a resume must keep
        command = "python -m eval " + " ".join(shlex.quote(a) for a in argv if a != "--fresh")
        config = RunConfig.model_validate({**base_config(args, tasks, source_sha, env, sandbox.name),
                                           "kind": work.kind, "command": command, **work.config()})
        rundir = RunDir(args.out, config).open(fresh=args.fresh)
        rundir.write_skipped(skipped)
        rundir.write_tasks(tasks)
        if rundir.dropped:
            print(f"dropped a half-written last line of {rundir.samples_path}", file=sys.stderr)
        by_id = {t.task_id: t for t in runnable}
        jobs = [Job(t.task_id, i) for t in runnable for i in range(work.samples(t))]
        todo = [j for j in jobs if (j.task_id, j.sample) not in rundir.done]
        print(f"{len(tasks)} tasks: {len(runnable)} to {work.kind}, {len(skipped)} skipped (see "
              f"{rundir.path}/skipped.json); {len(jobs) - len(todo)} of {len(jobs)} samples "
              f"already done; {work.describe()}env {env.name}, {sandbox.name} sandbox"
              f"{_where(sandbox)}",
              file=sys.stderr)
        code = 0
        with rundir:
            bar = _Progress(work, len(jobs), len(jobs) - len(todo), rundir)
            try:
                run_jobs(todo, lambda job, halt: work.sample(by_id[job.task_id], job.sample, halt),
                         rundir, threads=work.threads(sandbox), on_record=bar.update, stop=stop)
            except RunStopped as exc:
                bar.close()
                print(f"error: the model stopped answering: {exc}\n{len(rundir.done)} of "
                      f"{len(jobs)} samples are saved; resume with: {command}", file=sys.stderr)
                code = 2
            except KeyboardInterrupt:
                bar.close()
                print(f"\ninterrupted: {len(rundir.done)} of {len(jobs)} samples are saved; "
                      f"resume with: {command}", file=sys.stderr)
                return 130
            bar.close()
        if code == 0:
            report = write_report(rundir.path)
            print(terminal_table(report))
            print(f"report: {rundir.path}/report.md, {rundir.path}/report.json")
        return code
    finally:
        sandbox.close()  # the warm zygote, if one runs


def _where(sandbox: BoundedSandbox) -> str:
    executor = getattr(sandbox.inner, "executor", None)
    return f" on {executor} ({sandbox.workers} actors)" if executor else ""


class _Progress:
    """tqdm with done/total, the running SR@All, the work's own postfix, and the ETA."""

    def __init__(self, work: Work, total: int, done: int, rundir: RunDir) -> None:
        from tqdm import tqdm

        self.work = work
        self.rundir = rundir
        self.start = time.monotonic()
        self.bar = tqdm(total=total, initial=done, unit="sample", desc=work.label,
                        dynamic_ncols=True)
        self._postfix()

    def _postfix(self) -> None:
        done = self.rundir.done
        sr = sum(r.passed for r in done.values()) / len(done) if done else 0.0
        extra = self.work.postfix(max(time.monotonic() - self.start, 1e-6))
        self.bar.set_postfix_str(f"SR@All {sr:.3f}" + (f"  {extra}" if extra else ""))

    def update(self, record: SampleRecord) -> None:
        self.bar.update(1)
        self._postfix()

    def close(self) -> None:
        self.bar.close()
