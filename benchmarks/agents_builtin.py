"""SR@All of direct generation, CoderGen (after rounds 0..K) and ReAct on the builtin suite,
and the model's speed (time to first token, decode tokens/s).

    AICODER_MODEL=llamacpp:/path/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf \\
        python -m benchmarks.agents_builtin --modes direct,codergen,react --out benchmarks/results/agents_builtin.json

CoderGen's curve comes from one run per task: a task that passes at round k counts as passed
for every round >= k. Each task's steps are kept in the output, so the numbers can be checked.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from aicoder.agents import AGENTS, Budget, ModelStep, StepKind, steps_only
from aicoder.models import GenerationParams, load_model
from aicoder.tasks import load_tasks
from sandbox import Limits, get_sandbox


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model spec (default $AICODER_MODEL)")
    parser.add_argument("--tasks", default="builtin")
    parser.add_argument("--modes", default="direct,codergen,react")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--react-steps", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="first N tasks only")
    parser.add_argument("--out", default="benchmarks/results/agents_builtin.json")
    args = parser.parse_args(argv)

    tasks = load_tasks(args.tasks)[: args.limit]
    model = load_model(args.model)
    sandbox = get_sandbox()
    params = GenerationParams(seed=args.seed, max_new_tokens=768)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    report: dict = {"model": model.spec, "tasks": args.tasks, "n": len(tasks), "seed": args.seed,
                    "params": params.model_dump(), "modes": {}}
    ttft, speed = [], []
    for mode in args.modes.split(","):
        agent = AGENTS[mode](model, sandbox, params=params, limits=Limits(wall_s=60),
                             budget=Budget(rounds=args.rounds, react_steps=args.react_steps))
        rows = []
        start = time.monotonic()
        for i, task in enumerate(tasks, 1):
            steps = steps_only(agent.run(task))
            final = steps[-1]
            for step in steps:
                if isinstance(step, ModelStep) and step.kind is not StepKind.ANALYZE \
                        and step.completion_tokens > 5 and step.time_to_first_token_s:
                    ttft.append(step.time_to_first_token_s)
                    decode = step.duration_s - step.time_to_first_token_s
                    if decode > 0:
                        speed.append(step.completion_tokens / decode)
            rows.append({"task_id": task.task_id, "passed": bool(final.passed),
                         "any_passed": bool(final.any_passed), "rounds": final.rounds,
                         "why": final.text,
                         "tokens": sum(s.tokens for s in steps),
                         "seconds": final.duration_s,
                         "steps": [s.model_dump(mode="json") for s in steps]})
            print(f"[{mode}] {i}/{len(tasks)} {task.task_id}: "
                  f"{'PASS' if final.passed else 'fail'} ({final.text})", flush=True)
        n = len(rows)
        summary = {"sr_all": sum(r["passed"] for r in rows) / n,
                   "sr_any": sum(r["any_passed"] for r in rows) / n,
                   "seconds": round(time.monotonic() - start, 1),
                   "tokens_per_task": round(statistics.mean(r["tokens"] for r in rows))}
        if mode == "codergen":
            summary["sr_all_after_round"] = [
                sum(r["passed"] and r["rounds"] <= k for r in rows) / n
                for k in range(args.rounds + 1)]
        report["modes"][mode] = {"summary": summary, "rows": rows}
        report["speed"] = {"ttft_median_s": round(statistics.median(ttft), 2) if ttft else None,
                           "decode_tok_s_median": round(statistics.median(speed), 1)
                           if speed else None, "generations": len(ttft)}
        out.write_text(json.dumps(report, indent=1))  # after each mode: nothing lost on a crash
        print(f"[{mode}] {json.dumps(summary)}", flush=True)
    print(json.dumps(report["speed"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
