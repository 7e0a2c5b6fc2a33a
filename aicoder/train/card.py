"""The adapter's model card (``README.md``): base, data and its hash, decontamination, the
recipe, the training numbers, and the eval numbers once ``python -m eval`` has run."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["EVAL_FILE", "render_card", "size_text", "write_card"]

EVAL_FILE = "evaluation.json"


def size_text(n: int) -> str:
    """Bytes as KiB/MiB/GiB, one decimal."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _fmt(value: object, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def render_card(summary: dict, evaluation: dict | None = None, repo: str | None = None) -> str:
    """The card's Markdown, Hub metadata included."""
    recipe = summary["recipe"]
    base = summary["base"]
    name = repo or summary.get("output") or "PATH/TO/ADAPTER"
    dataset = recipe["data"].removeprefix("hub:").split(":")[0] if recipe["data"].startswith(
        "hub:") else None
    meta = ["---", f"base_model: {base}", "library_name: peft", "pipeline_tag: text-generation",
            "tags:", "- lora", "- sft", "- trl", "- code", "- aicodereval"]
    if dataset:
        meta += ["datasets:", f"- {dataset}"]
    meta.append("---")
    decon = summary.get("decontamination")
    lines = [
        *meta, "",
        "# AICoder LoRA adapter", "",
        f"A LoRA adapter for `{base}`, fine-tuned with TRL's SFTTrainer on AICoderEval training "
        "records (the AICoder of arXiv 2406.04712): given CoderGen's prompt — a function's "
        "imports, signature and docstring — it answers with the complete function in one "
        "```python block. The loss was computed on the answer tokens only.", "",
        "## Use", "",
        "```bash",
        f"python -m eval run --tasks hub:vixuowis/AICoderEval --model transformers:{base}+{name} "
        "--mode codergen --out runs/aicoder",
        f"python app.py --model AICoder=transformers:{base}+{name}",
        "```", "",
        "Served: `deploy/` (TGI with `LORA_ADAPTERS`, or vLLM with `--lora-modules`), then "
        "`--model tgi:http://HOST:8080#aicoder` or `--model openai:http://HOST:8000/v1#aicoder`.", "",
        "## Data", "",
        f"- source: `{recipe['data']}` ({summary['source_records']} records)",
    ]
    if decon:
        lines.append(
            f"- decontaminated against `{recipe['test_data']}` ({decon['test_records']} tasks): "
            f"{decon['exact']} exact and {decon['near']} near duplicates removed "
            f"({decon['ngram']}-grams of normalised code, overlap ≥ {decon['threshold']:g}; "
            "the list is in `decontamination.md`)")
    else:
        lines.append("- not decontaminated (`--no-decontaminate`)")
    lines += [
        f"- trained on {summary['train_examples']} examples, {summary['validation_examples']} "
        "held out for the eval loss",
        f"- data sha256: `{summary['data_sha256']}`",
        f"- tokens per epoch: {summary['tokens_per_epoch']:,}"
        + (f" ({summary['examples_truncated']} examples cut at {recipe['max_length']} tokens)"
           if summary.get("examples_truncated") else ""), "",
        "## Recipe", "",
        "| setting | value |", "| --- | --- |",
        f"| LoRA r / alpha / dropout | {recipe['lora_r']} / {recipe['lora_alpha']} / "
        f"{recipe['lora_dropout']} |",
        f"| target modules | {', '.join(recipe['target_modules'])} |",
        f"| learning rate, schedule, warm-up | {recipe['learning_rate']:g}, "
        f"{recipe['scheduler']}, {recipe['warmup_ratio']:g} of the steps |",
        f"| batch × accumulation | {recipe['batch_size']} × {recipe['grad_accum']} |",
        f"| epochs | {recipe['epochs']:g}" + (f" (capped at {recipe['max_steps']} steps)"
                                             if recipe.get("max_steps") else "") + " |",
        f"| max length | {recipe['max_length']} tokens |",
        f"| precision | {summary['precision']}{' (4-bit NF4 base, QLoRA)' if recipe['qlora'] else ''}"
        f", gradient checkpointing {'on' if recipe['gradient_checkpointing'] else 'off'} |",
        f"| seed | {recipe['seed']} |", "",
        "## Training", "",
        "| | |", "| --- | --- |",
        f"| optimizer steps | {summary['global_step']} ({_fmt(summary['epochs'], 3)} epochs)"
        + (f", resumed from step {summary['resumed_from_step']}"
           if summary.get("resumed_from_step") else "") + " |",
        f"| first / last logged loss | {_fmt(summary['first_loss'])} / "
        f"{_fmt(summary['last_loss'])} |",
        f"| eval loss (held out) | {_fmt(summary['eval_loss'])} |",
        f"| steps/s, tokens/s | {_fmt(summary['steps_per_second'])}, "
        f"{_fmt(summary.get('tokens_per_second'))} on {summary['device']} |",
        f"| peak memory | {summary['peak_memory_mb']:,.0f} MB "
        f"({'GPU, allocated' if summary['device'] == 'cuda' else 'process RSS'}) |",
        f"| trainable parameters | {summary['trainable_parameters']:,} of "
        f"{summary['total_parameters']:,} |",
        f"| adapter size | {size_text(summary['adapter_bytes'])} |", "",
        "## Evaluation", "",
    ]
    if evaluation:
        lines += [
            f"`{evaluation['command']}`", "",
            "| tasks | scored | skipped | SR@All | SR@Any | pass@1 |",
            "| --- | --- | --- | --- | --- | --- |",
            f"| {evaluation['tasks']} | {evaluation['n_scored']} | {evaluation['n_skipped']} | "
            f"{_fmt(evaluation['sr_all'], 3)} | {_fmt(evaluation['sr_any'], 3)} | "
            f"{_fmt(evaluation.get('pass_at_1'), 3)} |", "",
            f"Mode {evaluation['mode']}; skipped tasks could not run on the evaluating machine "
            "(a Hub model missing from its cache, or a failing reference) and are not counted.",
        ]
    else:
        lines.append("Not evaluated yet: `python -m aicoder.train ... --eval` runs "
                     "`python -m eval` on the test split and writes the numbers here.")
    return "\n".join(lines) + "\n"


def write_card(output: Path, summary: dict, repo: str | None = None) -> Path:
    """Write ``output/README.md`` from the summary and, when present, ``evaluation.json``."""
    evaluation = None
    if (output / EVAL_FILE).is_file():
        evaluation = json.loads((output / EVAL_FILE).read_text())
    path = output / "README.md"
    path.write_text(render_card(summary, evaluation, repo))
    return path
