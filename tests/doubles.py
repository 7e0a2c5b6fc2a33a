"""Test doubles for what cannot run here: a chat model that answers from a script."""

from __future__ import annotations

import re
import threading
import time

from aicoder.models import ChatModel, Completion, GenerationParams, Message


class ScriptedModel(ChatModel):
    """Answers with the queued texts in order, streamed word by word.

    ``history`` holds the messages of every call, ``params`` its sampling parameters. An Exception in the queue is raised instead
    of answering. With ``hang=True`` the model yields one word and then waits (up to 30 s) for
    the stream to be cancelled or closed, as a slow model would.
    """

    spec = "scripted:test"

    def __init__(self, answers, *, prompt_tokens: int = 10, hang: bool = False) -> None:
        self.answers = list(answers)
        self.history: list[list[Message]] = []
        self.params: list[GenerationParams | None] = []
        self.prompt_tokens = prompt_tokens
        self.hang = hang
        self.closed = threading.Event()

    def enqueue(self, *answers) -> None:
        self.answers.extend(answers)

    def stream(self, messages, params: GenerationParams | None = None,
               cancel: threading.Event | None = None):
        self.history.append(list(messages))
        self.params.append(params)
        if not self.answers:
            raise AssertionError("the scripted model ran out of answers")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        start = time.monotonic()
        words = re.split(r"(?<=\s)", answer)
        sent = 0
        try:
            for word in words:
                if cancel is not None and cancel.is_set():
                    break
                yield word
                sent += 1
                if self.hang:
                    (cancel or threading.Event()).wait(30)
        finally:
            self.closed.set()
        text = "".join(words[:sent])
        return Completion(text=text, prompt_tokens=self.prompt_tokens, completion_tokens=sent,
                          finish_reason="stop", time_to_first_token_s=0.0,
                          duration_s=time.monotonic() - start)
