"""The eval pieces around run/score: the Hub scan and prefetch (against a local Hub double),
skipping what cannot run here, check-gt's exclusion list, execution environments, script
mode, and the report's arithmetic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aicoder.runs import Run, RunConfig, SampleRecord
from aicoder.tasks.hubrefs import HubRef, cached, scan_source
from aicoder.tasks.loaders import load_builtin_file
from eval.cli import main
from eval.report import build_report
from sandbox import Program, Status
from tests.hub_double import HubDouble
from tests.server_double import ServerDouble, reference_responder

ROOT = Path(__file__).resolve().parent.parent
BERT_CONFIG = {"model_type": "bert", "hidden_size": 16, "num_hidden_layers": 1,
               "num_attention_heads": 2, "intermediate_size": 32, "vocab_size": 64}

TASK = '''# function_import --------------------

from transformers import AutoConfig

# function_code --------------------

def {fn}(name: str = "{repo}") -> int:
    """The hidden size of the Hub model `{repo}`."""
    return AutoConfig.from_pretrained(name).hidden_size

# test_function_code --------------------

def test_{fn}():
    assert {fn}() == 16
    assert {fn}("{repo}") > 0

# call_test_function_code --------------------

test_{fn}()
'''


def test_the_scan_finds_what_tasks_load():
    source = '''
from transformers import AutoModel, pipeline
from datasets import load_dataset
from huggingface_hub import hf_hub_download
CHECKPOINT = "org/model-a"
def f(model_name="org/model-b", data="csv"):
    m = AutoModel.from_pretrained(CHECKPOINT)
    p = pipeline("ner", model=model_name)
    q = pipeline("summarization", "org/model-c")
    d = load_dataset("org/data-d")
    e = load_dataset(data, data_files="x.csv")   # a builder, not a repository
    hf_hub_download(repo_id="org/data-e", filename="x", repo_type="dataset")
    local = AutoModel.from_pretrained("./saved")   # a folder
    return g("org/model-f")
def g(name):
    return AutoModel.from_pretrained(name)
'''
    assert scan_source(source) == {
        HubRef("org/model-a"), HubRef("org/model-b"), HubRef("org/model-c"),
        HubRef("org/data-d", "dataset"), HubRef("org/data-e", "dataset"),
        HubRef("org/model-f")}
    assert scan_source("def broken(:\n") == set()


def test_cache_detection(tmp_path):
    ref = HubRef("org/m")
    assert not cached(ref, tmp_path) and not cached(ref, None)
    (tmp_path / "models--org--m" / "snapshots" / "abc").mkdir(parents=True)
    assert not cached(ref, tmp_path)  # an empty snapshot is not a download
    (tmp_path / "models--org--m" / "snapshots" / "abc" / "config.json").write_text("{}")
    assert cached(ref, tmp_path)


def _hub_tasks(tmp_path) -> Path:
    records = []
    for name, repo in (("t_cached", "org/tiny-bert"), ("t_absent", "org/absent")):
        path = tmp_path / f"{name}.py"
        path.write_text(TASK.format(repo=repo, fn=f"hidden_size_{name}"))
        task = load_builtin_file(path)[0]
        records.append({**task.to_record(), "path": f"output/{name}.py"})
    out = tmp_path / "hub-tasks.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in records))
    return out


def _eval(args, env):
    return subprocess.run([sys.executable, "-m", "eval", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.usefixtures("bwrap")
def test_prefetch_fills_the_cache_and_run_skips_what_is_missing(tmp_path):
    """prefetch against a local Hub double; then the task whose model is cached runs in the
    sandbox (offline, cache read-only) and the other is skipped, not failed."""
    tmp_path.chmod(0o755)
    tasks = _hub_tasks(tmp_path)
    cache = tmp_path / "hub-cache"
    repos = {"org/tiny-bert": {"config.json": json.dumps(BERT_CONFIG).encode(),
                               "model.safetensors": b"0" * 2000,
                               "pytorch_model.bin": b"1" * 3000,  # same weights: not fetched
                               "tf_model.h5": b"2" * 4000}}
    with HubDouble(repos) as hub:
        env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HUB_CACHE": str(cache),
               "PYTHONPATH": str(ROOT)}
        env.pop("HF_HUB_OFFLINE", None)
        listing = _eval(["tasks", "--tasks", str(tasks)], env)
        assert "2 tasks, 0 can run here" in listing.stdout, listing
        dry = _eval(["prefetch", "--tasks", str(tasks), "--dry-run"], env)
        assert dry.returncode == 1
        assert "org/tiny-bert: 2 files, 2.1 KB" in dry.stdout, dry
        assert "cannot fetch org/absent (used by t_absent): not on the Hub (404)" in dry.stderr
        assert not cache.exists() or not any(cache.iterdir())
        real = _eval(["prefetch", "--tasks", str(tasks)], env)
        assert real.returncode == 1 and "fetched org/tiny-bert" in real.stdout, real
        snapshot = next((cache / "models--org--tiny-bert" / "snapshots").iterdir())
        assert sorted(p.name for p in snapshot.iterdir()) == ["config.json", "model.safetensors"]
        listing = _eval(["tasks", "--tasks", str(tasks)], env)
        assert "2 tasks, 1 can run here" in listing.stdout
        assert "yes (Hub models cached)" in listing.stdout
        again = _eval(["prefetch", "--tasks", str(tasks), "--dry-run"], env)
        assert "1 already cached, 1 to fetch" in again.stdout

    from aicoder.tasks import load_jsonl

    with ServerDouble(reference_responder(load_jsonl(tasks))) as server:
        env = {**os.environ, "HF_HUB_CACHE": str(cache), "PYTHONPATH": str(ROOT)}
        done = _eval(["run", "--tasks", str(tasks), "--env", "app", "--mode", "direct",
                      "--model", f"openai:{server.url}", "--out", str(tmp_path / "run")], env)
    assert done.returncode == 0, done.stderr
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["n_tasks"] == 2 and report["n_scored"] == 1 and report["n_skipped"] == 1
    assert report["per_task"]["t_cached"]["all_passed"] is True
    assert "org/absent" in report["skipped"]["t_absent"]
    assert "Skipped (1): could not run here" in (tmp_path / "run" / "report.md").read_text()


@pytest.mark.usefixtures("bwrap")
def test_check_gt_exclusions_are_honoured_by_run_and_report(tmp_path, capsys):
    """A task whose reference fails is excluded, never counted as the model's failure."""
    from aicoder.tasks import load_tasks

    records = [t.to_record() for t in load_tasks("builtin")[:3]]
    records[1]["answer"] = "    return None\n"  # its reference now fails its own test
    records[1]["function_code"] = records[1]["function_code"].replace(
        records[1]["function_code"].split('"""')[-1], "\n    return None\n")
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    bad = load_tasks(str(path))[1].task_id
    assert main(["check-gt", "--tasks", str(path), "--env", "app"]) == 0
    assert "exclusion list (1 tasks" in capsys.readouterr().out
    with ServerDouble(reference_responder(load_tasks(str(path)))) as server:
        assert main(["run", "--tasks", str(path), "--env", "app", "--mode", "direct",
                     "--model", f"openai:{server.url}", "--out", str(tmp_path / "r")]) == 0
    assert "of these tasks excluded" in capsys.readouterr().err
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["n_skipped"] == 1 and bad in report["skipped"]
    assert report["n_scored"] == 2 and report["sr_all"] == 1.0
    assert "reference failed" in report["skipped"][bad]


@pytest.mark.usefixtures("bwrap")
def test_an_execution_environment_runs_the_candidates(tmp_path, capsys):
    """`env create` builds a venv; `--env` makes the sandbox run candidates with it."""
    req = tmp_path / "tiny.txt"
    req.write_text("# nothing beyond the standard library\n")
    assert main(["env", "create", "--name", "tiny", "--requirements", str(req)]) == 0
    assert "built tiny" in capsys.readouterr().out
    assert main(["env", "create", "--name", "tiny", "--requirements", str(req)]) == 2
    assert "add --force" in capsys.readouterr().err
    assert main(["env", "list"]) == 0
    assert capsys.readouterr().out.split() == ["tiny"]
    from eval.envs import resolve
    from sandbox import get_sandbox

    env = resolve("tiny")
    assert env.python.endswith("envs/tiny/bin/python") and "pip" in env.packages
    box = get_sandbox("bwrap", python=env.python)
    result = box.run(Program(candidate="import sys\nprint(sys.prefix)\n", test="", entry="",
                             script=True))
    assert result.stdout.strip().endswith("envs/tiny"), result
    # the app's packages are not there: the environment is its own
    result = box.run(Program(candidate="import pydantic\n", test="", entry="", script=True))
    assert "No module named 'pydantic'" in result.stderr


def test_script_mode_reports_like_the_interpreter(bwrap):
    result = bwrap.run(Program(candidate="print('out')\nraise KeyError('k')\n", test="",
                               entry="", script=True))
    assert result.status is Status.ERROR and result.stdout == "out\n"
    assert result.stderr.startswith("Traceback (most recent call last):\n  File \"candidate.py\"")
    assert result.stderr.rstrip().endswith("KeyError: 'k'")
    result = bwrap.run(Program(candidate="x = 1\n", test="", entry="", script=True))
    assert result.status is Status.VACUOUS and not result.passed


def _rec(task_id, sample=0, *, status="passed", executed=3, passed_round=0, **kw):
    ok = status == "passed" and executed > 0
    return SampleRecord(task_id=task_id, sample=sample, status=status, passed=ok,
                        any_passed=ok or kw.pop("any", False), checks_total=3,
                        checks_passed=3 if ok else 0, checks_executed=executed,
                        passed_at_round=passed_round if ok else None, **kw)


def test_report_arithmetic():
    records = [_rec("a", 0), _rec("a", 1, status="failed", any=True),
               _rec("b", 0, passed_round=2), _rec("b", 1, passed_round=1),
               _rec("c", 0, status="vacuous", executed=0), _rec("c", 1, status="vacuous",
                                                                 executed=0)]
    run = Run(Path("x"), RunConfig(model="m", mode="codergen", samples=2, max_rounds=3,
                                   n_tasks=4), records, {"d": "Hub repository not in the cache"},
              {"a": {"domain": "NLP"}, "b": {"domain": "NLP"}, "c": {"domain": "CV"}})
    d = build_report(run).as_dict()
    assert (d["n_tasks"], d["n_scored"], d["n_skipped"], d["n_missing"]) == (4, 3, 1, 0)
    assert d["sr_all"] == round((0.5 + 1 + 0) / 3, 4)
    assert d["sr_any"] == round((1 + 1 + 0) / 3, 4)  # a vacuous sample never counts
    assert d["pass_at_k"] == {"1": d["sr_all"], "2": round((1 + 1 + 0) / 3, 4)}
    assert d["repair_curve"] == [round(0.5 / 3, 4), round(1 / 3, 4), round(1.5 / 3, 4),
                                 round(1.5 / 3, 4)]
    assert d["by_domain"]["CV"] == {"n": 1, "sr_all": 0.0, "sr_any": 0.0}
    assert d["n_vacuous"] == 2 and d["per_task"]["c"]["status"] == "vacuous"
    lo, hi = d["intervals"]["sr_all"]
    assert 0 <= lo <= d["sr_all"] <= hi <= 1


def test_the_environment_dockerfile_installs_the_same_file_torch_first(tmp_path):
    from eval.envs import dockerfile, image_tag, requirements_file

    req = requirements_file("aicodereval")
    text = dockerfile(req)
    assert text.index("pip install torch==2.13.0 --index-url") < \
        text.index("pip install -r /tmp/requirements.txt")
    assert image_tag("aicodereval", req).startswith("aicoder-env-aicodereval:")
    # pins that the tasks' removed names need (see eval/envs/aicodereval.txt)
    pins = req.read_text()
    assert "transformers==4." in pins and "huggingface_hub==0.24" in pins


@pytest.mark.docker
def test_a_failing_image_build_is_one_line(tmp_path, capsys):
    """No registry here: build FROM the sandbox's own tiny base image (no shell) must fail
    with the engine's reason, in one line."""
    from sandbox import SandboxUnavailable, get_sandbox

    try:
        get_sandbox("docker", hf_cache=False)  # also makes the local base image
    except SandboxUnavailable as exc:
        pytest.skip(str(exc))
    from sandbox.backends.docker import BASE_IMAGE

    req = tmp_path / "r.txt"
    req.write_text("six\n")
    assert main(["env", "docker-build", "--name", "t", "--requirements", str(req),
                 "--base", BASE_IMAGE]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: docker build of aicoder-env-t:") and err.count("\n") == 1
