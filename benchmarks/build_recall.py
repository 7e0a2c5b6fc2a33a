"""The gates of ``aicoder.build`` on tasks written by hand: how many of them a build would
keep. A build that keeps nothing says little until its gates are known to keep good tasks.

    python -m benchmarks.build_recall --tasks builtin --sandbox bwrap \\
        --report benchmarks/results/build_recall_builtin.json

Each task's program goes through the build's own checks (``Builder._check``: layout, the
function's checks, the sandbox audit, duplicates of the tasks kept before it), with the
build's default gates, as the program a model wrote for a document. The document is the
task's own prompt (its signature and docstring), not a library's API, so the check that the
function calls the document's API does not apply; the Hub check reads that prompt. The
prompt's example task (``EXAMPLE_ID``) is left out: every docstring is checked against its
own. Against: the tasks checked before it only, not the builtin suite (it is the suite).
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.build_recall",
                                description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--tasks", default="builtin",
                   help="the tasks: builtin, a jsonl or a Hub dataset (builtin)")
    p.add_argument("--sandbox", default="bwrap", help="the sandbox backend (bwrap)")
    p.add_argument("--workers", type=int, default=2, help="sandbox runs at once (2)")
    p.add_argument("--report", required=True, help="where the json report goes")
    args = p.parse_args(argv)

    from benchmarks.build_regate import run_or_error

    return run_or_error(recall, args.tasks, args.sandbox, args.workers, Path(args.report))


def recall(spec: str, sandbox_name: str, workers: int, report_path: Path) -> int:
    from aicoder.build.builder import EXAMPLE_ID, BuildConfig, Builder
    from aicoder.build.documents import Document
    from aicoder.tasks import load_tasks
    from benchmarks.build_regate import _kind, write_report
    from sandbox import get_sandbox

    tasks = [t for t in load_tasks(spec) if t.task_id != EXAMPLE_ID]
    config = BuildConfig(documents="", documents_sha256="", model="")
    sandbox = get_sandbox(sandbox_name)
    rows, kept, start = [], [], time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        builder = Builder(tmp, config, None, sandbox.run, against=[], workers=workers)
        try:
            for task in tasks:
                doc = Document(doc_id=task.task_id, source=spec, title=task.task_id,
                               text=task.prompt)
                checked, reasons, audit, _ = builder._check(task.content, doc, task.task_id,
                                                            kept)
                if checked is not None and not reasons:
                    kept.append(checked)
                rows.append({"task_id": task.task_id, "reasons": reasons or ["kept"],
                             "score": (audit or {}).get("score"),
                             "dropped_checks": (audit or {}).get("dropped_checks", [])})
                print(f"{task.task_id}: {rows[-1]['reasons'][0][:100]}", file=sys.stderr)
        finally:
            close = getattr(sandbox, "close", None)
            if close is not None:
                close()
    kinds = collections.Counter(_kind(r["reasons"]) for r in rows)
    report = {"tasks": spec, "sandbox": sandbox_name, "checked": len(rows),
              "kept": len(kept), "left_out": EXAMPLE_ID,
              "seconds": round(time.monotonic() - start), "by_reason": dict(kinds.most_common()),
              "rows": rows}
    return write_report(report_path, report, "rows")


if __name__ == "__main__":
    sys.exit(main())
