"""Predictions made elsewhere, for ``python -m eval score``.

Two layouts:

* a JSONL file, one line per sample: ``{"task_id": "f00035_...", "completion": "..."}`` —
  the completion is a function body, or a whole function (fenced or not); several lines for
  one task are its samples, in order;
* the original authors' layout: a directory of JSON files, each a task record plus a
  ``prediction`` field (``result-00001.json`` ...); the task id is the stem of its ``path``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from aicoder.errors import AICoderError

__all__ = ["PredictionError", "Predictions", "authors_program", "cut_at_def",
           "load_predictions"]


class PredictionError(AICoderError):
    """Predictions that cannot be read (the message names the file and line)."""


@dataclass
class Predictions:
    """task id -> completions (sample order), and what could not be used."""

    by_task: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    empty_files: list[str] = field(default_factory=list)
    source: str = ""

    @property
    def count(self) -> int:
        return sum(len(v) for v in self.by_task.values())


def _task_id(path: str) -> str:
    return Path(path).stem


def load_predictions(path: str | Path) -> Predictions:
    """Read predictions from a JSONL file or an authors'-layout directory.

    Raises:
        PredictionError: missing path, a malformed line or file (named), no prediction at all.
    """
    path = Path(path)
    preds = Predictions(source=str(path))
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if not files:
            raise PredictionError(f"{path} holds no .json files")
        for file in files:
            text = file.read_text(encoding="utf-8", errors="replace")
            if not text.strip():
                preds.empty_files.append(file.name)  # 0-byte files exist in the authors' data
                continue
            try:
                record = json.loads(text)
            except ValueError as exc:
                raise PredictionError(f"{file}: not JSON ({exc})") from None
            if not isinstance(record, dict) or not isinstance(record.get("prediction"), str) \
                    or not isinstance(record.get("path"), str):
                raise PredictionError(f"{file}: needs string fields 'path' and 'prediction'")
            preds.by_task[_task_id(record["path"])].append(record["prediction"])
    elif path.is_file():
        with path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                except ValueError as exc:
                    raise PredictionError(f"{path}:{number}: not JSON ({exc.args[0]})") from None
                if not isinstance(item, dict):
                    raise PredictionError(f"{path}:{number}: expected an object")
                task_id = item.get("task_id")
                completion = item.get("completion", item.get("prediction"))
                missing = [k for k, v in (("task_id", task_id), ("completion", completion))
                           if not isinstance(v, str)]
                if missing:
                    raise PredictionError(f"{path}:{number}: needs string field"
                                          f"{'s' if len(missing) > 1 else ''} "
                                          f"{', '.join(missing)}")
                preds.by_task[_task_id(task_id)].append(completion)
    else:
        raise PredictionError(f"no predictions at {path} (a .jsonl file or a directory)")
    if not preds.count:
        raise PredictionError(f"{path} holds no predictions")
    preds.by_task = dict(preds.by_task)
    return preds


def cut_at_def(prediction: str) -> str:
    """The authors' harness kept a prediction up to its first line starting with ``def ``
    (a completion model goes on to write more functions)."""
    kept = []
    for line in prediction.splitlines(keepends=True):
        if line.startswith("def "):
            break
        kept.append(line)
    return "".join(kept)


def authors_program(task, prediction: str) -> str:
    """The script the authors' harness ran: the prompt, the cut prediction, the test, the call."""
    parts = [task.prompt.rstrip("\n") + "\n" + cut_at_def(prediction).rstrip(),
             task.test_code.strip(), task.call.strip()]
    return "\n\n".join(parts) + "\n"
