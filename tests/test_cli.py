"""`python -m aicoder solve` end to end, with a served model (the test double) and the sandbox."""

from __future__ import annotations

import json

import pytest

from aicoder.cli import main
from aicoder.tasks import load_builtin
from tests.server_double import ServerDouble


@pytest.fixture(scope="module")
def iou():
    return next(t for t in load_builtin() if t.function_name == "box_iou")


def fenced(code: str) -> str:
    return f"```python\n{code}```"


def test_solve_repairs_and_writes_the_steps(iou, tmp_path, capsys, bwrap):
    broken = iou.imports + iou.reference_code.replace("inter / union", "inter / (union - union)")
    script = [("ok", fenced(broken)), ("ok", "The union minus itself is zero."),
              ("ok", fenced(iou.imports + iou.reference_code))]
    out = tmp_path / "steps.jsonl"
    with ServerDouble(script) as server:
        code = main(["solve", "--task", "b002_box_iou", "--model", f"tgi:{server.url}",
                     "--sandbox", "bwrap", "--json", str(out), "--seed", "1"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "FAILED" in printed and "ZeroDivisionError" in printed
    assert "-    return inter / (union - union)" in printed  # the diff between attempts
    assert "PASSED — passed at round 1" in printed
    steps = [json.loads(line) for line in out.read_text().splitlines()]
    assert [s["kind"] for s in steps] == ["generate", "execute", "analyze", "repair", "execute",
                                          "final"]
    assert steps[-1]["passed"] is True and steps[1]["result"]["status"] == "failed"


def test_solve_exit_codes_and_errors(iou, tmp_path, capsys, bwrap):
    with ServerDouble([("ok", "I cannot do that.")]) as server:
        assert main(["solve", "--task", "b002_box_iou", "--mode", "direct", "--model",
                     f"openai:{server.url}"]) == 1
    capsys.readouterr()
    assert main(["solve", "--task", "b002_box_iuo"]) == 2
    assert "did you mean b002_box_iou" in capsys.readouterr().err
    assert main(["solve", "--task-file", str(tmp_path / "none.jsonl")]) == 2
    assert main(["solve", "--task", "b002_box_iou", "--model", "gpt4"]) == 2
    assert "has no backend" in capsys.readouterr().err


def test_solve_shows_candidates_and_refuses_bad_repair_options(iou, tmp_path, capsys, bwrap):
    half = iou.imports + iou.reference_code.replace("return inter / union if union > 0 else 0.0",
                                                    "return 0.5")
    script = [("ok", fenced(half)), ("ok", "It returns 0.5 for every pair of boxes."),
              ("ok", fenced(half.replace("0.5", "0.25"))),
              ("ok", fenced(iou.imports + iou.reference_code))]
    with ServerDouble(script) as server:
        code = main(["solve", "--task", "b002_box_iou", "--model", f"tgi:{server.url}",
                     "--sandbox", "bwrap", "--candidates", "2", "--temperature", "0"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "repair · round 1 · candidate 1" in printed
    assert "repair · round 1 · candidate 2" in printed
    assert "sampled at temperature 0.6" in printed  # the second candidate is its own sample
    assert "PASSED — passed at round 1" in printed
    assert main(["solve", "--task", "b002_box_iou", "--mode", "react", "--prompts", "paper"]) == 2
    assert "--prompts and --candidates are options of codergen, not of react" in \
        capsys.readouterr().err
