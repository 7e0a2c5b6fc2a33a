"""``--executor ray``: executions on Ray actors, each with a warm zygote, on a local 2-CPU
cluster (loopback only). Verdicts are those of a local run; a killed actor loses no run and
none is written twice; without Ray the executor is one line naming the install command."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import pytest

from aicoder.runs import load_samples
from aicoder.tasks import load_tasks
from eval.cli import main
from sandbox import Program, Status
from tests.server_double import ServerDouble, reference_responder

if os.environ.get("CI", "").lower() != "true":  # CI installs requirements-scale.txt: it runs
    pytest.importorskip("ray", reason="Ray is not installed (pip install -r "
                        "requirements-scale.txt)")

PYTHON = sys.executable
SLOW = Program(candidate="import time\ntime.sleep(3)\n\ndef f():\n    return 1\n",
               test="def test_f():\n    assert f() == 1\n", entry="test_f")


@pytest.fixture(scope="module")
def cluster():
    import ray

    from sandbox.cluster import init_local

    init_local(num_cpus=2)
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture(scope="class")
def pool(cluster, bwrap_works):
    """Two actors, which take the cluster's two CPUs until the class's last test is done."""
    from sandbox.cluster import RaySandbox

    sandbox = RaySandbox("ray", actors=2, backend="bwrap", python=PYTHON)
    sandbox.preload(["numpy"])
    try:
        yield sandbox
    finally:
        sandbox.close()


@pytest.fixture(scope="module")
def bwrap_works():
    from sandbox import SandboxUnavailable, get_sandbox

    try:
        get_sandbox("bwrap", python=PYTHON, warm=False)
    except SandboxUnavailable as exc:
        pytest.skip(f"bubblewrap does not work here: {exc}")


def _busy(ray, actors, timeout_s: float = 120.0) -> dict:
    """The info of an actor with a run in flight, as soon as one has (polled state)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for info in ray.get([a.info.remote() for a in actors]):
            if info["inflight"]:
                return info
        time.sleep(0.02)
    raise AssertionError("no run reached an actor")


class TestPool:
    """One pool of actors, shared by these tests."""

    def test_actor_verdicts_are_the_local_verdicts(self, pool, bwrap_works):
        from aicoder.tasks.assemble import reference_program
        from sandbox import get_sandbox

        tasks = load_tasks("builtin")[:6]
        broken = [Program(candidate=t.imports + f"\ndef {t.function_name}(*a, **k):\n    return None\n",
                          test=t.test_code, entry=t.test_entry) for t in tasks[:2]]
        programs = [reference_program(t) for t in tasks] + broken
        local = get_sandbox("bwrap", python=PYTHON)
        try:
            want = [local.run(p).status for p in programs]
        finally:
            local.close()
        got = [pool.run(p) for p in programs]
        assert [r.status for r in got] == want
        assert {r.backend for r in got} == {"bwrap"} and all(r.warm for r in got)
        assert want.count(Status.PASSED) >= 6 and Status.PASSED not in want[6:]


    def test_a_killed_actor_loses_no_run(self, pool, cluster):
        retried, replaced = pool.retried, pool.replaced
        out = {}
        runner = threading.Thread(target=lambda: out.setdefault("result", pool.run(SLOW)))
        runner.start()
        victim = _busy(cluster, pool.actors())
        os.kill(victim["pid"], signal.SIGKILL)
        runner.join(300)
        assert out["result"].status is Status.PASSED
        assert (pool.retried, pool.replaced) == (retried + 1, replaced + 1)
        pids = {i["pid"] for i in cluster.get([a.info.remote() for a in pool.actors()])}
        assert len(pids) == 2 and victim["pid"] not in pids


    def test_a_wedged_actor_is_replaced_and_its_run_sent_elsewhere(self, pool, cluster,
                                                                   monkeypatch):
        import sandbox.cluster
        from sandbox import Limits

        monkeypatch.setattr(sandbox.cluster, "STALL_GRACE_S", 1.0)
        retried = pool.retried
        out = {}
        runner = threading.Thread(target=lambda: out.setdefault(
            "result", pool.run(SLOW, Limits(wall_s=8))))
        runner.start()
        victim = _busy(cluster, pool.actors())
        os.kill(victim["pid"], signal.SIGSTOP)  # alive, answering nothing
        try:
            runner.join(300)
        finally:
            try:
                os.kill(victim["pid"], signal.SIGCONT)
            except ProcessLookupError:  # killed as it should be
                pass
        assert out["result"].status is Status.PASSED and pool.retried == retried + 1
        assert victim["pid"] not in {i["pid"] for i in
                                     cluster.get([a.info.remote() for a in pool.actors()])}

    def test_cancel_stops_a_run_on_its_actor(self, pool, cluster):
        cancel = threading.Event()
        out = {}
        runner = threading.Thread(target=lambda: out.setdefault("result", pool.run(SLOW,
                                                                                 cancel=cancel)))
        runner.start()
        _busy(cluster, pool.actors())
        cancel.set()
        runner.join(60)
        assert out["result"].status is Status.CANCELLED


def _slow_responder(tasks):
    """Each task's reference, with a 2-second sleep at import (a window to kill an actor in)."""
    respond = reference_responder(tasks)

    def slow(body):
        kind, text = respond(body)
        return kind, text.replace("```python\n", "```python\nimport time\ntime.sleep(2)\n", 1)

    return slow


def test_eval_run_on_ray_writes_each_sample_once_when_an_actor_dies(cluster, bwrap_works,
                                                                  tmp_path, capsys, caplog):
    tasks = load_tasks("builtin")
    ids = [t.task_id for t in tasks[:4]]
    out = tmp_path / "ray-run"
    codes = []
    with ServerDouble(_slow_responder(tasks)) as server:
        argv = ["run", "--tasks", "builtin", "--ids", ",".join(ids), "--model",
                f"openai:{server.url}", "--mode", "direct", "--executor", "ray",
                "--sandbox", "bwrap", "--workers", "2", "--out", str(out)]
        runner = threading.Thread(target=lambda: codes.append(main(argv)))
        runner.start()
        deadline = time.monotonic() + 300
        victim = None
        while victim is None and time.monotonic() < deadline and runner.is_alive():
            names = [a["name"] for a in cluster.util.list_named_actors(all_namespaces=True)
                     if a["name"].startswith("executor-")]
            actors = [cluster.get_actor(n, namespace="aicoder") for n in names]
            try:
                busy = [i for i in cluster.get([a.info.remote() for a in actors])
                        if i["inflight"]]
            except Exception:  # an actor went away while we asked: ask again
                busy = []
            if busy:
                victim = busy[0]
                os.kill(victim["pid"], signal.SIGKILL)
            time.sleep(0.02)
        runner.join(600)
        # a resume on this machine's own workers: the same run directory, nothing to redo
        again = list(argv)
        again[again.index("ray")] = "local"
        resumed = main(again)
    assert victim is not None, "no execution reached an actor"
    assert codes == [0]
    records, dropped = load_samples(out / "samples.jsonl")
    assert dropped == 0 and sorted(r.task_id for r in records) == sorted(ids)  # once each
    assert all(r.passed for r in records)
    err = capsys.readouterr().err
    assert "bwrap sandbox on ray (2 actors)" in err, err
    assert "a Ray actor died during a run" in caplog.text
    assert resumed == 0 and len(load_samples(out / "samples.jsonl")[0]) == len(ids)


def test_without_ray_the_executor_is_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    code = main(["run", "--tasks", "builtin", "--ids", "b001_softmax", "--model",
                 "openai:http://127.0.0.1:9", "--executor", "ray", "--out",
                 str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1
    assert "Ray" in err[0] and "pip install -r requirements-scale.txt" in err[0]


@pytest.mark.parametrize("spec", ["rya", "ray:/head:10001", "spark"])
def test_an_unknown_executor_is_one_line(spec, tmp_path, capsys):
    code = main(["run", "--tasks", "builtin", "--ids", "b001_softmax", "--model",
                 "openai:http://127.0.0.1:9", "--executor", spec, "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code != 0 and len(err) == 1 and "unknown executor" in err[0]
