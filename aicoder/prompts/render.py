"""Rendering the templates, and describing a failed execution for the model.

Templates are text files beside this module with ``$name`` placeholders (``string.Template``:
code full of braces needs no escaping). A placeholder left unfilled is an error, not silence.
"""

from __future__ import annotations

import string
from functools import cache
from pathlib import Path

from sandbox import ExecutionResult

__all__ = ["describe_failure", "render", "trim_middle"]

TEMPLATES = Path(__file__).resolve().parent / "templates"


@cache
def _template(name: str) -> string.Template:
    return string.Template((TEMPLATES / f"{name}.txt").read_text(encoding="utf-8"))


def render(name: str, **values: object) -> str:
    """Fill template ``name`` (a file ``templates/<name>.txt``).

    Raises:
        KeyError: a placeholder has no value.
    """
    return _template(name).substitute({k: str(v) for k, v in values.items()}).strip()


def trim_middle(text: str, limit: int) -> str:
    """Keep the head and the tail of a long text, saying how much was cut."""
    if len(text) <= limit:
        return text
    half = max(limit // 2, 1)
    return f"{text[:half]}\n... [{len(text) - 2 * half} characters cut] ...\n{text[-half:]}"


def describe_failure(result: ExecutionResult, *, output_chars: int = 1500) -> str:
    """What the analysis prompt shows: the verdict, each check, the candidate's frames, the
    exception, and the program's output with long parts trimmed in the middle."""
    lines = [f"Verdict: {result.status.value} — {result.reason}"]
    if result.tamper:
        lines.append("The harness refused what your code did. Reaching into the test or the "
                     "harness (frames, the garbage collector, patched libraries or builtins, "
                     "values whose class always compares equal) is never a pass. Write the "
                     "function so it computes the answer. What was refused:")
        for evidence in result.tamper[:5]:
            lines.append(f"  - {evidence.summary()}")
    if result.checks:
        lines.append("Checks:")
        for check in result.checks:
            mark = check.state.value.upper()
            detail = f" — {check.message}" if check.message and not check.passed else ""
            lines.append(f"  [{mark}] {check.name}{detail}")
            if check.evidence and not check.passed:
                lines.extend(f"      {line}" for line in check.evidence.splitlines())
    tb = result.traceback
    if tb is not None:
        frames = tb.candidate_frames or tb.frames[-3:]
        if frames:
            lines.append("Traceback (most recent call last):")
            for frame in frames:
                where = "your function" if frame.in_candidate else frame.file
                lines.append(f"  {where}, line {frame.line}, in {frame.function}: {frame.code}")
        lines.append(trim_middle(tb.summary(), 800))
    for name, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        if text.strip():
            lines.append(f"{name}:\n{trim_middle(text.strip(), output_chars)}")
    return "\n".join(lines)
