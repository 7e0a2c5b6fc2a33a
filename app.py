"""AICoder Studio, the Space: reads its configuration, builds the UI, launches.

    python app.py [--host 127.0.0.1] [--port 7860] [--tasks builtin] [--sandbox bwrap]
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="AICoder Studio: judge AICoderEval tasks in an isolated sandbox.")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        help="address to listen on (0.0.0.0 in the container)")
    parser.add_argument("--port", type=int,
                        default=int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    parser.add_argument("--tasks", default=os.environ.get("AICODER_TASKS", "builtin"),
                        help="builtin, hub:vixuowis/AICoderEval[:test|:train], or a .jsonl")
    parser.add_argument("--sandbox", default=os.environ.get("AICODER_SANDBOX"),
                        help="bwrap (default), docker, or process (no isolation)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from aicoder.errors import AICoderError
    from aicoder.tasks import load_tasks
    from aicoder.ui.playground import build_app
    from sandbox import SandboxError, get_sandbox

    try:
        tasks = load_tasks(args.tasks)
        sandbox = get_sandbox(args.sandbox)
    except (AICoderError, SandboxError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    app = build_app(tasks, sandbox)
    app.queue(default_concurrency_limit=2).launch(server_name=args.host, server_port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
