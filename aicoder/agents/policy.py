"""CoderGen's repair policy, in one place: what a repair round asks, how it samples, and what
counts as a dead round.

Measured with a 1.5B model at temperature 0, the paper's exchange (analysis → repair, with the
same history every round) mostly sent the failing code back unchanged, and the same history
then gave the same answer again: every later round was dead. The policy (``prompts="default"``):

* **The conversation is compact.** Each round shows the latest attempt, what its checks
  reported (with the harness's evidence), and a one-line list of every attempt that failed so
  far, not the whole history.
* **A repeat is said plainly.** A repair identical to an earlier attempt is not run again; the
  model is told "identical to attempt k, which failed with ..." and asked once more, in the
  same round, to take another approach (`RepairPolicy.retries`). That request is a fresh
  conversation: the task, every failed attempt's one-line failure and the last analysis's
  findings, but none of the failed code (shown its own code, the 1.5B model copied it back in
  21 of 41 repairs even when sampled at 0.6-0.8).
* **A dead round changes the sampling** (`RepairPolicy.sampling`): every repeat and every
  degenerate analysis raises the run's *stuck level*. At level 0 a request uses the run's own
  parameters; at level L it samples at temperature ``max(T, min(1, 0.4 + 0.2 L))`` with a seed
  of its own. Extra candidates (``candidates > 1``) start one level up, so that N candidates
  are N different samples even at temperature 0.
* **A degenerate analysis is cut down** before it is fed back (`degenerate`, `trim_analysis`):
  one that repeats itself, that ran into its token cap, or that is code rather than analysis.
  Analyses have their own small cap (`RepairPolicy.analysis_tokens`).
* **Candidates.** With ``candidates=N`` a round samples N repairs; the one that passes the most
  checks is kept, ties broken by fewer tokens; a candidate that passes ends the run at once.

``prompts="paper"`` keeps the paper's exchange as it was (analysis → repair, same history,
same sampling), so the improvement can be measured against it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from aicoder.models import GenerationParams
from aicoder.repair_options import PROMPTS
from sandbox import ExecutionResult

__all__ = ["PROMPTS", "RepairPolicy", "degenerate", "failure_line", "review_analysis",
           "trim_analysis"]

_FENCE = re.compile(r"```[^\n]*\n.*?(?:```|\Z)", re.S)
_SENTENCE = re.compile(r"[^.!?\n]+(?:[.!?]+|\n|$)")
_CODE_LINE = re.compile(r"^\s*(?:def |class |import |from \S+ import |return\b|for .*:$|"
                        r"if .*:$|elif .*:$|else:$|while .*:$|try:$|except\b.*:$|with .*:$|"
                        r"[A-Za-z_][\w.\[\]]* *[+\-*/]?= )")
#: a phrase looping without sentence ends ("and the the the ...", "1, 1, 1, ...")
_LOOP = re.compile(r"(.{8,120}?)\1{4,}", re.S)
#: repeated sentences that make an analysis degenerate
_REPEATS = 3


def _units(text: str) -> list[str]:
    """Sentences (and lines), normalised, that are long enough to count as a repeat."""
    units = (" ".join(u.lower().split()) for u in _SENTENCE.findall(text))
    return [u for u in units if len(u) >= 12]


def _repeated_unit(text: str) -> str | None:
    counts: dict[str, int] = {}
    for unit in _units(text):
        counts[unit] = counts.get(unit, 0) + 1
        if counts[unit] >= _REPEATS:
            return unit
    if _LOOP.search(text):
        return "a phrase"
    return None


def _code_share(text: str) -> float:
    fenced = sum(m.group(0).count("\n") for m in _FENCE.finditer(text))
    lines = [line for line in _FENCE.sub("", text).splitlines() if line.strip()]
    code = fenced + sum(bool(_CODE_LINE.match(line)) for line in lines)
    total = fenced + len(lines)
    return code / total if total else 0.0


def degenerate(text: str, *, cut: bool = False) -> str | None:
    """Why an analysis is degenerate, or None when it is a usable analysis.

    ``cut``: the generation stopped at its token limit.
    """
    if not text.strip():
        return "empty"
    if _repeated_unit(text) is not None:
        return "repeats itself"
    if _code_share(text) > 0.5:
        return "code instead of analysis"
    if cut:
        return "cut at the token limit"
    return None


def review_analysis(text: str, cut: bool) -> str:
    """The note an analysis step carries when it is degenerate ("" when it is not)."""
    why = degenerate(text, cut=cut)
    if why is None:
        return ""
    fed = trim_analysis(text, why)
    return (f"degenerate analysis ({why}): fed back cut to {len(fed)} characters" if fed
            else f"degenerate analysis ({why}): not fed back")


def trim_analysis(text: str, why: str | None, *, limit: int = 1200) -> str:
    """The part of a degenerate analysis worth feeding back ("" when none is).

    Repetition: the text up to the first repeat of a sentence. Code: the prose without the code.
    Cut: the complete sentences before the cut. Always at most ``limit`` characters.
    """
    if why is None:
        return text.strip()[:limit]
    prose = _FENCE.sub("", text)
    prose = "\n".join(line for line in prose.splitlines() if not _CODE_LINE.match(line))
    kept: list[str] = []
    seen: set[str] = set()
    for raw in _SENTENCE.findall(prose):
        unit = " ".join(raw.lower().split())
        if not unit:
            continue
        if unit in seen:
            break  # the loop starts here
        seen.add(unit)
        if _LOOP.search(raw):
            break
        kept.append(raw.strip())
    if why == "cut at the token limit" and kept and not re.search(r"[.!?]$", kept[-1]):
        kept.pop()  # the sentence the limit cut off
    out = " ".join(kept).strip()
    return out[:limit].rsplit(" ", 1)[0] if len(out) > limit else out


def failure_line(result: ExecutionResult, *, limit: int = 240) -> str:
    """One line for the list of failed attempts: how many checks failed, and the first
    failure's message and evidence."""
    checks = result.checks
    failed = [c for c in checks if not c.passed]
    head = (f"{len(failed)} of {len(checks)} checks failed" if checks
            else f"{result.status.value}: {result.reason}")
    first = next((c for c in failed if c.executed), None)
    if first is not None:
        detail = first.message or ""
        if first.evidence:
            detail += " (" + "; ".join(first.evidence.splitlines()[:2]) + ")"
        head += f"; {first.name}: {detail}" if detail else f"; {first.name}"
    elif result.traceback is not None and result.traceback.summary().strip():
        head += "; " + result.traceback.summary().strip().splitlines()[-1]
    head = " ".join(head.split())
    return head if len(head) <= limit else head[: limit - 1] + "…"


@dataclass(frozen=True)
class RepairPolicy:
    """How CoderGen repairs (see the module docstring for the reasons)."""

    prompts: Literal["default", "paper"] = "default"
    candidates: int = 1
    """repairs sampled per round; the one passing the most checks is kept"""
    analysis_tokens: int = 256
    """the analysis's own token cap (default prompts)"""
    retries: int = 1
    """re-asks within a round after a repair that repeats an earlier attempt"""

    def __post_init__(self) -> None:
        if self.prompts not in PROMPTS:
            raise ValueError(f"prompts must be one of {', '.join(PROMPTS)}, not {self.prompts!r}")
        if self.candidates < 1:
            raise ValueError("candidates must be at least 1")
        if self.analysis_tokens < 16:
            raise ValueError("analysis_tokens must be at least 16")
        if self.retries < 0:
            raise ValueError("retries cannot be negative")

    @property
    def paper(self) -> bool:
        return self.prompts == "paper"

    def sampling(self, base: GenerationParams, *, round_: int, level: int, candidate: int = 0,
                 analysis: bool = False) -> GenerationParams:
        """The parameters of one request: the run's own at level 0, hotter and reseeded above.

        ``level``: the run's stuck level (repeats and degenerate analyses so far);
        ``candidate``: the candidate's number in its round (from 0).
        """
        if self.paper:
            return base
        change: dict = {}
        if analysis:
            change["max_new_tokens"] = min(base.max_new_tokens, self.analysis_tokens)
        level += 1 if candidate else 0
        if level:
            change["temperature"] = max(base.temperature, min(1.0, 0.4 + 0.2 * level))
            # its own seed, so that a resample is a different sample (None stays unseeded)
            if base.seed is not None:
                change["seed"] = base.seed + 1000 * round_ + 100 * level + candidate
        return base.model_copy(update=change) if change else base
