"""Shared fixtures: the shared v3 data (read in place, never copied) and the sandboxes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
V3_DIR = SHARED / "data" / "aicodereval" / "Research-2309" / "Exp-2" / "output"
V3_JSONL = V3_DIR / "hf-eval-data-v3-instruct.jsonl"
MODEL_ANSWERS = SHARED / "data" / "model-answers" / "qwen2.5-coder-answers.jsonl"


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
    if not V3_JSONL.is_file():
        pytest.fail(f"the shared AICoderEval v3 data is missing: {V3_JSONL}")
    return V3_JSONL


@pytest.fixture(scope="session")
def v3_tasks(v3_jsonl):
    from aicoder.tasks import load_jsonl

    return load_jsonl(v3_jsonl)


def _sandbox_or_skip(name: str):
    """The named backend, or a skip that says why; CI never skips bubblewrap, the default."""
    from sandbox import SandboxUnavailable, get_sandbox

    try:
        return get_sandbox(name, hf_cache=False)
    except SandboxUnavailable as exc:
        if name == "bwrap" and os.environ.get("CI"):
            pytest.fail(f"CI must exercise the default sandbox: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def bwrap():
    return _sandbox_or_skip("bwrap")


@pytest.fixture(scope="session")
def process_sandbox():
    return _sandbox_or_skip("process")


@pytest.fixture(scope="session", params=["bwrap", "process"])
def any_sandbox(request):
    return _sandbox_or_skip(request.param)


@pytest.fixture(scope="session", params=["bwrap", pytest.param("docker", marks=pytest.mark.docker)])
def isolated(request):
    """Each backend that isolates: the hostile corpus must be contained by all of them."""
    return _sandbox_or_skip(request.param)


def is_root() -> bool:
    return os.geteuid() == 0
