"""``python -m eval run``: generate (and repair) with a model, judge in the sandbox, record.

Each finished sample's full Step list is appended to ``OUT/samples.jsonl`` the moment it
finishes; ``OUT/config.json`` records the model, mode, parameters, package versions, the
tasks' hash and the project's commit. The same command again resumes: finished samples are
kept, nothing runs twice, a half-written last line is dropped. A different config against the
same directory is refused. Tasks that cannot measure a model here (a Hub repository missing
from the cache, a reference that check-gt found failing) are listed in ``skipped.json`` and
not run. At the end the report is written (``report.json``, ``report.md``, plots).
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Sequence

from aicoder.repair_options import add_repair_options, agent_options, repair_config
from eval.commands.common import add_exec_options, add_pipeline_parser, add_run_dir_options
from eval.pipeline import Work

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    parser = add_pipeline_parser(sub, "run", "run a model on the tasks (resumable)", __doc__)
    parser.add_argument("--model", default=None,
                        help="model spec (default $AICODER_MODEL or the embedded llama.cpp model)")
    parser.add_argument("--mode", choices=("direct", "codergen", "react"), default="codergen")
    parser.add_argument("--samples", type=int, default=1, help="samples per task (1)")
    parser.add_argument("--max-rounds", type=int, default=3, help="repair rounds (codergen; 3)")
    add_repair_options(parser)
    parser.add_argument("--react-steps", type=int, default=8, help="model turns (react; 8)")
    parser.add_argument("--max-new-tokens", type=int, default=1024, help="per answer (1024)")
    parser.add_argument("--max-tokens", type=int, default=None, help="token budget per sample")
    parser.add_argument("--temperature", type=float, default=0.6, help="0 for greedy (0.6)")
    parser.add_argument("--top-p", type=float, default=0.9, help="(0.9)")
    parser.add_argument("--seed", type=int, default=None,
                        help="sample i of a task uses seed + i (default: unseeded)")
    parser.add_argument("--concurrency", type=int, default=4,
                        help="generation requests in flight (4; 1 for an in-process model)")
    add_exec_options(parser, workers=2, timeout=60.0)
    add_run_dir_options(parser, verb="run", example="runs/qwen-codergen")
    parser.set_defaults(func=run)


class _Generate(Work):
    """A sample is an agent's run with the model, judged in the sandbox."""

    kind = "run"

    def __init__(self, args: argparse.Namespace) -> None:
        from aicoder.errors import AICoderError

        if args.samples < 1:
            raise AICoderError("--samples must be at least 1")
        self.args = args
        self.options = agent_options(args)  # a bad repair option is an error before anything runs

    def start(self, sandbox, stop: threading.Event) -> None:
        from aicoder.agents import AGENTS, Budget
        from aicoder.models import load_model
        from eval.runner import BoundedModel
        from sandbox import Limits

        args = self.args
        self.sandbox = sandbox
        self.model = BoundedModel(load_model(args.model), args.concurrency, stop)
        self.limits = Limits(wall_s=args.timeout, cpu_s=int(args.timeout * 2))
        self.budget = Budget(rounds=args.max_rounds, max_tokens=args.max_tokens,
                             react_steps=args.react_steps)
        self.agent_cls = AGENTS[args.mode]

    def config(self) -> dict:
        args = self.args
        return {"model": self.model.spec, "mode": args.mode, "samples": args.samples,
                "max_rounds": args.max_rounds, "react_steps": args.react_steps,
                **repair_config(args),
                "max_new_tokens": args.max_new_tokens, "max_tokens": args.max_tokens,
                "temperature": args.temperature, "top_p": args.top_p, "seed": args.seed,
                "concurrency": args.concurrency}

    def samples(self, task) -> int:
        return self.args.samples

    def threads(self, sandbox) -> int:
        return self.model.concurrency + sandbox.workers

    def describe(self) -> str:
        return f"model {self.model.spec}, mode {self.args.mode}, "

    def postfix(self, elapsed_s: float) -> str:
        return f"{self.model.completion_tokens / elapsed_s:.1f} tok/s"

    def sample(self, task, sample: int, stop: threading.Event):
        from aicoder.agents import Step
        from aicoder.models import GenerationParams
        from aicoder.runs import record_from_steps
        from eval.runner import SampleCancelled

        args = self.args
        seed = None if args.seed is None else args.seed + sample
        params = GenerationParams(temperature=args.temperature, top_p=args.top_p, seed=seed,
                                  max_new_tokens=args.max_new_tokens)
        agent = self.agent_cls(self.model, self.sandbox, budget=self.budget, params=params,
                               limits=self.limits, **self.options)
        events = agent.run(task)
        steps: list[Step] = []
        self.model.take()  # this thread's waits from here on belong to this sample
        self.sandbox.take()
        try:
            for event in events:
                if stop.is_set():
                    return None  # closing `events` cancels the model stream and the sandbox
                if isinstance(event, Step):
                    steps.append(event)
        except SampleCancelled:
            return None
        finally:
            events.close()
        return record_from_steps(task.task_id, sample, steps,
                                 queued_s=self.model.take() + self.sandbox.take())


def run(args: argparse.Namespace, argv: Sequence[str] = ()) -> int:
    from eval.pipeline import run_pipeline

    return run_pipeline(args, argv, _Generate(args))
