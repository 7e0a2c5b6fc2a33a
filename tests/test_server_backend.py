"""tgi: / openai: through huggingface_hub's InferenceClient, against a local server double."""

from __future__ import annotations

import socket

import pytest

from aicoder.models import GenerationParams, Message, ModelError, ModelUnavailable, load_model
from aicoder.models.server_backend import ServerModel
from tests.server_double import ServerDouble

ASK = [Message(role="user", content="write add")]


def drain(model, params=None):
    stream = model.stream(ASK, params)
    deltas = []
    while True:
        try:
            deltas.append(next(stream))
        except StopIteration as stop:
            return deltas, stop.value


def test_openai_streams_with_a_named_adapter():
    with ServerDouble([("ok", "def add(a, b): return a + b")]) as server:
        model = load_model(f"openai:{server.url}#aicoder")
        deltas, completion = drain(model, GenerationParams(max_new_tokens=64, seed=3))
    assert "".join(deltas) == completion.text == "def add(a, b): return a + b"
    assert len(deltas) == 7
    assert (completion.prompt_tokens, completion.completion_tokens) == (7, 7)
    request = server.requests[0]
    assert request["path"] == "/v1/chat/completions"
    assert request["model"] == "aicoder" and request["stream"] is True
    assert request["max_tokens"] == 64 and request["seed"] == 3
    assert request["temperature"] == 0.6 and request["top_p"] == 0.9


def test_tgi_default_model_name_and_stop_strings():
    with ServerDouble([("ok", "one two STOP three")]) as server:
        model = load_model(f"tgi:{server.url}/")
        _, completion = drain(model, GenerationParams(stop=(" STOP",)))
    assert server.requests[0]["model"] == "tgi"
    assert completion.text == "one two" and completion.finish_reason == "stop"


def test_503_while_loading_is_retried_then_answered():
    with ServerDouble([("status", 503, "Model is loading"), ("status", 503, "loading"),
                       ("ok", "ready now")]) as server:
        model = ServerModel("tgi", server.url, backoff_s=0.01)
        _, completion = drain(model)
    assert completion.text == "ready now" and len(server.requests) == 3


@pytest.mark.parametrize(("script", "error", "message"), [
    ([("status", 503, "loading")] * 5, ModelUnavailable, "still loading the model"),
    ([("status", 404, "no such model")], ModelUnavailable, "no such model or route"),
    ([("status", 400, "max_tokens too large")], ModelError, r"rejected the request \(400\): .*max_tokens too large"),
    ([("status", 401, "bad key")], ModelUnavailable, "refused the credentials"),
])
def test_server_errors_are_one_clear_message(script, error, message):
    with ServerDouble(script) as server:
        model = ServerModel("openai", server.url, model="aicoder", backoff_s=0.01)
        with pytest.raises(error, match=message) as info:
            drain(model)
    assert server.url in str(info.value)


def test_connection_refused_names_the_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again below: nothing listens there
    model = ServerModel("tgi", f"http://127.0.0.1:{port}", retries=1, backoff_s=0.01)
    with pytest.raises(ModelUnavailable, match=rf"cannot reach http://127.0.0.1:{port}.*running"):
        drain(model)


def test_a_stalled_server_times_out_with_a_message():
    with ServerDouble([("sleep", 3)] * 2) as server:
        model = ServerModel("openai", server.url, timeout_s=0.5, retries=0)
        with pytest.raises(ModelUnavailable, match="did not answer in time"):
            drain(model)


def test_offline_mode_still_blocks_the_hub_but_not_a_local_server(monkeypatch):
    """HF_HUB_OFFLINE=1 (set for every test) keeps Hub calls off; a local server answers."""
    import huggingface_hub.constants as constants
    from huggingface_hub import get_session
    from huggingface_hub.errors import OfflineModeIsEnabled

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with ServerDouble([("ok", "fine")]) as server:
        _, completion = drain(load_model(f"tgi:{server.url}"))
    assert completion.text == "fine"
    with pytest.raises(OfflineModeIsEnabled):
        get_session().get(f"{constants.ENDPOINT}/api/models/gpt2")
