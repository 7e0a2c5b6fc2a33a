"""Models behind a server, through ``huggingface_hub.InferenceClient``:

* ``tgi:<url>[#model]`` and ``openai:<url>[#model]`` — a running TGI, vLLM or llama.cpp server
  (their OpenAI-compatible chat API). ``#model`` picks a served LoRA adapter (TGI's
  ``LORA_ADAPTERS``, vLLM's ``--lora-modules``) or the served model's name.
* ``hf:<model id>`` — HuggingFace inference providers; needs ``HF_TOKEN``.

Connection refused, 503 while the server loads, timeouts and 4xx each become one message that
names the URL and what to do. Transient failures (connection refused, 429, 5xx, timeouts) are
retried with exponential backoff, a bounded number of times, and only before the first token.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Generator

from aicoder.models.base import (
    ChatModel,
    Completion,
    GenerationParams,
    Message,
    ModelError,
    ModelUnavailable,
    TextAccumulator,
)

__all__ = ["ServerModel", "allow_self_hosted_offline"]

RETRIES = 4
BACKOFF_S = 0.5


_HUB_HOSTS = ("huggingface.co", "hf.co")
_policy_lock = threading.Lock()
_policy_installed = False


def _is_hub(host: str) -> bool:
    from urllib.parse import urlparse

    from huggingface_hub import constants

    endpoint = urlparse(constants.ENDPOINT).hostname or ""
    return host == endpoint or any(host == h or host.endswith("." + h) for h in _HUB_HOSTS)


def allow_self_hosted_offline() -> None:
    """Let ``HF_HUB_OFFLINE=1`` block the Hub only, not a self-hosted TGI/vLLM server.

    huggingface_hub refuses *every* request of its shared client in offline mode, so a user
    with an offline Hub cache could not reach their own server on localhost. This installs (once)
    a client whose request hook applies offline mode to Hub hosts alone; everything else about
    the client is huggingface_hub's default.
    """
    global _policy_installed
    with _policy_lock:
        if _policy_installed:
            return
        import httpx2
        from huggingface_hub import constants, set_client_factory
        from huggingface_hub.utils._http import hf_request_event_hook

        def hook(request):
            if constants.is_offline_mode() and not _is_hub(request.url.host):
                return None  # not the Hub: offline mode does not apply
            return hf_request_event_hook(request)

        set_client_factory(lambda: httpx2.Client(event_hooks={"request": [hook]},
                                                 follow_redirects=True, timeout=None))
        _policy_installed = True


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def _is_transport(exc: BaseException) -> bool:
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & {"TransportError", "ConnectError", "ConnectionError", "RemoteProtocolError"})


def _is_timeout(exc: BaseException) -> bool:
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & {"InferenceTimeoutError", "TimeoutException", "TimeoutError"})


class ServerModel(ChatModel):
    """A chat model served over HTTP."""

    def __init__(self, kind: str, target: str, *, model: str | None = None,
                 timeout_s: float = 300.0, retries: int = RETRIES, backoff_s: float = BACKOFF_S
                 ) -> None:
        from huggingface_hub import InferenceClient

        self.kind = kind
        self.retries = retries
        self.backoff_s = backoff_s
        if kind == "hf":
            token = os.environ.get("HF_TOKEN")
            if not token:
                raise ModelUnavailable(f"hf:{target} needs a HuggingFace token: set HF_TOKEN "
                                       "(https://huggingface.co/settings/tokens)")
            self.spec = f"hf:{target}"
            self.where = f"the inference providers for {target}"
            self.model = target
            self.client = InferenceClient(model=target, token=token, timeout=timeout_s)
            self.concurrency = 8
        else:
            url = target.rstrip("/")
            if not url.startswith(("http://", "https://")):
                raise ModelUnavailable(f"{kind}:{target}: the URL must start with http:// or "
                                       "https://")
            base = url if url.endswith("/v1") else url + "/v1"
            allow_self_hosted_offline()
            self.spec = f"{kind}:{url}" + (f"#{model}" if model else "")
            self.where = url
            # TGI serves one model and ignores the name ("tgi" is its default); vLLM and
            # llama.cpp need the served name, or the LoRA adapter's.
            self.model = model or ("tgi" if kind == "tgi" else None)
            self.client = InferenceClient(base_url=base, timeout=timeout_s,
                                          api_key=os.environ.get("AICODER_SERVER_API_KEY", "-"))
            self.concurrency = 8

    def _explain(self, exc: BaseException) -> ModelError:
        code = _status(exc)
        if _is_transport(exc):
            return ModelUnavailable(f"cannot reach {self.where}: {exc}. Is the server running "
                                    "and the URL right?")
        if _is_timeout(exc):
            return ModelUnavailable(f"{self.where} did not answer in time; a busy or loading "
                                    "server needs a longer timeout")
        if code == 503:
            return ModelUnavailable(f"{self.where} is still loading the model (503): wait for "
                                    "its health check to pass, then try again")
        if code in (401, 403):
            return ModelUnavailable(f"{self.where} refused the credentials ({code}): check "
                                    "HF_TOKEN / AICODER_SERVER_API_KEY")
        if code == 404:
            return ModelUnavailable(f"{self.where} has no such model or route (404)"
                                    + (f": is {self.model!r} served?" if self.model else ""))
        if code is not None and 400 <= code < 500:
            body = getattr(getattr(exc, "response", None), "text", "") or str(exc)
            return ModelError(f"{self.where} rejected the request ({code}): {body[:300]}")
        return ModelError(f"{self.where} failed: {exc}")

    def _transient(self, exc: BaseException) -> bool:
        code = _status(exc)
        return _is_transport(exc) or _is_timeout(exc) or code in (429, 502, 503, 504)

    @staticmethod
    def _pieces(chunks, seen: dict):
        """(delta, finish_reason) of each streamed chunk; the usage, when sent, goes to seen."""
        for chunk in chunks:
            if getattr(chunk, "usage", None):
                seen["usage"] = chunk.usage
            if chunk.choices:
                choice = chunk.choices[0]
                yield (choice.delta.content or "") if choice.delta else "", choice.finish_reason

    def stream(self, messages: list[Message], params: GenerationParams | None = None,
               cancel: threading.Event | None = None) -> Generator[str, None, Completion]:
        params = params or GenerationParams()
        cancel = cancel or threading.Event()
        kwargs = {
            "messages": [m.model_dump() for m in messages],
            "stream": True,
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "stream_options": {"include_usage": True},
        }
        if self.model and self.kind != "hf":
            kwargs["model"] = self.model
        if params.seed is not None:
            kwargs["seed"] = params.seed
        if params.stop:
            kwargs["stop"] = list(params.stop)

        attempt = 0
        while True:
            acc = TextAccumulator(params.stop)
            seen: dict = {}
            try:
                chunks = self.client.chat_completion(**kwargs)
                finish = yield from acc.relay(self._pieces(chunks, seen), cancel)
                usage = seen.get("usage")
                break
            except ModelError:
                raise
            except Exception as exc:  # every client error becomes one message
                # Nothing listening is retried once (a server just starting); a loading (503)
                # or busy server gets the full budget of retries.
                limit = min(self.retries, 1) if _is_transport(exc) else self.retries
                if acc.text or attempt >= limit or not self._transient(exc):
                    raise self._explain(exc) from exc
                attempt += 1
                if cancel.wait(self.backoff_s * 2 ** (attempt - 1)):
                    return Completion(text="", finish_reason="cancelled")
        if usage is None:
            # llama.cpp's server ignores stream_options: count the streamed tokens instead
            # (TGI, vLLM and llama.cpp send one token per chunk); the prompt's count is unknown.
            return acc.completion(0, acc.tokens, finish, usage_reported=False)
        return acc.completion(usage.prompt_tokens or 0, usage.completion_tokens or 0, finish)
