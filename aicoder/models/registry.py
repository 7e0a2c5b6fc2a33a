"""Model specs: ``backend:target`` strings, parsed here and built lazily.

    llamacpp:<hub repo>/<file.gguf> | llamacpp:<local .gguf>
    transformers:<hub id | folder>[+<adapter id | folder>]
    tgi:<url>[#model]    openai:<url>[#model]    hf:<model id>

``AICODER_MODEL`` overrides the embedded default. Each backend's heavy imports happen only
when it is chosen.
"""

from __future__ import annotations

import difflib
import os

from aicoder.models.base import ChatModel, ModelUnavailable

__all__ = ["BACKENDS", "DEFAULT_MODEL", "default_spec", "load_model", "parse_spec"]

DEFAULT_MODEL = "llamacpp:Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
BACKENDS = ("llamacpp", "transformers", "tgi", "openai", "hf")


def default_spec() -> str:
    return os.environ.get("AICODER_MODEL") or DEFAULT_MODEL


def parse_spec(spec: str) -> tuple[str, str]:
    """Split a spec into (backend, target).

    Raises:
        ModelUnavailable: no backend prefix, an unknown one (with a suggestion), or no target.
    """
    spec = spec.strip()
    backend, sep, target = spec.partition(":")
    if not sep:
        raise ModelUnavailable(f"model spec {spec!r} has no backend: write BACKEND:TARGET with "
                               f"BACKEND one of {', '.join(BACKENDS)}")
    if backend not in BACKENDS:
        close = difflib.get_close_matches(backend, BACKENDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ModelUnavailable(f"unknown model backend {backend!r}{hint}; choose one of "
                               f"{', '.join(BACKENDS)}")
    if not target.strip():
        raise ModelUnavailable(f"model spec {spec!r} names no model after '{backend}:'")
    return backend, target.strip()


def load_model(spec: str | None = None) -> ChatModel:
    """Build the model a spec names (default: ``$AICODER_MODEL`` or the embedded default)."""
    backend, target = parse_spec(spec or default_spec())
    if backend == "llamacpp":
        from aicoder.models.llamacpp_backend import LlamaCppModel

        return LlamaCppModel(target)
    if backend == "transformers":
        from aicoder.models.transformers_backend import TransformersModel

        model, _, adapter = target.partition("+")
        return TransformersModel(model, adapter or None)
    from aicoder.models.server_backend import ServerModel

    if backend == "hf":
        return ServerModel("hf", target)
    url, _, name = target.partition("#")
    return ServerModel(backend, url, model=name or None)
