"""The run format's one home (`aicoder.runs`): run directories written before it existed still
load and report the same; one loader and one torn-line rule; every status is an enum value;
steps carry only what their kind means; ReAct's rounds mean attempts."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from aicoder.agents import (
    STEP,
    ExecuteStep,
    FinalStep,
    ModelStep,
    ObservationStep,
    ReAct,
    StepKind,
    steps_only,
)
from aicoder.runs import (
    FORMAT_VERSION,
    Report,
    RunConfig,
    RunDir,
    RunDirError,
    SampleStatus,
    load_samples,
    read_run,
    record_from_steps,
)
from aicoder.tasks import load_builtin
from aicoder.ui.studio import load_run_samples, read_leaderboard
from sandbox import Status
from tests.doubles import ScriptedModel

#: run directories written by `eval run` and `eval score --compat authors` at commit 9435960,
#: before the run format had a home (no format_version, untyped steps)
V0 = Path(__file__).parent / "fixtures" / "runs-v0"


@pytest.fixture()
def v0(tmp_path) -> Path:
    shutil.copytree(V0, tmp_path / "runs")
    return tmp_path / "runs"


def test_a_run_directory_from_before_the_format_loads(v0):
    run = read_run(v0 / "codergen")
    assert run.config.format_version == 0 and run.config.mode == "codergen"
    assert [r.task_id for r in run.records] == ["b001_softmax", "b002_box_iou"] or \
        sorted(r.task_id for r in run.records) == ["b001_softmax", "b002_box_iou"]
    by_id = {r.task_id: r for r in run.records}
    assert by_id["b001_softmax"].status is SampleStatus.PASSED
    assert by_id["b002_box_iou"].status is SampleStatus.FAILED
    # the untyped steps come back as their kinds' classes
    steps = by_id["b002_box_iou"].steps
    assert [type(s) for s in steps[:2]] == [ModelStep, ExecuteStep]
    assert isinstance(steps[-1], FinalStep) and steps[-1].passed is False
    assert steps[1].result.status is Status.FAILED
    old = Report.model_validate_json((v0 / "codergen" / "report.json").read_bytes())
    assert old.format_version == 0 and old.sr_all == 0.5


def test_eval_report_on_an_old_run_gives_the_same_numbers(v0, capsys):
    from eval.cli import main

    before = {name: json.loads((v0 / name / "report.json").read_text())
              for name in ("codergen", "score")}
    assert main(["report", str(v0 / "codergen"), str(v0 / "score")]) == 0
    assert "SR@All" in capsys.readouterr().out
    for name, old in before.items():
        new = json.loads((v0 / name / "report.json").read_text())
        assert new["format_version"] == FORMAT_VERSION
        # every key the old report had is there, with the same value
        assert {k: new[k] for k in old} == old, name
    score = json.loads((v0 / "score" / "report.json").read_text())
    assert score["statuses"]["missing"] == 1 and score["compat"]["n"] == 2


def test_resuming_an_old_run_keeps_its_config_and_writes_the_version(v0):
    config = read_run(v0 / "codergen").config
    with RunDir(v0 / "codergen", config.model_copy(update={"workers": 7})).open() as rundir:
        assert len(rundir.done) == 2 and rundir.dropped == 0
    written = json.loads((v0 / "codergen" / "config.json").read_text())
    assert written["format_version"] == FORMAT_VERSION and written["resumed"] == 1
    assert written["workers"] == 7  # a volatile key takes the new value
    other = config.model_copy(update={"temperature": 0.9})
    with pytest.raises(RunDirError, match=r"another config \(temperature: 0\.6 -> 0\.9\)"):
        RunDir(v0 / "codergen", other).open()


def test_unknown_keys_of_a_config_are_kept(tmp_path):
    config = RunConfig.model_validate({"model": "m", "from_the_future": [1, 2]})
    with RunDir(tmp_path / "r", config).open():
        pass
    assert json.loads((tmp_path / "r" / "config.json").read_text())["from_the_future"] == [1, 2]


def test_one_rule_for_a_torn_last_line_for_every_reader(v0):
    samples = v0 / "codergen" / "samples.jsonl"
    whole = samples.read_bytes()
    samples.write_bytes(whole + whole.splitlines(keepends=True)[0][:40])  # killed mid-line
    records, dropped = load_samples(samples)
    assert (len(records), dropped) == (2, 1)
    assert len(load_run_samples(samples)) == 2  # the Space's replay: the same loader
    samples.write_bytes(whole + b'{"task_id": "x"}\n')  # a whole last line, not a record
    assert load_samples(samples) == (records, 1)
    samples.write_bytes(b'{"task_id": "x"}\n' + whole)  # damage before the last line
    with pytest.raises(RunDirError, match=r"samples.jsonl:1: not a sample record"):
        load_samples(samples)
    with pytest.raises(Exception, match=r"^samples.jsonl:1: not a sample record"):
        load_run_samples(samples)  # named as the visitor knows it
    assert read_leaderboard(v0)[0]["run"] in ("codergen", "score")


def test_every_execution_status_is_a_sample_status():
    assert {s.value for s in Status} <= {s.value for s in SampleStatus}
    assert {s.value for s in SampleStatus} - {s.value for s in Status} == {
        "no_code", "missing", "skipped"}


def test_steps_carry_only_what_their_kind_means(v0):
    record = read_run(v0 / "codergen").records[0]
    stored = json.loads(record.model_dump_json())["steps"]
    model = next(s for s in stored if s["kind"] == "generate")
    execute = next(s for s in stored if s["kind"] == "execute")
    final = next(s for s in stored if s["kind"] == "final")
    assert "result" not in model and "passed" not in model and "prompt_tokens" in model
    assert "prompt_tokens" not in execute and "result" in execute
    assert "code" not in final and "verdict_step" in final
    for line in stored:
        assert type(STEP.validate_python(line)).__name__ != "Step"
    with pytest.raises(ValueError):
        STEP.validate_python({"index": 0, "kind": "teleport", "round": 0})


def _fenced(code: str) -> str:
    return "```python\n" + code + "\n```"


def test_react_rounds_are_attempts_and_its_record_is_judged(bwrap):
    iou = next(t for t in load_builtin() if t.task_id == "b002_box_iou")
    broken = iou.reference_code.replace("return inter / union if union > 0 else 0.0",
                                        "return 0.5")
    model = ScriptedModel([
        "Thought: look.\nAction: python\n```python\nprint(1)\n```",
        "Thought: try.\nAction: run_tests\n" + _fenced(broken),
        "Thought: fix.\nAction: run_tests\n" + _fenced(iou.reference_code),
        "Thought: done.\nAction: finish\n" + _fenced(iou.imports + iou.reference_code),
    ])
    steps = steps_only(ReAct(model, bwrap).run(iou))
    tests = [s for s in steps if isinstance(s, ObservationStep) and s.action != "python"]
    assert [(s.action, s.round, s.turn) for s in tests] == [
        ("run_tests", 0, 1), ("run_tests", 1, 2), ("finish", 2, 3)]
    probe = next(s for s in steps if isinstance(s, ObservationStep) and s.action == "python")
    assert (probe.round, probe.turn) == (0, 0)
    final = steps[-1]
    assert final.kind is StepKind.FINAL and final.passed and final.rounds == 2
    assert final.verdict_step == tests[-1].index
    record = record_from_steps(iou.task_id, 0, steps)
    # judged by its finish (before, a ReAct sample had no execution: "no_code")
    assert record.status is SampleStatus.PASSED and record.passed
    assert record.passed_at_round == 1 and record.rounds == 2
    assert record.prompt_tokens == sum(s.prompt_tokens for s in steps
                                       if isinstance(s, ModelStep))
