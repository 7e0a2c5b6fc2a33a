"""llama.cpp: the in-process backend on a tiny GGUF written offline, and `openai:` against a
real OpenAI-compatible server (llama-cpp-python's) serving that file on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from aicoder.models import GenerationParams, Message, load_model
from tests.tiny_models import build_tiny_llama, write_tiny_gguf

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed (requirements.txt)")

ASK = [Message(role="system", content="You write code."),
       Message(role="user", content="def add(a, b):")]
GREEDY = GenerationParams(temperature=0.0, max_new_tokens=16)


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory):
    folder = build_tiny_llama(tmp_path_factory.mktemp("tiny-llama-gguf"))
    return write_tiny_gguf(folder, folder / "tiny-f32.gguf")


def drain(stream):
    deltas = []
    while True:
        try:
            deltas.append(next(stream))
        except StopIteration as stop:
            return deltas, stop.value


def test_llamacpp_streams_counts_and_is_deterministic_when_greedy(tiny_gguf):
    model = load_model(f"llamacpp:{tiny_gguf}")
    deltas, completion = drain(model.stream(ASK, GREEDY))
    assert "".join(deltas) == completion.text and len(deltas) >= 2
    assert completion.prompt_tokens > 5 and 0 < completion.completion_tokens <= 16
    assert completion.time_to_first_token_s is not None
    assert model.complete(ASK, GREEDY).text == completion.text


def test_llamacpp_cancel(tiny_gguf):
    model = load_model(f"llamacpp:{tiny_gguf}")
    cancel = threading.Event()
    stream = model.stream(ASK, GenerationParams(temperature=0.0, max_new_tokens=400), cancel)
    next(stream)
    cancel.set()
    _, completion = drain(stream)
    assert completion.finish_reason == "cancelled" and completion.completion_tokens < 400


@pytest.fixture(scope="module")
def llama_server(tiny_gguf):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "llama_cpp.server", "--model", str(tiny_gguf), "--host",
         "127.0.0.1", "--port", str(port), "--model_alias", "tiny-coder", "--n_ctx", "512"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/v1/models", timeout=1)
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail("llama_cpp.server exited at start")
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("llama_cpp.server did not start in 60 s")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def test_openai_backend_against_a_real_llama_cpp_server(llama_server):
    model = load_model(f"openai:{llama_server}#tiny-coder")
    deltas, completion = drain(model.stream(ASK, GREEDY))
    assert "".join(deltas) == completion.text and len(deltas) >= 2
    # this server sends no usage: the streamed tokens are counted, the prompt is unknown
    assert not completion.usage_reported
    assert completion.completion_tokens == len(deltas) and completion.prompt_tokens == 0
    assert completion.time_to_first_token_s is not None
    assert model.complete(ASK, GREEDY).text == completion.text  # greedy is deterministic

