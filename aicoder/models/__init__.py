"""Chat models: one interface (`ChatModel.stream`), several backends chosen by a spec string."""

from aicoder.models.base import (
    ChatModel,
    Completion,
    FinishReason,
    GenerationParams,
    Message,
    ModelError,
    ModelUnavailable,
)
from aicoder.models.registry import BACKENDS, DEFAULT_MODEL, default_spec, load_model, parse_spec

__all__ = [
    "BACKENDS",
    "DEFAULT_MODEL",
    "ChatModel",
    "Completion",
    "FinishReason",
    "GenerationParams",
    "Message",
    "ModelError",
    "ModelUnavailable",
    "default_spec",
    "load_model",
    "parse_spec",
]
