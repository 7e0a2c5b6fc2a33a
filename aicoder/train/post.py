"""After training: merge the adapter into the base, push it to the Hub, evaluate it with
``python -m eval`` and write the numbers into the model card."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

from aicoder.train.card import EVAL_FILE, size_text, write_card
from aicoder.train.trainer import SUMMARY_FILE, TrainError, first_line

__all__ = ["evaluate", "merge", "push", "push_files"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# Resume points, the merged copy and the eval run stay local: the Hub gets the adapter,
# its tokenizer, the card, the logs and the reports.
PUSH_IGNORE = ["checkpoints/**", "merged/**", "eval/**", ".write-test", "train_state.json"]


def _summary(output: Path) -> dict:
    path = output / SUMMARY_FILE
    if not path.is_file():
        raise TrainError(f"{output} holds no finished training run ({SUMMARY_FILE} missing)")
    return json.loads(path.read_text())


def merge(output: Path, log=print) -> Path:
    """Fold the adapter into the base weights and save a plain model in ``output/merged``
    (loadable without peft: ``transformers:OUTPUT/merged``). Done on the CPU, in the
    training precision (bf16 stays bf16; fp32 on CPU)."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    summary = _summary(output)
    dtype = torch.bfloat16 if summary["precision"] in ("bf16", "fp16") else torch.float32
    try:
        base = AutoModelForCausalLM.from_pretrained(summary["base"], dtype=dtype)
    except (OSError, ValueError) as exc:
        raise TrainError(f"cannot load the base {summary['base']} to merge into: {exc}") from exc
    merged = PeftModel.from_pretrained(base, str(output)).merge_and_unload()
    target = output / "merged"
    merged.save_pretrained(str(target))
    AutoTokenizer.from_pretrained(str(output)).save_pretrained(str(target))
    log(f"merged model written to {target}")
    return target


def push_files(output: Path) -> list[str]:
    """The files ``push`` uploads, relative to ``output`` (what the Hub repository gets)."""
    from huggingface_hub.utils import filter_repo_objects

    found = sorted(p.relative_to(output).as_posix() for p in output.rglob("*") if p.is_file())
    return list(filter_repo_objects(found, ignore_patterns=PUSH_IGNORE))


def push(output: Path, repo: str, *, private: bool = False, log=print) -> str:
    """Upload the adapter folder (adapter, tokenizer, card, logs, reports) to ``repo``.

    Raises:
        TrainError: no Hub token, or the Hub refused (the reason in one line).
    """
    from huggingface_hub import HfApi, get_token
    from huggingface_hub.errors import HfHubHTTPError

    summary = _summary(output)
    if not get_token():
        raise TrainError("pushing needs a Hub token with write access: set HF_TOKEN or run "
                         "`hf auth login`")
    write_card(output, summary, repo=repo)  # the card's usage lines name the repository
    files = push_files(output)
    size = sum((output / f).stat().st_size for f in files)
    log(f"uploading {len(files)} files ({size_text(size)}) to {repo}")
    api = HfApi()
    try:
        api.create_repo(repo, private=private, exist_ok=True)
        info = api.upload_folder(repo_id=repo, folder_path=str(output),
                                 commit_message="AICoder LoRA adapter",
                                 ignore_patterns=PUSH_IGNORE)
    except HfHubHTTPError as exc:
        raise TrainError(f"the Hub refused the push to {repo}: {first_line(exc)}"
                         ) from exc
    except OSError as exc:
        raise TrainError(f"cannot reach the Hub to push {repo}: {exc}") from exc
    url = getattr(info, "commit_url", None) or f"{api.endpoint}/{repo}"
    log(f"pushed to {url}")
    return url


def evaluate(output: Path, *, tasks: str, mode: str, extra: str = "", log=print) -> dict:
    """Run ``python -m eval run`` with ``transformers:<base>+<output>`` and put its numbers in
    the card. The run lives in ``output/eval`` (the same command resumes it).

    Returns:
        The evaluation record written to ``output/evaluation.json``.
    """
    summary = _summary(output)
    out = output / "eval"
    command = [sys.executable, "-m", "eval", "run", "--tasks", tasks,
               "--model", f"transformers:{summary['base']}+{output}", "--mode", mode,
               "--out", str(out), *shlex.split(extra)]
    shown = "python -m eval " + shlex.join(command[3:])
    log(f"evaluating: {shown}")
    code = subprocess.call(command, cwd=PROJECT_ROOT)
    report_path = out / "report.json"
    if code != 0 or not report_path.is_file():
        raise TrainError(f"the evaluation did not finish (exit {code}); the same command "
                         f"resumes it: {shown}")
    from aicoder.runs import Report

    report = Report.model_validate_json(report_path.read_bytes())
    evaluation = {
        "command": shown, "tasks": tasks, "mode": mode,
        "n_tasks": report.n_tasks, "n_scored": report.n_scored,
        "n_skipped": report.n_skipped, "sr_all": report.sr_all,
        "sr_any": report.sr_any, "pass_at_1": report.pass_at_k.get("1"),
        "intervals": report.intervals.model_dump(),
    }
    (output / EVAL_FILE).write_text(json.dumps(evaluation, indent=2) + "\n")
    write_card(output, summary)
    log(f"SR@All {report.sr_all:.3f}, SR@Any {report.sr_any:.3f} on "
        f"{report.n_scored} scored tasks; written into {output / 'README.md'}")
    return evaluation
