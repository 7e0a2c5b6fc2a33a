"""The authors' codellama-python predictions, scored here both ways, beside the authors' logs.

    python -m benchmarks.score_codellama --out benchmarks/results/score_codellama.json

For each prediction set (7b, 13b, 34b) in ../shared/data/aicodereval/: `python -m eval score
--compat authors --no-skip` on all 241 v3 tasks in the tasks' environment (nothing skipped or
excluded, so every task has both verdicts), into runs/codellama-SIZE. Then, per task:

* **logged** — the authors' own outcome, from their execution logs
  (derived/v3_codellama_python_eval_outcomes.csv: no `Error` in stderr, no `failed` in stdout);
* **criterion here** — the same criterion, re-run here (`--compat authors`);
* **ours** — SR@All of our harness (every check passed, at least one ran).

"Tasks that run here" are those whose reference solution passes here (check-gt in the same
environment) and whose Hub repositories are in the local cache (or that load none): what `run`
and `score` score by default. Every disagreement gets a cause, read off the recorded outputs.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "aicodereval"
V3 = DATA / "Research-2309" / "Exp-2" / "output"
SIZES = ("7b", "13b", "34b")

_OFFLINE = re.compile(r"huggingface\.co|HF_HUB_OFFLINE|offline mode|LocalEntryNotFound|"
                      r"couldn't connect|is not a local folder|not a valid model identifier|"
                      r"outgoing traffic has been disabled|Max retries exceeded|"
                      r"NameResolutionError|Temporary failure in name resolution|"
                      r"Network is unreachable|ConnectionError", re.IGNORECASE)


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:160] if lines else ""


def why_here_differs(logged: bool, compat: dict) -> str:
    """Why the authors' criterion gives another answer here than in their logs."""
    stderr = compat.get("stderr_tail", "")
    stdout = compat.get("stdout_tail", "")
    if logged:  # passed for them, fails here
        if _OFFLINE.search(stderr) or _OFFLINE.search(stdout):
            return "offline here: it loads a Hub model or a URL"
        missing = re.findall(r"No module named '([\w.]+)'", stderr)
        if missing:
            return f"package missing here: {missing[0]}"
        if "EOFError" in stderr:
            return "reads stdin with input(): the sandbox gives a program no input"
        if compat.get("stdout_has_failed") and not compat.get("stderr_has_error"):
            return "prints 'failed' here: " + _last_line(compat.get("stdout_tail", ""))
        return "fails here: " + _last_line(stderr)
    # failed for them, passes here
    if compat.get("status", "").startswith("vacuous"):
        return ("online it got further and failed; offline the load error is caught (and "
                "printed to stdout, if at all), so nothing with 'Error' reaches stderr")
    return "passes here: " + (compat.get("status", "") or "?")[:120]


def why_ours_differs(record: dict) -> str:
    """Why our verdict differs from the authors' criterion on the same run here."""
    compat = record["compat"]
    status = record["status"]
    if compat["passed"]:  # the criterion passes it; our harness does not
        if status == "vacuous":
            return "no check ran: the test caught the error and printed no 'Error'"
        execute = next((s for s in record["steps"] if s["kind"] == "execute"), None)
        reason = (execute or {}).get("result", {}).get("reason", "") if execute else ""
        if status == "failed":
            out = compat.get("stdout_tail", "")
            if re.search(r"\bFailed\b|\bFAILED\b", out):
                return ("a check failed; the test printed 'Failed', which the criterion's "
                        "case-sensitive 'failed' misses")
            return f"a check failed, silently for the criterion ({reason[:100]})"
        return f"{status}: {reason[:100]}"
    if compat["stderr_has_error"]:
        return "every check passed, but stderr has the word 'Error': " + _last_line(
            compat.get("stderr_tail", ""))
    return "every check passed, but stdout has 'failed': " + _last_line(
        compat.get("stdout_tail", ""))


def score(size: str, runs: Path) -> Path:
    from eval.cli import main as eval_main

    out = runs / f"codellama-{size}"
    empty = runs / "no-exclusions.json"
    empty.write_text(json.dumps({"excluded": {}}))
    code = eval_main(["score", "--tasks", str(V3 / "hf-eval-data-v3-instruct.jsonl"),
                      "--predictions", str(V3 / f"hf-eval-data-v3-result-{size}"),
                      "--compat", "authors", "--env", "aicodereval", "--no-skip",
                      "--exclude", str(empty), "--out", str(out)])
    if code != 0:
        raise SystemExit(f"scoring {size} failed ({code})")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="runs", help="where the score runs go (runs/)")
    parser.add_argument("--check-gt", default="benchmarks/results/check_gt_v3_evalenv.json",
                        help="check-gt report in the same environment")
    parser.add_argument("--analyse-only", action="store_true",
                        help="read existing runs; score nothing")
    parser.add_argument("--out", default="benchmarks/results/score_codellama.json")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    runs = Path(args.runs)
    runs.mkdir(parents=True, exist_ok=True)
    gt = json.loads(Path(args.check_gt).read_text())
    from aicoder.tasks import load_jsonl
    from aicoder.tasks.hubrefs import hub_cache, missing_refs

    cache = hub_cache()
    needs_hub = {t.task_id for t in load_jsonl(V3 / "hf-eval-data-v3-instruct.jsonl")
                 if missing_refs(t, cache)}
    reference_passes = sorted(r["task_id"] for r in gt["rows"] if r["status"] == "passed")
    runs_here = [t for t in reference_passes if t not in needs_hub]
    logged: dict[tuple[str, str], bool] = {}
    with (DATA / "derived" / "v3_codellama_python_eval_outcomes.csv").open() as fh:
        for row in csv.DictReader(fh):
            size = row["model"].split("-")[1]
            logged[(size, row["file"].removesuffix(".py"))] = row["passed"] == "True"

    summary: dict = {"runs_here": runs_here, "reference_passes": reference_passes,
                     "models": {}}
    for size in SIZES:
        out = runs / f"codellama-{size}"
        if not args.analyse_only:
            score(size, runs)
        records = {}
        for line in (out / "samples.jsonl").read_text().splitlines():
            rec = json.loads(line)
            records[rec["task_id"]] = rec
        table, here_causes, ours_causes = [], Counter(), Counter()
        matrix = Counter()
        for task_id, rec in sorted(records.items()):
            if rec["status"] == "missing" or rec.get("compat") is None:
                continue
            lg = logged.get((size, task_id))
            crit = rec["compat"]["passed"]
            ours = rec["passed"]
            row = {"task_id": task_id, "logged": lg, "criterion_here": crit, "ours": ours,
                   "ours_status": rec["status"], "runs_here": task_id in runs_here,
                   "reference_passes": task_id in reference_passes}
            if lg is not None and lg != crit:
                row["why_criterion_differs"] = why_here_differs(lg, rec["compat"])
                here_causes[row["why_criterion_differs"].split(":")[0]] += 1
            if crit != ours:
                row["why_ours_differs"] = why_ours_differs(rec)
                ours_causes[row["why_ours_differs"].split(":")[0]] += 1
            matrix[(lg, crit, ours)] += 1
            table.append(row)
        scored = [r for r in table if r["logged"] is not None]
        summary["models"][size] = {
            "tasks": len(table),
            "logged_pass": sum(bool(r["logged"]) for r in scored),
            "criterion_here_pass": sum(r["criterion_here"] for r in table),
            "ours_pass": sum(r["ours"] for r in table),
            "logged_vs_criterion_here_agree": sum(r["logged"] == r["criterion_here"]
                                                  for r in scored),
            "compared_with_logs": len(scored),
            "criterion_vs_ours_agree": sum(r["criterion_here"] == r["ours"] for r in table),
            "why_criterion_differs": dict(here_causes.most_common()),
            "why_ours_differs": dict(ours_causes.most_common()),
            "runs_here_rows": [r for r in table if r["reference_passes"]],
            "rows": table,
        }
        m = summary["models"][size]
        print(f"codellama-{size}-python: {m['tasks']} tasks; pass by the logs "
              f"{m['logged_pass']}/{m['compared_with_logs']}, by the same criterion here "
              f"{m['criterion_here_pass']}, by our harness {m['ours_pass']}; logs vs here agree "
              f"on {m['logged_vs_criterion_here_agree']}, criterion vs ours on "
              f"{m['criterion_vs_ours_agree']}")
        for row in m["runs_here_rows"]:
            where = "runs here" if row["runs_here"] else "reference passes, but needs the Hub"
            print(f"   {where}: {row['task_id']}: logged {row['logged']}, criterion here "
                  f"{row['criterion_here']}, ours {row['ours']} ({row['ours_status']})"
                  + (f"; {row['why_criterion_differs']}" if "why_criterion_differs" in row
                     else ""))
    Path(args.out).write_text(json.dumps(summary, indent=1))
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
