"""`python -m eval tasks` and `python -m eval check-gt`."""

from __future__ import annotations

import json

import pytest

from eval.cli import main
from eval.commands.check_gt import explain
from sandbox import ExecutionResult, Status, TracebackInfo
from tests.conftest import MINI_JSONL, MINI_PREDICTIONS


def test_tasks_lists_and_filters_the_projects_records(capsys):
    assert main(["tasks", "--tasks", str(MINI_JSONL)]) == 0
    out = capsys.readouterr().out
    # f80004 loads a Hub model, and the test's cache is empty
    assert "6 tasks, 5 can run here" in out and out.count("no: needs ") == 1
    assert main(["tasks", "--tasks", str(MINI_JSONL), "--framework", "pytorch"]) == 0
    out = capsys.readouterr().out
    assert "1 tasks, 1 can run here" in out and "masked_mean_pooling" in out


def test_check_gt_on_the_projects_records_and_its_exclusions(capsys, tmp_path, bwrap,
                                                            monkeypatch):
    """Each outcome a reference can have here, explained; the failing and the vacuous ones
    are excluded by score afterwards, the skipped one is not (prefetch can bring its model)."""
    # an exclusion list of its own: other tests score the same records without one
    monkeypatch.setenv("AICODER_HOME", str(tmp_path / "aicoder-home"))
    report_path = tmp_path / "gt.json"
    assert main(["check-gt", "--tasks", str(MINI_JSONL), "--env", "app",
                 "--out", str(report_path)]) == 0
    out = capsys.readouterr().out
    assert "6 references: 5 run in" in out and "1 skipped" in out
    rows = {r["task_id"]: r for r in json.loads(report_path.read_text())["rows"]}
    assert {k: r["status"] for k, r in rows.items()} == {
        "f80001_min_max_normalize": "passed", "f80002_masked_mean_pooling": "passed",
        "f80003_load_label_names": "vacuous", "f80004_classify_sentiment": "skipped",
        "f80005_fit_linear_trend": "passed", "f80006_count_words": "failed"}
    assert rows["f80002_masked_mean_pooling"]["checks"] == 3
    assert rows["f80006_count_words"]["checks_executed"] == 3
    assert "vacuous references (excluded): f80003_load_label_names" in out
    assert "exclusion list (2 tasks" in out

    run_dir = tmp_path / "scored"
    assert main(["score", "--tasks", str(MINI_JSONL), "--predictions", str(MINI_PREDICTIONS),
                 "--env", "app", "--out", str(run_dir)]) == 0
    skipped = json.loads((run_dir / "report.json").read_text())["skipped"]
    assert set(skipped) == {"f80003_load_label_names", "f80004_classify_sentiment",
                            "f80006_count_words"}
    assert "reference failed" in skipped["f80006_count_words"]


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
    # its own exclusion list: the shared one of the builtin tasks would reach other tests' runs
    assert main(["check-gt", "--tasks", "builtin", "--ids", "b001_softmax,b002_box_iou",
                 "--out", str(out), "--exclusions", str(tmp_path / "excluded.json")]) == 0
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
