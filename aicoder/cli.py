"""``python -m aicoder``: solve one task live in the terminal.

    python -m aicoder solve --task b002_box_iou --mode codergen
    python -m aicoder solve --task-file my_task.jsonl --model openai:http://127.0.0.1:8080#aicoder

The run streams as it happens: the model's text as it is written, the per-check verdicts of
each execution, the analysis, the diff between attempts, and a summary. Domain errors (a bad
model spec, an unknown task, an unreachable server) are one line and exit status 2.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from aicoder.repair_options import add_repair_options, agent_options

__all__ = ["build_parser", "main"]

EPILOG = """examples:
  python -m aicoder solve --task b002_box_iou
  python -m aicoder solve --tasks hub:vixuowis/AICoderEval --task f00035_sentiment_analysis
  python -m aicoder solve --task b001_softmax --mode react --json run.jsonl
  AICODER_MODEL=llamacpp:/models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf python -m aicoder solve --task b001_softmax
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m aicoder", description=__doc__.splitlines()[0],
                                     epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    solve = sub.add_parser("solve", help="run one task live", description="Run one task live.",
                           epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    which = solve.add_mutually_exclusive_group(required=True)
    which.add_argument("--task", help="task id within --tasks")
    which.add_argument("--task-file", help="a .jsonl with one record, or a builtin-style .py")
    solve.add_argument("--tasks", default="builtin",
                       help="where --task is looked up: builtin (default), hub:..., or a .jsonl")
    solve.add_argument("--model", default=None,
                       help="model spec (default $AICODER_MODEL or the embedded llama.cpp model)")
    solve.add_argument("--mode", choices=("codergen", "react", "direct"), default="codergen")
    solve.add_argument("--rounds", type=int, default=3, help="repair rounds (codergen; 3)")
    add_repair_options(solve)
    solve.add_argument("--steps", type=int, default=8, help="model turns (react; 8)")
    solve.add_argument("--max-tokens", type=int, default=None, help="token budget for the run")
    solve.add_argument("--max-new-tokens", type=int, default=1024, help="per answer (1024)")
    solve.add_argument("--temperature", type=float, default=0.6, help="0 for greedy (0.6)")
    solve.add_argument("--top-p", type=float, default=0.9)
    solve.add_argument("--seed", type=int, default=None)
    solve.add_argument("--timeout", type=float, default=60.0, help="seconds per execution")
    solve.add_argument("--sandbox", default=None, help="bwrap, landlock, docker or process "
                       "(default: bwrap where it works, else landlock)")
    solve.add_argument("--cold", action="store_true",
                       help="a fresh interpreter for every execution, not a fork of a warm "
                       "zygote that has imported the task's libraries (or AICODER_WARM=0)")
    solve.add_argument("--json", dest="json_out", help="write the steps as JSONL to this file")
    solve.set_defaults(func=solve_command)
    return parser


def _load_task(args):
    from aicoder.errors import TaskSourceError
    from aicoder.tasks import load_jsonl, load_tasks
    from aicoder.tasks.loaders import load_builtin_file

    if args.task_file:
        path = Path(args.task_file)
        if not path.is_file():
            raise TaskSourceError(f"no task file at {path}")
        tasks = load_builtin_file(path) if path.suffix == ".py" else load_jsonl(path)
        if len(tasks) != 1:
            raise TaskSourceError(f"{path} holds {len(tasks)} tasks: use --tasks {path} --task ID")
        return tasks[0]
    tasks = {t.task_id: t for t in load_tasks(args.tasks)}
    if args.task not in tasks:
        import difflib

        close = difflib.get_close_matches(args.task, tasks, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise TaskSourceError(f"no task {args.task!r} in {args.tasks}{hint}")
    return tasks[args.task]


def solve_command(args) -> int:
    from aicoder.agents import AGENTS, Budget, FinalStep, Step
    from aicoder.models import GenerationParams, load_model
    from aicoder.terminal import TerminalRenderer
    from sandbox import Limits, get_sandbox

    options = agent_options(args)  # a bad repair option is an error before anything loads
    task = _load_task(args)
    from sandbox.warm import preload_for_tasks

    sandbox = get_sandbox(args.sandbox, warm=False if args.cold else None,
                          preload=preload_for_tasks([task]))
    model = load_model(args.model)
    agent = AGENTS[args.mode](
        model, sandbox,
        budget=Budget(rounds=args.rounds, max_tokens=args.max_tokens, react_steps=args.steps),
        params=GenerationParams(max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                                top_p=args.top_p, seed=args.seed),
        limits=Limits(wall_s=args.timeout), **options)
    renderer = TerminalRenderer(task, model.spec, args.mode)
    out = open(args.json_out, "w", encoding="utf-8") if args.json_out else None  # noqa: SIM115
    events = agent.run(task)
    final = None
    try:
        renderer.header()
        for event in events:
            renderer.show(event)
            if isinstance(event, Step):
                if out is not None:
                    out.write(event.model_dump_json() + "\n")
                    out.flush()
                if isinstance(event, FinalStep):
                    final = event
    except KeyboardInterrupt:
        events.close()  # stops the model and kills the sandbox run
        renderer.stopped()
        return 130
    finally:
        if out is not None:
            out.close()
        close = getattr(sandbox, "close", None)
        if close is not None:
            close()  # the warm zygote, if one started
    return 0 if final is not None and final.passed else 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    from aicoder.errors import AICoderError
    from sandbox import SandboxError

    try:
        return args.func(args)
    except (AICoderError, SandboxError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
