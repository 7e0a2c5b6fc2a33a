"""`python -m eval tasks` and `python -m eval check-gt`."""

from __future__ import annotations

import json

import pytest

from eval.cli import main
from eval.commands.check_gt import explain
from sandbox import ExecutionResult, Status, TracebackInfo


def test_tasks_lists_and_filters(capsys, v3_jsonl):
    assert main(["tasks", "--tasks", str(v3_jsonl), "--framework", "diffusers",
                 "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert "3 tasks, 0 can run here" in out and "diffusers" in out
    # the v3 diffusers tasks load Hub models, and the test's cache is empty
    assert out.count("no: needs ") == 3
    assert main(["tasks", "--tasks", "builtin", "--ids", "b002_box_iou"]) == 0
    assert "box_iou" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["tasks", "--tasks", "nowhere.jsonl"], "no tasks at 'nowhere.jsonl'"),
    (["tasks", "--tasks", "builtin", "--ids", "b002_box_iou,nope"], "unknown task id: nope"),
    (["tasks", "--tasks", "builtin", "--domain", "audio"], "no task left after the filters"),
    (["check-gt", "--tasks", "builtin", "--sandbox", "bwarp"], "did you mean 'bwrap'"),
])
def test_mistakes_are_one_line_errors(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_check_gt_runs_the_builtin_references(capsys, tmp_path, bwrap):
    out = tmp_path / "gt.json"
    assert main(["check-gt", "--tasks", "builtin", "--ids", "b001_softmax,b002_box_iou",
                 "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["statuses"] == {"passed": 2}
    assert {r["task_id"] for r in report["rows"]} == {"b001_softmax", "b002_box_iou"}
    out_text = capsys.readouterr().out
    assert "2 references: 2 run in" in out_text and "exclusion list (0 tasks" in out_text


def _error(exc_type: str, text: str, status=Status.ERROR) -> ExecutionResult:
    return ExecutionResult(status=status, reason="", traceback=TracebackInfo(
        exc_type=exc_type, message=text, text=text))


def test_explain_names_the_cause():
    assert explain(_error("ModuleNotFoundError", "No module named 'flair'")) == \
        "missing package: flair"
    assert explain(_error("ImportError", "cannot import name 'cached_download' from "
                                         "'huggingface_hub'")) == "removed name: cached_download"
    assert explain(_error("OSError", "We couldn't connect to 'https://huggingface.co'")) == \
        "needs a Hub model or dataset"
    assert explain(_error("OSError", "We couldn't connect to 'https://huggingface.co'",
                          Status.VACUOUS)) == "vacuous, needs a Hub model or dataset"
