"""``python -m eval check-gt``: run every task's reference solution and explain each outcome.

Without the Hub most AICoderEval references cannot run: their tests load models. This says,
for each task, whether its reference passes here and, if not, why: a Hub model or dataset
missing from the cache, a package the environment lacks, a name today's libraries removed, a
test that catches the error and checks nothing (vacuous), or something else. Tasks whose
reference does not pass cannot measure a model here and are reported apart by the benchmark.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from aicoder.tasks import reference_program
from eval.commands.audit import add_weak_options, check_weak_options, load_audit_for, weak_tasks
from eval.commands.common import (
    add_exec_options,
    add_task_options,
    make_sandbox,
    resolve_env,
    select,
)
from sandbox import ExecutionResult, Limits, Status

__all__ = ["add_parser", "explain", "run"]

_NETWORK = re.compile(r"ConnectionError|Max retries exceeded|NameResolutionError|"
                      r"Temporary failure in name resolution|Network is unreachable", re.IGNORECASE)
_HUB = re.compile(r"huggingface\.co|HF_HUB_OFFLINE|offline mode|LocalEntryNotFound|"
                  r"couldn't connect|Cannot find the requested files|is not a local folder|"
                  r"not a valid model identifier|outgoing traffic has been disabled|"
                  r"snapshot_download|Can't load|hub", re.IGNORECASE)


def explain(result: ExecutionResult) -> str:
    """One category for a reference that did not pass."""
    from aicoder.runs import SampleStatus

    if result.status is Status.PASSED:
        return SampleStatus.PASSED.value
    tb = result.traceback
    text = " ".join(filter(None, [result.reason, tb.text if tb else "", result.stderr[-2000:]]))
    exc = tb.exc_type if tb else ""
    if exc == "ModuleNotFoundError":
        return "missing package: " + (re.findall(r"No module named '([\w.]+)'", text) or ["?"])[0]
    if exc == "ImportError" and "cannot import name" in text:
        name = re.findall(r"cannot import name '(\w+)'", text)
        return "removed name: " + (name[0] if name else "?")
    if exc == "ImportError" and tb is not None:
        return "import failed: " + tb.message.splitlines()[0][:100]
    if _NETWORK.search(text):
        prefix = "vacuous, " if result.status is Status.VACUOUS else ""
        return prefix + "needs the network (downloads a URL)"
    if _HUB.search(text):
        prefix = "vacuous, " if result.status is Status.VACUOUS else ""
        return prefix + "needs a Hub model or dataset"
    if result.status is Status.VACUOUS:
        return "vacuous: " + result.reason
    if result.status in (Status.TIMEOUT, Status.MEMORY, Status.CRASHED):
        return result.status.value
    return f"{result.status.value}: {exc or result.reason}"


def add_parser(sub) -> None:
    parser = sub.add_parser("check-gt", help="run the reference solutions and explain failures",
                            description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_task_options(parser)
    add_exec_options(parser, workers=2, timeout=120.0)
    parser.add_argument("--run-all", action="store_true",
                        help="also run tasks whose Hub repositories are not cached (to see why "
                        "each fails) instead of skipping them")
    parser.add_argument("--out", help="write the full report (JSON) here")
    parser.add_argument("--exclusions", help="write the exclusion list here (default: where "
                        "run/score/report find it for these tasks and this environment)")
    add_weak_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, argv: Sequence[str] = ()) -> int:
    from aicoder.runs import SampleStatus
    from aicoder.tasks.hubrefs import hub_cache, missing_refs
    from eval.provenance import exclusions_from_rows, exclusions_path, now

    check_weak_options(args)
    tasks, source_sha = select(args)
    weak: dict[str, str] = {}
    if args.audit:
        ids = {t.task_id for t in tasks}
        weak = {k: v for k, v in weak_tasks(load_audit_for(args.audit, source_sha),
                                            args.min_mutation_score).items() if k in ids}
    env = resolve_env(args)
    sandbox = make_sandbox(args, env, tasks)
    try:
        limits = Limits(wall_s=args.timeout, cpu_s=int(args.timeout * 2))
        rows: list[dict] = []
        cache = hub_cache()
        to_run = []
        for task in tasks:
            missing = [] if args.run_all else missing_refs(task, cache)
            if missing:
                rows.append({"task_id": task.task_id, "domain": task.domain,
                             "framework": task.framework, "status": SampleStatus.SKIPPED,
                             "category": "skipped: Hub repository not cached",
                             "missing": [str(r) for r in missing], "checks": 0,
                             "checks_executed": 0, "duration_s": 0.0,
                             "reason": "not in the cache: " + ", ".join(str(r) for r in missing)})
            else:
                to_run.append(task)
        start = time.monotonic()
        from tqdm import tqdm

        with ThreadPoolExecutor(max(args.workers, 1)) as pool:
            futures = {pool.submit(sandbox.run, reference_program(t), limits): t for t in to_run}
            with tqdm(total=len(to_run), unit="task", desc="references") as bar:
                for future in as_completed(futures):
                    task, result = futures[future], future.result()
                    rows.append({"task_id": task.task_id, "domain": task.domain,
                                 "framework": task.framework, "status": SampleStatus.of(result),
                                 "category": explain(result), "checks": len(result.checks),
                                 "checks_executed": result.checks_executed,
                                 "duration_s": result.duration_s, "reason": result.reason})
                    bar.update()
                    bar.set_postfix(passed=sum(r["status"] is SampleStatus.PASSED for r in rows))
        rows.sort(key=lambda r: r["task_id"])
        statuses = Counter(r["status"] for r in rows)
        categories = Counter(r["category"] for r in rows)
        print(f"{len(rows)} references: {len(to_run)} run in {time.monotonic() - start:.0f} s "
              f"({sandbox.name} sandbox, env {env.name}), {len(rows) - len(to_run)} skipped")
        for status, n in statuses.most_common():
            print(f"  {status.value:8} {n}")
        failing = [(c, n) for c, n in categories.most_common() if c != SampleStatus.PASSED.value]
        if failing:
            print("why the others did not pass:")
            for category, n in failing:
                print(f"  {n:4}  {category}")
        vacuous = [r["task_id"] for r in rows if r["status"] is SampleStatus.VACUOUS]
        if vacuous:
            print(f"vacuous references (excluded): {', '.join(vacuous)}")
        for r in rows:
            if r["task_id"] in weak:
                r["weak"] = weak[r["task_id"]]
        weak_passing = {r["task_id"]: r["weak"] for r in rows
                        if "weak" in r and r["status"] is SampleStatus.PASSED}
        if weak:
            print(f"weak tests (audit {args.audit}): {len(weak)} tasks, {len(weak_passing)} of "
                  f"them with a passing reference"
                  + (" (excluded)" if args.exclude_weak else " (flagged; --exclude-weak "
                     "leaves them out)"))
            for task_id, why in sorted(weak.items()):
                print(f"  {task_id}: {why.split('): ', 1)[-1]}")
        excluded = exclusions_from_rows(rows)
        if args.exclude_weak:
            for task_id, why in weak_passing.items():
                excluded.setdefault(task_id, why)
        target = Path(args.exclusions) if args.exclusions else exclusions_path(source_sha, env.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps({"tasks": args.tasks, "source_sha256": source_sha,
                                      "env": env.name, "created": now(), "excluded": excluded,
                                      **({"audit": str(args.audit), "exclude_weak":
                                          args.exclude_weak} if args.audit else {})},
                                     indent=1))
        print(f"exclusion list ({len(excluded)} tasks; run, score and report honour it): {target}")
        if args.out:
            out = Path(args.out)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps({"tasks": args.tasks, "sandbox": sandbox.name,
                                       "env": env.name,
                                       "statuses": {k.value: n for k, n in statuses.items()},
                                       "categories": dict(categories.most_common()),
                                       "rows": rows}, indent=1))
            print(f"report: {out}")
        return 0
    finally:
        close = getattr(sandbox, "close", None)
        if close is not None:
            close()  # the warm zygote, if one runs
