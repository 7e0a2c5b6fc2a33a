"""Do the landlock backend and bubblewrap give the same verdict? Every reference of the builtin
suite and of the shared v3 records, run on both; each difference listed with both reasons.

    python -m benchmarks.backend_agreement [--out benchmarks/results/backend_agreement.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
V3 = ROOT.parent / "shared/data/aicodereval/Research-2309/Exp-2/output/hf-eval-data-v3-instruct.jsonl"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/backend_agreement.json")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from aicoder.tasks import load_builtin, load_jsonl
    from sandbox import get_sandbox
    from tests.test_landlock import disagreements

    bwrap, landlock = get_sandbox("bwrap", hf_cache=False), get_sandbox("landlock", hf_cache=False)
    report = {}
    for name, tasks in (("builtin", load_builtin()),
                        ("v3", load_jsonl(V3) if V3.is_file() else [])):
        start = time.monotonic()
        diff = disagreements(tasks, bwrap, landlock)
        report[name] = {"tasks": len(tasks), "agree": len(tasks) - len(diff),
                        "differences": diff, "seconds": round(time.monotonic() - start, 1)}
        print(f"{name}: {len(tasks) - len(diff)}/{len(tasks)} agree "
              f"({report[name]['seconds']} s)")
        for d in diff:
            print("  ", json.dumps(d)[:400])
    Path(args.out).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
