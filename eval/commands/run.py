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
import sys
import threading
import time

from aicoder.repair_options import add_repair_options, agent_options, repair_config
from eval.commands.common import (
    add_exec_options,
    add_task_options,
    base_config,
    make_sandbox,
    resolve_env,
    select,
    skip_reasons,
)

__all__ = ["add_parser", "run"]


def add_parser(sub) -> None:
    parser = sub.add_parser("run", help="run a model on the tasks (resumable)",
                            description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    add_task_options(parser)
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
    parser.add_argument("--exclude", help="an exclusion list (default: check-gt's for these "
                        "tasks and environment, when there is one)")
    parser.add_argument("--no-skip", action="store_true",
                        help="run tasks even when their Hub repositories are not cached")
    parser.add_argument("--out", required=True, help="run directory, e.g. runs/qwen-codergen")
    parser.add_argument("--fresh", action="store_true", help="discard what OUT holds")
    parser.set_defaults(func=run)


def _config(args, model_spec: str, tasks, source_sha: str, env, sandbox_name: str) -> dict:
    return {**base_config(args, tasks, source_sha, env, sandbox_name),
            "kind": "run", "model": model_spec, "mode": args.mode, "samples": args.samples,
            "max_rounds": args.max_rounds, "react_steps": args.react_steps,
            **repair_config(args),
            "max_new_tokens": args.max_new_tokens, "max_tokens": args.max_tokens,
            "temperature": args.temperature, "top_p": args.top_p, "seed": args.seed,
            "concurrency": args.concurrency}


def run(args: argparse.Namespace) -> int:
    from aicoder.agents import AGENTS, Budget, Step
    from aicoder.errors import AICoderError
    from aicoder.models import GenerationParams, load_model
    from eval.report import write_report
    from eval.rundir import RunDir
    from eval.runner import (
        BoundedModel,
        BoundedSandbox,
        Job,
        RunStopped,
        SampleCancelled,
        run_jobs,
    )
    from eval.samples import record_from_steps
    from sandbox import Limits

    if args.samples < 1:
        raise AICoderError("--samples must be at least 1")
    options = agent_options(args)  # a bad repair option is an error before anything runs
    tasks, source_sha = select(args)
    env = resolve_env(args)
    stop = threading.Event()  # set on Ctrl-C: queued samples give up at once
    sandbox = BoundedSandbox(make_sandbox(args, env), args.workers, stop)
    skipped = skip_reasons(tasks, source_sha, env.name, exclude=args.exclude,
                           check_hub=not args.no_skip)
    runnable = [t for t in tasks if t.task_id not in skipped]
    model = load_model(args.model)
    bounded = BoundedModel(model, args.concurrency, stop)
    config = _config(args, model.spec, tasks, source_sha, env, sandbox.name)
    rundir = RunDir(args.out, config).open(fresh=args.fresh)
    rundir.write_skipped(skipped)
    rundir.write_tasks(tasks)
    if rundir.dropped:
        print(f"dropped a half-written last line of {rundir.samples_path}", file=sys.stderr)
    by_id = {t.task_id: t for t in runnable}
    jobs = [Job(t.task_id, i) for t in runnable for i in range(args.samples)]
    limits = Limits(wall_s=args.timeout, cpu_s=int(args.timeout * 2))
    budget = Budget(rounds=args.max_rounds, max_tokens=args.max_tokens,
                    react_steps=args.react_steps)
    agent_cls = AGENTS[args.mode]

    def work(job: Job, stop: threading.Event):
        seed = None if args.seed is None else args.seed + job.sample
        params = GenerationParams(temperature=args.temperature, top_p=args.top_p, seed=seed,
                                  max_new_tokens=args.max_new_tokens)
        agent = agent_cls(bounded, sandbox, budget=budget, params=params, limits=limits,
                          **options)
        events = agent.run(by_id[job.task_id])
        steps: list[Step] = []
        bounded.take()  # this thread's waits from here on belong to this sample
        sandbox.take()
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
        return record_from_steps(job.task_id, job.sample, steps,
                                 queued_s=bounded.take() + sandbox.take())

    todo = [j for j in jobs if (j.task_id, j.sample) not in rundir.done]
    print(f"{len(tasks)} tasks: {len(runnable)} to run, {len(skipped)} skipped "
          f"(see {rundir.path}/skipped.json); {len(jobs) - len(todo)} of {len(jobs)} samples "
          f"already done; model {model.spec}, mode {args.mode}, env {env.name}, "
          f"{sandbox.name} sandbox", file=sys.stderr)
    resume = config["command"]
    code = 0
    with rundir:
        bar = _RunProgress(len(jobs), len(jobs) - len(todo), rundir, bounded)
        try:
            run_jobs(todo, work, rundir, threads=bounded.concurrency + sandbox.workers,
                     on_record=bar.update_record, stop=stop)
        except RunStopped as exc:
            bar.close()
            print(f"error: the model stopped answering: {exc}\n{len(rundir.done)} of "
                  f"{len(jobs)} samples are saved; resume with: {resume}", file=sys.stderr)
            code = 2
        except KeyboardInterrupt:
            bar.close()
            print(f"\ninterrupted: {len(rundir.done)} of {len(jobs)} samples are saved; "
                  f"resume with: {resume}", file=sys.stderr)
            return 130
        bar.close()
    if code == 0:
        report = write_report(rundir.path)
        print(report.terminal_table())
        print(f"report: {rundir.path}/report.md, {rundir.path}/report.json")
    return code


class _RunProgress:
    """tqdm with done/total, running SR@All, tokens/s and ETA."""

    def __init__(self, total: int, done: int, rundir, model) -> None:
        from tqdm import tqdm

        self.rundir = rundir
        self.model = model
        self.start = time.monotonic()
        self.bar = tqdm(total=total, initial=done, unit="sample", desc="samples",
                        dynamic_ncols=True)
        self._postfix()

    def _postfix(self) -> None:
        done = self.rundir.done
        sr = sum(r.passed for r in done.values()) / len(done) if done else 0.0
        elapsed = max(time.monotonic() - self.start, 1e-6)
        self.bar.set_postfix_str(f"SR@All {sr:.3f}  {self.model.completion_tokens / elapsed:.1f}"
                                 " tok/s")

    def update_record(self, record) -> None:
        self.bar.update(1)
        self._postfix()

    def close(self) -> None:
        self.bar.close()
