"""``python -m eval``: argument parsing and the one place domain errors become messages."""

from __future__ import annotations

import argparse
import sys

from eval.commands import check_gt, tasks

__all__ = ["build_parser", "main"]

EPILOG = """examples:
  python -m eval tasks --tasks builtin
  python -m eval tasks --tasks hub:vixuowis/AICoderEval --framework transformers
  python -m eval check-gt --tasks path/to/records.jsonl --out runs/check-gt.json
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m eval", description="AICoderEval benchmark: tasks and verdicts.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    tasks.add_parser(sub)
    check_gt.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from aicoder.errors import AICoderError
    from sandbox import SandboxError

    try:
        return args.func(args)
    except (AICoderError, SandboxError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
