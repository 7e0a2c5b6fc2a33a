"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import argparse

from aicoder.tasks import Task, load_tasks

__all__ = ["add_task_options", "select_tasks"]


def add_task_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tasks", required=True,
                        help="hub:vixuowis/AICoderEval[:test|:train], builtin, or a .jsonl file")
    parser.add_argument("--domain", help="keep tasks of this domain (case-insensitive prefix)")
    parser.add_argument("--framework", help="keep tasks of this framework, e.g. transformers")
    parser.add_argument("--ids", help="comma-separated task ids to keep")
    parser.add_argument("--limit", type=int, help="keep the first N tasks (after filtering)")


def select_tasks(args: argparse.Namespace) -> list[Task]:
    """Load and filter the tasks named by the common options."""
    from aicoder.errors import TaskSourceError

    tasks = load_tasks(args.tasks)
    if args.domain:
        tasks = [t for t in tasks if t.domain.lower().startswith(args.domain.lower())]
    if args.framework:
        tasks = [t for t in tasks if t.framework == args.framework.lower()]
    if args.ids:
        wanted = [i.strip() for i in args.ids.split(",") if i.strip()]
        known = {t.task_id for t in tasks}
        unknown = [i for i in wanted if i not in known]
        if unknown:
            raise TaskSourceError(f"unknown task id{'s' if len(unknown) > 1 else ''}: "
                                  f"{', '.join(unknown)}")
        tasks = [t for t in tasks if t.task_id in set(wanted)]
    if args.limit is not None:
        tasks = tasks[: max(args.limit, 0)]
    if not tasks:
        raise TaskSourceError("no task left after the filters")
    return tasks
