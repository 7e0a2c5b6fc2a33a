"""Choosing a backend, its errors, and the read-only HuggingFace cache."""

from __future__ import annotations

import os
import sys

import pytest

from sandbox import Limits, Program, SandboxUnavailable, Status, get_sandbox


def test_unknown_backend_suggests_the_right_name():
    with pytest.raises(SandboxUnavailable, match="did you mean 'bwrap'"):
        get_sandbox("bwarp")


def test_missing_bubblewrap_says_how_to_install_it(monkeypatch):
    from sandbox.backends import bwrap as module

    monkeypatch.setattr(module.shutil, "which", lambda name: None)
    with pytest.raises(SandboxUnavailable, match="apt-get install bubblewrap"):
        module.BwrapSandbox()


def test_default_backend_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("AICODER_SANDBOX", "process")
    assert get_sandbox(hf_cache=False).name == "process"


def test_no_docker_engine_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(SandboxUnavailable, match="no Docker engine answers"):
        get_sandbox("docker")


def _hub_cache_with_tiny_model(root, repo: str) -> None:
    """Save a tiny random BERT and lay it out as huggingface_hub's cache does."""
    import torch
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=32)
    commit = "f" * 40
    base = root / ("models--" + repo.replace("/", "--"))
    BertModel(config).save_pretrained(base / "snapshots" / commit)
    (base / "refs").mkdir()
    (base / "refs" / "main").write_text(commit)
    # hf_hub_download leaves files readable by all (umask 022); save_pretrained makes 0600 ones
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


@pytest.mark.slow
def test_a_hub_model_in_the_cache_loads_offline_and_read_only(tmp_path, bwrap):
    """What an AICoderEval test does (from_pretrained of a Hub id) works from the cache."""
    cache = tmp_path / "hub"
    cache.mkdir()
    tmp_path.chmod(0o755)
    _hub_cache_with_tiny_model(cache, "aicoder-test/tiny-bert")
    sandbox = get_sandbox("bwrap", hf_cache=cache)
    candidate = (
        "import os\n"
        "import torch\n"
        "from transformers import AutoModel\n"
        "def embed(ids):\n"
        "    model = AutoModel.from_pretrained('aicoder-test/tiny-bert')\n"
        "    return model(torch.tensor([ids])).last_hidden_state\n"
        "def poison_cache():\n"
        "    try:\n"
        "        with open(os.path.join(os.environ['HF_HUB_CACHE'], 'x'), 'w') as fh:\n"
        "            fh.write('x')\n"
        "        return True\n"
        "    except OSError:\n"
        "        return False\n"
    )
    test = ("def test_embed():\n"
            "    assert embed([1, 2, 3]).shape == (1, 3, 16)\n"
            "    assert os.environ['HF_HUB_OFFLINE'] == '1'\n"
            "    assert not poison_cache()\n")
    result = sandbox.run(Program(candidate=candidate, test=test, entry="test_embed"),
                         Limits(wall_s=120))
    assert result.status is Status.PASSED, (result.reason, result.traceback)
    assert not (cache / "x").exists()

    missing = candidate.replace("aicoder-test/tiny-bert", "aicoder-test/not-cached")
    result = sandbox.run(Program(candidate=missing, test=test, entry="test_embed"),
                         Limits(wall_s=120))
    assert result.status is Status.FAILED
    assert result.checks[0].message.startswith("OSError: We couldn't connect")


def test_an_unreadable_cache_is_refused_with_the_fix(tmp_path, bwrap):
    if os.geteuid() != 0:
        pytest.skip("only a sandbox under another uid cares")
    cache = tmp_path / "hub"
    cache.mkdir(mode=0o700)
    with pytest.raises(SandboxUnavailable, match="chmod -R a\\+rX"):
        get_sandbox("bwrap", hf_cache=cache)


def _venv_through_a_symlink(tmp_path) -> str:
    """The interpreter of this venv, reached through a symlink to the venv's directory (as a
    user's `.venv -> /data/venvs/aicoder` is)."""
    if sys.prefix == sys.base_prefix:
        pytest.skip("the tests do not run in a venv")
    link = tmp_path / "venv-link"
    link.symlink_to(os.path.realpath(sys.prefix), target_is_directory=True)
    return str(link / "bin" / os.path.basename(sys.executable))


def test_a_venv_reached_through_a_symlink_sees_its_packages(tmp_path, bwrap):
    from sandbox.backends.bwrap import BwrapSandbox

    sandbox = BwrapSandbox(python=_venv_through_a_symlink(tmp_path), hf_cache=False)
    assert sandbox.interpreter.executable.startswith(os.path.realpath(sys.prefix))
    result = sandbox.run(Program(
        candidate="import numpy, sys\ndef where():\n    return sys.prefix, numpy.__file__\n",
        test=f"def test_where():\n    prefix, numpy_file = where()\n"
             f"    assert prefix == {os.path.realpath(sys.prefix)!r}, prefix\n"
             f"    assert numpy_file.startswith(prefix), numpy_file\n",
        entry="test_where"), Limits(wall_s=60))
    assert result.status is Status.PASSED, (result.reason, [c.message for c in result.checks])


def test_an_interpreter_that_loses_its_venv_inside_is_refused_at_startup(tmp_path, monkeypatch,
                                                                       bwrap):
    """Started by the symlinked path with only its bin/ bound (what the sandbox did before),
    the venv's python runs as the base interpreter without the venv's packages: the startup
    probe says so, before any task could be scored as the model's ModuleNotFoundError."""
    import dataclasses

    from sandbox.backends import bwrap as module

    python = _venv_through_a_symlink(tmp_path)
    real = module.resolve_interpreter(python)
    if real.module is None:
        pytest.skip("the venv has no light module for the probe to import")
    lost = dataclasses.replace(real, executable=python, paths=(
        os.path.dirname(python), *[p for p in real.paths if not p.startswith(real.prefix)]))
    monkeypatch.setattr(module, "resolve_interpreter", lambda _python: lost)
    with pytest.raises(SandboxUnavailable, match="does not see its own packages inside"):
        module.BwrapSandbox(python=python, hf_cache=False)
