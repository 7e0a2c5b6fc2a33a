"""``python -m aicoder.train``: LoRA fine-tuning of AICoder on the AICoderEval train split.

The paper's recipe by default (meta-llama/Meta-Llama-3-8B-Instruct, LoRA r 8, alpha 32,
lr 1e-4, batch 4, 3 epochs); the training records are decontaminated against the test split
first. The same command after a crash resumes from the last checkpoint.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from aicoder.train.config import TrainConfig

__all__ = ["build_parser", "config_from_args", "main"]

EPILOG = """examples:
  python -m aicoder.train --output runs/aicoder-lora                      # the paper's recipe, one GPU
  python -m aicoder.train --output runs/aicoder-lora --qlora              # 4-bit base (~10 GB GPU)
  python -m aicoder.train --output runs/aicoder-lora --merge --eval --push-to-hub me/aicoder-lora
  python -m aicoder.train --output runs/smoke --data train.jsonl --test-data test.jsonl \\
      --base ./tiny-llama --max-steps 20 --max-length 512

the output folder is the adapter: use it as --model transformers:BASE+OUTPUT, or serve it with
deploy/ (TGI or vLLM). Loss curves: tensorboard --logdir OUTPUT/logs
"""

_D = TrainConfig.field_help()


def _default(name: str) -> object:
    return _D[name][0]


def _help(name: str) -> str:
    default, text = _D[name]
    if isinstance(default, tuple):
        default = ",".join(default)
    return text if default in (None, "") or isinstance(default, bool) else f"{text} ({default})"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m aicoder.train", description=__doc__.split("\n\n")[0]
                                .split(": ", 1)[1], epilog=EPILOG,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--output", required=True, help=_D["output"][1])
    p.add_argument("--fresh", action="store_true",
                   help="discard the checkpoints and adapter in OUTPUT and start over")
    d = p.add_argument_group("data")
    d.add_argument("--data", default=_default("data"), help=_help("data"))
    d.add_argument("--test-data", default=_default("test_data"), help=_help("test_data"))
    d.add_argument("--no-decontaminate", dest="decontaminate", action="store_false",
                   help="train on every record (the card says so)")
    d.add_argument("--ngram", type=int, default=_default("ngram"), help=_help("ngram"))
    d.add_argument("--threshold", type=float, default=_default("threshold"),
                   help=_help("threshold"))
    d.add_argument("--val-fraction", type=float, default=_default("val_fraction"),
                   help=_help("val_fraction"))
    d.add_argument("--limit", type=int, default=None, help=_help("limit"))
    d.add_argument("--max-length", type=int, default=_default("max_length"),
                   help=_help("max_length"))
    r = p.add_argument_group("model and recipe")
    r.add_argument("--base", default=_default("base"), help=_help("base"))
    r.add_argument("--lora-r", type=int, default=_default("lora_r"), help=_help("lora_r"))
    r.add_argument("--lora-alpha", type=int, default=_default("lora_alpha"),
                   help=_help("lora_alpha"))
    r.add_argument("--lora-dropout", type=float, default=_default("lora_dropout"),
                   help=_help("lora_dropout"))
    r.add_argument("--target-modules", default=",".join(_default("target_modules")),
                   help="comma-separated module names that get an adapter "
                        f"({','.join(_default('target_modules'))})")
    r.add_argument("--lr", dest="learning_rate", type=float, default=_default("learning_rate"),
                   help=_help("learning_rate"))
    r.add_argument("--batch-size", type=int, default=_default("batch_size"),
                   help=_help("batch_size"))
    r.add_argument("--grad-accum", type=int, default=_default("grad_accum"),
                   help=_help("grad_accum"))
    r.add_argument("--epochs", type=float, default=_default("epochs"), help=_help("epochs"))
    r.add_argument("--max-steps", type=int, default=None, help=_help("max_steps"))
    r.add_argument("--warmup-ratio", type=float, default=_default("warmup_ratio"),
                   help=_help("warmup_ratio"))
    r.add_argument("--scheduler", default=_default("scheduler"),
                   choices=("cosine", "linear", "constant", "constant_with_warmup"),
                   help=_help("scheduler"))
    r.add_argument("--weight-decay", type=float, default=_default("weight_decay"),
                   help=_help("weight_decay"))
    r.add_argument("--seed", type=int, default=_default("seed"), help=_help("seed"))
    r.add_argument("--precision", default=_default("precision"),
                   choices=("auto", "bf16", "fp16", "fp32"), help=_help("precision"))
    r.add_argument("--qlora", action="store_true", help=_help("qlora"))
    r.add_argument("--no-gradient-checkpointing", dest="gradient_checkpointing",
                   action="store_false", help="keep activations (faster, more memory)")
    c = p.add_argument_group("checkpoints and logs")
    c.add_argument("--save-steps", type=int, default=_default("save_steps"),
                   help=_help("save_steps"))
    c.add_argument("--eval-steps", type=int, default=_default("eval_steps"),
                   help=_help("eval_steps"))
    c.add_argument("--logging-steps", type=int, default=_default("logging_steps"),
                   help=_help("logging_steps"))
    a = p.add_argument_group("after training")
    a.add_argument("--merge", action="store_true",
                   help="also write OUTPUT/merged: the base with the adapter folded in")
    a.add_argument("--eval", action="store_true",
                   help="run python -m eval with the adapter and put its numbers in the card")
    a.add_argument("--eval-tasks", default="hub:vixuowis/AICoderEval",
                   help="tasks for --eval (hub:vixuowis/AICoderEval, the test split)")
    a.add_argument("--eval-mode", default="codergen", choices=("codergen", "direct", "react"),
                   help="agent for --eval (codergen)")
    a.add_argument("--eval-args", default="",
                   help="more `python -m eval run` options, quoted: e.g. \"--limit 20 --seed 0\"")
    a.add_argument("--push-to-hub", metavar="REPO", default=None,
                   help="upload the adapter folder to this Hub model repository")
    a.add_argument("--private", action="store_true", help="create the Hub repository private")
    p.set_defaults(func=train_command)
    return p


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The TrainConfig the flags describe.

    Raises:
        TrainError: a value out of range (one line naming the flag).
    """
    from aicoder.train.trainer import TrainError

    positive = {"--lora-r": args.lora_r, "--lora-alpha": args.lora_alpha,
                "--batch-size": args.batch_size, "--grad-accum": args.grad_accum,
                "--epochs": args.epochs, "--max-length": args.max_length, "--ngram": args.ngram,
                "--save-steps": args.save_steps, "--eval-steps": args.eval_steps,
                "--logging-steps": args.logging_steps, "--lr": args.learning_rate,
                "--limit": args.limit, "--max-steps": args.max_steps}
    for flag, value in positive.items():
        if value is not None and value <= 0:
            raise TrainError(f"{flag} must be positive (got {value})")
    if not 0 < args.threshold <= 1:
        raise TrainError(f"--threshold must be in (0, 1] (got {args.threshold})")
    fractions = {"--val-fraction": args.val_fraction, "--lora-dropout": args.lora_dropout,
                 "--warmup-ratio": args.warmup_ratio}
    for flag, value in fractions.items():
        if not 0 <= value < 1:
            raise TrainError(f"{flag} must be in [0, 1) (got {value})")
    modules = tuple(m.strip() for m in args.target_modules.split(",") if m.strip())
    if not modules:
        raise TrainError("--target-modules names no module")
    return TrainConfig(
        output=args.output, data=args.data, test_data=args.test_data, base=args.base,
        decontaminate=args.decontaminate, ngram=args.ngram, threshold=args.threshold,
        val_fraction=args.val_fraction, limit=args.limit, max_length=args.max_length,
        lora_r=args.lora_r, lora_alpha=args.lora_alpha, lora_dropout=args.lora_dropout,
        target_modules=modules, learning_rate=args.learning_rate, batch_size=args.batch_size,
        grad_accum=args.grad_accum, epochs=args.epochs, max_steps=args.max_steps,
        warmup_ratio=args.warmup_ratio, scheduler=args.scheduler,
        weight_decay=args.weight_decay, seed=args.seed, precision=args.precision,
        qlora=args.qlora, gradient_checkpointing=args.gradient_checkpointing,
        save_steps=args.save_steps, eval_steps=args.eval_steps,
        logging_steps=args.logging_steps)


def train_command(args: argparse.Namespace, callbacks=()) -> int:
    from aicoder.train.card import size_text
    from aicoder.train.post import evaluate, merge, push
    from aicoder.train.trainer import train

    config = config_from_args(args)
    output = Path(config.output).expanduser()
    if args.push_to_hub:
        from huggingface_hub import get_token

        from aicoder.train.trainer import TrainError

        if not get_token():  # before hours of training, not after
            raise TrainError("--push-to-hub needs a Hub token with write access: set HF_TOKEN "
                             "or run `hf auth login`")
    result = train(config, fresh=args.fresh, callbacks=callbacks)
    s = result.summary
    losses = [h["loss"] for h in s.get("log_history", []) if "loss" in h]
    loss = (f"loss {losses[0]:.3f} -> {losses[-1]:.3f}" if len(losses) > 1
            else f"mean loss {s['train_loss']:.3f}" if s.get("train_loss") is not None else "")
    print(f"adapter: {output} ({size_text(s['adapter_bytes'])}); {s['global_step']} steps, {loss}"
          + (f", eval loss {s['eval_loss']:.3f}" if s.get("eval_loss") is not None else "")
          + f"; {s['steps_per_second']:.2f} steps/s, peak {s['peak_memory_mb']:,.0f} MB")
    _release_memory()
    if args.merge:
        merge(output)
    if args.eval:
        evaluate(output, tasks=args.eval_tasks, mode=args.eval_mode, extra=args.eval_args)
    if args.push_to_hub:
        push(output, args.push_to_hub, private=args.private)
    print(f"use it: --model transformers:{s['base']}+{output}")
    return 0


def _release_memory() -> None:
    """Free the training model before merging or evaluating in another process."""
    import gc

    gc.collect()
    try:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()
    except ImportError:  # pragma: no cover - torch is a requirement
        pass


def main(argv: list[str] | None = None, callbacks=()) -> int:
    from aicoder.errors import AICoderError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args, callbacks)
    except AICoderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted: the same command resumes from the last checkpoint in "
              f"{args.output}/checkpoints", file=sys.stderr)
        return 130
