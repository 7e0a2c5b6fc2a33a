"""Per-execution time, cold (a fresh interpreter) against warm (a fork of the zygote), and the
memory a zygote and a warm child take.

    python -m benchmarks.warm [--runs 20] [--backends bwrap,landlock] \\
        [--out benchmarks/results/warm.json]

Bodies, each run N times per mode (the median is reported, and the ratio cold/warm):

* ``empty``: one function, one check;
* ``numpy``: imports numpy and checks a sum;
* ``bert``: imports torch and transformers, builds a tiny BERT from a config and runs it;
* ``builtin``: each reference of the builtin suite once per mode (the median over the suite).

The zygote preloads what the bodies import (``preload_for``, as ``eval run`` does for its
tasks), and is started (its start timed) before the warm runs. Memory: the zygote's resident set, and a warm child's private memory
(``Private_Clean + Private_Dirty`` of ``/proc/PID/smaps_rollup``, read from the host while the
child waits at the end of its run): what each concurrent run costs beyond the shared pages.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

EMPTY = ("def f(x):\n    return x + 1\n", "def test_f():\n    assert f(1) == 2\n")
NUMPY = ("import numpy as np\n"
         "def f(n):\n    return int(np.arange(n).sum())\n",
         "def test_f():\n    assert f(10) == 45\n")
BERT = ("import torch\n"
        "from transformers import BertConfig, BertModel\n"
        "def f():\n"
        "    torch.manual_seed(0)\n"
        "    config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2,\n"
        "                        num_attention_heads=2, intermediate_size=64)\n"
        "    model = BertModel(config).eval()\n"
        "    with torch.no_grad():\n"
        "        out = model(input_ids=torch.tensor([[1, 2, 3, 4]]))\n"
        "    return tuple(out.last_hidden_state.shape)\n",
        "def test_f():\n    assert f() == (1, 4, 32)\n")
WAIT = ("import time\n"
        "def f():\n    time.sleep(3)\n    return 1\n",
        "def test_f():\n    assert f() == 1\n")


def _program(body: tuple[str, str]):
    from sandbox import Program

    return Program(candidate=body[0], test=body[1], entry="test_f")


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 1)


def _time(sandbox, programs, runs: int, want_warm: bool) -> list[float]:
    from sandbox import Limits, Status

    samples = []
    for program in programs:
        for _ in range(runs):
            start = time.perf_counter()
            result = sandbox.run(program, Limits(wall_s=120))
            samples.append(time.perf_counter() - start)
            if result.warm is not want_warm:
                raise SystemExit(f"{sandbox.name}: a run was {'warm' if result.warm else 'cold'}")
            if len(programs) == 1 and result.status is not Status.PASSED:
                raise SystemExit(f"{sandbox.name}: the body did not pass: {result.reason} "
                                 f"{result.stderr[-500:]}")
    return samples


def _kb(path: str, fields: tuple[str, ...]) -> int:
    total = 0
    with open(path) as fh:
        for line in fh:
            name, _, rest = line.partition(":")
            if name in fields:
                total += int(rest.split()[0])
    return total


def _child_private_kb(sandbox) -> int:
    """A warm child's private memory, read while it sleeps at the end of its run."""
    zygote = sandbox.zygote()
    host = zygote.host_pid()
    done = threading.Event()
    thread = threading.Thread(target=lambda: (sandbox.run(_program(WAIT)), done.set()))
    thread.start()
    program_pid = None
    while program_pid is None and not done.is_set():
        for launcher in _children(host):
            for pid in _children(launcher):
                program_pid = pid
        time.sleep(0.05)
    time.sleep(1.0)  # the harness has started and is in the body's sleep
    private = _kb(f"/proc/{program_pid}/smaps_rollup", ("Private_Clean", "Private_Dirty"))
    thread.join()
    return private


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(x) for x in fh.read().split()]
    except OSError:
        return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per body and mode (20)")
    parser.add_argument("--backends", default="bwrap,landlock")
    parser.add_argument("--out", default="benchmarks/results/warm.json")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from aicoder.tasks import load_builtin, reference_program
    from sandbox import SandboxUnavailable, get_sandbox
    from sandbox.warm import preload_for

    bodies = {"empty": [_program(EMPTY)], "numpy": [_program(NUMPY)], "bert": [_program(BERT)],
              "builtin": [reference_program(t) for t in load_builtin()]}
    report: dict = {"runs": args.runs, "backends": {}}
    for name in args.backends.split(","):
        try:
            cold = get_sandbox(name, hf_cache=False, warm=False)
            warm = get_sandbox(name, hf_cache=False, warm=True)
        except SandboxUnavailable as exc:
            report["backends"][name] = {"unavailable": str(exc)}
            continue
        # as eval run does: the zygote also preloads what the programs import
        warm.preload(preload_for(part for programs in bodies.values() for p in programs
                                 for part in (p.candidate, p.test)))
        start = time.perf_counter()
        zygote = warm.zygote()
        if zygote is None:
            report["backends"][name] = {"unavailable": f"no warm path: {warm._warm_off}"}
            continue
        row = {"zygote_start_s": round(time.perf_counter() - start, 2),
               "preloaded": zygote.info["loaded"], "bodies": {}}
        for body, programs in bodies.items():
            runs = 1 if body == "builtin" else args.runs
            _time(cold, programs[:1], 1, False)  # the page cache, for both
            c = _time(cold, programs, runs, False)
            w = _time(warm, programs, runs, True)
            row["bodies"][body] = {"cold_ms": _median_ms(c), "warm_ms": _median_ms(w),
                                   "ratio": round(statistics.median(c) / statistics.median(w),
                                                  1),
                                   "executions": len(c)}
            print(name, body, json.dumps(row["bodies"][body]), flush=True)
        host = zygote.host_pid()
        row["zygote_rss_mb"] = round(_kb(f"/proc/{host}/status", ("VmRSS",)) / 1024, 1)
        row["child_private_mb"] = round(_child_private_kb(warm) / 1024, 1)
        print(name, "memory", row["zygote_rss_mb"], "MB zygote RSS,", row["child_private_mb"],
              "MB private per child", flush=True)
        report["backends"][name] = row
        warm.close()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"{'backend':9} {'body':8} {'cold':>10} {'warm':>10} {'ratio':>7}")
    for name, row in report["backends"].items():
        for body, b in row.get("bodies", {}).items():
            print(f"{name:9} {body:8} {b['cold_ms']:8.1f}ms {b['warm_ms']:8.1f}ms "
                  f"{b['ratio']:6.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
