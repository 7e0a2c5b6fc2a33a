"""`python -m eval score`: predictions made elsewhere, in both layouts, and `--compat authors`."""

from __future__ import annotations

import json

import pytest

from aicoder.runs import load_samples
from aicoder.tasks import load_tasks
from eval.cli import main
from eval.predictions import authors_program, cut_at_def, load_predictions
from tests.conftest import MINI_AUTHORS, MINI_JSONL, MINI_PREDICTIONS

pytestmark = pytest.mark.usefixtures("bwrap")


@pytest.fixture(scope="module")
def builtin():
    return {t.task_id: t for t in load_tasks("builtin")}


def _authors_dir(tmp_path, builtin, predictions: dict[str, str]):
    folder = tmp_path / "preds"
    folder.mkdir()
    for i, (task_id, prediction) in enumerate(predictions.items(), 1):
        record = builtin[task_id].to_record() if task_id in builtin else {
            "path": f"output/x/{task_id}.py"}
        (folder / f"result-{i:05d}.json").write_text(json.dumps({**record,
                                                                 "prediction": prediction}))
    (folder / "result-00099.json").write_text("")  # the authors' data has 0-byte files too
    return folder


def test_authors_layout_with_both_verdicts(tmp_path, builtin, capsys):
    b1, b2 = builtin["b001_softmax"], builtin["b002_box_iou"]
    folder = _authors_dir(tmp_path, builtin, {
        # right, then a completion model's next function: the authors cut it at `def `
        "b001_softmax": b1.reference + "\ndef unrelated(x):\n    return x\n",
        # right, but it logs a line with "Error" on stderr: only the authors' criterion fails it
        "b002_box_iou": "    import sys\n    print('Error-free, just a log line', "
                        "file=sys.stderr)\n" + b2.reference,
        "b003_conv_output_shape": "    return None\n",  # wrong for both
        "f99999_unknown": "    pass\n",
    })
    out = tmp_path / "run"
    assert main(["score", "--tasks", "builtin", "--ids",
                 "b001_softmax,b002_box_iou,b003_conv_output_shape,b004_count_parameters",
                 "--predictions", str(folder), "--compat", "authors", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "name tasks not in --tasks (ignored): f99999_unknown" in err
    assert "1 empty prediction files" in err
    records = {r.task_id: r for r in load_samples(out / "samples.jsonl")[0]}
    assert records["b001_softmax"].passed and records["b001_softmax"].compat.passed
    assert records["b002_box_iou"].passed and not records["b002_box_iou"].compat.passed
    assert records["b002_box_iou"].compat.stderr_has_error
    assert not records["b003_conv_output_shape"].passed
    assert not records["b003_conv_output_shape"].compat.passed
    assert records["b003_conv_output_shape"].status == "failed"
    assert records["b004_count_parameters"].status == "missing"
    report = json.loads((out / "report.json").read_text())
    assert report["n_scored"] == 4 and report["sr_all"] == 0.5
    assert report["compat"]["n"] == 3 and report["compat"]["agree"] == 2
    assert [d["task_id"] for d in report["compat"]["disagree"]] == ["b002_box_iou"]
    assert "The authors' harness on the same predictions" in (out / "report.md").read_text()


def test_jsonl_predictions_fenced_functions_and_samples(tmp_path, builtin):
    b1 = builtin["b001_softmax"]
    lines = [{"task_id": "b001_softmax", "completion": f"```python\n{b1.reference_code}\n```"},
             {"task_id": "b001_softmax", "completion": "    return []\n"}]
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    out = tmp_path / "run"
    assert main(["score", "--tasks", "builtin", "--ids", "b001_softmax", "--predictions",
                 str(path), "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["per_task"]["b001_softmax"]["samples"] == 2
    assert report["sr_all"] == 0.5 and report["pass_at_k"] == {"1": 0.5, "2": 1.0}


@pytest.mark.parametrize(("content", "message"), [
    ("", "holds no predictions"),
    ('{"task_id": "b001_softmax", "completion": "x"}\n{"task_id": 3}\n',
     "p.jsonl:2: needs string fields task_id, completion"),
    ('{"task_id": "b001_softmax", "completion": "x"}\nnot json\n', "p.jsonl:2: not JSON"),
])
def test_bad_predictions_are_one_line_errors(tmp_path, capsys, content, message):
    path = tmp_path / "p.jsonl"
    path.write_text(content)
    assert main(["score", "--tasks", "builtin", "--predictions", str(path), "--out",
                 str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1


def test_the_authors_program_is_their_script():
    assert cut_at_def("    x = 1\n    return x\ndef more():\n    pass\n") == \
        "    x = 1\n    return x\n"
    assert cut_at_def("    return 2\n    def inner(): pass\n") == \
        "    return 2\n    def inner(): pass\n"  # only a line *starting* with `def ` cuts


def test_scores_the_shared_codellama_predictions(tmp_path, v3_jsonl, capsys):
    """The real authors' layout, including their 0-byte files (13b: result-00018/19)."""
    folder = v3_jsonl.parent / "hf-eval-data-v3-result-13b"
    preds = load_predictions(folder)
    assert preds.empty_files == ["result-00018.json", "result-00019.json"]
    assert len(preds.by_task) == 239
    out = tmp_path / "run"
    assert main(["score", "--tasks", str(v3_jsonl), "--ids", "f00016_load_graphormer_model",
                 "--predictions", str(folder), "--compat", "authors", "--env", "app",
                 "--no-skip", "--out", str(out)]) == 0
    (record,), _ = load_samples(out / "samples.jsonl")
    assert record.compat is not None and record.compat.program.startswith("# function_import")
    from aicoder.tasks import load_jsonl

    task = next(t for t in load_jsonl(v3_jsonl) if t.task_id == record.task_id)
    assert record.compat.program == authors_program(task, json.loads(
        next(p for p in folder.iterdir() if p.stat().st_size and "f00016" in p.read_text()
             ).read_text())["prediction"])


def test_the_projects_authors_layout_both_verdicts_and_report(tmp_path, capsys):
    """The project's own records and authors'-layout predictions (tests/data): every verdict
    kind, both criteria side by side, and `report` on the result."""
    out = tmp_path / "run"
    assert main(["score", "--tasks", str(MINI_JSONL), "--predictions", str(MINI_AUTHORS),
                 "--compat", "authors", "--env", "app", "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "1 empty prediction files" in err
    records = {r.task_id: r for r in load_samples(out / "samples.jsonl")[0]}
    # right, with a next function after it that the authors' cut removes
    assert records["f80001_min_max_normalize"].passed
    assert records["f80001_min_max_normalize"].compat.passed
    # the mask is ignored: only the padded case fails, so SR@Any holds and SR@All does not
    pooling = records["f80002_masked_mean_pooling"]
    assert pooling.status == "failed" and not pooling.compat.passed
    assert (pooling.checks_passed, pooling.checks_total) == (2, 3)
    # the test catches the missing file and checks nothing: the authors pass it, we do not
    assert records["f80003_load_label_names"].status == "vacuous"
    assert records["f80003_load_label_names"].compat.passed
    # right, but a log line with "Error" on stderr fails the authors' criterion
    trend = records["f80005_fit_linear_trend"]
    assert trend.passed and not trend.compat.passed and trend.compat.stderr_has_error
    assert records["f80006_count_words"].status == "missing"
    assert "f80004_classify_sentiment" not in records  # its Hub model is not cached: skipped
    report = json.loads((out / "report.json").read_text())
    assert report["n_tasks"] == 6 and report["n_skipped"] == 1 and report["n_scored"] == 5
    assert "distilbert" in report["skipped"]["f80004_classify_sentiment"]
    assert report["sr_all"] == pytest.approx(2 / 5) and report["sr_any"] == pytest.approx(3 / 5)
    assert report["n_vacuous"] == 1
    assert report["compat"]["n"] == 4 and report["compat"]["agree"] == 2
    assert sorted(d["task_id"] for d in report["compat"]["disagree"]) == [
        "f80003_load_label_names", "f80005_fit_linear_trend"]

    # `report` reads the run again and writes the same numbers, with its plots
    assert main(["report", str(out)]) == 0
    again = json.loads((out / "report.json").read_text())
    assert (again["sr_all"], again["sr_any"], again["n_skipped"]) == (
        report["sr_all"], report["sr_any"], report["n_skipped"])
    assert (out / "report.md").is_file() and (out / "repair_curve.png").stat().st_size > 0


def test_the_projects_jsonl_predictions(tmp_path):
    """Fenced functions with prose, body completions, several samples of one task."""
    out = tmp_path / "run"
    assert main(["score", "--tasks", str(MINI_JSONL), "--predictions", str(MINI_PREDICTIONS),
                 "--env", "app", "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    per_task = report["per_task"]
    assert per_task["f80001_min_max_normalize"]["samples"] == 2
    assert per_task["f80001_min_max_normalize"]["samples_passed"] == 1
    assert per_task["f80002_masked_mean_pooling"]["samples_passed"] == 1
    assert per_task["f80005_fit_linear_trend"]["samples_passed"] == 0
    # f80003 and f80006 have no prediction (missing, scored 0); f80004 is skipped
    assert report["n_scored"] == 5
    assert report["pass_at_k"]["1"] == pytest.approx((0.5 + 1 + 0 + 0 + 0) / 5)
