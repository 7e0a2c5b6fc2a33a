"""``python -m eval tasks``: list task ids, their domain and framework, and whether each can
run here (the Hub models it loads are in the local cache, or it needs none)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from eval.commands.common import add_task_options, select_tasks

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    parser = sub.add_parser("tasks", help="list tasks", description=__doc__)
    add_task_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, argv: Sequence[str] = ()) -> int:
    from aicoder.tasks.hubrefs import hub_cache, missing_refs, scan_task

    tasks = select_tasks(args)
    cache = hub_cache()
    width = max(len(t.task_id) for t in tasks)
    print(f"{'task':{width}}  {'framework':16} {'domain':28} runs here")
    ready = 0
    for t in tasks:
        missing = missing_refs(t, cache)
        if missing:
            here = "no: needs " + ", ".join(str(r) for r in missing[:2]) + (
                " ..." if len(missing) > 2 else "")
        else:
            ready += 1
            here = "yes (Hub models cached)" if scan_task(t) else "yes (no Hub model)"
        print(f"{t.task_id:{width}}  {t.framework:16} {t.domain[:28]:28} {here}")
    print(f"{len(tasks)} tasks, {ready} can run here; `python -m eval prefetch` fetches the "
          "missing Hub repositories")
    return 0
