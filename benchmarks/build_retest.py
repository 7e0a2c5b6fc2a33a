"""Today's test prompt of ``aicoder.build`` on the functions an earlier build logged: the same
functions, a new first test from the model, both tests through today's gates. A change of the
test prompt is measured on what it changes, and on nothing else.

    python -m benchmarks.build_retest --report benchmarks/results/build40-drop-retest.json \\
        -- --library numpy,sklearn --modules numpy.linalg,sklearn.metrics --shuffle \\
        --limit 40 --samples 2 --model llamacpp:... --sandbox bwrap --out OUT

After ``--`` comes the build's own command line (its documents, model and gates; ``--out`` is
the build whose ``log.jsonl`` is read, and nothing is written there). Taken: each logged first
answer (attempt 0) whose function passes today's function checks (it calls the document's
API, has a docstring of its own and enough mutants), so that a test was or would be asked for.
For each, "then" is its logged test checked again in the sandbox with today's gates (or why
it had none), and "now" is a test written for the same function with today's prompt and the
seed the build gave it, checked the same way. No repair: it measures first tests only.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from benchmarks.build_regate import parse_with_build, run_or_error

    p = argparse.ArgumentParser(prog="python -m benchmarks.build_retest",
                                description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--report", required=True, help="where the json report goes")
    p.add_argument("--limit", type=int, default=0,
                   help="retest at most this many functions (0: all)")
    args, build = parse_with_build(p, argv)
    return run_or_error(retest, build, Path(args.report), args.limit)


def retest(build: argparse.Namespace, report_path: Path, limit: int = 0) -> int:
    """Write the report: the build's (``--model``) tests for the functions it logged."""
    from tqdm import tqdm

    from aicoder.build.builder import Builder, function_part
    from aicoder.errors import AICoderError
    from aicoder.models import ModelError, default_spec, load_model
    from benchmarks.build_regate import _kind, context, write_report
    from sandbox import get_sandbox

    entries, docs, against, config = context(build)
    todo = []  # (index of the entry, the candidate, its function's parts)
    for index, entry in enumerate(entries):
        doc = docs.get(entry["doc_id"])
        for cand in entry["candidates"]:
            if doc is None or cand["attempt"] != 0 or not cand["program"]:
                continue
            domain, imports, functions, problems = function_part(cand["program"], doc,
                                                                 config.min_mutants)
            if not problems:
                todo.append((index, cand, (domain, imports, functions)))
    if limit:
        todo = todo[:limit]
    model = load_model(build.model or default_spec())
    sandbox = get_sandbox(build.sandbox)
    rows, tokens, start = [], 0, time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        builder = Builder(tmp, config, model, sandbox.run, against=against,
                          workers=build.workers)
        try:
            for index, cand, parts in tqdm(todo, unit="function", desc="retest"):
                doc = docs[cand["doc_id"]]
                name = f"r{len(rows) + 1:05d}"
                if "# test_function_code" in cand["program"]:
                    _, then, _, _ = builder._check(cand["program"], doc, name, [])
                else:
                    then = cand["reasons"]
                builder.entries = entries[:index]  # the seed the build gave this answer
                try:
                    program, now, used, took = builder._test(parts, cand["sample"], 0, None)
                except ModelError as exc:
                    raise AICoderError(f"{exc} (nothing was written)") from None
                if not now:
                    _, now, _, _ = builder._check(program, doc, name, [])
                tokens += used
                rows.append({"doc_id": cand["doc_id"], "sample": cand["sample"],
                             "then": then or ["kept"], "now": now or ["kept"],
                             "seconds": round(took, 1), "program": program})
                print(f"{cand['doc_id']} s{cand['sample']}: {rows[-1]['then'][0][:60]} -> "
                      f"{rows[-1]['now'][0][:60]}", file=sys.stderr)
        finally:
            close = getattr(sandbox, "close", None)
            if close is not None:
                close()
    then = collections.Counter(_kind(r["then"]) for r in rows)
    now = collections.Counter(_kind(r["now"]) for r in rows)
    report = {"log": str(Path(build.out) / "log.jsonl"), "functions": len(rows),
              "seconds": round(time.monotonic() - start), "tokens": tokens,
              "then": dict(then.most_common()), "now": dict(now.most_common()),
              "candidates": rows}
    return write_report(report_path, report, "candidates")


if __name__ == "__main__":
    sys.exit(main())
