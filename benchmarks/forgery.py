"""Forgery from inside the test's process: the attack table, false alarms, and what it costs.

    python -m benchmarks.forgery table            # every attack of tests/test_forgery.py, per backend
    python -m benchmarks.forgery false-alarms     # verdicts before (a git revision) and after
    python -m benchmarks.forgery cost             # builtin references, hardening on and off

``false-alarms`` runs the same corpus twice: under the harness of ``--baseline`` (checked out
in a temporary git worktree) and under this tree's. The corpus: the builtin suite's
references, the shared v3 references (when ``../shared`` is there), every model answer stored
in ``benchmarks/results/agents_builtin*.json`` and in ``../shared/data/model-answers/``. A
verdict that differs is listed with both sides. Results go to ``benchmarks/results/``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
SHARED = ROOT.parent / "shared"
V3 = SHARED / "data" / "aicodereval" / "Research-2309" / "Exp-2" / "output" / \
    "hf-eval-data-v3-instruct.jsonl"
ANSWERS = SHARED / "data" / "model-answers" / "qwen2.5-coder-answers.jsonl"


def _progress(done: int, total: int, label: str) -> None:
    print(f"\r{label}: {done}/{total}", end="" if done < total else "\n", file=sys.stderr,
          flush=True)


def corpus(root: Path = ROOT) -> dict[str, tuple[str, str, str, str]]:
    """key -> (candidate, test, entry, origin); built with the tree's own task code."""
    sys.path.insert(0, str(root))
    from aicoder.tasks import assemble, load_builtin, load_jsonl, reference_program

    builtin = {t.task_id: t for t in load_builtin()}
    out: dict[str, tuple[str, str, str, str]] = {}

    def put(key, program, origin):
        out[key] = (program.candidate, program.test, program.entry, origin)

    for task in builtin.values():
        put(f"builtin-ref/{task.task_id}", reference_program(task), "builtin reference")
    if V3.exists():
        for task in load_jsonl(V3):
            put(f"v3-ref/{task.task_id}", reference_program(task), "v3 reference")
    for path in sorted(RESULTS.glob("agents_builtin*.json")):
        data = json.loads(path.read_text())
        for mode, block in data.get("modes", {}).items():
            for row in block.get("rows", []):
                task = builtin.get(row["task_id"])
                if task is None:
                    continue
                for step in row.get("steps", []):
                    if step.get("kind") == "execute" and step.get("code"):
                        put(f"{path.stem}/{mode}/{row['task_id']}/{step['index']}",
                            assemble(task, step["code"]), f"{path.name} answer")
    if ANSWERS.exists():
        by_name = {t.task_id.split("_", 1)[1]: t for t in builtin.values()}
        for i, line in enumerate(ANSWERS.read_text().splitlines()):
            row = json.loads(line)
            task = by_name.get(row["task"])
            if task is not None:
                put(f"model-answers/{i}/{row['task']}", assemble(task, row["raw"]),
                    "shared model answer")
    return out


def collect(items: dict, workers: int, harden: bool = True) -> dict[str, dict]:
    from sandbox import Limits, Program, get_sandbox

    box = get_sandbox()
    box.harden = harden
    limits = Limits(wall_s=120)
    results: dict[str, dict] = {}

    def one(key):
        cand, test, entry, _ = items[key]
        r = box.run(Program(candidate=cand, test=test, entry=entry), limits)
        return key, {"status": r.status.value, "passed": [c.passed for c in r.checks],
                     "duration_s": r.duration_s,
                     "tamper": [t.summary() for t in getattr(r, "tamper", [])]}

    with ThreadPoolExecutor(workers) as pool:
        for n, (key, value) in enumerate(pool.map(one, sorted(items)), 1):
            results[key] = value
            _progress(n, len(items), "executions")
    return results


def false_alarms(args) -> dict:
    cache = Path(tempfile.gettempdir()) / f"aicoder-forgery-baseline-{args.baseline}.json"
    if cache.exists():
        print(f"baseline {args.baseline}: from {cache}", file=sys.stderr)
        before = json.loads(cache.read_text())
    else:
        before = _baseline(args)
        cache.write_text(json.dumps(before))
    print("this tree: running the corpus", file=sys.stderr)
    items = corpus()
    after = collect(items, args.workers)
    return _compare(args, items, before, after)


def _baseline(args) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "baseline"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree),
                        args.baseline], check=True, capture_output=True)
        try:
            print(f"baseline {args.baseline}: running the corpus", file=sys.stderr)
            proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "collect",
                                   "--root", str(tree), "--workers", str(args.workers)],
                                  cwd=tree, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise SystemExit(f"error: the baseline run failed: {proc.stderr[-2000:]}")
            return json.loads(proc.stdout)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)],
                           check=False, capture_output=True)


def _compare(args, items: dict, before: dict, after: dict) -> dict:
    differ = []
    for key in sorted(after):
        if key in before and (before[key]["status"], before[key]["passed"]) != \
                (after[key]["status"], after[key]["passed"]):
            differ.append({"key": key, "origin": items[key][3], "before": before[key],
                           "after": after[key]})
    by_origin: dict[str, int] = {}
    for key in after:
        by_origin[items[key][3]] = by_origin.get(items[key][3], 0) + 1
    return {"baseline": args.baseline, "n": len(after), "by_origin": by_origin,
            "n_differ": len(differ), "differ": differ,
            "statuses_after": _count(after), "statuses_before": _count(before)}


def _count(results: dict) -> dict:
    out: dict[str, int] = {}
    for value in results.values():
        out[value["status"]] = out.get(value["status"], 0) + 1
    return dict(sorted(out.items()))


def table(args) -> dict:
    sys.path.insert(0, str(ROOT))
    from sandbox import Program, get_sandbox
    from tests.test_forgery import ATTACKS, IMPORTS, TEST

    rows = []
    boxes = {}
    for name in args.backends:
        try:
            boxes[name] = get_sandbox(name)
        except Exception as exc:
            print(f"{name}: unavailable ({exc})", file=sys.stderr)
    for n, attack in enumerate(sorted(ATTACKS), 1):
        row = {"attack": attack}
        for name, box in boxes.items():
            r = box.run(Program(candidate=IMPORTS + ATTACKS[attack], test=TEST,
                                entry="test_square"))
            row[name] = {"status": r.status.value, "checks_passed": sum(c.passed for c in r.checks),
                         "evidence": r.tamper[0].summary() if r.tamper else r.reason}
        rows.append(row)
        _progress(n, len(ATTACKS), "attacks")
    lines = ["| attack | " + " | ".join(boxes) + " | evidence |",
             "|---|" + "---|" * (len(boxes) + 1)]
    for row in rows:
        cells = [f"{row[b]['status']} {row[b]['checks_passed']}/4" for b in boxes]
        evidence = row[next(iter(boxes))]["evidence"].replace("|", "\\|")[:100]
        lines.append(f"| {row['attack']} | " + " | ".join(cells) + f" | {evidence} |")
    (RESULTS / "forgery_table.md").write_text("\n".join(lines) + "\n")
    return {"backends": list(boxes), "rows": rows}


def cost(args) -> dict:
    items = {k: v for k, v in corpus().items() if k.startswith("builtin-ref/")}
    out = {}
    for harden in (False, True):
        times: dict[str, list[float]] = {k: [] for k in items}
        for _ in range(args.repeats):
            for key, value in collect(items, 1, harden=harden).items():
                times[key].append(value["duration_s"])
        medians = [statistics.median(v) for v in times.values()]
        out["hardened" if harden else "plain"] = {
            "median_s": round(statistics.median(medians), 4),
            "mean_s": round(statistics.mean(medians), 4),
        }
    out["overhead_s"] = round(out["hardened"]["median_s"] - out["plain"]["median_s"], 4)
    out["n_references"] = len(items)
    out["repeats"] = args.repeats
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.forgery", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("table", help="every forgery attack, per backend")
    t.add_argument("--backends", nargs="+", default=["bwrap", "landlock", "docker"])
    f = sub.add_parser("false-alarms", help="verdicts before and after, on honest corpora")
    f.add_argument("--baseline", default="64ee55b", help="git revision before the change")
    f.add_argument("--workers", type=int, default=2)
    c = sub.add_parser("cost", help="median wall time per builtin reference, on and off")
    c.add_argument("--repeats", type=int, default=5)
    k = sub.add_parser("collect", help=argparse.SUPPRESS)
    k.add_argument("--root", required=True)
    k.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if args.command == "collect":  # the baseline side, run inside the worktree
        items = corpus(Path(args.root))
        print(json.dumps(collect(items, args.workers)))
        return 0
    start = time.monotonic()
    result = {"table": table, "false-alarms": false_alarms, "cost": cost}[args.command](args)
    result["seconds"] = round(time.monotonic() - start, 1)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"forgery_{args.command.replace('-', '_')}.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k not in ("rows", "differ")}, indent=1))
    print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
