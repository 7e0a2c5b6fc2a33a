"""``llamacpp:<hub repo>/<file.gguf>`` or ``llamacpp:<local .gguf>`` — llama.cpp in this process.

The fast path on CPU: the GGUF's own chat template, token streaming, cancel by closing the
stream. A Hub file is downloaded once into the HuggingFace cache, with a progress bar.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Generator
from pathlib import Path

from aicoder.models.base import (
    ChatModel,
    Completion,
    GenerationParams,
    Message,
    ModelError,
    ModelUnavailable,
    TextAccumulator,
)

__all__ = ["LlamaCppModel", "resolve_gguf"]


def resolve_gguf(target: str) -> str:
    """A local .gguf path, downloading ``owner/repo/file.gguf`` from the Hub if needed.

    Raises:
        ModelUnavailable: the file is neither local nor downloadable (the message says why).
    """
    path = Path(target).expanduser()
    if path.is_file():
        return str(path)
    parts = target.split("/")
    if target.startswith(("/", ".", "~")) or len(parts) < 3 or not target.endswith(".gguf"):
        raise ModelUnavailable(f"no GGUF file at {target}: give a local .gguf path or "
                               "OWNER/REPO/FILE.gguf on the Hub")
    repo, filename = "/".join(parts[:2]), "/".join(parts[2:])
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        return hf_hub_download(repo_id=repo, filename=filename)
    except LocalEntryNotFoundError as exc:
        raise ModelUnavailable(
            f"cannot download {filename} from {repo} and it is not in the HuggingFace cache: "
            "connect once, or point AICODER_MODEL at a local .gguf") from exc
    except HfHubHTTPError as exc:
        raise ModelUnavailable(f"the Hub refused {repo}/{filename}: {exc}") from exc


class LlamaCppModel(ChatModel):
    concurrency = 1

    def __init__(self, target: str, *, n_ctx: int = 8192, n_threads: int | None = None) -> None:
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ModelUnavailable(
                "the llamacpp backend needs llama-cpp-python, built from source (minutes): "
                "CMAKE_ARGS='-DGGML_NATIVE=OFF' pip install llama-cpp-python") from exc
        self.spec = f"llamacpp:{target}"
        path = resolve_gguf(target)
        try:
            self.llm = Llama(model_path=path, n_ctx=n_ctx, verbose=False,
                             n_threads=n_threads or max(os.cpu_count() or 1, 1))
        except (ValueError, RuntimeError) as exc:
            raise ModelUnavailable(f"llama.cpp cannot load {path}: {exc}") from exc
        self._lock = threading.Lock()

    def stream(self, messages: list[Message], params: GenerationParams | None = None,
               cancel: threading.Event | None = None) -> Generator[str, None, Completion]:
        params = params or GenerationParams()
        cancel = cancel or threading.Event()
        with self._lock:
            acc = TextAccumulator(params.stop)
            kwargs = dict(messages=[m.model_dump() for m in messages], stream=True,
                          max_tokens=params.max_new_tokens, stop=list(params.stop) or None,
                          temperature=params.temperature, top_p=params.top_p)
            if params.greedy:
                kwargs.update(temperature=0.0, top_k=1)
            if params.seed is not None:
                kwargs["seed"] = params.seed
            try:
                chunks = self.llm.create_chat_completion(**kwargs)
            except ValueError as exc:  # e.g. the prompt is longer than the context
                raise ModelError(f"llama.cpp refused the prompt: {exc}") from exc
            pieces = ((c["choices"][0].get("delta", {}).get("content") or "",
                       c["choices"][0].get("finish_reason")) for c in chunks)
            try:  # llama-cpp-python streams one token per chunk
                finish = yield from acc.relay(pieces, cancel)
            finally:
                chunks.close()
            prompt = max(int(getattr(self.llm, "n_tokens", 0)) - acc.tokens, 0)
            return acc.completion(prompt, acc.tokens, finish)
