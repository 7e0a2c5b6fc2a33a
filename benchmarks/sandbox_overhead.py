"""Per-run overhead of each sandbox backend: the median of N runs of a trivial task.

    python -m benchmarks.sandbox_overhead [--runs 20] [--backends bwrap,landlock,docker,process]

The trivial program defines one function and checks it once, so the time is the backend's own:
starting the isolation, the interpreter, the harness, and collecting the verdict. The bare
interpreter start (`python -I -c pass`) is measured too, as the floor.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from sandbox import Program, SandboxUnavailable, Status, get_sandbox

PROGRAM = Program(candidate="def f(x):\n    return x + 1\n",
                  test="def test_f():\n    assert f(1) == 2\n", entry="test_f")


def _stats(samples: list[float]) -> dict:
    samples = sorted(samples)
    return {"median_ms": round(statistics.median(samples) * 1000, 1),
            "p10_ms": round(samples[len(samples) // 10] * 1000, 1),
            "p90_ms": round(samples[(len(samples) * 9) // 10 - 1] * 1000, 1),
            "runs": len(samples)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--backends", default="bwrap,landlock,docker,process")
    parser.add_argument("--out", default="benchmarks/results/sandbox_overhead.json")
    args = parser.parse_args(argv)

    report: dict[str, dict] = {}
    floor = []
    for _ in range(args.runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-c", "pass"], check=True)
        floor.append(time.perf_counter() - start)
    report["bare interpreter"] = _stats(floor)

    for name in args.backends.split(","):
        try:
            sandbox = get_sandbox(name, hf_cache=False)
        except SandboxUnavailable as exc:
            report[name] = {"unavailable": str(exc)}
            continue
        sandbox.run(PROGRAM)  # warm the page cache (and, for docker, the base image)
        samples = []
        for _ in range(args.runs):
            start = time.perf_counter()
            result = sandbox.run(PROGRAM)
            samples.append(time.perf_counter() - start)
            if result.status is not Status.PASSED:
                raise SystemExit(f"{name}: the trivial program did not pass: {result.reason}")
        report[name] = _stats(samples)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"{'backend':18} {'median':>9} {'p10':>9} {'p90':>9}")
    for name, row in report.items():
        if "unavailable" in row:
            print(f"{name:18} unavailable: {row['unavailable']}")
        else:
            print(f"{name:18} {row['median_ms']:7.1f}ms {row['p10_ms']:7.1f}ms "
                  f"{row['p90_ms']:7.1f}ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
