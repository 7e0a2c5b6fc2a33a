"""The landlock backend: its verdicts agree with bubblewrap's, it refuses a kernel without the
Landlock it needs, and it is chosen by probing where bubblewrap cannot work."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from aicoder.tasks import load_builtin, reference_program
from sandbox import Limits, SandboxUnavailable, get_sandbox


def run_both(tasks, first, second, limits: Limits = Limits(wall_s=120)) -> list[tuple]:
    """Each task's reference run on both sandboxes: ``[(task, first's, second's)]``."""
    def both(task):
        program = reference_program(task)
        return task, first.run(program, limits), second.run(program, limits)

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(both, tasks))


def disagreements(tasks, first, second, limits: Limits = Limits(wall_s=120)) -> list[dict]:
    """Run each task's reference on both backends; the tasks whose status or per-check
    verdicts differ."""
    out = []
    for task, a, b in run_both(tasks, first, second, limits):
        if a.status != b.status or [c.passed for c in a.checks] != [c.passed for c in b.checks]:
            out.append({"task_id": task.task_id, first.name: (a.status.value, a.reason),
                        second.name: (b.status.value, b.reason)})
    return out


def test_verdicts_agree_with_bwrap_on_the_builtin_suite_and_the_projects_records(
        bwrap, landlock, mini_tasks):
    tasks = [*load_builtin(), *mini_tasks.values()]
    assert disagreements(tasks, bwrap, landlock) == []


def test_verdicts_agree_with_bwrap_on_v3_records(bwrap, landlock, v3_tasks):
    """A spread of the shared v3 records (every twelfth); benchmarks.backend_agreement runs all."""
    assert disagreements(v3_tasks[::12], bwrap, landlock) == []


def test_a_kernel_without_landlock_scoping_is_refused(monkeypatch):
    from sandbox import confine
    from sandbox.backends import landlock as module

    for abi in (0, 5):
        monkeypatch.setattr(confine, "landlock_abi", lambda abi=abi: abi)
        with pytest.raises(SandboxUnavailable, match=f"needs Landlock ABI {confine.MIN_ABI}"):
            module.LandlockSandbox(hf_cache=False)


def test_probing_chooses_landlock_where_bubblewrap_cannot_work(monkeypatch, caplog, landlock):
    from sandbox.backends import bwrap as module

    def no_namespaces(self):
        raise SandboxUnavailable("bubblewrap cannot create a sandbox here (bwrap: No "
                                 "permissions to create new namespace)")

    monkeypatch.delenv("AICODER_SANDBOX", raising=False)
    monkeypatch.setattr(module.BwrapSandbox, "_probe", no_namespaces)
    with caplog.at_level("WARNING", logger="sandbox"):
        chosen = get_sandbox(hf_cache=False)
    assert chosen.name == "landlock"
    assert "sandbox: landlock, chosen by probing (bwrap: bubblewrap cannot create" in caplog.text


def test_probing_never_falls_back_to_no_isolation(monkeypatch):
    from sandbox.backends import bwrap, landlock

    def unavailable(self, *args, **kwargs):
        raise SandboxUnavailable("not here")

    monkeypatch.delenv("AICODER_SANDBOX", raising=False)
    monkeypatch.setattr(bwrap.BwrapSandbox, "__init__", unavailable)
    monkeypatch.setattr(landlock.LandlockSandbox, "__init__", unavailable)
    with pytest.raises(SandboxUnavailable, match="no isolating sandbox works here"):
        get_sandbox(hf_cache=False)
