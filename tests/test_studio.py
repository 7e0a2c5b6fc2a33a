"""The Space through its API (gradio_client), with a served model double (TGI/vLLM cannot
run here): runs stream their steps and end with the verdict, sessions do not mix, bad input
and a dead backend are messages, Stop kills the sandbox run, replay and the leaderboard read
eval's files."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time

import pytest

from aicoder.runs import SampleRecord
from aicoder.tasks import load_tasks
from aicoder.ui.studio import StudioConfig, load_run_samples, read_leaderboard
from aicoder.ui.transcript import Transcript, diff_markdown
from sandbox import Limits
from tests.server_double import ServerDouble, reference_responder
from tests.ui_helpers import serve

pytestmark = pytest.mark.usefixtures("bwrap")


@pytest.fixture(scope="module")
def builtin():
    return load_tasks("builtin")


@pytest.fixture(scope="module")
def studio(builtin, bwrap, tmp_path_factory):
    """The app on a free port with two models: a served double and a dead endpoint."""
    from gradio_client import Client

    runs = tmp_path_factory.mktemp("runs")
    with ServerDouble(reference_responder(builtin, wrong=frozenset({"b002_box_iou"}))) as srv:
        config = StudioConfig(tasks={"Builtin suite": builtin},
                              models={"double": f"openai:{srv.url}",
                                      "down": "openai:http://127.0.0.1:9"},
                              sandbox=bwrap, runs_dir=runs, limits=Limits(wall_s=30),
                              concurrency=4)
        with serve(config) as url:
            yield Client(url, verbose=False), runs


def _run(client, label, model="double", mode="codergen", rounds=1, source="Builtin suite",
         signature="", test=""):
    job = client.submit(source, label, signature, test, model, mode, rounds, 0.6,
                        api_name="/run")
    updates = list(job)
    return updates, job.result()


def _titles(messages):
    return [(m.get("metadata") or {}).get("title") for m in messages]


def _text(message) -> str:
    content = message["content"]
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def test_a_run_streams_its_steps_in_order_and_ends_with_the_verdict(studio):
    client, _ = studio
    updates, final = _run(client, "b002_box_iou · python")
    messages = final[0]
    titles = [t for t in _titles(messages) if t]
    assert [t.split(" — ")[0] for t in titles] == [
        "Writing the function · round 0", "Running the checks · round 0",
        "Analysing the failure · round 1", "Writing the repair · round 1",
        "Running the checks · round 1", "Writing the repair · round 1",
        "Running the checks · round 1"]  # the same wrong code: said so and asked again
    assert all((m.get("metadata") or {}).get("status") in (None, "done") for m in messages)
    assert "Not passed" in _text(messages[-1])
    # steps appeared one by one: an early update has a pending step and fewer messages
    pending = [u for u in updates if any((m.get("metadata") or {}).get("status") == "pending"
                                         for m in u[0])]
    assert pending and len(pending[0][0]) < len(messages)
    summary, checks = final[1], final[4]
    assert "Not passed" in summary and "FAILED" in summary
    assert [row[0] for row in checks["data"]] == ["✗ failed"] * 4
    from pathlib import Path

    record = SampleRecord.model_validate_json(Path(final[8]).read_text())  # eval's format
    assert record.task_id == "b002_box_iou" and not record.passed and len(record.steps) == 8


def test_two_sessions_at_once_each_get_their_own_result(studio):
    client, _ = studio
    results = {}

    def go(label):
        results[label] = _run(client, label, mode="direct")[1]

    threads = [threading.Thread(target=go, args=(label,)) for label in
               ("b001_softmax · numpy", "b002_box_iou · python")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    softmax, iou = results["b001_softmax · numpy"], results["b002_box_iou · python"]
    assert "**b001_softmax**" in _text(softmax[0][0]) and "Passed" in _text(softmax[0][-1])
    assert "**b002_box_iou**" in _text(iou[0][0]) and "Not passed" in _text(iou[0][-1])
    assert "def softmax" in softmax[2] and "def box_iou" in iou[2]


def test_bad_input_and_a_dead_backend_are_messages_and_the_app_stays_up(studio):
    client, _ = studio
    _, final = _run(client, None, source="Write your own", signature="def f(:\n", test="x")
    assert "Cannot run this task" in _text(final[0][-1]) and "line 1" in _text(final[0][-1])
    _, final = _run(client, "b001_softmax · numpy", model="down")
    assert "The model cannot be used" in _text(final[0][-1]) or \
        "The model stopped answering" in _text(final[0][-1])
    _, final = _run(client, "b001_softmax · numpy", mode="direct")  # the next run works
    assert "Passed" in _text(final[0][-1])


def test_a_custom_task_runs_in_the_sandbox(studio):
    client, _ = studio
    signature = 'def add(a, b):\n    """Return a + b."""\n'
    test = "def test_add():\n    assert add(1, 2) == 3\n"
    _, final = _run(client, None, source="Write your own", signature=signature, test=test,
                    mode="direct")
    # the double does not know this task: its answer defines no `add`, and the verdict says so
    assert "custom_add" in _text(final[0][0])
    assert "Not passed" in _text(final[0][-1])


def test_stop_kills_the_sandbox_run_at_once(builtin, bwrap):
    from gradio_client import Client

    def loop(body):
        return ("ok", "```python\nimport time\ndef softmax(logits, axis=-1):\n"
                      "    while True:\n        time.sleep(0.01)\n```")

    def sandboxed() -> int:
        """Sandbox run processes started by this test's process (not other tests' or runs')."""
        out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,args="], capture_output=True,
                             text=True).stdout
        parent, args = {}, {}
        for line in out.splitlines():
            pid, ppid, *rest = line.split(None, 2)
            parent[int(pid)], args[int(pid)] = int(ppid), (rest or [""])[0]
        mine = {os.getpid()}
        changed = True
        while changed:
            new = {p for p, pp in parent.items() if pp in mine} - mine
            changed = bool(new)
            mine |= new
        def zygote_python(p: int) -> bool:  # the zygote, or a launcher or program forked off it
            return "zygote.py" in args.get(p, "") and "bwrap" not in args[p].split()[0]

        # a cold run's harness; or a warm run's launcher and program, children of the zygote
        return sum(("harness" in args[p] and "zygote.py" not in args[p])
                   or (zygote_python(p) and zygote_python(parent.get(p, 0)))
                   for p in mine if p != os.getpid())

    def running_the_checks(update) -> bool:
        return any((m.get("metadata") or {}).get("status") == "pending"
                   and (m.get("metadata") or {}).get("title", "").startswith("Running the checks")
                   for m in update[0])

    # The program sleeps far past any wait below: only Stop can end it that soon.
    with ServerDouble(loop) as srv:
        config = StudioConfig(tasks={"Builtin suite": builtin},
                              models={"double": f"openai:{srv.url}"}, sandbox=bwrap,
                              limits=Limits(wall_s=600))
        with serve(config) as url:
            client = Client(url, verbose=False)
            job = client.submit("Builtin suite", "b001_softmax · numpy", "", "", "double",
                                "direct", 0, 0.6, api_name="/run")
            # The app's own event: the execute step is shown pending once the code is written.
            assert any(running_the_checks(update) for update in job), "no execution was shown"
            # From then on the sandbox process exists until Stop; this loop waits for it to be
            # seen, however slow the machine (a safety bound only, far below the wall limit).
            deadline = time.monotonic() + 300
            while sandboxed() == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert sandboxed() > 0, "the execution never started"
            job.cancel()
            stopped = time.monotonic()
            while sandboxed() and time.monotonic() - stopped < 120:
                time.sleep(0.05)
            assert sandboxed() == 0, "the sandbox run outlived Stop"


def test_replay_and_leaderboard_read_eval_runs(builtin, tmp_path):
    from eval.cli import main

    with ServerDouble(reference_responder(builtin, wrong=frozenset({"b002_box_iou"}))) as srv:
        assert main(["run", "--tasks", "builtin", "--ids", "b001_softmax,b002_box_iou",
                     "--model", f"openai:{srv.url}", "--mode", "codergen", "--max-rounds", "1",
                     "--out", str(tmp_path / "demo")]) == 0
    samples = load_run_samples(tmp_path / "demo" / "samples.jsonl")
    iou = next(s for s in samples if s.task_id == "b002_box_iou")
    first = Transcript.from_steps(iou.steps[:2])
    assert [t for t in _titles(first.messages)] == ["Writing the function · round 0",
                                                    "Running the checks · round 0 — ✗ failed"]
    assert first.panels().diff.startswith("*First attempt")
    whole = Transcript.from_steps(iou.steps)
    assert "Not passed" in whole.panels().summary
    rows = read_leaderboard(tmp_path)
    assert rows[0]["run"] == "demo" and rows[0]["SR@All"] == 0.5 and rows[0]["curve"]
    (tmp_path / "bad.jsonl").write_text('{"task_id": "x", "steps": [1]}\n{}\n')
    with pytest.raises(Exception, match=r"bad.jsonl:1: not a sample record"):
        load_run_samples(tmp_path / "bad.jsonl")


def test_the_diff_shows_what_changed():
    assert diff_markdown(None, "a\n").startswith("*First attempt")
    assert diff_markdown("a\n", "a\n") == "*Same code as the previous attempt.*"
    text = diff_markdown("x = 1\n", "x = 2\n")
    assert "-x = 1" in text and "+x = 2" in text and text.startswith("```diff")
    assert json.dumps(text)


def test_hostile_code_in_a_custom_task_stays_in_the_sandbox(studio, tmp_path):
    client, _ = studio
    canary = tmp_path / "canary"
    signature = 'def probe():\n    """Nothing."""\n'
    test = ("def test_probe():\n"
            "    import os, signal\n"
            f"    open({str(canary)!r}, 'w').write('escaped')\n"
            "    os.kill(os.getppid(), signal.SIGKILL)\n"
            "    assert probe() is None\n")
    _, final = _run(client, None, source="Write your own", signature=signature, test=test,
                    mode="direct")
    assert "Not passed" in _text(final[0][-1])
    assert not canary.exists()
    _, final = _run(client, "b001_softmax · numpy", mode="direct")  # the app is still up
    assert "Passed" in _text(final[0][-1])
