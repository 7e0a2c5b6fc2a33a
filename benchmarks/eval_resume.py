"""Resume under kill -9: samples lost and duplicated (both must be 0).

    python -m benchmarks.eval_resume --kills 5 --out benchmarks/results/eval_resume.json

Runs `python -m eval run` on the builtin suite (CoderGen, a served model double that answers
every third task wrongly so repairs happen, and takes a little time per answer), kills the
process with SIGKILL at random moments, restarts the same command, and finally lets it
finish. Before each kill it snapshots the samples file's complete lines; at the end it checks
that every snapshot record is still there (nothing lost), that every (task, sample) appears
once (nothing duplicated), and that every expected sample is present.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def complete_records(path: Path) -> list[tuple[str, int]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_bytes().split(b"\n")[:-1]:  # the last piece may be torn
        try:
            item = json.loads(line)
        except ValueError:
            continue
        out.append((item["task_id"], item["sample"]))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--samples", type=int, default=2)
    parser.add_argument("--delay", type=float, default=0.05, help="seconds per model answer")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results/eval_resume.json")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from aicoder.tasks import load_tasks
    from tests.server_double import ServerDouble, reference_responder

    tasks = load_tasks("builtin")
    wrong = frozenset(t.task_id for t in tasks[::3])
    rng = random.Random(args.seed)
    run_dir = Path(tempfile.mkdtemp(prefix="eval-resume-")) / "run"
    expected = {(t.task_id, i) for t in tasks for i in range(args.samples)}
    kills = []
    written_before_kills: set[tuple[str, int]] = set()
    with ServerDouble(reference_responder(tasks, wrong=wrong, delay_s=args.delay)) as server:
        cmd = [sys.executable, "-m", "eval", "run", "--tasks", "builtin", "--model",
               f"openai:{server.url}", "--mode", "codergen", "--max-rounds", "1",
               "--samples", str(args.samples), "--workers", "2", "--out", str(run_dir)]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        start = time.monotonic()
        for k in range(args.kills + 1):
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE, text=True)
            if k == args.kills:
                _, err = proc.communicate(timeout=3600)
                if proc.returncode != 0:
                    print(err[-2000:], file=sys.stderr)
                    return 1
                break
            wait = rng.uniform(2.0, 8.0)
            time.sleep(wait)
            before = complete_records(run_dir / "samples.jsonl")
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            after = complete_records(run_dir / "samples.jsonl")
            written_before_kills |= set(after)
            raw = (run_dir / "samples.jsonl").read_bytes() if (run_dir / "samples.jsonl"
                                                               ).exists() else b""
            kills.append({"after_s": round(wait, 2), "complete_before": len(before),
                          "complete_after_kill": len(after),
                          "torn_tail": bool(raw) and not raw.endswith(b"\n")})
            print(f"kill {k + 1}: after {wait:.1f} s, {len(after)} samples on disk"
                  f"{' (torn last line)' if kills[-1]['torn_tail'] else ''}", flush=True)
        elapsed = time.monotonic() - start
    final = complete_records(run_dir / "samples.jsonl")
    counts = Counter(final)
    duplicated = sum(n - 1 for n in counts.values() if n > 1)
    lost = len(expected - set(counts))
    # a sample on disk at a kill that is gone at the end would be data lost to a resume
    lost_written = len(written_before_kills - set(counts))
    result = {"kills": kills, "expected_samples": len(expected), "final_samples": len(final),
              "lost": lost, "lost_after_being_written": lost_written,
              "duplicated": duplicated, "seconds": round(elapsed, 1), "run_dir": str(run_dir)}
    print(json.dumps({k: v for k, v in result.items() if k != "kills"}))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    return 0 if lost == lost_written == duplicated == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
