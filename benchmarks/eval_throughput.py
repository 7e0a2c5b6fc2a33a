"""Executions per second of `python -m eval run` on the builtin suite: P=1 vs P=2 workers, cold
(a fresh interpreter per execution) vs warm (a fork of the zygote) vs ray (warm zygotes in P
Ray actors of a local cluster that the run starts, `--executor ray`).

    python -m benchmarks.eval_throughput --out benchmarks/results/eval_throughput.json
    python -m benchmarks.eval_throughput --execution warm,ray --out benchmarks/results/eval_throughput_ray.json

The model is a served double that answers at once (each task's reference, every third task
wrong so CoderGen repairs), so the sandbox is the bottleneck and the numbers show what the
worker count buys. Each configuration runs into a fresh directory; executions are counted from
the recorded steps (identical code is not re-run, and not counted).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--mode", default="codergen")
    parser.add_argument("--samples", type=int, default=1,
                        help="samples per task (more amortise the zygote's start)")
    parser.add_argument("--sandbox", default=None)
    parser.add_argument("--execution", default="cold,warm",
                        help="comma-separated: cold, warm, ray")
    parser.add_argument("--out", default="benchmarks/results/eval_throughput.json")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from aicoder.agents import ExecuteStep
    from aicoder.runs import load_samples
    from aicoder.tasks import load_tasks
    from eval.cli import main as eval_main
    from tests.server_double import ServerDouble, reference_responder

    tasks = load_tasks("builtin")
    wrong = frozenset(t.task_id for t in tasks[::3])
    rows = []
    with ServerDouble(reference_responder(tasks, wrong=wrong)) as server:
        for execution, p in [(e, int(x)) for e in args.execution.split(",")
                             for x in args.workers.split(",")]:
            out = Path(tempfile.mkdtemp(prefix="eval-tp-")) / f"{execution}-p{p}"
            argv = ["run", "--tasks", "builtin", "--model", f"openai:{server.url}", "--mode",
                    args.mode, "--max-rounds", "1", "--workers", str(p), "--samples", str(args.samples),
                    "--concurrency", "4",
                    "--out", str(out)]
            if args.sandbox:
                argv += ["--sandbox", args.sandbox]
            if execution == "cold":
                argv += ["--cold"]
            elif execution == "ray":
                argv += ["--executor", "ray"]
            start = time.monotonic()
            code = eval_main(argv)
            elapsed = time.monotonic() - start
            if code != 0:
                return code
            records, _ = load_samples(out / "samples.jsonl")
            ran = [s for r in records for s in r.steps
                   if isinstance(s, ExecuteStep) and not s.note and s.result]
            executions = len(ran)
            busy = sum(s.result.duration_s for s in ran)
            rows.append({"execution": execution, "workers": p, "samples": len(records), "executions": executions,
                         "seconds": round(elapsed, 2),
                         "executions_per_s": round(executions / elapsed, 2),
                         "mean_execution_s": round(busy / max(executions, 1), 3),
                         "sr_all": round(sum(r.passed for r in records) / len(records), 3)})
            print(json.dumps(rows[-1]), flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"mode": args.mode, "tasks": len(tasks),
                                          "samples_per_task": args.samples,
                                          "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
