"""``python -m eval audit --tasks ...``: how strong each task's tests are.

A test that a wrong function passes cannot measure a model. For every task this runs, in the
sandbox: the reference 3 times (it must pass, non-vacuously, with the same verdicts each time),
a stub whose body only raises (it must fail every check), and up to ``--max-mutants`` mutants
of the reference (operators, comparisons, constants, return values, removed statements,
dropped keyword arguments, comprehension filters; see ``aicoder/build/mutate.py``). The mutation score is the share of
mutants the tests kill; the survivors are listed per task, each a change the tests cannot see.

Writes ``audit.json`` and ``audit.md`` into ``--out``. ``check-gt --audit`` and ``report
--audit`` flag the weak tasks (``--exclude-weak`` leaves them out of the numbers, and the
report says on which tasks they were computed).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Sequence
from pathlib import Path

from eval.commands.common import (
    add_exec_options,
    add_task_options,
    make_sandbox,
    resolve_env,
    select,
)

__all__ = ["WEAK_PREFIX", "add_parser", "add_weak_options", "check_weak_options", "load_audit",
           "load_audit_for", "run", "weak_tasks"]


def add_parser(sub) -> None:
    from aicoder.build.audit import DEFAULT_MAX_MUTANTS, DEFAULT_MIN_SCORE

    parser = sub.add_parser("audit", help="measure how strong each task's tests are (mutants, "
                            "a stub, determinism)", description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    add_task_options(parser)
    add_exec_options(parser, workers=2, timeout=120.0)
    parser.add_argument("--max-mutants", type=int, default=DEFAULT_MAX_MUTANTS,
                        help=f"mutants per task at most, a seeded sample spread over the "
                        f"operators ({DEFAULT_MAX_MUTANTS}; 0: all)")
    parser.add_argument("--min-mutation-score", type=float, default=DEFAULT_MIN_SCORE,
                        help=f"a task whose tests kill fewer of its mutants is weak "
                        f"({DEFAULT_MIN_SCORE:g})")
    parser.add_argument("--runs", type=int, default=3, help="reference runs for determinism (3)")
    parser.add_argument("--seed", type=int, default=0, help="the mutant sample's seed (0)")
    parser.add_argument("--run-all", action="store_true",
                        help="also audit tasks whose Hub repositories are not cached")
    parser.add_argument("--out", required=True, help="directory for audit.json and audit.md")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, argv: Sequence[str] = ()) -> int:
    from tqdm import tqdm

    from aicoder.build.audit import audit_tasks, weak_reasons
    from aicoder.errors import AICoderError
    from eval.provenance import git_commit, now
    from sandbox import Limits

    if args.max_mutants < 0:
        raise AICoderError("--max-mutants must be 0 (all) or more")
    if not 0 <= args.min_mutation_score <= 1:
        raise AICoderError("--min-mutation-score must be between 0 and 1")
    if args.runs < 1:
        raise AICoderError("--runs must be 1 or more")
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AICoderError(f"cannot write to {out}: {exc.strerror or exc}") from None
    tasks, source_sha = select(args)
    skipped: dict[str, str] = {}
    if not args.run_all:  # as check-gt: a test that needs an uncached Hub model cannot run
        from aicoder.tasks.hubrefs import hub_cache, missing_refs

        cache = hub_cache()
        for task in tasks:
            missing = missing_refs(task, cache)
            if missing:
                skipped[task.task_id] = "Hub repository not cached: " + ", ".join(
                    str(r) for r in missing)
        tasks = [t for t in tasks if t.task_id not in skipped]
        if skipped:
            print(f"{len(skipped)} tasks skipped: their tests need Hub repositories that are "
                  "not cached (`eval prefetch`, or --run-all to audit them anyway)")
        if not tasks:
            raise AICoderError("no task left to audit: every selected task needs an uncached "
                               "Hub repository")
    env = resolve_env(args)
    sandbox = make_sandbox(args, env, tasks)
    start = time.monotonic()
    try:
        limits = Limits(wall_s=args.timeout, cpu_s=int(args.timeout * 2))
        with tqdm(total=len(tasks), unit="task", desc="audit") as bar:
            weak = 0

            def progress(audit) -> None:
                nonlocal weak
                weak += bool(weak_reasons(audit, args.min_mutation_score))
                bar.update()
                bar.set_postfix(weak=weak, last=f"{audit.task_id[:20]} {audit.score}")

            audits = audit_tasks(tasks, sandbox.run, limits, workers=args.workers,
                                 runs=args.runs, max_mutants=args.max_mutants or None,
                                 seed=args.seed, progress=progress)
    finally:
        close = getattr(sandbox, "close", None)
        if close is not None:
            close()
    rows = []
    for audit in audits:
        row = audit.to_dict()
        row["weak"] = weak_reasons(audit, args.min_mutation_score)
        rows.append(row)
    scores = [r["score"] for r in rows if r["score"] is not None]
    summary = {
        "tasks": args.tasks, "source_sha256": source_sha, "n_tasks": len(rows),
        "sandbox": sandbox.name, "env": env.name, "min_mutation_score": args.min_mutation_score,
        "max_mutants": args.max_mutants, "runs": args.runs, "seed": args.seed,
        "created": now(), "git_commit": git_commit(),
        "seconds": round(time.monotonic() - start, 1),
        "reference_passed": sum(r["reference"] == "passed" for r in rows),
        "deterministic": sum(r["deterministic"] and r["reference"] == "passed" for r in rows),
        "stub_killed": sum(r["stub_killed"] for r in rows),
        "mutants": sum(r["mutants"] for r in rows), "killed": sum(r["killed"] for r in rows),
        "median_score": round(statistics.median(scores), 3) if scores else None,
        "weak": [r["task_id"] for r in rows if r["weak"]],
        "skipped": skipped,
    }
    (out / "audit.json").write_text(json.dumps({**summary, "rows": rows}, indent=1))
    (out / "audit.md").write_text(to_markdown(summary, rows))
    print(f"{len(rows)} tasks audited in {summary['seconds']:.0f} s ({sandbox.name} sandbox, "
          f"env {env.name}): references passing {summary['reference_passed']}, deterministic "
          f"{summary['deterministic']}, stub killed {summary['stub_killed']}; mutants killed "
          f"{summary['killed']}/{summary['mutants']}, median score {summary['median_score']}")
    if summary["weak"]:
        print(f"weak tests ({len(summary['weak'])}):")
        for r in rows:
            if r["weak"]:
                print(f"  {r['task_id']}: {'; '.join(r['weak'])}")
    print(f"written: {out / 'audit.json'}, {out / 'audit.md'}")
    return 0


def to_markdown(summary: dict, rows: list[dict]) -> str:
    lines = ["# Test strength audit", "",
             f"Tasks `{summary['tasks']}` ({summary['n_tasks']}), {summary['sandbox']} sandbox, "
             f"env {summary['env']}; {summary['runs']} reference runs, at most "
             f"{summary['max_mutants'] or 'all'} mutants a task (seed {summary['seed']}); a task "
             f"is weak below a mutation score of {summary['min_mutation_score']:g}.", "",
             f"References passing: {summary['reference_passed']}; deterministic: "
             f"{summary['deterministic']}; stub killed: {summary['stub_killed']}; mutants "
             f"killed: {summary['killed']}/{summary['mutants']}; median score "
             f"{summary['median_score']}; weak: {len(summary['weak'])}.", "",
             "| task | reference | checks ran | stub killed | mutants | killed | score | weak |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        score = "—" if r["score"] is None else f"{r['score']:.2f}"
        lines.append(f"| {r['task_id']} | {r['reference']}"
                     f"{'' if r['deterministic'] or r['reference'] != 'passed' else ' (varies)'}"
                     f" | {r['checks_executed']}/{r['checks']} | "
                     f"{'yes' if r['stub_killed'] else 'no' if r['stub'] else '—'} | "
                     f"{r['mutants']} | {r['killed']} | {score} | {'; '.join(r['weak'])} |")
    if summary.get("skipped"):
        lines += ["", f"## Not audited ({len(summary['skipped'])})", ""]
        lines += [f"- `{t}`: {why}" for t, why in summary["skipped"].items()]
    survivors = [r for r in rows if r["survivors"]]
    if survivors:
        lines += ["", "## Mutants the tests did not kill", ""]
        for r in survivors:
            lines.append(f"- **{r['task_id']}** ({len(r['survivors'])}):")
            lines += [f"  - `{m['mutant_id']}` {m['description']}" for m in r["survivors"]]
    return "\n".join(lines) + "\n"


def load_audit(path: str | Path) -> dict:
    """An ``audit.json`` (or the directory holding one)."""
    from aicoder.errors import AICoderError

    p = Path(path)
    if p.is_dir():
        p = p / "audit.json"
    try:
        data = json.loads(p.read_text())
        data["rows"]
    except FileNotFoundError:
        raise AICoderError(f"no audit at {p}: run `python -m eval audit --out DIR` first") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AICoderError(f"{p} is not an audit.json ({exc.__class__.__name__})") from None
    return data


def load_audit_for(path: str | Path, source_sha: str) -> dict:
    """The audit at ``path``, refused when it audited other tasks than ``source_sha``'s (a
    task file that changed since, or another one)."""
    from aicoder.errors import AICoderError

    data = load_audit(path)
    audited = data.get("source_sha256") or ""
    if source_sha and audited and audited != source_sha:
        raise AICoderError(f"the audit at {path} is of other tasks ({data.get('tasks')}, "
                           f"sha256 {audited[:12]}) than these (sha256 {source_sha[:12]}): "
                           "audit these tasks again")
    return data


WEAK_PREFIX = "weak tests (mutation score floor "


def weak_tasks(audit: dict, min_score: float | None = None) -> dict[str, str]:
    """task id -> why its tests are weak, by the audit's rule (or ``min_score``). Each reason
    starts with ``WEAK_PREFIX`` and the floor, so that a report can say which rule excluded a
    task."""
    from aicoder.build.audit import TaskAudit, weak_reasons

    threshold = audit.get("min_mutation_score", 0.6) if min_score is None else min_score
    out = {}
    for row in audit["rows"]:
        why = weak_reasons(TaskAudit.from_dict(row), threshold)
        if why:
            out[row["task_id"]] = f"{WEAK_PREFIX}{threshold:g}): " + "; ".join(why)
    return out


def add_weak_options(parser) -> None:
    """``--audit``, ``--exclude-weak`` and ``--min-mutation-score`` for check-gt and report."""
    parser.add_argument("--audit", metavar="DIR",
                        help="an `eval audit` of these tasks (its directory or audit.json): "
                        "flag the tasks whose tests are weak")
    parser.add_argument("--exclude-weak", action="store_true",
                        help="leave the weak tasks out (needs --audit); the report says so")
    parser.add_argument("--min-mutation-score", type=float, default=None,
                        help="the floor below which a task is weak (default: the audit's)")


def check_weak_options(args) -> None:
    from aicoder.errors import AICoderError

    if (args.exclude_weak or args.min_mutation_score is not None) and not args.audit:
        raise AICoderError("--exclude-weak and --min-mutation-score need --audit DIR (an "
                           "`eval audit` of these tasks)")
    if args.min_mutation_score is not None and not 0 <= args.min_mutation_score <= 1:
        raise AICoderError("--min-mutation-score must be between 0 and 1")
