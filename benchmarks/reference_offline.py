"""Run every task's reference solution through the sandbox and explain each outcome.

    python -m benchmarks.reference_offline --tasks ../shared/data/.../hf-eval-data-v3-instruct.jsonl

Without the Hub most AICoderEval references cannot run: their tests load models. This script
says, for each task, whether its reference passes here, and if not, why: a Hub model missing
from the cache, a package the environment lacks, a name today's libraries removed, a test that
catches the error and checks nothing (vacuous), or something else. Writes a JSON report.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from aicoder.tasks import load_tasks, reference_program
from sandbox import ExecutionResult, Limits, Status, get_sandbox

_HUB = re.compile(r"huggingface\.co|HF_HUB_OFFLINE|offline mode|LocalEntryNotFound|"
                  r"couldn't connect|Cannot find the requested files|is not a local folder|"
                  r"not a valid model identifier|outgoing traffic has been disabled|"
                  r"snapshot_download|Can't load|hub", re.IGNORECASE)


def explain(result: ExecutionResult) -> str:
    """One category for a reference that did not pass."""
    if result.status is Status.PASSED:
        return "passed"
    tb = result.traceback
    text = " ".join(filter(None, [result.reason, tb.text if tb else "", result.stderr[-2000:]]))
    exc = tb.exc_type if tb else ""
    if exc == "ModuleNotFoundError":
        return "missing package: " + (re.findall(r"No module named '([\w.]+)'", text) or ["?"])[0]
    if exc == "ImportError" and "cannot import name" in text:
        name = re.findall(r"cannot import name '(\w+)'", text)
        return "removed name: " + (name[0] if name else "?")
    if _HUB.search(text):
        prefix = "vacuous, " if result.status is Status.VACUOUS else ""
        return prefix + "needs a Hub model or dataset"
    if result.status is Status.VACUOUS:
        return "vacuous: " + result.reason
    if result.status in (Status.TIMEOUT, Status.MEMORY, Status.CRASHED):
        return result.status.value
    return f"{result.status.value}: {exc or result.reason}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", required=True, help="task spec: a .jsonl, builtin, hub:...")
    parser.add_argument("--sandbox", default=None, help="bwrap (default), docker or process")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--wall", type=float, default=120.0, help="seconds per task")
    parser.add_argument("--out", default="benchmarks/results/reference_offline.json")
    args = parser.parse_args(argv)

    tasks = load_tasks(args.tasks)
    sandbox = get_sandbox(args.sandbox)
    limits = Limits(wall_s=args.wall, cpu_s=int(args.wall * 2))
    rows: list[dict] = []
    start = time.monotonic()
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        tqdm = None
    with ThreadPoolExecutor(args.workers) as pool:
        futures = {pool.submit(sandbox.run, reference_program(t), limits): t for t in tasks}
        bar = tqdm(total=len(tasks), unit="task") if tqdm else None
        for future in as_completed(futures):
            task = futures[future]
            result = future.result()
            rows.append({"task_id": task.task_id, "domain": task.domain,
                         "framework": task.framework, "status": result.status.value,
                         "category": explain(result), "checks": len(result.checks),
                         "checks_executed": result.checks_executed,
                         "duration_s": result.duration_s, "reason": result.reason})
            if bar:
                bar.update()
                bar.set_postfix(passed=sum(r["status"] == "passed" for r in rows))
        if bar:
            bar.close()
    rows.sort(key=lambda r: r["task_id"])
    statuses = Counter(r["status"] for r in rows)
    categories = Counter(r["category"] for r in rows)
    report = {"tasks": args.tasks, "sandbox": sandbox.name, "n": len(rows),
              "wall_s": round(time.monotonic() - start, 1), "statuses": dict(statuses),
              "categories": dict(categories.most_common()), "rows": rows}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"{len(rows)} references in {report['wall_s']} s on {sandbox.name}")
    for status, n in statuses.most_common():
        print(f"  {status:8} {n}")
    print("why:")
    for category, n in categories.most_common():
        print(f"  {n:4}  {category}")
    print(f"report: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
