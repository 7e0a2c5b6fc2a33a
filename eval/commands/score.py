"""``python -m eval score``: judge predictions that another system produced.

``--predictions`` is a JSONL file (``{"task_id": ..., "completion": ...}`` per line; a body,
or a whole function, fenced or not) or a directory in the original authors' layout (one JSON
file per task: the record plus a ``prediction`` field). Writes the same ``samples.jsonl`` and
``report.json`` as ``run``. A task with no prediction is scored as missing (a failure); a
prediction for a task that is not in ``--tasks`` is reported and ignored.

``--compat authors`` also judges each prediction the way the authors' published harness did —
the prediction cut at its first line starting with ``def ``, run as a plain script, a pass
meaning no ``Error`` in stderr and no ``failed`` in stdout — and the report puts both verdicts
side by side, so published numbers can be reproduced and their differences explained.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import threading
from pathlib import Path

from eval.commands.common import (
    add_exec_options,
    add_task_options,
    base_config,
    make_sandbox,
    resolve_env,
    select,
    skip_reasons,
)

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    parser = sub.add_parser("score", help="judge predictions made elsewhere",
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    add_task_options(parser)
    parser.add_argument("--predictions", required=True, help="a .jsonl file or a directory")
    parser.add_argument("--compat", choices=("authors",),
                        help="also judge as the authors' published harness did")
    add_exec_options(parser, workers=2, timeout=120.0)
    parser.add_argument("--exclude", help="an exclusion list (default: check-gt's for these "
                        "tasks and environment, when there is one)")
    parser.add_argument("--no-skip", action="store_true",
                        help="score tasks even when their Hub repositories are not cached")
    parser.add_argument("--out", required=True, help="run directory, e.g. runs/codellama-7b")
    parser.add_argument("--fresh", action="store_true", help="discard what OUT holds")
    parser.set_defaults(func=run)


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    for file in files:
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def run(args: argparse.Namespace) -> int:
    from aicoder.agents import Step, StepKind
    from aicoder.tasks import assemble
    from eval.predictions import authors_program, load_predictions
    from eval.report import write_report
    from eval.rundir import RunDir
    from eval.runner import BoundedSandbox, Job, run_jobs
    from eval.samples import CompatVerdict, SampleRecord, record_from_steps
    from sandbox import Limits, Program

    tasks, source_sha = select(args)
    preds = load_predictions(args.predictions)
    known = {t.task_id for t in tasks}
    unknown = sorted(set(preds.by_task) - known)
    if unknown:
        print(f"warning: {len(unknown)} predictions name tasks not in --tasks (ignored): "
              f"{', '.join(unknown[:8])}{' ...' if len(unknown) > 8 else ''}", file=sys.stderr)
    if preds.empty_files:
        print(f"warning: {len(preds.empty_files)} empty prediction files (their tasks are "
              f"scored as missing): {', '.join(preds.empty_files)}", file=sys.stderr)
    env = resolve_env(args)
    sandbox = BoundedSandbox(make_sandbox(args, env), args.workers)
    skipped = skip_reasons(tasks, source_sha, env.name, exclude=args.exclude,
                           check_hub=not args.no_skip)
    runnable = [t for t in tasks if t.task_id not in skipped]
    n_samples = max((len(v) for v in preds.by_task.values()), default=1)
    config = {**base_config(args, tasks, source_sha, env, sandbox.name),
              "kind": "score", "model": f"predictions:{Path(args.predictions).name}",
              "mode": "score", "predictions": str(Path(args.predictions).resolve()),
              "predictions_sha256": _digest(Path(args.predictions)), "compat": args.compat,
              "samples": n_samples}
    rundir = RunDir(args.out, config).open(fresh=args.fresh)
    rundir.write_skipped(skipped)
    rundir.write_tasks(tasks)
    by_id = {t.task_id: t for t in runnable}
    limits = Limits(wall_s=args.timeout, cpu_s=int(args.timeout * 2))
    compat_limits = limits.model_copy(update={"output_bytes": 4 * 1024 * 1024})
    jobs = [Job(t.task_id, i) for t in runnable
            for i in range(max(len(preds.by_task.get(t.task_id, [])), 1))]

    def work(job: Job, stop: threading.Event):
        task = by_id[job.task_id]
        completions = preds.by_task.get(job.task_id, [])
        if not completions:
            return SampleRecord(task_id=job.task_id, sample=0, status="missing", passed=False,
                                any_passed=False, why="no prediction for this task")
        completion = completions[job.sample]
        program = assemble(task, completion)
        result = sandbox.run(program, limits, stop)
        if stop.is_set():
            return None
        steps = [Step(index=0, kind=StepKind.EXECUTE, round=0, code=program.candidate,
                      result=result, duration_s=result.duration_s, text=completion),
                 Step(index=1, kind=StepKind.FINAL, round=0, text=result.reason,
                      passed=result.passed and result.checks_executed > 0,
                      any_passed=result.any_passed and result.checks_executed > 0, rounds=0,
                      duration_s=result.duration_s)]
        compat = None
        if args.compat == "authors":
            script = authors_program(task, completion)
            plain = sandbox.run(Program(candidate=script, test="", entry="", script=True,
                                        candidate_name=f"{task.task_id}.py"), compat_limits, stop)
            if stop.is_set():
                return None
            has_error, has_failed = "Error" in plain.stderr, "failed" in plain.stdout
            compat = CompatVerdict(passed=not has_error and not has_failed,
                                   stderr_has_error=has_error, stdout_has_failed=has_failed,
                                   status=f"{plain.status.value}: {plain.reason}",
                                   program=script, stderr_tail=plain.stderr[-1500:],
                                   stdout_tail=plain.stdout[-500:])
        return record_from_steps(job.task_id, job.sample, steps, compat=compat)

    todo = [j for j in jobs if (j.task_id, j.sample) not in rundir.done]
    print(f"{len(tasks)} tasks: {len(runnable)} to score, {len(skipped)} skipped; "
          f"{preds.count} predictions; {len(jobs) - len(todo)} of {len(jobs)} already scored; "
          f"env {env.name}, {sandbox.name} sandbox", file=sys.stderr)
    from tqdm import tqdm

    with rundir, tqdm(total=len(jobs), initial=len(jobs) - len(todo), unit="sample",
                      desc="scoring") as bar:
        def progress(record) -> None:
            bar.update(1)
            done = rundir.done.values()
            bar.set_postfix(SR_All=f"{sum(r.passed for r in done) / max(len(done), 1):.3f}")

        try:
            run_jobs(todo, work, rundir, threads=sandbox.workers, on_record=progress)
        except KeyboardInterrupt:
            bar.close()
            print(f"\ninterrupted: {len(rundir.done)} of {len(jobs)} samples are saved; "
                  f"resume with: {config['command']}", file=sys.stderr)
            return 130
    report = write_report(rundir.path)
    print(report.terminal_table())
    print(f"report: {rundir.path}/report.md, {rundir.path}/report.json")
    return 0
