"""`python -m aicoder.build` with a served model double (a real model cannot run in the suite):
a good task is kept; a vacuous one, one a stub passes, one whose tests kill no mutant, one
with too few checks and a duplicate are each rejected for their own reason, after one repair;
kill -9 mid-build loses nothing; the output loads and scores."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from aicoder.build.__main__ import main
from aicoder.tasks import load_tasks
from tests.server_double import ServerDouble

ROOT = Path(__file__).resolve().parent.parent

FUNCTION = '''def clip_total(values: list, limit: float) -> float:
    """Sum ``values``, capped at ``limit``.

    Args:
        values (list): numbers.
        limit (float): the cap.

    Returns:
        float: the sum, or ``limit`` when the sum is larger.
    """
    total = 0
    for v in values:
        total += v
    if total > limit:
        return limit
    return total
'''

TESTS = {
    "good": '''def test_clip_total():
    # Test case 1: a sum under the cap
    assert clip_total([1, 2], 10) == 3
    # Test case 2: a sum over the cap is the cap
    assert clip_total([5, 6], 10) == 10
    # Test case 3: nothing sums to zero
    assert clip_total([], 4) == 0
''',
    "vacuous": '''def test_clip_total():
    # Test case 1: never checked
    if clip_total([1], 10) is None:
        assert clip_total([1, 2], 10) == 3
    # Test case 2: never checked
    if clip_total([1], 10) is None:
        assert clip_total([5, 6], 10) == 10
    # Test case 3: never checked
    if clip_total([1], 10) is None:
        assert clip_total([], 4) == 0
''',
    "stub": '''def test_clip_total():
    # Test case 1: it exists
    assert callable(clip_total)
    # Test case 2: a sum under the cap
    assert clip_total([1, 2], 10) == 3
    # Test case 3: the cap
    assert clip_total([5, 6], 10) == 10
''',
    "blind": '''def test_clip_total():
    # Test case 1: it answers
    assert clip_total([1, 2], 10) != "three"
    # Test case 2: it answers again
    assert clip_total([5, 6], 10) != "ten"
    # Test case 3: and again
    assert clip_total([], 4) != "zero"
''',
    "few": '''def test_clip_total():
    # Test case 1: a sum under the cap
    assert clip_total([1, 2], 10) == 3
''',
}
TESTS["dup"] = TESTS["good"]


def program(kind: str) -> str:
    return ("# domain: Tabular\n\n# function_import --------------------\n\nimport math\n\n"
            f"# function_code --------------------\n\n{FUNCTION}\n"
            f"# test_function_code --------------------\n\n{TESTS[kind]}\n"
            "# call_test_function_code --------------------\n\ntest_clip_total()\n")


def responder(hold: threading.Event | None = None, hold_on: str = ""):
    def respond(body: dict):
        text = " ".join(m.get("content", "") for m in body.get("messages", []))
        kind = next(k for k in TESTS if f"DOC-{k}-DOC" in text)
        if hold is not None and kind == hold_on:
            hold.wait(120)
        return ("ok", f"Here is the task.\n\n```python\n{program(kind)}```\n")
    return respond


def documents(path: Path, kinds) -> Path:
    path.write_text("".join(json.dumps({"id": k, "text": f"DOC-{k}-DOC: clip_total sums "
                                        "numbers up to a cap.", "library": "numpy"}) + "\n"
                            for k in kinds))
    return path


KINDS = ["good", "vacuous", "stub", "blind", "few", "dup"]


def test_exactly_the_good_task_is_kept(bwrap, tmp_path, capsys):
    docs = documents(tmp_path / "docs.jsonl", KINDS)
    out = tmp_path / "build"
    with ServerDouble(responder()) as server:
        assert main(["--jsonl", str(docs), "--model", f"openai:{server.url}", "--samples", "1",
                     "--sandbox", "bwrap", "--out", str(out), "--test-fraction", "0"]) == 0
        # one request per candidate: the good one at once, every other with its repair
        assert len(server.requests) == 1 + 2 * 5
        repair = server.requests[2]["messages"][-1]["content"]
        assert repair.startswith("The program you wrote was rejected:")
    printed = capsys.readouterr().out
    assert "6 documents, 6 candidates, 5 repairs: 1 kept" in printed
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    final = {e["doc_id"]: e["candidates"][-1] for e in log}
    assert final["good"]["status"] == "kept" and final["good"]["task_id"] == "g00001_clip_total"
    reasons = {k: c["reasons"] for k, c in final.items() if k != "good"}
    assert reasons["vacuous"][0].startswith("reference vacuous"), reasons
    assert reasons["stub"][0].startswith("a stub passes "), reasons
    # its tests see only a mutant that raises (`total = 0` removed): 1 of 9
    assert reasons["blind"] == ["mutation score 0.11 < 0.6"], reasons
    assert reasons["few"][0].startswith("the test has 1 asserts in 1 '# Test case' blocks")
    assert reasons["dup"][0].startswith("duplicate of g00001_clip_total (exact"), reasons
    assert all(c["status"] == "rejected" for k, c in final.items() if k != "good")
    sheet = json.loads((out / "datasheet.json").read_text())
    assert sheet["kept"] == 1 and sheet["documents"] == 6 and sheet["repairs"] == 5
    assert sheet["rejections"] == {"vacuous": 2, "stub passes": 2, "weak tests": 2,
                                   "too few checks": 2, "duplicate": 2}
    assert sheet["mutation_scores"]["median"] == pytest.approx(1 - 1 / 9, abs=0.2)
    md = (out / "DATASHEET.md").read_text()
    assert md.startswith("---\nlicense:") and "| kept | 1 (after a repair: 0) |" in md
    # the output is a task file: it loads, and the reference scores through `eval score`
    [task] = load_tasks(str(out / "tasks.jsonl"))
    assert task.task_id == "g00001_clip_total" and task.domain == "Tabular"
    record = json.loads((out / "tasks.jsonl").read_text())
    assert record["source_document"] == "good" and record["document_source"].endswith(":1")
    from eval.cli import main as eval_main

    preds = tmp_path / "preds.jsonl"
    preds.write_text(json.dumps({"task_id": task.task_id, "completion": task.reference_code}))
    assert eval_main(["score", "--tasks", str(out / "tasks.jsonl"), "--predictions", str(preds),
                      "--env", "app", "--sandbox", "bwrap", "--out", str(tmp_path / "s")]) == 0
    assert json.loads((tmp_path / "s" / "report.json").read_text())["sr_all"] == 1.0


def test_kill_9_mid_build_resumes_and_a_changed_config_is_refused(bwrap, tmp_path, capsys):
    docs = documents(tmp_path / "docs.jsonl", ["good", "few", "dup", "blind"])
    out = tmp_path / "build"
    hold = threading.Event()
    with ServerDouble(responder(hold, hold_on="dup")) as server:
        argv = ["--jsonl", str(docs), "--model", f"openai:{server.url}", "--samples", "1",
                "--sandbox", "bwrap", "--out", str(out)]
        proc = subprocess.Popen([sys.executable, "-m", "aicoder.build", *argv], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
        try:
            # the third document's request is held: the build is mid-way, two documents logged
            for _ in range(1200):
                if any("DOC-dup-DOC" in json.dumps(r) for r in list(server.requests)):
                    break
                threading.Event().wait(0.1)
            lines = (out / "log.jsonl").read_text().splitlines()
            assert [json.loads(x)["doc_id"] for x in lines] == ["good", "few"]
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        finally:
            hold.set()
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        with open(out / "log.jsonl", "a") as fh:
            fh.write('{"doc_id": "torn')  # what a write cut by kill -9 can leave
        assert main(argv) == 0
    log = [json.loads(x) for x in (out / "log.jsonl").read_text().splitlines()]
    assert [e["doc_id"] for e in log] == ["good", "few", "dup", "blind"]
    assert [t.task_id for t in load_tasks(str(out / "tasks.jsonl"))] == ["g00001_clip_total"]
    capsys.readouterr()
    assert main([*argv[:-2], "--out", str(out), "--min-mutation-score", "0.9"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {out} holds a build with another config (changed: "
                          "min_mutation_score)") and err.count("\n") == 1


@pytest.mark.parametrize(("argv", "message"), [
    (["--library", "numpy", "--modules", "nolinalg"], "unknown module 'numpy.nolinalg'"),
    (["--docs", "{tmp}"], "no Markdown (.md, .mdx) or reStructuredText (.rst) file under"),
    (["--jsonl", "{tmp}/none.jsonl"], "no documents file at"),
    (["--jsonl", "{tmp}/d.jsonl", "--samples", "0"], "--samples must be 1 or more"),
    (["--jsonl", "{tmp}/d.jsonl", "--model", "openai:http://127.0.0.1:{closed}"],
     ": [Errno 111] Connection refused. Is the server running and the URL right? "
     "(what is built is kept: the same command resumes)"),
    (["--jsonl", "{tmp}/d.jsonl", "--out", "{tmp}/file/sub"], "cannot write to"),
])
def test_bad_input_is_one_line(tmp_path, capsys, argv, message, bwrap):
    documents(tmp_path / "d.jsonl", ["good"])
    (tmp_path / "file").write_text("")
    with socket.socket() as sock:  # a loopback port this test held and let go: nothing listens
        sock.bind(("127.0.0.1", 0))
        closed = str(sock.getsockname()[1])
    argv = [a.replace("{tmp}", str(tmp_path)).replace("{closed}", closed) for a in argv]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "out")]
    assert main([*argv, "--sandbox", "bwrap"]) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("error: ") and message in last, last
