"""The Space: time from Run to the first verdict on a builtin task, cold against warm.

    python -m benchmarks.space_verdict [--runs 5] [--out benchmarks/results/space_verdict.json]

Starts `python app.py` (and `python app.py --cold`) with a served model double that answers
each task's reference at once, so the time is the app's and the sandbox's: from submitting a
run (through gradio_client, the stream the browser gets) to the first update that shows the
"Running the checks" message done. The warm app starts its zygote at startup, in the
background; the first run is reported on its own (it may wait for the zygote), then the median
of the rest.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from benchmarks.space_app import ROOT, served_app


def _verdict_shown(update) -> bool:
    messages = update[0] if isinstance(update, (list, tuple)) and update else []
    for message in messages or []:
        meta = (message.get("metadata") or {}) if isinstance(message, dict) else {}
        if meta.get("title", "").startswith("Running the checks") and \
                meta.get("status") == "done":
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per mode (5)")
    parser.add_argument("--tasks", default="b001_softmax,b005_cosine_similarity,b002_box_iou")
    parser.add_argument("--out", default="benchmarks/results/space_verdict.json")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from aicoder.tasks import load_tasks
    from tests.server_double import ServerDouble, reference_responder

    tasks = {t.task_id: t for t in load_tasks("builtin")}
    chosen = [tasks[i] for i in args.tasks.split(",")]
    report: dict = {"tasks": [t.task_id for t in chosen], "modes": {}}
    with ServerDouble(reference_responder(list(tasks.values()))) as server:
        for mode in ("cold", "warm"):
            extra = ["--cold"] if mode == "cold" else []
            with served_app("--model", f"double=openai:{server.url}", *extra) as (_, _, client):
                seconds = []
                for i in range(args.runs):
                    task = chosen[i % len(chosen)]
                    start = time.monotonic()
                    job = client.submit("Builtin suite", f"{task.task_id} · {task.framework}",
                                        "", "", "double", "direct", 0, 0.6, api_name="/run")
                    shown = None
                    for update in job:
                        if shown is None and _verdict_shown(update):
                            shown = time.monotonic() - start
                    if shown is None:
                        raise SystemExit(f"{mode}: no verdict was shown for {task.task_id}")
                    seconds.append(round(shown, 3))
                    print(mode, task.task_id, seconds[-1], flush=True)
            report["modes"][mode] = {"first_s": seconds[0],
                                     "median_after_first_s": statistics.median(seconds[1:])
                                     if len(seconds) > 1 else None, "runs": seconds}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    for mode, row in report["modes"].items():
        print(f"{mode}: first {row['first_s']:.2f} s, then median "
              f"{row['median_after_first_s']:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
