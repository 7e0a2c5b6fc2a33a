"""Model specs and the in-process transformers backend on a tiny Llama built offline."""

from __future__ import annotations

import threading

import pytest

from aicoder.models import (
    GenerationParams,
    Message,
    ModelUnavailable,
    load_model,
    parse_spec,
)
from aicoder.models.registry import DEFAULT_MODEL, default_spec
from tests.tiny_models import build_lora_adapter, build_tiny_llama

HELLO = [Message(role="system", content="You write code."),
         Message(role="user", content="def add(a, b):")]
GREEDY = GenerationParams(temperature=0.0, max_new_tokens=12)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    base = build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))
    adapter = build_lora_adapter(base, tmp_path_factory.mktemp("tiny-lora"))
    return base, adapter


@pytest.mark.parametrize(("spec", "message"), [
    ("llama:foo", "did you mean 'llamacpp'"),
    ("tranformers:x", "did you mean 'transformers'"),
    ("nocolon", "has no backend"),
    ("openai:", "names no model"),
    ("openai:localhost:8000", "must start with http"),
])
def test_bad_specs_are_one_clear_message(spec, message):
    with pytest.raises(ModelUnavailable, match=message):
        load_model(spec)


def test_default_model_and_override(monkeypatch):
    monkeypatch.delenv("AICODER_MODEL", raising=False)
    assert default_spec() == DEFAULT_MODEL
    assert parse_spec(DEFAULT_MODEL)[0] == "llamacpp"
    monkeypatch.setenv("AICODER_MODEL", "openai:http://127.0.0.1:1#m")
    assert default_spec() == "openai:http://127.0.0.1:1#m"


def test_hf_backend_needs_a_token(monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(ModelUnavailable, match="set HF_TOKEN"):
        load_model("hf:Qwen/Qwen2.5-Coder-32B-Instruct")


def test_missing_local_model_is_a_clear_error(tmp_path):
    with pytest.raises(ModelUnavailable, match="cannot load"):
        load_model(f"transformers:{tmp_path / 'nothing-here'}")
    with pytest.raises(ModelUnavailable, match=r"no GGUF file|needs llama-cpp-python"):
        load_model(f"llamacpp:{tmp_path / 'missing.gguf'}")


def test_transformers_streams_and_counts(tiny):
    model = load_model(f"transformers:{tiny[0]}")
    stream = model.stream(HELLO, GREEDY)
    deltas = []
    while True:
        try:
            deltas.append(next(stream))
        except StopIteration as stop:
            completion = stop.value
            break
    assert "".join(deltas) == completion.text and len(deltas) >= 2
    assert completion.completion_tokens <= 12 and completion.prompt_tokens > 5
    assert completion.time_to_first_token_s is not None and completion.duration_s > 0
    # greedy decoding is deterministic
    assert model.complete(HELLO, GREEDY).text == completion.text


def test_transformers_stop_strings_and_cancel(tiny):
    model = load_model(f"transformers:{tiny[0]}")
    full = model.complete(HELLO, GenerationParams(temperature=0.0, max_new_tokens=30)).text
    assert len(full) > 4
    stop = full[2:4]
    cut = model.complete(HELLO, GenerationParams(temperature=0.0, max_new_tokens=30,
                                                 stop=(stop,)))
    assert cut.text == full[: full.index(stop)] and cut.finish_reason == "stop"

    cancel = threading.Event()
    stream = model.stream(HELLO, GenerationParams(temperature=0.0, max_new_tokens=200), cancel)
    next(stream)
    cancel.set()
    rest = list(stream)
    assert len(rest) <= 2  # at most what was already decoded


def test_adapter_changes_the_output(tiny):
    base, adapter = tiny
    plain = load_model(f"transformers:{base}").complete(HELLO, GREEDY)
    tuned = load_model(f"transformers:{base}+{adapter}")
    assert tuned.spec.endswith(f"+{adapter}")
    assert tuned.complete(HELLO, GREEDY).text != plain.text
