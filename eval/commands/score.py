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
from collections.abc import Sequence
from pathlib import Path

from eval.commands.common import add_exec_options, add_pipeline_parser, add_run_dir_options
from eval.pipeline import Work

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    parser = add_pipeline_parser(sub, "score", "judge predictions made elsewhere", __doc__)
    parser.add_argument("--predictions", required=True, help="a .jsonl file or a directory")
    parser.add_argument("--compat", choices=("authors",),
                        help="also judge as the authors' published harness did")
    add_exec_options(parser, workers=2, timeout=120.0)
    add_run_dir_options(parser, verb="score", example="runs/codellama-7b")
    parser.set_defaults(func=run)


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    for file in files:
        digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


class _Judge(Work):
    """A sample is a stored prediction, judged in the sandbox (and, with ``--compat
    authors``, as the authors' harness judged it)."""

    kind = "score"
    label = "scoring"

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args

    def prepare(self, tasks) -> None:
        from eval.predictions import load_predictions

        self.preds = preds = load_predictions(self.args.predictions)
        known = {t.task_id for t in tasks}
        unknown = sorted(set(preds.by_task) - known)
        if unknown:
            print(f"warning: {len(unknown)} predictions name tasks not in --tasks (ignored): "
                  f"{', '.join(unknown[:8])}{' ...' if len(unknown) > 8 else ''}",
                  file=sys.stderr)
        if preds.empty_files:
            print(f"warning: {len(preds.empty_files)} empty prediction files (their tasks are "
                  f"scored as missing): {', '.join(preds.empty_files)}", file=sys.stderr)

    def start(self, sandbox, stop: threading.Event) -> None:
        from sandbox import Limits

        self.sandbox = sandbox
        self.limits = Limits(wall_s=self.args.timeout, cpu_s=int(self.args.timeout * 2))
        self.compat_limits = self.limits.model_copy(update={"output_bytes": 4 * 1024 * 1024})

    def config(self) -> dict:
        path = Path(self.args.predictions)
        return {"model": f"predictions:{path.name}", "mode": "score",
                "predictions": str(path.resolve()), "predictions_sha256": _digest(path),
                "compat": self.args.compat,
                "samples": max((len(v) for v in self.preds.by_task.values()), default=1)}

    def samples(self, task) -> int:
        return max(len(self.preds.by_task.get(task.task_id, [])), 1)

    def describe(self) -> str:
        return f"{self.preds.count} predictions; "

    def sample(self, task, sample: int, stop: threading.Event):
        from aicoder.agents import ExecuteStep, FinalStep
        from aicoder.runs import CompatVerdict, SampleRecord, record_from_steps
        from aicoder.tasks import assemble
        from eval.predictions import authors_program
        from sandbox import Program

        completions = self.preds.by_task.get(task.task_id, [])
        if not completions:
            return SampleRecord.missing(task.task_id, "no prediction for this task")
        completion = completions[sample]
        program = assemble(task, completion)
        result = self.sandbox.run(program, self.limits, stop)
        if stop.is_set():
            return None
        steps = [ExecuteStep(index=0, round=0, code=program.candidate, result=result,
                             duration_s=result.duration_s, text=completion),
                 FinalStep(index=1, round=0, text=result.reason, passed=result.passed,
                           any_passed=result.any_passed, rounds=0,
                           duration_s=result.duration_s, verdict_step=0)]
        compat = None
        if self.args.compat == "authors":
            script = authors_program(task, completion)
            plain = self.sandbox.run(Program(candidate=script, test="", entry="", script=True,
                                             candidate_name=f"{task.task_id}.py"),
                                     self.compat_limits, stop)
            if stop.is_set():
                return None
            has_error, has_failed = "Error" in plain.stderr, "failed" in plain.stdout
            compat = CompatVerdict(passed=not has_error and not has_failed,
                                   stderr_has_error=has_error, stdout_has_failed=has_failed,
                                   status=f"{plain.status.value}: {plain.reason}",
                                   program=script, stderr_tail=plain.stderr[-1500:],
                                   stdout_tail=plain.stdout[-500:])
        return record_from_steps(task.task_id, sample, steps, compat=compat)


def run(args: argparse.Namespace, argv: Sequence[str] = ()) -> int:
    from eval.pipeline import run_pipeline

    return run_pipeline(args, argv, _Judge(args))
