"""The chat-model interface: messages in, streamed text out, then a `Completion`.

Every backend implements one method, ``stream``: a generator that yields text deltas as they
are decoded and *returns* a `Completion` (token counts, finish reason, timings). ``complete``
drains it for callers that do not stream. Closing the generator (a consumer that stops
iterating), or setting the ``cancel`` event, stops the generation.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Generator, Iterable
from enum import Enum
from typing import Literal

from pydantic import BaseModel, Field, field_validator

from aicoder.errors import AICoderError

__all__ = [
    "ChatModel",
    "Completion",
    "FinishReason",
    "GenerationParams",
    "Message",
    "ModelError",
    "ModelUnavailable",
    "StreamTimer",
    "TextAccumulator",
]


class ModelError(AICoderError):
    """The model failed while generating (the server returned an error, the output broke)."""


class ModelUnavailable(ModelError):
    """The model cannot be used: a bad spec, a missing file or token, a server that is down."""


class Message(BaseModel, frozen=True):
    role: Literal["system", "user", "assistant"]
    content: str


class GenerationParams(BaseModel, frozen=True):
    """Sampling settings. Defaults are the paper's: top-p 0.9, temperature 0.6."""

    max_new_tokens: int = Field(default=1024, gt=0)
    temperature: float = Field(default=0.6, ge=0.0, description="0 means greedy")
    top_p: float = Field(default=0.9, gt=0.0, le=1.0)
    seed: int | None = None
    stop: tuple[str, ...] = Field(default=(), description="stop when one of these is written")

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0


class FinishReason(str, Enum):
    """Why a generation ended."""

    STOP = "stop"
    """The model ended its answer (end of sequence, a stop string, any server's own word for
    it: TGI's ``eos_token`` / ``stop_sequence``, OpenAI's ``content_filter`` ...)."""
    LENGTH = "length"
    """It reached ``max_new_tokens``: the text is cut."""
    CANCELLED = "cancelled"
    """Stopped from outside (Stop, Ctrl-C, a closed stream)."""
    ERROR = "error"
    """The generation failed part-way (the agent stores the error on its step)."""


class Completion(BaseModel, frozen=True):
    """What one generation produced and cost."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: FinishReason = Field(default=FinishReason.STOP,
                                        description="stop | length | cancelled | error")
    time_to_first_token_s: float | None = None
    duration_s: float = 0.0
    usage_reported: bool = Field(default=True, description="False: the server sent no usage, "
                                 "so completion_tokens counts streamed chunks and the prompt's "
                                 "count is unknown (0)")

    @field_validator("finish_reason", mode="before")
    @classmethod
    def _reason(cls, value):
        if isinstance(value, FinishReason):
            return value
        known = {r.value for r in FinishReason}
        return FinishReason(value) if value in known else FinishReason.STOP

    @property
    def cut(self) -> bool:
        """The text stopped at the token limit."""
        return self.finish_reason is FinishReason.LENGTH



class StreamTimer:
    """Measures time to first token and total duration of one stream."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.first: float | None = None

    def token(self) -> None:
        if self.first is None:
            self.first = time.monotonic() - self.start

    def completion(self, text: str, prompt_tokens: int, completion_tokens: int,
                   finish_reason: str, *, usage_reported: bool = True) -> Completion:
        return Completion(text=text, prompt_tokens=prompt_tokens,
                          completion_tokens=completion_tokens, finish_reason=finish_reason,
                          time_to_first_token_s=self.first,
                          duration_s=time.monotonic() - self.start,
                          usage_reported=usage_reported)


class ChatModel(ABC):
    """A chat model behind some backend. Instances are reusable and thread-compatible."""

    #: the spec string it was built from, e.g. ``transformers:/models/tiny``
    spec: str = ""
    #: generations that may run at once (1 for an in-process model, more for a server)
    concurrency: int = 1

    @abstractmethod
    def stream(self, messages: list[Message], params: GenerationParams | None = None,
               cancel: threading.Event | None = None) -> Generator[str, None, Completion]:
        """Yield text deltas; return the Completion.

        Raises:
            ModelUnavailable: the backend cannot be reached or loaded (one clear message).
            ModelError: generation failed.
        """

    def complete(self, messages: list[Message], params: GenerationParams | None = None,
                 cancel: threading.Event | None = None) -> Completion:
        """Generate without streaming."""
        gen = self.stream(messages, params, cancel)
        while True:
            try:
                next(gen)
            except StopIteration as stop:
                return stop.value


class TextAccumulator:
    """Accumulates streamed deltas, cutting at the first stop string and timing the stream."""

    def __init__(self, stop: tuple[str, ...]) -> None:
        self.stop = stop
        self.text = ""
        self.tokens = 0  # deltas received (one token each for llama.cpp and most servers)
        self.timer = StreamTimer()

    def feed(self, delta: str) -> tuple[str, bool]:
        """The new visible text for ``delta``, and whether a stop string was reached."""
        self.tokens += 1
        self.timer.token()
        cut, hit = apply_stop(self.text + delta, self.stop)
        new, self.text = cut[len(self.text):], cut
        return new, hit

    def relay(self, pieces: Iterable[tuple[str, str | None]], cancel: threading.Event
              ) -> Generator[str, None, str]:
        """Yield the visible text of ``(delta, finish_reason)`` pieces as they come; return
        the finish reason: the backend's, ``stop`` at a stop string, ``cancelled``."""
        finish = "length"
        for delta, reason in pieces:
            if reason:
                finish = reason
            if delta:
                new, hit = self.feed(delta)
                if new:
                    yield new
                if hit:
                    return "stop"
            if cancel.is_set():
                return "cancelled"
        return finish

    def completion(self, prompt_tokens: int, completion_tokens: int, finish_reason: str,
                   *, usage_reported: bool = True) -> Completion:
        return self.timer.completion(self.text, prompt_tokens, completion_tokens, finish_reason,
                                     usage_reported=usage_reported)


def apply_stop(text: str, stop: tuple[str, ...]) -> tuple[str, bool]:
    """Cut ``text`` at the first stop string; True when one was found."""
    cuts = [i for i in (text.find(s) for s in stop if s) if i >= 0]
    if not cuts:
        return text, False
    return text[: min(cuts)], True
