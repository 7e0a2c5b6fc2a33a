"""Does the repair loop repair? Direct, CoderGen with the paper's prompts, and CoderGen with
the repair policy, on one task set at one temperature.

    AICODER_MODEL=llamacpp:/path/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf \\
        python -m benchmarks.repair run --tasks builtin --temperature 0 \\
            --modes direct,paper,codergen --out benchmarks/results/repair/builtin-t0.json
    python -m benchmarks.repair table benchmarks/results/repair/*.json

``run`` goes task by task, every mode in turn, and writes every task's steps after each one:
nothing is lost on a crash, ``--resume`` goes on where it stopped, and a run stopped early still
compares the modes on the same tasks. ``table`` computes everything from those steps, the same way for
every mode: SR@All after each round (a task that passes at round k counts for every round
>= k), dead rounds (repair rounds that ran no new code: every repair repeated an earlier
attempt), repairs repeating an attempt (each repair generation whose code equals an earlier
attempt of the same run; the policy's re-asks count too), degenerate analyses (`aicoder.agents.policy.degenerate`), and tokens and seconds per solved
task (all the run's tokens and seconds over the tasks it solved).

``--offline-refs`` keeps the tasks whose reference passes every check, non-vacuously, in this
sandbox (run first, here): the shared v3 records that can be solved without the Hub.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

MODES = ("direct", "paper", "codergen")


def _agent(mode: str, model, sandbox, args):
    from aicoder.agents import AGENTS, Budget
    from aicoder.models import GenerationParams
    from sandbox import Limits

    params = GenerationParams(seed=args.seed, temperature=args.temperature,
                              max_new_tokens=args.max_new_tokens)
    budget = Budget(rounds=args.rounds)
    options: dict = {}
    if mode != "direct" and not args.frozen:
        from aicoder.agents import RepairPolicy

        options["policy"] = RepairPolicy(prompts="paper" if mode == "paper" else "default",
                                         candidates=args.candidates if mode == "codergen" else 1)
    cls = AGENTS["direct" if mode == "direct" else "codergen"]
    return cls(model, sandbox, params=params, limits=Limits(wall_s=60), budget=budget, **options)


def _fresh(model) -> None:
    """Start each task from an empty llama.cpp cache, so that no mode's first answer depends
    on what the previous task left there. Greedy decoding is still not bit-reproducible on this
    CPU: of 9 first answers, 4 differed between a run that went on from the previous task and
    one that started each task in a fresh process, and 1 even between two fresh processes.
    Compare modes by their own repair curves, and on many tasks."""
    llm = getattr(model, "llm", None)
    if llm is not None and hasattr(llm, "reset"):
        llm.reset()


def _offline_solvable(tasks, sandbox):
    from aicoder.tasks import reference_program
    from sandbox import Limits, Status

    kept = []
    for task in tasks:  # no static filter: some references pass with their Hub load caught
        result = sandbox.run(reference_program(task), Limits(wall_s=120))
        if result.status is Status.PASSED:
            kept.append(task)
    return kept


def run(args) -> int:
    from aicoder.agents import steps_only
    from aicoder.models import load_model
    from aicoder.tasks import load_tasks
    from sandbox import get_sandbox

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    report = json.loads(out.read_text()) if args.resume and out.exists() else {}
    sandbox = get_sandbox()
    tasks = load_tasks(args.tasks)
    if args.ids_from:
        ids = set(json.loads(Path(args.ids_from).read_text())["task_ids"])
        tasks = [t for t in tasks if t.task_id in ids]
    elif args.offline_refs:
        tasks = _offline_solvable(tasks, sandbox)
        print(f"{len(tasks)} tasks whose reference passes here", flush=True)
    tasks = tasks[: args.limit]
    model = load_model(args.model)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=False).stdout.strip()
    report.update({"model": model.spec, "tasks": args.tasks, "task_ids": [t.task_id for t in tasks],
                   "temperature": args.temperature, "seed": args.seed, "rounds": args.rounds,
                   "max_new_tokens": args.max_new_tokens, "candidates": args.candidates})
    report.setdefault("modes", {})
    modes = args.modes.split(",")
    if args.name and len(modes) != 1:
        raise SystemExit("--name stores a single mode: give one --modes")
    agents, entries = {}, {}
    for mode in modes:
        name = args.name or mode
        entries[name] = report["modes"].setdefault(name, {"mode": mode, "git_commit": commit,
                                                          "frozen": args.frozen, "rows": []})
        agents[name] = _agent(mode, model, sandbox, args)
    # task by task, every mode in turn: a run stopped at any point compares the modes on the
    # same tasks
    for i, task in enumerate(tasks, 1):
        for name, entry in entries.items():
            if any(row["task_id"] == task.task_id for row in entry["rows"]):
                continue
            _fresh(model)
            start = time.monotonic()
            steps = steps_only(agents[name].run(task))
            final = steps[-1]
            entry["rows"].append({"task_id": task.task_id, "passed": bool(final.passed),
                                  "rounds": final.rounds, "why": final.text,
                                  "seconds": round(time.monotonic() - start, 2),
                                  "steps": [s.model_dump(mode="json") for s in steps]})
            out.write_text(json.dumps(report, indent=1))
            print(f"[{name} t={args.temperature:g}] {i}/{len(tasks)} {task.task_id}: "
                  f"{'PASS' if final.passed else 'fail'} ({final.text})", flush=True)
    return 0


def _code_key(code: str) -> str:
    return "\n".join(line.rstrip() for line in (code or "").strip().splitlines())


def summarize(entry: dict, rounds: int) -> dict:
    """Every number of the table, from the stored steps."""
    from aicoder.agents.policy import degenerate

    rows = entry["rows"]
    n = len(rows)
    curve = [sum(r["passed"] and (r["rounds"] or 0) <= k for r in rows) / n
             for k in range(rounds + 1)]
    repair_rounds = identical = analyses = bad = repairs = repeats = 0
    for row in rows:
        seen: set[str] = set()
        by_round: dict[int, list[dict]] = {}
        for step in row["steps"]:
            by_round.setdefault(step["round"], []).append(step)
        for round_, steps in sorted(by_round.items()):
            new_code = False
            for step in steps:
                if step["kind"] == "analyze":
                    analyses += 1
                    cut = bool(step.get("cut")) or "cut at the token limit" in step["note"]
                    bad += degenerate(step["text"], cut=cut) is not None
                if step["kind"] == "execute" and step.get("code"):
                    key = _code_key(step["code"])
                    if round_ >= 1:
                        repairs += 1
                        repeats += key in seen
                    new_code |= key not in seen
                    seen.add(key)
            if round_ >= 1 and any(s["kind"] == "execute" for s in steps):
                repair_rounds += 1
                identical += not new_code  # the round ran nothing new
    solved = sum(r["passed"] for r in rows)
    tokens = sum(s.get("prompt_tokens", 0) + s.get("completion_tokens", 0)
                 for r in rows for s in r["steps"])
    seconds = sum(r["seconds"] for r in rows)
    return {"n": n, "sr_all": round(curve[-1], 4), "curve": [round(c, 4) for c in curve],
            "solved": solved, "repair_rounds": repair_rounds, "identical": identical,
            "identical_share": round(identical / repair_rounds, 3) if repair_rounds else None,
            "repairs": repairs, "repeated_repairs": repeats,
            "analyses": analyses, "degenerate": bad,
            "tokens_per_solved": round(tokens / solved) if solved else None,
            "seconds_per_solved": round(seconds / solved, 1) if solved else None,
            "tokens_per_task": round(tokens / n), "seconds_per_task": round(seconds / n, 1)}


def table(args) -> int:
    """One row per (tasks, temperature, mode), each group on the tasks every mode finished."""
    groups: dict[tuple, dict[str, dict]] = {}
    for path in args.files:
        report = json.loads(Path(path).read_text())
        for name, entry in report["modes"].items():
            if entry["rows"]:
                key = (Path(report["tasks"]).stem, report["temperature"], report["rounds"])
                groups.setdefault(key, {})[name] = entry
    lines = ["| tasks | T | mode | SR@All | after rounds 0/1/2/3 | dead rounds (nothing new "
             "ran) | repairs repeating an attempt | degenerate analyses | tokens / solved "
             "| s / solved |", "|---|---|---|---|---|---|---|---|---|---|"]
    for (tasks, temperature, rounds), entries in groups.items():
        common = set.intersection(*({r["task_id"] for r in e["rows"]} for e in entries.values()))
        for name, entry in entries.items():
            rows = [r for r in entry["rows"] if r["task_id"] in common]
            s = summarize({**entry, "rows": rows}, rounds)
            lines.append(
                f"| {tasks} ({s['n']}) | {temperature:g} | {name} "
                f"| {s['solved']}/{s['n']} ({s['sr_all']:.3f}) "
                f"| {' / '.join(f'{c:.2f}' for c in s['curve'])} "
                f"| {s['identical']}/{s['repair_rounds']} | {s['repeated_repairs']}/{s['repairs']} "
                f"| {s['degenerate']}/{s['analyses']} "
                f"| {s['tokens_per_solved'] or '—'} | {s['seconds_per_solved'] or '—'} |")
    print("\n".join(lines))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run the modes and store every task's steps")
    r.add_argument("--model", default=None, help="model spec (default $AICODER_MODEL)")
    r.add_argument("--tasks", default="builtin", help="builtin, a .jsonl path, or hub:REPO")
    r.add_argument("--offline-refs", action="store_true",
                   help="keep only the tasks whose reference passes in this sandbox")
    r.add_argument("--ids-from", default=None,
                   help="the tasks of an earlier result file (its task_ids), e.g. the "
                   "--offline-refs selection of another temperature")
    r.add_argument("--modes", default=",".join(MODES), help=f"comma list of {', '.join(MODES)}")
    r.add_argument("--name", default=None, help="store the (single) mode under this name")
    r.add_argument("--frozen", action="store_true",
                   help="a checkout from before --prompts existed: its codergen is 'paper'")
    r.add_argument("--temperature", type=float, default=0.0)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--rounds", type=int, default=3)
    r.add_argument("--candidates", type=int, default=1, help="codergen: repairs per round")
    r.add_argument("--max-new-tokens", type=int, default=768)
    r.add_argument("--limit", type=int, default=None, help="first N tasks only")
    r.add_argument("--resume", action="store_true", help="skip the tasks already in --out")
    r.add_argument("--out", required=True)
    t = sub.add_parser("table", help="the markdown table of stored runs")
    t.add_argument("files", nargs="+")
    args = parser.parse_args(argv)
    return run(args) if args.command == "run" else table(args)


if __name__ == "__main__":
    sys.exit(main())
