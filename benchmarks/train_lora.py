"""LoRA fine-tuning speed and memory, measured through `python -m aicoder.train` as a user runs it.

    python -m benchmarks.train_lora                       # tiny Llama built offline, 32 v3 records
    python -m benchmarks.train_lora --base ~/.cache/aicoder/hf/qwen2.5-coder-0.5b-instruct \\
        --max-steps 4 --batch-size 1 --max-length 512     # a real 0.5B model, a few steps
    python -m benchmarks.train_lora --estimate            # tokens per epoch -> GPU time estimate

Each run trains into a fresh folder with the paper's recipe (r 8, alpha 32, lr 1e-4, batch 4,
3 epochs unless capped) and reads back `training.json`: optimizer steps/s, training tokens/s,
peak memory (process RSS on CPU), adapter size, first and last loss. Results are appended to
benchmarks/results/train_lora.json. The shared v3 records are read in place, never copied into
the project.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
V3 = ROOT.parent / "shared/data/aicodereval/Research-2309/Exp-2/output/hf-eval-data-v3-instruct.jsonl"
RESULTS = ROOT / "benchmarks/results/train_lora.json"
# The published train split has 2118 records (v5-train-2118.jsonl); v3 has 241 of the same kind.
V5_TRAIN_RECORDS = 2118


def _tiny_base(folder: Path, lines: list[str]) -> Path:
    sys.path.insert(0, str(ROOT))
    from aicoder.prompts import render
    from tests.tiny_models import build_tiny_llama

    corpus = [json.loads(line)["content"] for line in lines[:64]]
    corpus += [render("system"), render("generate", prompt="def f():\n    pass")]
    return build_tiny_llama(folder, corpus=corpus, vocab_size=1000, max_positions=1024,
                            init_std=0.3)


def estimate(tokenizer_dir: str) -> dict:
    """Tokens per example of the chat examples built from all 241 v3 records, with a real
    tokenizer, scaled to the 2118-record train split: the basis of the README's GPU estimate."""
    from transformers import AutoTokenizer

    from aicoder.tasks import load_jsonl
    from aicoder.train.data import to_example

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    lengths = []
    for task in load_jsonl(V3):
        ex = to_example(task)
        text = tok.apply_chat_template(ex["prompt"] + ex["completion"], tokenize=False)
        lengths.append(len(tok(text, add_special_tokens=False)["input_ids"]))
    mean = sum(lengths) / len(lengths)
    return {"kind": "estimate", "tokenizer": tokenizer_dir, "records": len(lengths),
            "tokens_per_example_mean": round(mean, 1), "tokens_per_example_max": max(lengths),
            "examples_over_2048": sum(n > 2048 for n in lengths),
            "train_split_records": V5_TRAIN_RECORDS,
            "tokens_per_epoch_estimate": round(mean * V5_TRAIN_RECORDS * 0.95)}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.train_lora")
    parser.add_argument("--base", default=None, help="a local HF model folder (default: tiny)")
    parser.add_argument("--records", type=int, default=32)
    parser.add_argument("--max-steps", type=int, default=None)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--estimate", action="store_true",
                        help="count tokens per example with --base's tokenizer instead")
    args = parser.parse_args()
    if not V3.is_file():
        sys.exit(f"error: the shared v3 data is missing: {V3}")
    if args.estimate:
        if not args.base:
            sys.exit("error: --estimate needs --base (a folder with a real tokenizer)")
        result = estimate(args.base)
    else:
        lines = V3.read_text().splitlines()
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            (tmp / "train.jsonl").write_text("\n".join(lines[:args.records]) + "\n")
            (tmp / "test.jsonl").write_text("\n".join(lines[100:160]) + "\n")
            base = Path(args.base).expanduser() if args.base else _tiny_base(tmp / "base", lines)
            command = [sys.executable, "-m", "aicoder.train", "--output", str(tmp / "out"),
                       "--data", str(tmp / "train.jsonl"), "--test-data", str(tmp / "test.jsonl"),
                       "--base", str(base), "--max-length", str(args.max_length),
                       "--batch-size", str(args.batch_size), "--save-steps", "1000",
                       "--eval-steps", "1000", "--logging-steps", "1"]
            if args.max_steps:
                command += ["--max-steps", str(args.max_steps)]
            started = time.monotonic()
            subprocess.run(command, cwd=ROOT, check=True,
                           env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"})
            wall = time.monotonic() - started
            s = json.loads((tmp / "out" / "training.json").read_text())
        result = {
            "kind": "train", "base": "tiny-llama (2 layers, hidden 32, built offline)"
            if not args.base else args.base,
            "examples": s["train_examples"], "steps": s["global_step"],
            "batch_size": args.batch_size, "max_length": args.max_length,
            "device": s["device"], "precision": s["precision"],
            "steps_per_second": s["steps_per_second"],
            "train_tokens_per_second": s["tokens_per_second"],
            "train_runtime_s": s["train_runtime_s"], "command_wall_s": round(wall, 1),
            "peak_memory_mb": s["peak_memory_mb"], "adapter_bytes": s["adapter_bytes"],
            "trainable_parameters": s["trainable_parameters"],
            "total_parameters": s["total_parameters"],
            "first_loss": s["first_loss"], "last_loss": s["last_loss"],
            "eval_loss": s["eval_loss"],
        }
    result.update(machine=f"{platform.machine()}, {os.cpu_count()} CPUs",
                  when=time.strftime("%Y-%m-%d %H:%M"))
    print(json.dumps(result, indent=2))
    runs = json.loads(RESULTS.read_text()) if RESULTS.is_file() else []
    runs.append(result)
    RESULTS.write_text(json.dumps(runs, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
