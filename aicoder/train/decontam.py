"""Decontamination: training records that duplicate a test task are dropped before training.

Each task is compared by its code (imports + the reference function, docstring included),
normalised into a token stream: comments and layout dropped, string literals split into
words, everything lower-cased — so renamed whitespace, edited comments or a reflowed
docstring do not hide a copy. A pair is an **exact** duplicate when the normalised streams are
equal, and a **near** duplicate when the n-grams they share are at least ``threshold`` of the
smaller task's n-grams (the overlap coefficient: a test task copied inside a longer training
record counts too).
"""

from __future__ import annotations

import io
import re
import tokenize
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field

from aicoder.tasks import Task

__all__ = ["DecontamReport", "Match", "decontaminate", "normalise"]

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|[^\sA-Za-z0-9_]")
_SKIP = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
         tokenize.ENCODING, tokenize.ENDMARKER}


def normalise(code: str) -> list[str]:
    """The code's tokens: no comments or layout, string literals as their words, lower case.
    Code that does not tokenize (a broken record) falls back to a word split of its text."""
    out: list[str] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type in _SKIP:
                continue
            if tok.type == tokenize.STRING:
                out.extend(w.lower() for w in re.findall(r"\w+", tok.string)
                           if w.lower() not in ("r", "b", "f", "rb", "br", "u"))
            else:
                out.append(tok.string.lower())
    except (tokenize.TokenError, IndentationError, SyntaxError):
        out = [w.lower() for w in _WORD.findall(re.sub(r"#[^\n]*", "", code))]
    return out


def _code(task: Task) -> str:
    return f"{task.imports}\n{task.reference_code}"


def _ngrams(tokens: list[str], n: int) -> set[int]:
    if len(tokens) < n:
        return {hash(tuple(tokens))} if tokens else set()
    return {hash(tuple(tokens[i:i + n])) for i in range(len(tokens) - n + 1)}


@dataclass(frozen=True)
class Match:
    """A training record removed because of one test task (the closest)."""

    train_id: str
    test_id: str
    kind: str      # "exact" | "near"
    overlap: float  # shared n-grams / the smaller side's n-grams
    train_source: str = ""


@dataclass
class DecontamReport:
    """What decontamination compared and what it removed."""

    ngram: int
    threshold: float
    train_records: int
    test_records: int
    removed: list[Match] = field(default_factory=list)

    @property
    def kept(self) -> int:
        return self.train_records - len(self.removed)

    def to_dict(self) -> dict[str, object]:
        return {"ngram": self.ngram, "threshold": self.threshold,
                "train_records": self.train_records, "test_records": self.test_records,
                "kept": self.kept,
                "exact": sum(m.kind == "exact" for m in self.removed),
                "near": sum(m.kind == "near" for m in self.removed),
                "removed": [asdict(m) for m in self.removed]}

    def to_markdown(self) -> str:
        d = self.to_dict()
        lines = ["# Decontamination", "",
                 f"Training records compared: {self.train_records}; test tasks: "
                 f"{self.test_records}; {self.ngram}-grams of normalised code; near-duplicate "
                 f"threshold {self.threshold:g}.", "",
                 f"Removed {len(self.removed)} ({d['exact']} exact, {d['near']} near); "
                 f"kept {self.kept}.", ""]
        if self.removed:
            lines += ["| training record | test task | kind | overlap |", "| --- | --- | --- | --- |"]
            lines += [f"| {m.train_id} | {m.test_id} | {m.kind} | {m.overlap:.2f} |"
                      for m in self.removed]
        return "\n".join(lines) + "\n"


def decontaminate(train: list[Task], test: list[Task], *, ngram: int = 10,
                  threshold: float = 0.5) -> tuple[list[Task], DecontamReport]:
    """Drop the training tasks that duplicate a test task.

    Args:
        train: the training tasks, in order (the order of the kept ones is kept).
        test: the tasks to protect.
        ngram: n-gram length in normalised tokens (1 or more).
        threshold: near-duplicate overlap, in (0, 1].

    Returns:
        The kept training tasks and the report of the removed ones.
    """
    if ngram < 1:
        raise ValueError("ngram must be 1 or more")
    if not 0 < threshold <= 1:
        raise ValueError("threshold must be in (0, 1]")
    exact: dict[tuple[str, ...], str] = {}
    index: dict[int, list[int]] = defaultdict(list)
    sizes: list[int] = []
    for i, task in enumerate(test):
        tokens = normalise(_code(task))
        exact.setdefault(tuple(tokens), task.task_id)
        grams = _ngrams(tokens, ngram)
        sizes.append(len(grams))
        for g in grams:
            index[g].append(i)
    report = DecontamReport(ngram=ngram, threshold=threshold, train_records=len(train),
                            test_records=len(test))
    kept: list[Task] = []
    for task in train:
        tokens = normalise(_code(task))
        if tuple(tokens) in exact:
            report.removed.append(Match(task.task_id, exact[tuple(tokens)], "exact", 1.0,
                                        task.source))
            continue
        grams = _ngrams(tokens, ngram)
        shared: Counter[int] = Counter()
        for g in grams:
            shared.update(index.get(g, ()))
        best = max(((count / max(1, min(len(grams), sizes[i])), i)
                    for i, count in shared.items()), default=(0.0, -1))
        if best[0] >= threshold:
            report.removed.append(Match(task.task_id, test[best[1]].task_id, "near",
                                        round(best[0], 4), task.source))
            continue
        kept.append(task)
    return kept, report
