"""`python -m eval run` and `report` end to end: a served model double (TGI/vLLM cannot run
here) answers each builtin task, the real sandbox judges, the run directory records."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest

from aicoder.runs import RunDirError, load_samples
from aicoder.tasks import load_tasks
from eval.cli import main
from tests.server_double import ServerDouble, reference_responder

pytestmark = pytest.mark.usefixtures("bwrap")

IDS = "b001_softmax,b002_box_iou,b003_conv_output_shape,b004_count_parameters"


@pytest.fixture(scope="module")
def builtin():
    return load_tasks("builtin")


@pytest.fixture
def served(builtin):
    """b002 gets a broken answer every time; the rest their reference."""
    calls = []
    respond = reference_responder(builtin, wrong=frozenset({"b002_box_iou"}))

    def counted(body):
        calls.append(body)
        return respond(body)

    with ServerDouble(counted) as server:
        server.calls = calls
        yield server


def _run(server, out, *extra):
    return main(["run", "--tasks", "builtin", "--ids", IDS, "--model", f"openai:{server.url}",
                 "--mode", "codergen", "--max-rounds", "1", "--out", str(out), *extra])


def test_run_records_every_sample_and_reports(served, tmp_path, capsys):
    out = tmp_path / "r"
    assert _run(served, out) == 0
    records, dropped = load_samples(out / "samples.jsonl")
    assert dropped == 0 and sorted(r.task_id for r in records) == sorted(IDS.split(","))
    verdicts = {r.task_id: r for r in records}
    assert not verdicts["b002_box_iou"].passed and verdicts["b001_softmax"].passed
    broken = verdicts["b002_box_iou"]
    # the full step list: generate, execute, analyze, repair, execute (the same broken code:
    # not run again), the re-ask in the same round, execute, final
    assert [s.kind.value for s in broken.steps] == ["generate", "execute", "analyze", "repair",
                                                    "execute", "repair", "execute", "final"]
    assert broken.steps[4].note == "identical to attempt 1: not run again"
    assert broken.checks_total >= 3 and broken.checks_passed == 0
    config = json.loads((out / "config.json").read_text())
    for key in ("model", "mode", "temperature", "top_p", "versions", "source_sha256",
                "git_commit", "env"):
        assert key in config
    assert config["env"] == "app" and config["mode"] == "codergen"
    assert (config["prompts"], config["candidates"], config["analysis_tokens"]) == \
        ("default", 1, 256)
    report = json.loads((out / "report.json").read_text())
    for key in ("n_tasks", "n_scored", "n_skipped", "sr_all", "sr_any", "pass_at_k",
                "by_domain", "repair_curve", "per_task"):
        assert key in report
    assert report["n_tasks"] == 4 and report["n_scored"] == 4 and report["n_skipped"] == 0
    assert report["sr_all"] == 0.75 and report["pass_at_k"]["1"] == 0.75
    assert report["repair_curve"] == [0.75, 0.75]
    row = report["per_task"]["b002_box_iou"]
    assert row["status"] == "failed" and row["all_passed"] is False
    assert row["checks_total"] == row["checks_executed"] >= 3
    assert (out / "report.md").read_text().startswith("# r")
    assert (out / "repair_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert "SR@All" in capsys.readouterr().out


def test_resume_runs_nothing_twice_and_drops_a_torn_line(served, tmp_path, capsys):
    out = tmp_path / "r"
    assert _run(served, out) == 0
    first = len(served.calls)
    assert _run(served, out) == 0  # everything done: no request at all
    assert len(served.calls) == first
    # a kill -9 in the middle of a write leaves half a line: it is dropped and run again
    path = out / "samples.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    victim = json.loads(lines[-1])["task_id"]
    path.write_bytes(b"".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])
    assert _run(served, out) == 0
    assert "dropped a half-written last line" in capsys.readouterr().err
    records, dropped = load_samples(path)
    assert dropped == 0 and len(records) == 4
    assert sorted(r.task_id for r in records) == sorted(IDS.split(","))
    # only the dropped sample was asked again
    again = json.dumps(served.calls[first:])
    name = {t.task_id: t.function_name for t in load_tasks("builtin")}[victim]
    assert f"def {name}(" in again
    others = [t for t in IDS.split(",") if t != victim]
    assert not any(f"def {n}(" in again for n in (
        {t.task_id: t.function_name for t in load_tasks("builtin")}[o] for o in others))


def test_another_config_is_refused(served, tmp_path, capsys):
    out = tmp_path / "r"
    assert _run(served, out, "--limit", "1") == 0
    capsys.readouterr()
    assert _run(served, out, "--limit", "1", "--temperature", "0.2") == 2
    err = capsys.readouterr().err
    assert "holds a run with another config" in err and "temperature: 0.6 -> 0.2" in err
    assert err.count("\n") == 1
    assert _run(served, out, "--limit", "1", "--temperature", "0.2", "--fresh") == 0


def test_samples_and_pass_at_k(builtin, tmp_path):
    # b002 always wrong, the others always right: pass@k is exact and the same for every k
    with ServerDouble(reference_responder(builtin, wrong=frozenset({"b002_box_iou"}))) as s:
        assert main(["run", "--tasks", "builtin", "--ids", "b001_softmax,b002_box_iou",
                     "--model", f"openai:{s.url}", "--mode", "direct", "--samples", "3",
                     "--seed", "7", "--out", str(tmp_path / "k")]) == 0
    report = json.loads((tmp_path / "k" / "report.json").read_text())
    assert report["pass_at_k"] == {"1": 0.5, "2": 0.5}
    assert report["per_task"]["b001_softmax"]["samples"] == 3
    seeds = [json.loads(c)["sample"] for c in (tmp_path / "k" / "samples.jsonl").open()]
    assert sorted(seeds) == [0, 0, 1, 1, 2, 2]


def test_a_server_that_goes_away_stops_the_run_resumably(builtin, tmp_path, capsys):
    count = {"n": 0}
    respond = reference_responder(builtin)

    def flaky(body):
        count["n"] += 1
        if count["n"] > 2:
            threading.Thread(target=server.server.shutdown, daemon=True).start()
            return ("status", 404, "model gone")
        return respond(body)

    with ServerDouble(flaky) as server:
        code = main(["run", "--tasks", "builtin", "--limit", "6", "--model",
                     f"openai:{server.url}", "--mode", "direct", "--concurrency", "1",
                     "--out", str(tmp_path / "g")])
    assert code == 2
    err = capsys.readouterr().err
    assert "the model stopped answering" in err and "resume with: python -m eval run" in err
    records, _ = load_samples(tmp_path / "g" / "samples.jsonl")
    assert 1 <= len(records) <= 3 and all(r.passed for r in records)


@pytest.mark.parametrize(("argv", "message"), [
    (["run", "--tasks", "builtin", "--model", "openai:http://127.0.0.1:9", "--out",
      "/proc/nope/run"], "cannot write to /proc/nope/run"),
    (["run", "--tasks", "builtin", "--model", "nobackend:x", "--out", "{tmp}/x"],
     "unknown model backend"),
    (["run", "--tasks", "builtin", "--samples", "0", "--out", "{tmp}/x"],
     "--samples must be at least 1"),
    (["report", "{tmp}"], "is not a run directory"),
    (["run", "--tasks", "builtin", "--env", "nosuch", "--out", "{tmp}/x"],
     "no execution environment 'nosuch'"),
])
def test_run_mistakes_are_one_line_errors(capsys, tmp_path, argv, message):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err, err


def test_paper_prompts_and_candidates_are_run_options(served, tmp_path):
    paper = tmp_path / "paper"
    assert _run(served, paper, "--prompts", "paper") == 0
    records, _ = load_samples(paper / "samples.jsonl")
    broken = next(r for r in records if r.task_id == "b002_box_iou")
    assert [s.kind.value for s in broken.steps] == ["generate", "execute", "analyze", "repair",
                                                    "execute", "final"]
    config = json.loads((paper / "config.json").read_text())
    assert (config["prompts"], config["analysis_tokens"]) == ("paper", None)
    # a run directory made with the other prompts is another config: refused, not mixed
    assert _run(served, paper) == 2
    many = tmp_path / "many"
    assert _run(served, many, "--candidates", "2") == 0
    records, _ = load_samples(many / "samples.jsonl")
    broken = next(r for r in records if r.task_id == "b002_box_iou")
    assert {s.candidate for s in broken.steps if s.kind.value == "repair"} == {0, 1}


@pytest.mark.parametrize(("argv", "message"), [
    (["--candidates", "0"], "--candidates must be at least 1"),
    (["--analysis-tokens", "3"], "--analysis-tokens must be at least 16"),
    (["--mode", "direct", "--candidates", "2"],
     "--prompts and --candidates are options of codergen, not of direct"),
])
def test_repair_option_mistakes_are_one_line_errors(served, tmp_path, capsys, argv, message):
    assert _run(served, tmp_path / "x", *argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err, err


def test_ctrl_c_saves_what_finished_and_prints_the_resume_command(builtin, tmp_path):
    """A real SIGINT to a real `python -m eval run` process, sent once two samples are on disk
    while the model holds every later answer back: the run is surely mid-way, however fast
    or slow the machine."""
    import signal
    import threading
    import time

    answer = reference_responder(builtin)
    answered, gate = [], threading.Event()

    def two_then_hold(body):
        if len(answered) >= 2:
            gate.wait(timeout=600)  # released when the test ends
        answered.append(body)
        return answer(body)

    with ServerDouble(two_then_hold) as server:
        env = {**os.environ, "PYTHONPATH": str(os.getcwd())}
        proc = subprocess.Popen(
            [sys.executable, "-m", "eval", "run", "--tasks", "builtin", "--model",
             f"openai:{server.url}", "--mode", "direct", "--out", str(tmp_path / "c")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        samples = tmp_path / "c" / "samples.jsonl"
        try:
            # the two answered samples reach the file (a bound for a hang only, not a timing)
            deadline = time.monotonic() + 600
            while proc.poll() is None and time.monotonic() < deadline and not (
                    samples.exists() and samples.read_text().count("\n") >= 2):
                time.sleep(0.1)
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=600)
        finally:
            gate.set()
    assert proc.returncode == 130, err
    assert "resume with: python -m eval run --tasks builtin" in err
    records, dropped = load_samples(samples)
    assert dropped == 0 and len(records) == 2


def test_load_samples_names_a_damaged_line(tmp_path):
    path = tmp_path / "samples.jsonl"
    path.write_text('{"task_id": "a", "sample": 0, "status": "failed", "passed": false, '
                    '"any_passed": false}\nnot json\n{"task_id": "b"}\n')
    with pytest.raises(RunDirError, match=r"samples.jsonl:2: not a sample record"):
        load_samples(path)


def test_report_compares_runs(served, tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["run", "--tasks", "builtin", "--ids", IDS, "--model", f"openai:{served.url}",
                 "--mode", "direct", "--out", str(a)]) == 0
    assert _run(served, b) == 0
    capsys.readouterr()
    assert main(["report", str(a), str(b), "--out", str(tmp_path / "cmp.json")]) == 0
    out = capsys.readouterr().out
    assert "runs side by side" in out and "common tasks" in out
    cmp = json.loads((tmp_path / "cmp.json").read_text())
    assert [r["name"] for r in cmp["runs"]] == ["a", "b"]
    assert cmp["paired"][0]["common_tasks"] == 4
    assert (tmp_path / "cmp.png").read_bytes()[:4] == b"\x89PNG"


def _max_in_flight(builtin, concurrency: int, tmp_path) -> int:
    import time

    respond = reference_responder(builtin)
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def slow(body):
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.3)
        with lock:
            state["now"] -= 1
        return respond(body)

    with ServerDouble(slow) as server:
        assert main(["run", "--tasks", "builtin", "--limit", "8", "--model",
                     f"openai:{server.url}", "--mode", "direct", "--concurrency",
                     str(concurrency), "--out", str(tmp_path / f"c{concurrency}")]) == 0
    return state["max"]


def test_generation_requests_run_concurrently_up_to_the_limit(builtin, tmp_path):
    assert _max_in_flight(builtin, 1, tmp_path) == 1
    assert _max_in_flight(builtin, 3, tmp_path) == 3


def test_sandbox_executions_are_bounded_by_the_workers():
    import time

    from eval.runner import BoundedSandbox
    from sandbox import ExecutionResult, Status

    state = {"now": 0, "max": 0, "runs": 0}
    lock = threading.Lock()

    class Slow:
        name = "slow"

        def run(self, program, limits=None, cancel=None):
            with lock:
                state["now"] += 1
                state["runs"] += 1
                state["max"] = max(state["max"], state["now"])
            time.sleep(0.1)
            with lock:
                state["now"] -= 1
            return ExecutionResult(status=Status.PASSED)

    box = BoundedSandbox(Slow(), 2)
    threads = [threading.Thread(target=box.run, args=(None,)) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert state["max"] == 2 and state["runs"] == 6


def test_time_waiting_for_a_slot_is_not_the_samples_own(builtin, tmp_path):
    """With one generation at a time and slow answers, samples queue for the model: that wait
    is recorded apart and not counted as their cost."""
    import time

    respond = reference_responder(builtin)

    def slow(body):
        time.sleep(0.4)
        return respond(body)

    with ServerDouble(slow) as server:
        assert main(["run", "--tasks", "builtin", "--limit", "4", "--model",
                     f"openai:{server.url}", "--mode", "direct", "--concurrency", "1",
                     "--workers", "2", "--out", str(tmp_path / "q")]) == 0
    records, _ = load_samples(tmp_path / "q" / "samples.jsonl")
    assert max(r.queued_s for r in records) >= 0.3  # someone waited for the model
    assert all(0 <= r.queued_s <= r.duration_s for r in records)
    report = json.loads((tmp_path / "q" / "report.json").read_text())
    assert report["queued_seconds_per_sample"] > 0
    assert report["seconds_per_sample"] < max(r.duration_s for r in records)


def test_a_sample_queued_for_the_model_gives_up_at_once_when_the_run_stops():
    """Ctrl-C must not wait for every queued sample's turn behind a long prompt."""
    import time

    from aicoder.models import ChatModel, Completion
    from eval.runner import BoundedModel, SampleCancelled

    release = threading.Event()

    class Busy(ChatModel):
        concurrency = 1

        def stream(self, messages, params=None, cancel=None):
            release.wait(10)  # a long prompt being processed
            yield "x"
            return Completion(text="x")

    stop = threading.Event()
    model = BoundedModel(Busy(), 1, stop)
    holder = threading.Thread(target=lambda: list(model.stream([])), daemon=True)
    holder.start()
    time.sleep(0.2)
    outcome = {}

    def queued():
        try:
            list(model.stream([]))
            outcome["result"] = "ran"
        except SampleCancelled:
            outcome["result"] = "cancelled"
        outcome["at"] = time.monotonic()

    waiter = threading.Thread(target=queued, daemon=True)
    waiter.start()
    time.sleep(0.3)
    stopped = time.monotonic()
    stop.set()
    waiter.join(5)
    assert outcome["result"] == "cancelled" and outcome["at"] - stopped < 1.0
    release.set()
    holder.join(5)


def test_executions_are_warm_unless_cold(served, tmp_path):
    """The same verdicts either way; only where the program's interpreter came from differs."""
    from aicoder.agents import ExecuteStep

    seen = {}
    for name, extra in (("warm", ()), ("cold", ("--cold",))):
        out = tmp_path / name
        assert main(["run", "--tasks", "builtin", "--ids", "b001_softmax,b002_box_iou",
                     "--model", f"openai:{served.url}", "--mode", "direct", "--out", str(out),
                     *extra]) == 0
        records, _ = load_samples(out / "samples.jsonl")
        results = [s.result for r in records for s in r.steps
                   if isinstance(s, ExecuteStep) and s.result]
        assert results and {r.warm for r in results} == {name == "warm"}
        seen[name] = {r.task_id: r.passed for r in records}
    assert seen["warm"] == seen["cold"] == {"b001_softmax": True, "b002_box_iou": False}
