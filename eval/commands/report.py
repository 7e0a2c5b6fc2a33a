"""``python -m eval report RUN [RUN ...]``: the numbers of one or several runs.

For each run directory: SR@All, SR@Any, pass@k (k up to the samples per task), each with a
95% bootstrap interval; per domain and framework; the repair curve; tokens and time per
sample; skipped tasks listed apart. Writes ``report.json``, ``report.md``, ``repair_curve.png``
and ``by_domain.png`` into each run directory. With several runs, also a side-by-side table
and each run's paired difference with the first on their common tasks (``--out FILE.json``
keeps it, with the runs' repair curves in ``FILE.png``).

With ``--audit DIR`` (an ``eval audit`` of the same tasks) the tasks whose tests are weak are
flagged and SR@All is also given without them; ``--exclude-weak`` leaves them out of every
number, and the report says so: "scored on the tasks whose tests kill at least 0.6 of their
mutants".
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from eval.commands.audit import add_weak_options, check_weak_options

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    parser = sub.add_parser("report", help="report one run, or compare several",
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="run directories (runs/NAME)")
    parser.add_argument("--out", help="write the comparison of several runs here (JSON)")
    add_weak_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace, argv: Sequence[str] = ()) -> int:
    from rich.console import Console
    from rich.table import Table

    from eval.report import compare, compare_plot, terminal_table, write_report

    check_weak_options(args)
    reports = []
    for path in args.runs:
        report = write_report(path, audit=args.audit, exclude_weak=args.exclude_weak,
                              min_score=args.min_mutation_score)
        reports.append(report)
        print(terminal_table(report))
        if report.n_missing:
            print(f"note: {report.n_missing} tasks have no sample yet (an unfinished "
                  "run); they are not in the numbers")
        print(f"written: {Path(path) / 'report.md'}, report.json, repair_curve.png, "
              "by_domain.png")
    if len(reports) > 1:
        comparison = compare(reports)
        table = Table(title="runs side by side", title_justify="left")
        for col in ("run", "model", "mode", "scored", "SR@All", "SR@Any", "pass@1",
                    "tokens/sample"):
            table.add_column(col, justify="left" if col in ("run", "model", "mode") else "right")
        for r in comparison["runs"]:
            table.add_row(r["name"], r["model"], r["mode"], str(r["n_scored"]),
                          f"{r['sr_all']:.3f}", f"{r['sr_any']:.3f}",
                          f"{r['pass_at_k'].get('1', float('nan')):.3f}",
                          f"{r['tokens_per_sample']:.0f}")
        console = Console(width=120)
        console.print(table)
        for d in comparison["paired"]:
            console.print(f"{d['run']} - {d['versus']} on {d['common_tasks']} common tasks: "
                          f"SR@All {d['sr_all_difference']:+.3f} (95% CI {d['ci95'][0]:+.3f} "
                          f"to {d['ci95'][1]:+.3f}); better on {d['better']}, worse on "
                          f"{d['worse']}")
        if args.out:
            out = Path(args.out)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(comparison, indent=1))
            plot = compare_plot(reports, out.with_suffix(".png"))
            print(f"comparison: {out}, {plot}")
    return 0
