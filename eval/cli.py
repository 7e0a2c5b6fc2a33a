"""``python -m eval``: argument parsing and the one place domain errors become messages."""

from __future__ import annotations

import argparse
import sys

from eval.commands import audit, check_gt, env, prefetch, report, run, score, tasks

__all__ = ["build_parser", "main"]

EPILOG = """examples:
  python -m eval tasks --tasks builtin
  python -m eval tasks --tasks hub:vixuowis/AICoderEval --framework transformers
  python -m eval run --tasks builtin --mode codergen --out runs/qwen-codergen
  python -m eval run --tasks hub:vixuowis/AICoderEval --model tgi:http://gpu:8080 --samples 5 --out runs/aicoder-k5
  python -m eval score --tasks records.jsonl --predictions preds.jsonl --out runs/theirs
  python -m eval report runs/qwen-direct runs/qwen-codergen
  python -m eval check-gt --tasks hub:vixuowis/AICoderEval
  python -m eval audit --tasks builtin --out runs/audit-builtin
  python -m eval prefetch --tasks hub:vixuowis/AICoderEval --dry-run
  python -m eval env create
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m eval", description="AICoderEval benchmark: run models, score predictions, report.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    tasks.add_parser(sub)
    run.add_parser(sub)
    score.add_parser(sub)
    report.add_parser(sub)
    check_gt.add_parser(sub)
    audit.add_parser(sub)
    prefetch.add_parser(sub)
    env.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    from aicoder.errors import AICoderError
    from sandbox import SandboxError

    try:
        return args.func(args, argv)
    except (AICoderError, SandboxError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `python -m eval tasks ... | head`: the reader left, not an error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
