"""Options and helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from aicoder.tasks import Task, load_tasks
from sandbox import Sandbox, SandboxUnavailable

__all__ = ["add_exec_options", "add_pipeline_parser", "add_run_dir_options", "add_task_options", "base_config", "make_sandbox", "resolve_env",
           "select", "select_tasks", "skip_reasons"]


def add_task_options(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    parser.add_argument("--tasks", required=required,
                        help="hub:vixuowis/AICoderEval[:test|:train], builtin, or a .jsonl file")
    parser.add_argument("--domain", help="keep tasks of this domain (case-insensitive prefix)")
    parser.add_argument("--framework", help="keep tasks of this framework, e.g. transformers")
    parser.add_argument("--ids", help="comma-separated task ids to keep")
    parser.add_argument("--limit", type=int, help="keep the first N tasks (after filtering)")


def add_exec_options(parser: argparse.ArgumentParser, *, workers: int = 2,
                     timeout: float = 120.0) -> None:
    parser.add_argument("--sandbox", help="bwrap, landlock, docker, or process (no isolation); "
                        "default: bwrap where it works, else landlock")
    parser.add_argument("--env", help="execution environment: a name built with `python -m "
                        "eval env create`, or app (default: app for builtin tasks, else "
                        "aicodereval)")
    parser.add_argument("--workers", type=int, default=workers,
                        help=f"sandbox executions at once ({workers})")
    parser.add_argument("--timeout", type=float, default=timeout,
                        help=f"seconds per execution ({timeout:g})")
    parser.add_argument("--executor", default="local", metavar="WHERE",
                        help="where executions run: local (this machine's --workers), ray "
                        "(Ray actors, one CPU each, --workers of them, on the cluster "
                        "RAY_ADDRESS names or a new local one), or ray://HEAD:10001 (Ray "
                        "Client); Ray comes from `pip install -r requirements-scale.txt`")
    parser.add_argument("--cold", action="store_true",
                        help="start a fresh interpreter for every execution instead of forking "
                        "one from a warm zygote that has imported the tasks' libraries (the "
                        "same as AICODER_WARM=0)")


def add_pipeline_parser(sub, name: str, help_: str, doc: str) -> argparse.ArgumentParser:
    """A command of the run pipeline (run, score), with the task options."""
    parser = sub.add_parser(name, help=help_, description=doc,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    add_task_options(parser)
    return parser


def add_run_dir_options(parser: argparse.ArgumentParser, *, verb: str, example: str) -> None:
    """What every command of the run pipeline (run, score) takes: exclusions, the Hub-cache
    skip, and the run directory."""
    parser.add_argument("--exclude", help="an exclusion list (default: check-gt's for these "
                        "tasks and environment, when there is one)")
    parser.add_argument("--no-skip", action="store_true",
                        help=f"{verb} tasks even when their Hub repositories are not cached")
    parser.add_argument("--out", required=True, help=f"run directory, e.g. {example}")
    parser.add_argument("--fresh", action="store_true", help="discard what OUT holds")


def select(args: argparse.Namespace) -> tuple[list[Task], str]:
    """The tasks the common options name, and the hash of the whole source they came from
    (filters do not change it: it keys check-gt's exclusion lists)."""
    from aicoder.errors import TaskSourceError
    from eval.provenance import tasks_sha256

    everything = load_tasks(args.tasks)
    tasks = everything
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
    return tasks, tasks_sha256(everything)


def select_tasks(args: argparse.Namespace) -> list[Task]:
    """Load and filter the tasks named by the common options."""
    return select(args)[0]


def resolve_env(args: argparse.Namespace):
    """The execution environment: ``--env``, else the app's for builtin tasks, else the
    benchmark's own (which must have been built)."""
    from eval.envs import APP_ENV, DEFAULT_ENV, resolve

    name = args.env or (APP_ENV if args.tasks.strip() == "builtin" else DEFAULT_ENV)
    return resolve(name)


def make_sandbox(args: argparse.Namespace, env, tasks: Sequence[Task] = ()) -> Sandbox:
    """The sandbox that runs candidates with the environment's interpreter: for docker, the
    environment's image when `env docker-build` made one, else its venv mounted read-only.
    A local backend runs warm unless ``--cold``, its zygote preloading what ``tasks`` import."""
    sandbox = _make_sandbox(args, env)
    preload = getattr(sandbox, "preload", None)
    if preload is not None and tasks:
        from sandbox.warm import preload_for_tasks

        preload(preload_for_tasks(tasks))
    prestart = getattr(sandbox, "prestart", None)
    if prestart is not None:
        prestart()
    return sandbox


def _make_sandbox(args: argparse.Namespace, env) -> Sandbox:
    from sandbox import get_sandbox
    from sandbox.cluster import parse_executor

    name = (args.sandbox or "").strip().lower() or None
    warm = False if getattr(args, "cold", False) else None
    executor = parse_executor(getattr(args, "executor", None))
    if executor is not None:
        from sandbox.cluster import RaySandbox

        if name == "docker":
            raise SandboxUnavailable("--executor ray runs bwrap or landlock on its nodes, "
                                     "not docker")
        return RaySandbox(executor, actors=args.workers, backend=name, python=env.python,
                          warm=warm)
    if name == "docker" and env.name != "app":
        from eval.envs import image_tag, requirements_file

        req = requirements_file(env.name)
        if req.is_file():
            tag = image_tag(env.name, req)
            try:
                import docker

                docker.from_env().images.get(tag)
                return get_sandbox("docker", image=tag)
            except Exception:  # no such image (or no engine: the sandbox says so below)
                pass
    return get_sandbox(args.sandbox, python=env.python, warm=warm)


def skip_reasons(tasks: list[Task], source_sha: str, env_name: str, *,
                 exclude: str | None = None, check_hub: bool = True) -> dict[str, str]:
    """Tasks that cannot measure a model here, with why: a Hub repository missing from the
    cache, or a reference solution that check-gt found failing (its exclusion list)."""
    from aicoder.tasks.hubrefs import hub_cache, missing_refs
    from eval.provenance import exclusions_path, load_exclusions

    reasons: dict[str, str] = {}
    if check_hub:
        cache = hub_cache()
        for task in tasks:
            missing = missing_refs(task, cache)
            if missing:
                names = ", ".join(str(r) for r in missing[:3]) + (" ..." if len(missing) > 3
                                                                   else "")
                reasons[task.task_id] = f"Hub repository not in the cache: {names}"
    path = Path(exclude) if exclude else exclusions_path(source_sha, env_name)
    if exclude or path.is_file():
        excluded = load_exclusions(path)
        ids = {t.task_id for t in tasks}
        hits = {k: v for k, v in excluded.items() if k in ids}
        for task_id, why in hits.items():
            reasons.setdefault(task_id, why)
        print(f"exclusion list {path}: {len(hits)} of these tasks excluded", file=sys.stderr)
    return reasons


def base_config(args: argparse.Namespace, tasks: list[Task], source_sha: str, env,
                sandbox_name: str) -> dict:
    """What every run directory's config.json records, whoever wrote it (run, score): the
    tasks and their hashes, execution settings, the environment, versions and provenance."""
    from eval.provenance import app_versions, git_commit, now, tasks_sha256

    return {
        "tasks": args.tasks,
        "filters": {"domain": args.domain, "framework": args.framework, "ids": args.ids,
                    "limit": args.limit},
        "task_ids_sha256": tasks_sha256(tasks), "source_sha256": source_sha,
        "n_tasks": len(tasks), "timeout_s": args.timeout, "sandbox": sandbox_name,
        "exclude": args.exclude, "no_skip": args.no_skip,
        "env": env.name, "env_packages": env.describe()["key_packages"],
        "versions": {"app": app_versions(), "env": env.packages},
        "git_commit": git_commit(), "created": now(), "workers": args.workers,
        "executor": getattr(args, "executor", None) or "local",
    }
