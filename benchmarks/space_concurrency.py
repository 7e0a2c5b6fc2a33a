"""20 visitors at once: every session finishes with its own result; the app's memory.

    python -m benchmarks.space_concurrency --sessions 20 --out benchmarks/results/space_concurrency.json

Starts `python app.py` as its own process with a served model double (answers each builtin
task with its reference, every third task wrongly), then runs N gradio_client sessions at
once, each on a different task, and checks that each result names its own task and has the
verdict that task must get. The app's resident memory (VmRSS) is read before and after.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

from benchmarks.space_app import ROOT, served_app, text_of


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--mode", default="direct")
    parser.add_argument("--out", default="benchmarks/results/space_concurrency.json")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from gradio_client import Client

    from aicoder.tasks import load_tasks
    from tests.server_double import ServerDouble, reference_responder

    tasks = load_tasks("builtin")[: args.sessions]
    wrong = frozenset(t.task_id for t in tasks[::3])
    with ServerDouble(reference_responder(tasks, wrong=wrong)) as server, served_app(
            "--model", f"double=openai:{server.url}", "--concurrency", "4") as (app, port, _):
        before = rss_mb(app.pid)
        results: dict[str, dict] = {}

        def visit(task) -> None:
            c = Client(f"http://127.0.0.1:{port}/", verbose=False)
            start = time.monotonic()
            out = c.predict("Builtin suite", f"{task.task_id} · {task.framework}", "", "",
                            "double", args.mode, 1, 0.6, api_name="/run")
            messages = out[0]
            results[task.task_id] = {
                "seconds": round(time.monotonic() - start, 2),
                "own_task": f"**{task.task_id}**" in text_of(messages[0]),
                "passed": "✓ Passed" in text_of(messages[-1]),
                "expected_pass": task.task_id not in wrong,
                "code_is_own": f"def {task.function_name}(" in (out[2] or ""),
            }

        start = time.monotonic()
        threads = [threading.Thread(target=visit, args=(t,)) for t in tasks]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - start
        after = rss_mb(app.pid)
    finished = len(results)
    mixed = [k for k, r in results.items()
             if not (r["own_task"] and r["code_is_own"] and r["passed"] == r["expected_pass"])]
    summary = {"sessions": args.sessions, "finished": finished, "mixed_up_or_wrong": mixed,
               "seconds": round(elapsed, 1),
               "slowest_session_s": max((r["seconds"] for r in results.values()), default=0),
               "app_rss_mb_before": round(before, 1), "app_rss_mb_after": round(after, 1),
               "per_session": results}
    print(json.dumps({k: v for k, v in summary.items() if k != "per_session"}))
    Path(args.out).write_text(json.dumps(summary, indent=1))
    return 0 if finished == args.sessions and not mixed else 1


if __name__ == "__main__":
    sys.exit(main())
