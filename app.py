"""AICoder Studio, the Space: reads its configuration, builds the UI, launches.

    python app.py [--host 127.0.0.1] [--port 7860] [--tasks builtin] [--dataset hub:...]
                  [--model SPEC ...] [--runs runs/] [--sandbox bwrap] [--concurrency 2]

Every flag has an environment variable (for the Space's settings): AICODER_TASKS,
AICODER_DATASET, AICODER_MODELS (comma-separated), AICODER_RUNS, AICODER_SANDBOX,
AICODER_CONCURRENCY, GRADIO_SERVER_NAME, GRADIO_SERVER_PORT.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def build_parser() -> argparse.ArgumentParser:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        description="AICoder Studio: watch a model write, test and repair AICoderEval code.")
    parser.add_argument("--host", default=env("GRADIO_SERVER_NAME", "127.0.0.1"),
                        help="address to listen on (0.0.0.0 in the container)")
    parser.add_argument("--port", type=int, default=int(env("GRADIO_SERVER_PORT", "7860")))
    parser.add_argument("--tasks", default=env("AICODER_TASKS", "builtin"),
                        help="the first task list: builtin (default), hub:..., or a .jsonl")
    parser.add_argument("--dataset", default=env("AICODER_DATASET", "hub:vixuowis/AICoderEval"),
                        help="a second task list, shown when it can be loaded ('' for none)")
    parser.add_argument("--model", action="append", dest="models",
                        help="a model spec, or LABEL=SPEC; repeat for several (default: "
                        "$AICODER_MODELS, else the embedded llama.cpp model)")
    parser.add_argument("--runs", default=env("AICODER_RUNS"),
                        help="a directory of eval runs for Replay and the Leaderboard")
    parser.add_argument("--sandbox", default=env("AICODER_SANDBOX"),
                        help="bwrap, landlock, docker, or process (no isolation); default: "
                        "bwrap where it works, else landlock")
    parser.add_argument("--cold", action="store_true",
                        help="a fresh interpreter for every execution, not a fork of the warm "
                        "zygote that imports the tasks' libraries at startup (AICODER_WARM=0)")
    parser.add_argument("--concurrency", type=int, default=int(env("AICODER_CONCURRENCY", "2")),
                        help="runs at once; the rest wait in the queue (2)")
    return parser


def _models(specs: list[str] | None) -> dict[str, str]:
    from aicoder.models import default_spec

    specs = specs or [s for s in os.environ.get("AICODER_MODELS", "").split(",") if s.strip()]
    specs = specs or [default_spec()]
    out = {}
    for item in specs:
        label, sep, spec = item.partition("=")
        if not sep or ":" in label:
            label, spec = item, item
        out[label.strip()] = spec.strip()
    return out


def _warm_up(sandbox, tasks) -> None:
    """Start the sandbox's warm zygote now, in the background, preloading what the tasks
    import: the first visitor's run forks it instead of importing torch itself."""
    if getattr(sandbox, "prestart", None) is None:
        return
    from sandbox.warm import preload_for_tasks

    sandbox.preload(preload_for_tasks(tasks))
    sandbox.prestart()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from pathlib import Path

    from aicoder.errors import AICoderError
    from aicoder.models import parse_spec
    from aicoder.tasks import load_tasks
    from aicoder.ui.studio import StudioConfig, build_studio
    from sandbox import SandboxError, get_sandbox

    try:
        tasks = {"Builtin suite" if args.tasks == "builtin" else args.tasks:
                 load_tasks(args.tasks)}
        models = _models(args.models)
        for spec in models.values():
            parse_spec(spec)  # a typo is an error now, not at the first visitor's run
        sandbox = get_sandbox(args.sandbox, warm=False if args.cold else None)
    except (AICoderError, SandboxError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    runs = Path(args.runs) if args.runs else None
    if runs is not None and not runs.is_dir():
        print(f"error: --runs {runs} is not a directory", file=sys.stderr)
        return 2
    if args.dataset and args.dataset != args.tasks:
        try:
            tasks["AICoderEval"] = load_tasks(args.dataset)
        except AICoderError as exc:  # offline, or no such dataset: the Space runs without it
            print(f"note: {args.dataset} is not available ({exc}); serving "
                  f"{', '.join(tasks)} only", file=sys.stderr)
    _warm_up(sandbox, [t for group in tasks.values() for t in group])
    config = StudioConfig(tasks=tasks, models=models, sandbox=sandbox, runs_dir=runs,
                          concurrency=max(args.concurrency, 1))
    print(f"AICoder Studio: {sum(map(len, tasks.values()))} tasks, models "
          f"{', '.join(models)}, the {sandbox.name} sandbox", file=sys.stderr)
    app = build_studio(config)
    app.queue(default_concurrency_limit=config.concurrency).launch(
        server_name=args.host, server_port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
