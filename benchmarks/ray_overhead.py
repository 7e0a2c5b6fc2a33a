"""What a Ray actor adds to one execution: the same program run on a local warm backend and on
a `RaySandbox` of one actor (a local cluster started here), median of N runs each, in one run.

    python -m benchmarks.ray_overhead --runs 20 --out benchmarks/results/ray_overhead.json

Bodies: an empty one, and b001's reference (numpy). The difference of the medians is the
driver → actor → driver round trip (the submit, the pickled program and verdict, ray.wait).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _median_ms(sandbox, program, runs: int) -> tuple[float, str]:
    sandbox.run(program)  # the zygote is up, the imports done
    times, status = [], ""
    for _ in range(runs):
        start = time.perf_counter()
        result = sandbox.run(program)
        times.append((time.perf_counter() - start) * 1000)
        status = result.status.value
    return round(statistics.median(times), 1), status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--sandbox", default=None, help="bwrap or landlock (default: auto)")
    parser.add_argument("--out", default="benchmarks/results/ray_overhead.json")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from aicoder.tasks import load_tasks
    from aicoder.tasks.assemble import reference_program
    from sandbox import Program, get_sandbox
    from sandbox.cluster import RaySandbox

    bodies = {
        "empty": Program(candidate="def f():\n    return 1\n",
                         test="def test_f():\n    assert f() == 1\n", entry="test_f"),
        "b001 reference": reference_program(load_tasks("builtin")[0]),
    }
    local = get_sandbox(args.sandbox, python=sys.executable, warm=True, preload=["numpy"])
    start = time.monotonic()
    ray_sb = RaySandbox("ray", actors=1, backend=args.sandbox, python=sys.executable,
                        warm=True, preload=["numpy"])
    ray_start_s = round(time.monotonic() - start, 2)
    rows = []
    try:
        for name, program in bodies.items():
            local_ms, local_status = _median_ms(local, program, args.runs)
            ray_ms, ray_status = _median_ms(ray_sb, program, args.runs)
            rows.append({"body": name, "local_warm_ms": local_ms, "ray_ms": ray_ms,
                         "overhead_ms": round(ray_ms - local_ms, 1),
                         "statuses": [local_status, ray_status]})
            print(json.dumps(rows[-1]), flush=True)
    finally:
        local.close()
        ray_sb.close()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"runs": args.runs, "backend": local.name,
                                          "ray_start_s": ray_start_s, "rows": rows}, indent=1))
    print(f"ray cluster + actor start: {ray_start_s} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
