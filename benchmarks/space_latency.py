"""Time from pressing Run to the first visible step and to the first streamed code token.

    python -m benchmarks.space_latency --model llamacpp:PATH.gguf \\
        --out benchmarks/results/space_latency.json

Starts `python app.py` with the model (default: the embedded default) and, for each task,
submits a run through gradio_client — the same stream of updates the browser receives — and
times the first update that shows a step message, and the first that shows text inside the
"Writing the function" message. The first run includes loading the model.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from benchmarks.space_app import ROOT, served_app, text_of


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model spec (default: the embedded one)")
    parser.add_argument("--tasks", default="b001_softmax,b005_cosine_similarity,b002_box_iou")
    parser.add_argument("--out", default="benchmarks/results/space_latency.json")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from aicoder.models import default_spec
    from aicoder.tasks import load_tasks

    spec = args.model or default_spec()
    by_id = {t.task_id: t for t in load_tasks("builtin")}
    rows = []
    with served_app("--model", f"model={spec}", wait_s=300) as (_, _, client):
        for task_id in args.tasks.split(","):
            task = by_id[task_id]
            start = time.monotonic()
            job = client.submit("Builtin suite", f"{task.task_id} · {task.framework}", "", "",
                                "model", "direct", 0, 0.6, api_name="/run")
            first_step = first_token = None
            for update in job:
                now = time.monotonic() - start
                steps = [m for m in update[0] if (m.get("metadata") or {}).get("title")]
                if steps and first_step is None:
                    first_step = now
                writing = [m for m in steps if m["metadata"]["title"].startswith("Writing")]
                if writing and text_of(writing[0]).strip() and first_token is None:
                    first_token = now
            total = time.monotonic() - start
            rows.append({"task": task_id, "first_step_s": round(first_step or -1, 3),
                         "first_token_s": round(first_token or -1, 3),
                         "whole_run_s": round(total, 2)})
            print(json.dumps(rows[-1]), flush=True)
    warm = rows[1:] or rows
    summary = {"model": spec, "runs": rows,
               "first_run_includes_model_load": True,
               "warm_median_first_step_s": statistics.median(r["first_step_s"] for r in warm),
               "warm_median_first_token_s": statistics.median(r["first_token_s"] for r in warm)}
    Path(args.out).write_text(json.dumps(summary, indent=1))
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
