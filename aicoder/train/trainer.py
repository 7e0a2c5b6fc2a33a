"""The fine-tuning run: records → decontamination → chat examples → TRL SFTTrainer + LoRA.

``train(config)`` is what ``python -m aicoder.train`` runs. The output folder is the adapter
(``adapter_config.json``, ``adapter_model.safetensors``, the tokenizer, ``README.md`` — the
model card), with ``checkpoints/`` (resume points), ``logs/`` (TensorBoard),
``decontamination.{json,md}`` and ``training.json`` beside it.

The same command after a crash continues from the last complete checkpoint (its step, the
optimizer and scheduler state, the RNG state); a different recipe against the same folder is
refused, ``fresh=True`` starts over.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from aicoder.errors import AICoderError
from aicoder.tasks import Task, load_tasks, tasks_sha256
from aicoder.train.config import TrainConfig
from aicoder.train.data import split_validation, to_example
from aicoder.train.decontam import DecontamReport, decontaminate

__all__ = ["TrainError", "TrainResult", "first_line", "last_checkpoint", "prepare_data", "resolve_precision",
           "train"]

STATE_FILE = "train_state.json"
SUMMARY_FILE = "training.json"
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")


class TrainError(AICoderError):
    """A fine-tuning run cannot start or go on; the message says what to change."""


@dataclass
class PreparedData:
    train: list[Task]
    validation: list[Task]
    report: DecontamReport | None
    sha256: str
    source_records: int


@dataclass
class TrainResult:
    output: Path
    summary: dict[str, object]
    resumed_from: int | None  # the checkpoint step this run started from, if any
    trained: bool              # False when the folder already held the finished adapter


def prepare_data(config: TrainConfig, log: Callable[[str], None] = print) -> PreparedData:
    """Load the training records, decontaminate them against the test split, hold out the
    validation slice.

    Raises:
        TaskSourceError / TaskFormatError: a split cannot be read or a record is malformed.
        TrainError: nothing is left to train on.
    """
    tasks = load_tasks(config.data)
    source_records = len(tasks)
    report = None
    if config.decontaminate:
        from aicoder.errors import TaskSourceError

        try:
            test = load_tasks(config.test_data)
        except TaskSourceError as exc:
            raise TrainError(f"cannot decontaminate against {config.test_data}: {exc} "
                             f"(pass --test-data FILE.jsonl, or --no-decontaminate)") from exc
        tasks, report = decontaminate(tasks, test, ngram=config.ngram,
                                      threshold=config.threshold)
        log(f"decontamination: {report.train_records} training records against "
            f"{report.test_records} test tasks; removed {len(report.removed)} "
            f"({sum(m.kind == 'exact' for m in report.removed)} exact, "
            f"{sum(m.kind == 'near' for m in report.removed)} near), kept {report.kept}")
    if config.limit is not None:
        tasks = tasks[:config.limit]
    if not tasks:
        raise TrainError(f"no training records left from {config.data}")
    train_tasks, validation = split_validation(tasks, config.val_fraction, config.seed)
    return PreparedData(train_tasks, validation, report, tasks_sha256(tasks), source_records)


def resolve_precision(config: TrainConfig) -> tuple[str, str]:
    """(device, precision) for this machine.

    Raises:
        TrainError: a GPU-only choice (bf16/fp16, QLoRA) on a machine without CUDA, or QLoRA
            without bitsandbytes.
    """
    import torch

    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    precision = config.precision
    if precision == "auto":
        precision = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if cuda else "fp32"
    if precision not in ("bf16", "fp16", "fp32"):
        raise TrainError(f"unknown precision {precision!r}: choose auto, bf16, fp16 or fp32")
    if precision == "fp16" and not cuda:
        raise TrainError("fp16 training needs a CUDA GPU; on CPU use --precision fp32")
    if config.qlora:
        if not cuda:
            raise TrainError("4-bit QLoRA needs a CUDA GPU (bitsandbytes); this machine has "
                             "none: train without --qlora (full-precision LoRA)")
        try:
            import bitsandbytes  # noqa: F401
        except ImportError as exc:
            raise TrainError("--qlora needs bitsandbytes: pip install bitsandbytes") from exc
    return device, precision


def last_checkpoint(folder: Path) -> Path | None:
    """The newest checkpoint whose save finished (``trainer_state.json`` is written last);
    a half-written newer one (a crash during the save) is passed over."""
    if not folder.is_dir():
        return None
    found = []
    for path in folder.iterdir():
        if path.is_dir() and path.name.startswith("checkpoint-"):
            try:
                found.append((int(path.name.split("-", 1)[1]), path))
            except ValueError:
                continue
    for _, path in sorted(found, reverse=True):
        if (path / "trainer_state.json").is_file() and (path / "optimizer.pt").is_file():
            return path
    return None


def _check_state(output: Path, state: dict, fresh: bool) -> None:
    """Refuse to resume a folder that another recipe or other data produced."""
    path = output / STATE_FILE
    if fresh:
        for name in ("checkpoints", "logs", "merged"):
            shutil.rmtree(output / name, ignore_errors=True)
        for name in (*ADAPTER_FILES, SUMMARY_FILE, STATE_FILE, "README.md"):
            (output / name).unlink(missing_ok=True)
        return
    if not path.is_file():
        if (output / "checkpoints").is_dir() or any((output / n).exists() for n in ADAPTER_FILES):
            raise TrainError(f"{output} holds a run without {STATE_FILE}: pass --fresh to "
                             f"start over there, or choose another --output")
        return
    old = json.loads(path.read_text())
    keys = sorted(k for k in set(old) | set(state) if old.get(k) != state.get(k))
    if keys:
        detail = "; ".join(f"{k}: {old.get(k)!r} -> {state.get(k)!r}" for k in keys[:6])
        raise TrainError(f"{output} was trained with another recipe or data ({detail}): "
                         f"pass --fresh to start over, or choose another --output")


def _load_model(config: TrainConfig, device: str, precision: str):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(config.base)
    except (OSError, ValueError) as exc:
        raise TrainError(f"cannot load the tokenizer of {config.base}: {first_line(exc)}"
                         ) from exc
    if not getattr(tokenizer, "chat_template", None):
        raise TrainError(f"{config.base} has no chat template: fine-tune an instruct model")
    if tokenizer.pad_token is None:
        # Llama 3 ships no pad token; padded positions are masked out of the loss anyway.
        tokenizer.pad_token = tokenizer.eos_token
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[precision]
    kwargs: dict = {"dtype": dtype}
    if config.qlora:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
            bnb_4bit_compute_dtype=dtype if precision != "fp32" else torch.bfloat16)
        kwargs["device_map"] = {"": 0}
    try:
        model = AutoModelForCausalLM.from_pretrained(config.base, **kwargs)
    except (OSError, ValueError) as exc:
        raise TrainError(f"cannot load the model {config.base}: {first_line(exc)}") from exc
    if not config.qlora:
        model.to(device)
    return model, tokenizer


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _report_to() -> list[str]:
    """W&B when it is configured (``WANDB_PROJECT`` or ``WANDB_API_KEY``) and installed."""
    if os.environ.get("WANDB_PROJECT") or os.environ.get("WANDB_API_KEY"):
        try:
            import wandb  # noqa: F401
        except ImportError:
            print("warning: W&B is configured but wandb is not installed (pip install wandb); "
                  "logging to TensorBoard only", file=sys.stderr)
            return []
        return ["wandb"]
    return []


def _peak_memory_mb(device: str) -> float:
    if device == "cuda":
        import torch

        return torch.cuda.max_memory_allocated() / 2**20
    # ru_maxrss is in KiB on Linux: the whole process (model, data, optimizer, activations)
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def train(config: TrainConfig, *, fresh: bool = False, callbacks: Sequence = (),
          log: Callable[[str], None] = print) -> TrainResult:
    """Fine-tune ``config.base`` with LoRA on the training records, resumably.

    Args:
        config: the run (see TrainConfig).
        fresh: discard what ``config.output`` holds and start over.
        callbacks: extra ``transformers.TrainerCallback``s.
        log: where progress lines go.

    Raises:
        TrainError, TaskSourceError, TaskFormatError: one line that says what to change.
    """
    output = Path(config.output).expanduser()
    try:
        output.mkdir(parents=True, exist_ok=True)
        probe = output / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise TrainError(f"cannot write to --output {output}: {exc.strerror or exc}") from exc
    device, precision = resolve_precision(config)
    data = prepare_data(config, log)
    state = {**config.recipe(), "data_sha256": data.sha256}
    _check_state(output, state, fresh)
    (output / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")
    if data.report is not None:
        (output / "decontamination.json").write_text(json.dumps(data.report.to_dict(),
                                                                indent=2) + "\n")
        (output / "decontamination.md").write_text(data.report.to_markdown())

    summary_path = output / SUMMARY_FILE
    if summary_path.is_file() and all((output / n).is_file() for n in ADAPTER_FILES):
        summary = json.loads(summary_path.read_text())
        if summary.get("completed"):
            log(f"{output} already holds the finished adapter ({summary.get('global_step')} "
                f"steps); --fresh trains again")
            return TrainResult(output, summary, None, trained=False)

    import datasets
    from peft import LoraConfig
    from torch.utils.tensorboard import SummaryWriter
    from transformers.integrations import TensorBoardCallback
    from trl import SFTConfig, SFTTrainer

    model, tokenizer = _load_model(config, device, precision)
    train_ds = datasets.Dataset.from_list([to_example(t) for t in data.train])
    eval_ds = (datasets.Dataset.from_list([to_example(t) for t in data.validation])
               if data.validation else None)
    checkpoints = output / "checkpoints"
    args = SFTConfig(
        output_dir=str(checkpoints),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps if config.max_steps else -1,
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.learning_rate,
        lr_scheduler_type=config.scheduler,
        warmup_steps=config.warmup_ratio,  # a float below 1 is a ratio of the total steps
        weight_decay=config.weight_decay,
        seed=config.seed,
        data_seed=config.seed,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        use_cpu=device == "cpu",
        gradient_checkpointing=config.gradient_checkpointing,
        max_length=config.max_length,
        completion_only_loss=True,
        logging_steps=config.logging_steps,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=2,  # the last two: a crash mid-save still leaves one complete
        eval_strategy="steps" if eval_ds is not None else "no",
        eval_steps=config.eval_steps,
        report_to=_report_to(),
        disable_tqdm=False,
        dataloader_num_workers=0,
    )
    writer = SummaryWriter(log_dir=str(output / "logs"))
    trainer = SFTTrainer(
        model=model, args=args, train_dataset=train_ds, eval_dataset=eval_ds,
        processing_class=tokenizer,
        peft_config=LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha,
                               lora_dropout=config.lora_dropout,
                               target_modules=list(config.target_modules),
                               bias="none", task_type="CAUSAL_LM"),
        callbacks=[TensorBoardCallback(tb_writer=writer), *callbacks],
    )
    tokens = [len(ids) for ids in trainer.train_dataset["input_ids"]]
    # the tokens the loss is computed on: the answer's, not the prompt's
    columns = trainer.train_dataset.column_names
    if "labels" in columns:  # TRL marks the prompt's positions -100
        loss_tokens = sum(sum(t != -100 for t in row) for row in trainer.train_dataset["labels"])
    elif "completion_mask" in columns:
        loss_tokens = sum(sum(row) for row in trainer.train_dataset["completion_mask"])
    else:
        loss_tokens = sum(tokens)
    truncated = sum(n >= config.max_length for n in tokens)
    if truncated:
        log(f"warning: {truncated} of {len(tokens)} examples reach --max-length "
            f"{config.max_length} and are cut at the end")
    resume = last_checkpoint(checkpoints)
    resumed_from = None
    if resume is not None:
        resumed_from = int(resume.name.split("-", 1)[1])
        log(f"resuming from {resume} (step {resumed_from})")
    trainable, total = trainer.model.get_nb_trainable_parameters()
    log(f"training {config.base} + LoRA r={config.lora_r} on {len(data.train)} examples "
        f"({len(data.validation)} held out), {device} {precision}; "
        f"{trainable:,} trainable of {total:,} parameters")
    started = time.monotonic()
    try:
        result = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    except ValueError as exc:
        if "checkpoint" in str(exc).lower():
            raise TrainError(f"cannot resume from {resume}: {first_line(exc)} "
                             f"(pass --fresh to start over)") from exc
        raise
    finally:
        writer.flush()
    metrics = dict(result.metrics)
    if eval_ds is not None:
        metrics.update(trainer.evaluate())
    writer.close()
    trainer.model.save_pretrained(str(output))
    tokenizer.save_pretrained(str(output))

    history = trainer.state.log_history
    # TRL counts the non-padding tokens it trained on in this process (not before a resume)
    trained_tokens = getattr(trainer, "_total_train_tokens", None)
    runtime = metrics.get("train_runtime")
    losses = [h["loss"] for h in history if "loss" in h]
    summary = {
        "completed": True,
        "base": config.base,
        "output": str(output),
        "device": device,
        "precision": precision,
        "global_step": trainer.state.global_step,
        "epochs": trainer.state.epoch,
        "resumed_from_step": resumed_from,
        "train_examples": len(data.train),
        "validation_examples": len(data.validation),
        "validation_ids": [t.task_id for t in data.validation],
        "source_records": data.source_records,
        "data": config.data,
        "data_sha256": data.sha256,
        "decontamination": ({k: v for k, v in data.report.to_dict().items() if k != "removed"}
                            if data.report else None),
        "tokens_per_epoch": sum(tokens),
        "loss_tokens_per_epoch": loss_tokens,
        "examples_truncated": truncated,
        "first_loss": losses[0] if losses else None,
        "last_loss": losses[-1] if losses else None,
        "train_loss": metrics.get("train_loss"),
        "eval_loss": metrics.get("eval_loss"),
        "train_runtime_s": runtime,
        "wall_s": round(time.monotonic() - started, 2),
        "steps_per_second": metrics.get("train_steps_per_second"),
        "tokens_trained_this_run": trained_tokens,
        "tokens_per_second": (round(trained_tokens / runtime, 1)
                              if trained_tokens and runtime else None),
        "samples_per_second": metrics.get("train_samples_per_second"),
        "peak_memory_mb": round(_peak_memory_mb(device), 1),
        "trainable_parameters": trainable,
        "total_parameters": total,
        "adapter_bytes": (output / "adapter_model.safetensors").stat().st_size,
        "recipe": config.to_dict(),
        "log_history": history,
    }
    summary_path.write_text(json.dumps(summary, indent=2) + "\n")
    from aicoder.train.card import write_card

    write_card(output, summary)
    return TrainResult(output, summary, resumed_from, trained=True)
