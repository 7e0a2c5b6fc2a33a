"""Training examples: an AICoderEval task turned into the chat CoderGen has with the model.

The prompt is exactly what CoderGen sends first (the system message and the generate
template around the task's signature and docstring); the completion is the answer CoderGen
hopes for: the imports and the reference function in one fenced block. TRL computes the
loss on the completion tokens only.
"""

from __future__ import annotations

import random
import re

from aicoder.prompts import render
from aicoder.tasks import Task

__all__ = ["answer_text", "split_validation", "to_example"]

_MARKER = re.compile(r"^# (function_import|function_code) -+[ \t]*\n?", re.MULTILINE)


def answer_text(task: Task) -> str:
    """The completion a model should give: imports + the reference function, one fence."""
    imports = _MARKER.sub("", task.imports).strip()
    function = _MARKER.sub("", task.reference_code).strip()
    code = f"{imports}\n\n{function}" if imports else function
    return f"```python\n{code}\n```"


def to_example(task: Task) -> dict[str, list[dict[str, str]]]:
    """A conversational prompt-completion example (TRL's layout)."""
    return {
        "prompt": [{"role": "system", "content": render("system")},
                   {"role": "user", "content": render("generate", prompt=task.prompt.strip())}],
        "completion": [{"role": "assistant", "content": answer_text(task)}],
    }


def split_validation(tasks: list[Task], fraction: float, seed: int
                     ) -> tuple[list[Task], list[Task]]:
    """(train, validation): a seeded random slice of ``fraction`` held out, at least one task
    when ``fraction`` > 0 and there are two or more; the order of the rest is kept."""
    if fraction <= 0 or len(tasks) < 2:
        return list(tasks), []
    count = min(len(tasks) - 1, max(1, round(len(tasks) * fraction)))
    held = set(random.Random(seed).sample(range(len(tasks)), count))
    return ([t for i, t in enumerate(tasks) if i not in held],
            [t for i, t in enumerate(tasks) if i in held])
