"""Task records: loading the project's own AICoderEval-layout records and the shared v3 data,
round trips, bad records, the Hub path, builtin."""

from __future__ import annotations

import csv
import json

import pytest

from aicoder.errors import TaskFormatError, TaskSourceError
from aicoder.tasks import RECORD_FIELDS, Task, load_builtin, load_hub, load_jsonl, load_tasks
from tests.conftest import MINI_JSONL, SHARED


def test_all_241_v3_records_load_and_round_trip(v3_jsonl, v3_tasks):
    records = [json.loads(line) for line in v3_jsonl.read_text().splitlines() if line.strip()]
    assert len(v3_tasks) == len(records) == 241
    for task, record in zip(v3_tasks, records, strict=True):
        assert task.to_record() == record
        again = Task.from_record(json.loads(json.dumps(task.to_record())))
        assert again.model_dump(exclude={"source"}) == task.model_dump(exclude={"source"})


def test_the_projects_records_load_and_round_trip(mini_tasks):
    records = [json.loads(line) for line in MINI_JSONL.read_text().splitlines() if line.strip()]
    assert [t.task_id for t in mini_tasks.values()] == [
        r["path"].rsplit("/", 1)[1].removesuffix(".py") for r in records]
    for task, record in zip(mini_tasks.values(), records, strict=True):
        assert task.to_record() == record
        again = Task.from_record(json.loads(json.dumps(task.to_record())))
        assert again.model_dump(exclude={"source"}) == task.model_dump(exclude={"source"})
        # the prompt plus the answer is the reference function, as in the dataset
        assert (task.prompt + task.reference).strip() == \
            (task.imports + task.reference_code).strip()


def test_the_projects_record_fields_are_derived(mini_tasks):
    pooling = mini_tasks["f80002_masked_mean_pooling"]
    assert pooling.function_name == "masked_mean_pooling"
    assert pooling.test_entry == "test_masked_mean_pooling"
    assert pooling.framework == "pytorch"
    assert pooling.prompt.rstrip().endswith('"""')
    assert pooling.source.endswith("aicodereval-mini.jsonl:2")
    assert mini_tasks["f80004_classify_sentiment"].framework == "transformers"
    assert mini_tasks["f80004_classify_sentiment"].domain == "Natural Language Processing"
    assert mini_tasks["f80005_fit_linear_trend"].framework == "scikit-learn"
    # call lines such as `print(test_x())` or an `if __name__` guard still name the test
    assert all(t.test_entry in t.call for t in mini_tasks.values())
    assert "__main__" in mini_tasks["f80005_fit_linear_trend"].call
    assert "print(test_count_words())" in mini_tasks["f80006_count_words"].call


def test_v3_fields_are_derived(v3_tasks):
    by_id = {t.task_id: t for t in v3_tasks}
    task = by_id["f00035_sentiment_analysis"]
    assert task.function_name == "sentiment_analysis"
    assert task.test_entry == "test_sentiment_analysis"
    assert task.framework == "transformers"
    assert task.domain == "Natural Language Processing"
    assert task.prompt.rstrip().endswith("'''")
    assert task.source.endswith("hf-eval-data-v3-instruct.jsonl:6")
    # one task's "function" is a class
    assert by_id["f00438_TF_Decision_Trees"].function_name == "TF_Decision_Trees"
    # call lines such as `print(test_x())` or an `if __name__` guard still name the test
    assert all(t.test_entry in t.call for t in v3_tasks)


@pytest.mark.shared_data(SHARED / "data" / "aicodereval" / "derived" / "v3_valid_task_metadata.csv")
def test_domains_agree_with_apibench_metadata(v3_tasks):
    """The derived domain matches the APIBench record the task came from, most of the time."""
    path = SHARED / "data" / "aicodereval" / "derived" / "v3_valid_task_metadata.csv"
    rows = {r["file"].removesuffix(".py"): r["apibench_domain"] for r in csv.DictReader(path.open())}
    agree = sum(rows[t.task_id].startswith(t.domain) for t in v3_tasks)
    assert agree / len(v3_tasks) >= 0.85, agree


def _record(**changes):
    record = {
        "path": "output/x/f99999_double.py",
        "content": "",
        "function_import": "# function_import --------------------\n\n",
        "function_code": "# function_code --------------------\n\ndef double(x):\n"
                         "    \"\"\"Twice x.\"\"\"\n    return 2 * x\n",
        "test_function_code": "# test_function_code --------------------\n\ndef test_double():\n"
                              "    assert double(2) == 4\n",
        "call_test_function_code": "# call_test_function_code --------------------\n\n"
                                   "test_double()",
        "instruct": "def double(x):\n    \"\"\"Twice x.\"\"\"\n",
        "answer": "    return 2 * x\n",
    }
    record.update(changes)
    return {k: v for k, v in record.items() if v is not None}


def test_missing_fields_are_named_with_file_and_line(tmp_path):
    path = tmp_path / "tasks.jsonl"
    good = json.dumps(_record())
    bad = json.dumps(_record(answer=None, instruct=None))
    path.write_text(good + "\n\n" + bad + "\n")
    with pytest.raises(TaskFormatError) as info:
        load_jsonl(path)
    message = str(info.value)
    assert f"{path}:3" in message
    assert "missing fields instruct, answer" in message


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        (json.dumps(_record(answer=3)), "field answer must be strings"),
        (json.dumps(_record(function_code="def broken(:\n")), "function_code does not parse"),
        (json.dumps(_record(test_function_code="x = 1\n")), "defines no test function"),
        (json.dumps(_record(path="")), "empty field path"),
    ],
)
def test_bad_records_are_rejected_with_a_reason(tmp_path, line, expected):
    path = tmp_path / "bad.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(TaskFormatError, match=expected) as info:
        load_jsonl(path)
    assert f"{path}:1" in str(info.value)


def test_duplicate_ids_and_empty_files_are_errors(tmp_path):
    path = tmp_path / "dup.jsonl"
    path.write_text(json.dumps(_record()) + "\n" + json.dumps(_record()) + "\n")
    with pytest.raises(TaskFormatError, match="repeats line 1"):
        load_jsonl(path)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(TaskFormatError, match="no records"):
        load_jsonl(empty)


def test_task_source_specs(tmp_path):
    assert len(load_tasks(str(MINI_JSONL))) == 6
    assert {t.task_id for t in load_tasks("builtin")} == {t.task_id for t in load_builtin()}
    with pytest.raises(TaskSourceError, match="no tasks at"):
        load_tasks(str(tmp_path / "nope.jsonl"))
    with pytest.raises(TaskSourceError, match="hub:OWNER/NAME"):
        load_tasks("hub:justaname")
    with pytest.raises(TaskSourceError, match="unknown split"):
        load_tasks("hub:vixuowis/AICoderEval:validation")


def _fake_hub_cache(hf_home, repo: str, filename: str, text: str) -> None:
    """Lay out a HuggingFace hub cache by hand, as hf_hub_download leaves it."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    base = hf_home / "hub" / ("datasets--" + repo.replace("/", "--"))
    snapshot = base / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (snapshot / filename).write_text(text)
    (base / "refs").mkdir()
    (base / "refs" / "main").write_text(commit)


def test_hub_loader_reads_the_cache_offline(tmp_path, monkeypatch):
    """The real huggingface_hub path, served from a cache laid out on disk (no network)."""
    hf_home = tmp_path / "hf"
    monkeypatch.setenv("HF_HOME", str(hf_home))
    lines = MINI_JSONL.read_text().splitlines()[:5]
    _fake_hub_cache(hf_home, "vixuowis/AICoderEval", "v5-test-492.jsonl", "\n".join(lines))
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hf_home / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    tasks = load_tasks("hub:vixuowis/AICoderEval")
    assert [t.task_id for t in tasks] == [json.loads(line)["path"].split("/")[-1][:-3]
                                          for line in lines]
    with pytest.raises(TaskSourceError, match="not in the HuggingFace cache"):
        load_hub("vixuowis/AICoderEval", "train")


def test_builtin_suite_is_well_formed():
    tasks = load_builtin()
    assert len(tasks) >= 30
    assert {t.domain for t in tasks} >= {"Natural Language Processing", "Computer Vision",
                                         "Multimodal", "Tabular"}
    for task in tasks:
        record = task.to_record()
        assert set(record) == set(RECORD_FIELDS)
        # the prompt plus the answer is the reference function, as in the dataset
        assert (task.prompt + task.reference).strip() == (task.imports + task.reference_code).strip()


def test_every_builtin_reference_passes_several_checks(bwrap):
    """The builtin suite is the offline benchmark: each reference must pass all its checks."""
    from concurrent.futures import ThreadPoolExecutor

    from aicoder.tasks import reference_program

    tasks = load_builtin()
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda t: bwrap.run(reference_program(t)), tasks))
    for task, result in zip(tasks, results, strict=True):
        assert result.passed, (task.task_id, result.reason)
        assert len(result.checks) >= 3, (task.task_id, len(result.checks))
