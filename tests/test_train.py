"""LoRA fine-tuning (`python -m aicoder.train`) on a tiny Llama built offline, with the
project's own records (the builtin suite to train on, tests/data to decontaminate against):
the loss falls, the adapter loads through the product's own model spec and changes the
output, merging keeps the logits, a killed run resumes from its checkpoint, decontamination
removes planted duplicates, bad input is one line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MINI_JSONL, ROOT
from tests.tiny_models import build_tiny_llama

# lr 1e-2 on a random tiny model: the paper's 1e-4 would move its loss too little to see in 24 steps
RECIPE = ["--max-length", "1024", "--lr", "1e-2", "--save-steps", "8", "--eval-steps", "8",
          "--logging-steps", "2", "--val-fraction", "0.125"]


def _planted(record: dict, path: str, edit) -> dict:
    copy = dict(record)
    copy["path"] = path
    copy["function_code"] = edit(record["function_code"])
    copy["content"] = edit(record["content"])
    return copy


def _plant(train: list[str], test_lines: list[str]) -> list[str]:
    """The training records plus two planted copies of test tasks: one exact after
    normalisation, one near."""
    first, second = json.loads(test_lines[0]), json.loads(test_lines[1])
    exact = _planted(first, "f90001_copied.py",
                     lambda code: code.replace("\n", "\n\n", 1) + "\n# reformatted copy\n")

    def near_edit(code: str) -> str:
        body = code.splitlines()
        return "\n".join(body[: max(4, len(body) * 3 // 4)]) + "\n    extra = None\n"

    near = _planted(second, "f90002_edited.py", near_edit)
    return [*train, json.dumps(exact), json.dumps(near)]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """train.jsonl: the builtin suite's records plus two planted copies of test tasks;
    test.jsonl: the project's AICoderEval-layout records; a tiny Llama whose tokenizer was
    trained on their code."""
    from aicoder.prompts import render
    from aicoder.tasks import load_builtin

    root = tmp_path_factory.mktemp("train")
    train = [json.dumps(t.to_record()) for t in load_builtin()]
    test_lines = MINI_JSONL.read_text().splitlines()
    (root / "train.jsonl").write_text("\n".join(_plant(train, test_lines)) + "\n")
    (root / "test.jsonl").write_text("\n".join(test_lines) + "\n")
    corpus = [json.loads(line)["content"] for line in train + test_lines]
    corpus += [render("system"), render("generate", prompt="def f():\n    pass")]
    build_tiny_llama(root / "base", corpus=corpus, vocab_size=1000, max_positions=1024,
                     init_std=0.3)
    return root


def _args(ws: Path, out: Path, *extra: str) -> list[str]:
    return ["--output", str(out), "--data", str(ws / "train.jsonl"),
            "--test-data", str(ws / "test.jsonl"), "--base", str(ws / "base"), *RECIPE, *extra]


@pytest.fixture(scope="module")
def trained(workspace):
    from aicoder.train.cli import main

    out = workspace / "adapter"
    assert main(_args(workspace, out)) == 0
    return out


def test_training_loss_falls_and_the_folder_is_an_adapter(trained, workspace):
    summary = json.loads((trained / "training.json").read_text())
    report = json.loads((trained / "decontamination.json").read_text())
    # the records less the duplicates (the planted two); 1/8 held out
    assert summary["train_examples"] + summary["validation_examples"] == report["kept"]
    assert summary["validation_examples"] == round(report["kept"] / 8)
    assert summary["completed"] and summary["global_step"] == 3 * -(-summary["train_examples"] // 4)
    assert summary["last_loss"] < summary["first_loss"] - 0.5, summary["log_history"]
    assert summary["eval_loss"] is not None and summary["steps_per_second"] > 0
    # the loss covers the answers only: fewer tokens than the examples hold, but some
    assert 0 < summary["loss_tokens_per_epoch"] < summary["tokens_per_epoch"] * 0.8
    for name in ("adapter_config.json", "adapter_model.safetensors", "tokenizer.json",
                 "README.md", "decontamination.md"):
        assert (trained / name).is_file(), name
    config = json.loads((trained / "adapter_config.json").read_text())
    assert config["r"] == 8 and config["lora_alpha"] == 32
    assert set(config["target_modules"]) == {"q_proj", "k_proj", "v_proj", "o_proj",
                                             "gate_proj", "up_proj", "down_proj"}
    assert list((trained / "logs").glob("events.out.tfevents.*")), "no TensorBoard events"
    card = (trained / "README.md").read_text()
    assert f"base_model: {workspace / 'base'}" in card and summary["data_sha256"] in card
    assert "| LoRA r / alpha / dropout | 8 / 32 / 0.05 |" in card
    assert f"{report['exact']} exact and {report['near']} near duplicates removed" in card


def test_decontamination_removed_the_planted_copies(trained):
    report = json.loads((trained / "decontamination.json").read_text())
    removed = {m["train_id"]: (m["kind"], m["test_id"]) for m in report["removed"]}
    assert removed["f90001_copied"][0] == "exact"
    assert removed["f90002_edited"][0] == "near"
    from aicoder.tasks import load_builtin

    assert report["train_records"] == len(load_builtin()) + 2
    assert report["kept"] == report["train_records"] - len(report["removed"])
    md = (trained / "decontamination.md").read_text()
    assert "f90001_copied" in md and "f90002_edited" in md


def _decontaminates(train: list, test: list) -> None:
    """An exact copy (comments added) and a near copy (its end rewritten) of one test task are
    removed, with their kinds; the unrelated training tasks are kept."""
    from aicoder.tasks import Task
    from aicoder.train import decontaminate

    target = test[3]
    renamed = target.reference_code.replace("\n", "\n    # a comment\n", 2)
    exact = Task.from_record({**target.to_record(), "path": "f1_exact.py",
                              "function_code": renamed})
    lines = target.reference_code.splitlines()
    near = Task.from_record({**target.to_record(), "path": "f2_near.py",
                             "function_code": "\n".join([*lines[:-2], "    return None"])})
    kept, report = decontaminate([*train, exact, near], test, ngram=10, threshold=0.5)
    kinds = {m.train_id: (m.kind, m.test_id) for m in report.removed}
    assert kinds["f1_exact"] == ("exact", target.task_id)
    assert kinds["f2_near"][0] == "near" and kinds["f2_near"][1] == target.task_id
    assert [t.task_id for t in kept] == [t.task_id for t in train]
    # a stricter threshold keeps the near copy, never the exact one
    _, strict = decontaminate([exact, near], test, threshold=1.0)
    assert [m.train_id for m in strict.removed] == ["f1_exact"]


def test_decontaminate_exact_near_and_unrelated(mini_tasks):
    from aicoder.tasks import load_builtin

    _decontaminates(load_builtin()[:10], list(mini_tasks.values()))


def test_decontaminate_exact_near_and_unrelated_on_v3(v3_tasks):
    _decontaminates(v3_tasks[:10], v3_tasks[100:120])


def test_adapter_loads_through_the_model_spec_and_changes_the_output(trained, workspace):
    import torch

    from aicoder.models import GenerationParams, Message, load_model

    base = workspace / "base"
    plain = load_model(f"transformers:{base}")
    tuned = load_model(f"transformers:{base}+{trained}")
    messages = [Message(role="user", content="def add(a, b):")]
    params = GenerationParams(temperature=0.0, max_new_tokens=24)
    assert tuned.complete(messages, params).text != plain.complete(messages, params).text
    ids = plain._prompt_ids(messages)
    with torch.no_grad():
        delta = (tuned.model(**ids).logits - plain.model(**ids).logits).abs().max().item()
    assert delta > 1e-2


def test_merged_model_gives_the_adapter_logits(trained, workspace):
    import torch

    from aicoder.models import Message, load_model
    from aicoder.train.post import merge

    merged = merge(trained)
    assert (merged / "config.json").is_file() and not (merged / "adapter_config.json").exists()
    tuned = load_model(f"transformers:{workspace / 'base'}+{trained}")
    flat = load_model(f"transformers:{merged}")
    ids = tuned._prompt_ids([Message(role="user", content="import torch\nx = torch.zeros(3)")])
    with torch.no_grad():
        a, b = tuned.model(**ids).logits, flat.model(**ids).logits
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)


KILLER = """
import os, signal, sys
from transformers import TrainerCallback
from aicoder.train.cli import main

class KillAfterSave(TrainerCallback):
    def on_save(self, args, state, control, **kwargs):
        if state.global_step == 8:  # the checkpoint is on disk: die as a crash would
            os.kill(os.getpid(), signal.SIGKILL)

sys.exit(main(sys.argv[1:], callbacks=[KillAfterSave()]))
"""


def test_a_killed_run_resumes_from_its_checkpoint(trained, workspace):
    out = workspace / "killed"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.run([sys.executable, "-c", KILLER, *_args(workspace, out)], cwd=ROOT,
                           env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == -9, first.stderr[-2000:]
    assert (out / "checkpoints" / "checkpoint-8" / "optimizer.pt").is_file()
    assert not (out / "training.json").exists()
    second = subprocess.run([sys.executable, "-m", "aicoder.train", *_args(workspace, out)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-2000:]
    assert "resuming from" in second.stdout and "(step 8)" in second.stdout
    summary = json.loads((out / "training.json").read_text())
    assert summary["resumed_from_step"] == 8
    assert summary["global_step"] == json.loads((trained / "training.json").read_text())[
        "global_step"]
    # the resumed run continued the same optimisation: it ends where the uninterrupted one did
    import torch
    from safetensors.torch import load_file

    resumed = load_file(out / "adapter_model.safetensors")
    straight = load_file(trained / "adapter_model.safetensors")
    assert resumed.keys() == straight.keys()
    for key in resumed:
        torch.testing.assert_close(resumed[key], straight[key], atol=1e-5, rtol=1e-4)
    # and the same command once more does not train again
    third = subprocess.run([sys.executable, "-m", "aicoder.train", *_args(workspace, out)],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert third.returncode == 0 and "already holds the finished adapter" in third.stdout


def test_another_recipe_against_the_folder_is_refused(trained, workspace, capsys):
    from aicoder.train.cli import main

    assert main(_args(workspace, trained, "--lora-r", "16")) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "lora_r: 8 -> 16" in err and "--fresh" in err
    assert len(err.strip().splitlines()) == 1


def test_a_record_missing_a_field_is_rejected_with_its_line(workspace, tmp_path, capsys):
    from aicoder.train.cli import main

    lines = MINI_JSONL.read_text().splitlines()[:5]
    broken = json.loads(lines[2])
    del broken["answer"]
    lines[2] = json.dumps(broken)
    data = tmp_path / "broken.jsonl"
    data.write_text("\n".join(lines) + "\n")
    code = main(["--output", str(tmp_path / "out"), "--data", str(data), "--no-decontaminate",
                 "--base", str(workspace / "base")])
    err = capsys.readouterr().err
    assert code == 2 and err.strip() == f"error: {data}:3: missing field answer"


@pytest.mark.parametrize("extra, message", [
    (["--qlora"], "4-bit QLoRA needs a CUDA GPU"),
    (["--lr", "0"], "--lr must be positive"),
    (["--threshold", "1.5"], "--threshold must be in (0, 1]"),
    (["--val-fraction", "1"], "--val-fraction must be in [0, 1)"),
    (["--target-modules", " , "], "--target-modules names no module"),
    (["--test-data", "/nonexistent/test.jsonl"], "cannot decontaminate against"),
    (["--base", "/nonexistent/model"], "cannot load the tokenizer of /nonexistent/model"),
])
def test_mistakes_are_one_line(workspace, tmp_path, capsys, extra, message):
    from aicoder.train.cli import main

    code = main(_args(workspace, tmp_path / "out", *extra))
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("error: ") and message in err, err
    assert len(err.splitlines()) == 1


def test_push_needs_a_token_before_training(workspace, tmp_path, capsys):
    from aicoder.train.cli import main

    assert main(_args(workspace, tmp_path / "out", "--push-to-hub", "me/aicoder")) == 2
    assert "needs a Hub token" in capsys.readouterr().err
    assert not (tmp_path / "out" / "checkpoints").exists()


def test_push_uploads_the_adapter_not_the_checkpoints(trained):
    from aicoder.train.post import push_files

    files = push_files(trained)
    assert {"adapter_config.json", "adapter_model.safetensors", "README.md", "tokenizer.json",
            "training.json", "decontamination.md"} <= set(files)
    assert not [f for f in files if f.startswith(("checkpoints/", "merged/", "eval/"))]
    assert any(f.startswith("logs/") for f in files)  # the Hub shows TensorBoard logs


def test_eval_after_training_writes_the_numbers_into_the_card(trained):
    from aicoder.train.post import evaluate

    evaluation = evaluate(trained, tasks="builtin", mode="direct",
                          extra="--limit 2 --max-new-tokens 16 --temperature 0")
    assert evaluation["n_tasks"] == 2 and 0 <= evaluation["sr_all"] <= 1
    assert (trained / "eval" / "samples.jsonl").read_text().count("\n") == 2
    card = (trained / "README.md").read_text()
    assert "## Evaluation" in card and "Not evaluated yet" not in card
    assert "--model transformers:" in card and "| SR@All | SR@Any |" in card.replace(
        "| tasks | scored | skipped | SR@All | SR@Any | pass@1 |", "| SR@All | SR@Any |")
