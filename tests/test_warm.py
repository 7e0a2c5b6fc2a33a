"""Warm execution (``sandbox/warm.py``, ``sandbox/zygote.py``): a run forked from a zygote
sees nothing an earlier run did, gives the verdict a cold run gives, and a zygote that dies or
wedges costs one cold run, never a verdict."""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from aicoder.tasks import load_builtin
from sandbox import Limits, Program, Status, get_sandbox
from sandbox.warm import DEFAULT_PRELOAD, imported_modules, preload_for, preload_list
from tests.test_landlock import run_both

QUICK = Limits(wall_s=60)
MARK = "aicoder-leak-marker-7f3a"

# Run A does everything a program could do to leave state behind for the next run.
DIRTY = f'''
import json, os, random, subprocess, sys, threading, time
import numpy, torch

def dirty():
    json.dumps = lambda *a, **k: "patched"
    numpy.mean = lambda *a, **k: 42
    torch.Tensor.sum = lambda self, *a, **k: 42
    numpy._aicoder_leak = 1
    sys.modules["json"]._aicoder_leak = 1
    os.environ["AICODER_LEAK"] = "1"
    random.seed(0); numpy.random.seed(0); torch.manual_seed(0)
    home = os.getcwd()
    with open(os.path.join(os.environ["TMPDIR"], "leak.txt"), "w") as fh:
        fh.write("left behind")
    threading.Thread(target=time.sleep, args=(600,), name="{MARK}", daemon=True).start()
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "{MARK}"],
                     start_new_session=True)
    os.chdir("/")
    return home
'''
DIRTY_TEST = "def test_dirty():\n    print('HOME', dirty())\n    assert True\n"

# Run B looks for each of them.
CLEAN = f'''
import json, os, random, sys, threading
import numpy, torch

def seen(left_home):
    found = []
    if json.dumps([1]) != "[1]": found.append("json.dumps patched")
    if numpy.mean([1.0, 3.0]) != 2.0: found.append("numpy.mean patched")
    if float(torch.ones(3).sum()) != 3.0: found.append("torch.Tensor.sum patched")
    if hasattr(numpy, "_aicoder_leak") or hasattr(json, "_aicoder_leak"):
        found.append("module global")
    if "AICODER_LEAK" in os.environ: found.append("environment variable")
    if os.getcwd() != os.environ["HOME"] or os.getcwd() == left_home: found.append("cwd")
    if os.listdir(os.environ["TMPDIR"]): found.append("tmp not empty")
    if os.path.exists(os.path.join(left_home, "leak.txt")): found.append("tmp file")
    if any(t.name == "{MARK}" for t in threading.enumerate()): found.append("thread")
    return found

def draws():
    return [random.random(), float(numpy.random.rand()), float(torch.rand(1))]
'''


def seeded_draws() -> list[float]:
    import random

    import numpy
    import torch

    random.seed(0)
    numpy.random.seed(0)
    torch.manual_seed(0)
    return [random.random(), float(numpy.random.rand()), float(torch.rand(1))]


def clean_test(left_home: str, forbidden: list[float]) -> str:
    return (f"def test_clean():\n"
            f"    # Test case 1: nothing of run A is seen\n"
            f"    assert seen({left_home!r}) == []\n"
            f"    # Test case 2: the generators are not the zygote's, nor run A's seeds\n"
            f"    d = draws()\n"
            f"    assert d != {forbidden!r}, d\n"
            f"    print('DRAWS', d)\n")


def processes_with(marker: str) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as fh:
                if marker.encode() in fh.read():
                    found.append(int(name))
        except OSError:
            continue
    return found


@pytest.fixture(scope="module", params=["bwrap", "landlock"])
def warm(request):
    box = getattr(request.getfixturevalue(request.param), "name", None)
    sandbox = get_sandbox(box, hf_cache=False, warm=True)
    if sandbox.zygote() is None:
        pytest.skip(f"{box} has no warm path here: {sandbox._warm_off}")
    yield sandbox
    sandbox.close()


def test_the_zygote_starts_no_thread_and_shares_no_writable_memory(warm):
    info = warm.zygote().info
    assert info["threads"] == 1, info.get("thread_names")
    assert info["shared_writable"] == []
    assert set(DEFAULT_PRELOAD) <= set(info["loaded"]) | set(info["failed"])
    assert {"torch", "transformers"} <= set(info["loaded"])
    state = warm.zygote().ping()
    assert state["runs"] == 0 and state["threads"] == 1


def test_nothing_leaks_from_one_run_to_the_next(warm):
    zygote = warm.zygote()
    a = warm.run(Program(candidate=DIRTY, test=DIRTY_TEST, entry="test_dirty"), QUICK)
    assert a.warm
    # the run's tree died with it: its setsid process too
    assert processes_with(MARK) == []
    assert warm.zygote() is zygote  # the same zygote serves the next run
    left_home = a.stdout.split("HOME ", 1)[1].split()[0]
    assert left_home.startswith("/"), a.stdout
    forbidden = seeded_draws()
    results = [warm.run(Program(candidate=CLEAN, test=clean_test(left_home, forbidden),
                                entry="test_clean"), QUICK) for _ in range(2)]
    for b in results:
        assert b.warm
        assert b.status is Status.PASSED, (b.reason, [c.message for c in b.checks], b.stderr)
    first, second = (b.stdout.split("DRAWS", 1)[1].strip() for b in results)
    assert first != second, "two runs drew the same random numbers: both had the zygote's state"
    assert warm.zygote() is zygote


def test_run_a_working_directory_is_its_own_and_gone_after(warm):
    cand = ("import os\n"
            "def where():\n"
            "    return [os.getcwd(), os.environ['HOME'], os.environ['TMPDIR']]\n")
    test = "def test_where():\n    assert where() == [], where()\n"
    results = [warm.run(Program(candidate=cand, test=test, entry="test_where"), QUICK)
               for _ in range(2)]
    dirs = [r.checks[0].message for r in results]
    assert all(r.warm and r.status is Status.FAILED for r in results)
    assert dirs[0] != dirs[1]  # each run has a directory of its own
    for message in dirs:
        path = message.split("'")[1]
        assert message.count(path) == 3  # cwd, HOME and TMPDIR are that one directory


def test_runs_at_once_do_not_see_each_other(warm):
    """Two runs in flight on one zygote: neither reads, writes or signals the other."""
    cand = '''
import os, signal, time
def probe():
    mine = os.getcwd()
    open(os.path.join(mine, "mine.txt"), "w").write("x")
    time.sleep(1.5)
    seen = []
    parent = os.path.dirname(mine)
    try:
        others = [d for d in os.listdir(parent) if os.path.join(parent, d) != mine]
        seen.append(f"listed {others}")
    except OSError:
        pass
    for n in range(1, 60):
        other = f"{parent}/run-{n}"
        if other == mine:
            continue
        try:
            open(f"{other}/mine.txt").read(); seen.append(f"read {other}")
        except OSError:
            pass
        try:
            open(f"{other}/planted.txt", "w").write("x"); seen.append(f"wrote {other}")
        except OSError:
            pass
    me, session = os.getpid(), os.getsid(0)
    for pid in {*range(2, 4096), *range(max(me - 5000, 2), me + 5000)}:
        try:
            os.kill(pid, 0)
        except OSError:
            continue
        try:
            theirs = os.getsid(pid)
        except OSError:
            theirs = None
        if theirs != session:  # not this run's own threads or processes
            seen.append(f"signal {pid} (session {theirs})")
    return seen
'''
    test = "def test_probe():\n    seen = probe()\n    assert seen == [], seen\n"
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: warm.run(
            Program(candidate=cand, test=test, entry="test_probe"), QUICK), range(2)))
    for r in results:
        assert r.warm
        assert r.status is Status.PASSED, [c.message for c in r.checks]


def test_verdicts_match_cold_runs_on_the_builtin_suite_and_the_projects_records(
        warm, mini_tasks):
    cold = get_sandbox(warm.name, hf_cache=False, warm=False)
    tasks = [*load_builtin(), *mini_tasks.values()]
    assert _differences(tasks, warm, cold) == []


def test_verdicts_match_cold_runs_on_v3_references(warm, v3_tasks):
    """A spread of the shared v3 references (every eighth); the warm benchmark runs all."""
    cold = get_sandbox(warm.name, hf_cache=False, warm=False)
    assert _differences(v3_tasks[::8], warm, cold) == []


def _differences(tasks, warm, cold) -> list[dict]:
    out = []
    for task, w, c in run_both(tasks, warm, cold):
        assert w.warm and not c.warm
        if (w.status, [x.state for x in w.checks]) != (c.status, [x.state for x in c.checks]):
            out.append({"task_id": task.task_id, "warm": (w.status.value, w.reason),
                        "cold": (c.status.value, c.reason)})
    return out


SQUARE = Program(candidate="def square(x):\n    return x * x\n",
                 test="def test_square():\n    assert square(3) == 9\n", entry="test_square")
SLOW = Program(candidate="import time\ndef square(x):\n    time.sleep(3)\n    return x * x\n",
               test="def test_square():\n    assert square(3) == 9\n", entry="test_square")


def test_a_zygote_killed_mid_run_costs_one_cold_run(bwrap, monkeypatch, caplog):
    monkeypatch.setenv("AICODER_PRELOAD", "")
    sandbox = get_sandbox(bwrap.name, hf_cache=False, warm=True, preload=[])
    try:
        zygote = sandbox.zygote()
        assert zygote is not None
        result: list = []
        runner = threading.Thread(target=lambda: result.append(sandbox.run(SLOW, QUICK)))
        with caplog.at_level("WARNING", logger="sandbox"):
            runner.start()
            _wait_for(lambda: any(r.started.is_set() for r in list(zygote._runs.values())))
            os.kill(zygote.host_pid(), signal.SIGKILL)
            runner.join()
        assert result[0].status is Status.PASSED and not result[0].warm
        assert "died during a run" in caplog.text and "this run goes cold" in caplog.text
        after = sandbox.run(SQUARE, QUICK)  # a new zygote serves the next run
        assert after.status is Status.PASSED and after.warm
        assert sandbox.zygote() is not zygote
    finally:
        sandbox.close()


def test_a_wedged_zygote_is_replaced(bwrap, monkeypatch, caplog):
    from sandbox import warm as module

    monkeypatch.setenv("AICODER_PRELOAD", "")
    sandbox = get_sandbox(bwrap.name, hf_cache=False, warm=True, preload=[])
    try:
        zygote = sandbox.zygote()
        monkeypatch.setattr(module, "ACK_TIMEOUT_S", 1.0)
        os.kill(zygote.host_pid(), signal.SIGSTOP)
        with caplog.at_level("WARNING", logger="sandbox"):
            result = sandbox.run(SQUARE, QUICK)
        assert result.status is Status.PASSED and not result.warm
        assert "did not start a run within 1 s" in caplog.text
        assert not zygote.alive
        assert sandbox.run(SQUARE, QUICK).warm
    finally:
        sandbox.close()


def _wait_for(condition, limit_s: float = 120.0) -> None:
    """Wait for a state the test cannot be told about by an event (a run started in the
    zygote); the limit only keeps a broken build from hanging the suite."""
    end = time.monotonic() + limit_s
    while not condition():
        assert time.monotonic() < end, "the condition never held"
        time.sleep(0.02)


def test_cold_is_a_switch(bwrap, monkeypatch):
    assert not get_sandbox(bwrap.name, hf_cache=False, warm=False).run(SQUARE, QUICK).warm
    monkeypatch.setenv("AICODER_WARM", "0")
    assert get_sandbox(bwrap.name, hf_cache=False).zygote() is None


def test_an_import_that_fails_is_logged_and_skipped(bwrap, caplog):
    sandbox = get_sandbox(bwrap.name, hf_cache=False, warm=True,
                          preload=["no_such_module_aicoder"])
    try:
        with caplog.at_level("WARNING", logger="sandbox"):
            result = sandbox.run(SQUARE, QUICK)
        assert result.status is Status.PASSED and result.warm
        assert "could not preload no_such_module_aicoder (ModuleNotFoundError" in caplog.text
    finally:
        sandbox.close()


def test_the_preload_list_is_the_default_plus_what_the_tasks_import(monkeypatch):
    sources = ["import numpy as np\nfrom transformers import pipeline\nimport os, json\n"
               "from . import local\nimport torch.nn.functional as F\n", "def broken(:\n",
               "import PIL.Image\nimport evaluate\n"]
    assert imported_modules(sources) == ["numpy", "transformers", "torch", "PIL", "evaluate"]
    assert preload_for(sources) == ["numpy", "transformers", "torch", "PIL", "evaluate",
                                    "transformers:pipeline"]
    monkeypatch.delenv("AICODER_PRELOAD", raising=False)
    assert preload_list(["evaluate", "numpy"]) == [*DEFAULT_PRELOAD, "evaluate"]
    monkeypatch.setenv("AICODER_PRELOAD", "numpy, scipy")
    assert preload_list(["evaluate"]) == ["numpy", "scipy", "evaluate"]
    monkeypatch.setenv("AICODER_PRELOAD", "")
    assert preload_list() == []


@pytest.mark.parametrize("backend", ["bwrap", "landlock"])
def test_a_zygote_outlives_the_thread_that_started_it(request, backend, monkeypatch):
    """A parent-death signal fires when the starting *thread* ends: an eval worker or the
    Space's warm-up thread that started the zygote must not take it down when it finishes."""
    name = request.getfixturevalue(backend).name
    monkeypatch.setenv("AICODER_PRELOAD", "")
    sandbox = get_sandbox(name, hf_cache=False, warm=True)
    try:
        started: list = []
        starter = threading.Thread(target=lambda: started.append(sandbox.zygote()))
        starter.start()
        starter.join()
        zygote = started[0]
        assert zygote is not None
        results = [sandbox.run(SQUARE, QUICK) for _ in range(3)]
        assert all(r.warm and r.status is Status.PASSED for r in results)
        assert zygote.alive and sandbox.zygote() is zygote
    finally:
        sandbox.close()


def test_the_modules_mark_changes_with_any_module_loaded_since(monkeypatch):
    """The child reuses the zygote's class snapshot only while sys.modules bears the zygote's
    mark: a module loaded since (even with one removed to keep the count) breaks it, a
    re-import of a loaded one does not."""
    import sys
    import types

    from sandbox import harness

    original = dict(sys.modules)
    modules = dict(original)
    monkeypatch.setattr(sys, "modules", modules)
    mark = harness._modules_mark()
    import json  # noqa: F401  (already loaded: nothing appended)
    assert harness._same_mark(harness._modules_mark(), mark)
    modules["aicoder_new_module"] = types.ModuleType("aicoder_new_module")
    assert not harness._same_mark(harness._modules_mark(), mark)
    del modules["aicoder_new_module"]
    assert harness._same_mark(harness._modules_mark(), mark)
    first = next(iter(modules))
    modules.pop(first)
    modules["aicoder_new_module"] = types.ModuleType("aicoder_new_module")
    assert len(modules) == mark[0] and not harness._same_mark(harness._modules_mark(), mark)
    # the last one replaced by another module of the same name: a new module, a new mark
    modules = dict(original)
    monkeypatch.setattr(sys, "modules", modules)
    assert harness._same_mark(harness._modules_mark(), mark)
    modules[mark[1]] = types.ModuleType(mark[1])
    assert not harness._same_mark(harness._modules_mark(), mark)
