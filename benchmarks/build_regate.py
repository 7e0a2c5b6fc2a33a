"""The gates of today's ``aicoder.build`` on the candidates an earlier build logged: which
verdicts a change of the gates turns, without the model (each candidate's program is checked
again in the sandbox as it was written, with no repair).

    python -m benchmarks.build_regate --report benchmarks/results/build40-drop-regate.json \\
        -- --library numpy,sklearn --modules numpy.linalg,sklearn.metrics --shuffle \\
        --limit 40 --samples 2 --model llamacpp:... --sandbox bwrap --out OUT

After ``--`` comes the build's own command line (its documents and gates; ``--out`` is the
build whose ``log.jsonl`` is read, and nothing is written there). Checked again: every logged
candidate that reached the sandbox (it has an audit). A candidate rejected before it was run
(no test, a copied docstring, a bare call) is left as it was: a gate of the sandbox cannot
turn it. The report lists each candidate's reasons then and now, and the checks now dropped.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.build_regate",
                                description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--report", required=True, help="where the json report goes")
    args, build = parse_with_build(p, argv)
    return run_or_error(regate, build, Path(args.report))


def parse_with_build(p: argparse.ArgumentParser, argv: list[str] | None
                     ) -> tuple[argparse.Namespace, argparse.Namespace]:
    """This benchmark's options, then a build's command line after ``--``: (its options, the
    build's, as ``python -m aicoder.build`` reads them)."""
    from aicoder.build.__main__ import build_parser

    argv = list(sys.argv[1:] if argv is None else argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    args = p.parse_args(argv[:cut])
    if cut == len(argv):
        p.error("give the build's command line after --")
    return args, build_parser().parse_args(argv[cut + 1:])


def run_or_error(work, *args) -> int:
    """``work(*args)``, with a user's mistake (an ``AICoderError``) as one ``error:`` line."""
    from aicoder.errors import AICoderError

    try:
        return work(*args)
    except AICoderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def write_report(path: Path, report: dict, rows: str) -> int:
    """Write the json ``report``; print it without its ``rows`` list."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps({k: v for k, v in report.items() if k != rows}, indent=1))
    return 0


def _kind(reasons: list[str]) -> str:
    from aicoder.build.builder import reason_kind

    return "kept" if reasons == ["kept"] else reason_kind(reasons[0])


def context(build: argparse.Namespace) -> tuple[list[dict], dict, list, object]:
    """What a re-check of a logged build needs: (its log's entries, its documents by id, the
    tasks it is checked against, a ``BuildConfig`` with its gates)."""
    from aicoder.build.__main__ import _documents, _select
    from aicoder.build.builder import BuildConfig
    from aicoder.errors import AICoderError
    from aicoder.tasks import load_tasks

    log = Path(build.out) / "log.jsonl"
    if not log.is_file():
        raise AICoderError(f"no build log at {log}")
    groups, _ = _documents(build)
    docs = {d.doc_id: d for d in _select(groups, build.shuffle, build.limit, build.seed)}
    against = list(load_tasks("builtin"))
    for spec in build.against:
        against += load_tasks(spec)
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    config = BuildConfig(documents="", documents_sha256="", model=build.model or "",
                         temperature=build.temperature, max_new_tokens=build.max_new_tokens,
                         min_mutation_score=build.min_mutation_score,
                         max_mutants=build.max_mutants, min_mutants=build.min_mutants,
                         drop_failing_checks=not build.keep_failing_checks,
                         wall_s=build.timeout, seed=build.seed)
    return entries, docs, against, config


def regate(build: argparse.Namespace, report_path: Path) -> int:
    from aicoder.build.builder import Builder
    from sandbox import get_sandbox

    log = Path(build.out) / "log.jsonl"
    entries, docs, against, config = context(build)
    sandbox = get_sandbox(build.sandbox)
    rows, kept = [], []
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        builder = Builder(tmp, config, None, sandbox.run, against=against,
                          workers=build.workers)
        try:
            for entry in entries:
                doc = docs.get(entry["doc_id"])
                for cand in entry["candidates"]:
                    if cand.get("audit") is None or doc is None:
                        continue
                    name = f"r{len(rows) + 1:05d}"
                    task, reasons, audit, _ = builder._check(cand["program"], doc, name, kept)
                    if task is not None and not reasons:
                        kept.append(task)
                    rows.append({
                        "doc_id": cand["doc_id"], "sample": cand["sample"],
                        "attempt": cand["attempt"], "then": cand["reasons"] or ["kept"],
                        "now": reasons or ["kept"],
                        "dropped_checks": (audit or {}).get("dropped_checks", []),
                        "score": (audit or {}).get("score")})
                    print(f"{cand['doc_id']} s{cand['sample']} a{cand['attempt']}: "
                          f"{rows[-1]['then'][0][:60]} -> {rows[-1]['now'][0][:60]}",
                          file=sys.stderr)
        finally:
            close = getattr(sandbox, "close", None)
            if close is not None:
                close()
    then = collections.Counter(_kind(r["then"]) for r in rows)
    now = collections.Counter(_kind(r["now"]) for r in rows)
    report = {"log": str(log), "checked": len(rows), "seconds": round(time.monotonic() - start),
              "then": dict(then.most_common()), "now": dict(now.most_common()),
              "turned": sum(r["then"][0] != r["now"][0] for r in rows),
              "with_dropped_checks": sum(bool(r["dropped_checks"]) for r in rows),
              "candidates": rows}
    return write_report(report_path, report, "candidates")


if __name__ == "__main__":
    sys.exit(main())
