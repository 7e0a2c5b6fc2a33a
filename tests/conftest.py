"""Shared fixtures: the shared v3 data (read in place, never copied), the project's own
AICoderEval-layout fixture data (tests/data), and the sandboxes.

A test that reads ``../shared`` is marked ``shared_data`` (tests that take the ``v3_jsonl`` or
``v3_tasks`` fixture are marked for you). Where that folder is missing, as in a user's fresh
clone, such a test is skipped with the missing path as the reason; under ``CI=true`` it fails,
because CI always has ``../shared``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
V3_DIR = SHARED / "data" / "aicodereval" / "Research-2309" / "Exp-2" / "output"
V3_JSONL = V3_DIR / "hf-eval-data-v3-instruct.jsonl"
MODEL_ANSWERS = SHARED / "data" / "model-answers" / "qwen2.5-coder-answers.jsonl"
# The project's own records in the AICoderEval layout, and predictions for them in both layouts.
DATA = ROOT / "tests" / "data"
MINI_JSONL = DATA / "aicodereval-mini.jsonl"
MINI_AUTHORS = DATA / "authors-predictions"
MINI_PREDICTIONS = DATA / "predictions.jsonl"

_SHARED_FIXTURES = {"v3_jsonl", "v3_tasks"}


def in_ci() -> bool:
    """CI=true (as .ci/run is started): what a developer may skip, CI must run."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _SHARED_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.shared_data)


def pytest_runtest_setup(item):
    markers = list(item.iter_markers("shared_data"))
    if not markers:
        return
    needed = [Path(p) for m in markers for p in (m.args or (V3_JSONL,))]
    missing = [p for p in needed if not p.exists()]
    if not missing:
        return
    if in_ci():
        pytest.fail(f"CI must run the shared-data tests, and {missing[0]} is missing")
    pytest.skip(f"needs the shared AICoderEval data: {missing[0]} is missing")


@pytest.fixture(autouse=True)
def _no_hub(monkeypatch, tmp_path_factory):
    """No test reaches the Hub, and none sees the developer's HuggingFace cache or token."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path_factory.getbasetemp() / "hf-home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    # nor the developer's execution environments and check-gt exclusion lists
    monkeypatch.setenv("AICODER_HOME", str(tmp_path_factory.getbasetemp() / "aicoder-home"))


@pytest.fixture(scope="session")
def v3_jsonl() -> Path:
    return V3_JSONL


@pytest.fixture(scope="session")
def v3_tasks(v3_jsonl):
    from aicoder.tasks import load_jsonl

    return load_jsonl(v3_jsonl)


@pytest.fixture(scope="session")
def mini_tasks():
    """The project's own AICoderEval-layout records (tests/data/aicodereval-mini.jsonl)."""
    from aicoder.tasks import load_jsonl

    return {t.task_id: t for t in load_jsonl(MINI_JSONL)}


def _sandbox_or_skip(name: str):
    """The named backend (``NAME-cold``: with its warm path off), or a skip that says why;
    CI never skips bubblewrap, the default."""
    from sandbox import SandboxUnavailable, get_sandbox

    name, cold = name.removesuffix("-cold"), name.endswith("-cold")
    try:
        return get_sandbox(name, hf_cache=False, warm=False if cold else None)
    except SandboxUnavailable as exc:
        if name in ("bwrap", "landlock") and in_ci():
            pytest.fail(f"CI must exercise the {name} sandbox: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def bwrap():
    return _sandbox_or_skip("bwrap")


@pytest.fixture(scope="session")
def process_sandbox():
    return _sandbox_or_skip("process")


@pytest.fixture(scope="session")
def bwrap_cold():
    return _sandbox_or_skip("bwrap-cold")


@pytest.fixture(scope="session", params=["bwrap", "bwrap-cold", "landlock", "landlock-cold",
                                         "process"])
def any_sandbox(request):
    return _sandbox_or_skip(request.param)


@pytest.fixture(scope="session")
def landlock():
    return _sandbox_or_skip("landlock")


@pytest.fixture(scope="session", params=["bwrap", "bwrap-cold", "landlock", "landlock-cold",
                                         pytest.param("docker", marks=pytest.mark.docker)])
def isolated(request):
    """Each backend that isolates, warm (the default) and cold: the hostile corpus must be
    contained by all of them."""
    return _sandbox_or_skip(request.param)


def is_root() -> bool:
    return os.geteuid() == 0


@pytest.fixture(autouse=True)
def _record_sandbox_statuses(request, monkeypatch):
    """In the attack corpora, each run's backend and status goes into the test's junit
    properties (`benchmarks.hostile_table` reads them): what was contained, and how."""
    if request.module.__name__.rsplit(".", 1)[-1] not in ("test_hostile", "test_shared_uid"):
        return
    from sandbox.backends.base import LocalSandbox
    from sandbox.backends.docker import DockerSandbox

    for cls in (LocalSandbox, DockerSandbox):
        original = cls.run

        def recording(self, *args, _original=original, **kwargs):
            result = _original(self, *args, **kwargs)
            request.node.user_properties.append(("sandbox_status",
                                                 f"{self.name}:{result.status.value}"))
            return result

        monkeypatch.setattr(cls, "run", recording)
