"""``python -m eval tasks``: list task ids with their domain, framework and function."""

from __future__ import annotations

import argparse

from eval.commands.common import add_task_options, select_tasks

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    parser = sub.add_parser("tasks", help="list tasks", description=__doc__)
    add_task_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    tasks = select_tasks(args)
    width = max(len(t.task_id) for t in tasks)
    print(f"{'task':{width}}  {'framework':22} {'domain':28} function")
    for t in tasks:
        print(f"{t.task_id:{width}}  {t.framework:22} {t.domain:28} {t.function_name}")
    print(f"{len(tasks)} tasks")
    return 0
