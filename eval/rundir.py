"""A run directory: ``config.json``, ``samples.jsonl`` (append-only), ``skipped.json``.

Nothing is lost on a crash and nothing runs twice: each finished sample is one line written
with a single ``write`` to a file opened ``O_APPEND`` and fsync'd; on resume the lines already
there are the samples that are done. A last line cut short by a kill (no newline, or not JSON)
is dropped and the file truncated back to the last whole line, so the next append starts clean.
A damaged line *before* the last is not a crash artefact: it is reported with its line number.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from aicoder.errors import AICoderError
from eval.samples import SampleRecord

__all__ = ["RunDir", "RunDirError", "config_differences", "load_samples"]

#: config keys that do not change results: a resume may differ in them.
VOLATILE_KEYS = frozenset({"created", "versions", "git_commit", "workers", "concurrency",
                           "command", "resumed"})


class RunDirError(AICoderError):
    """The run directory cannot be used (unwritable, another config, a damaged file)."""


def config_differences(old: dict, new: dict) -> list[str]:
    """The result-changing keys where two configs differ, as 'key: old -> new' lines."""
    keys = sorted((set(old) | set(new)) - VOLATILE_KEYS)
    return [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys if old.get(k) != new.get(k)]


def load_samples(path: Path, *, repair: bool = False) -> tuple[list[SampleRecord], int]:
    """Read a samples file. Returns (records, dropped) where ``dropped`` is 1 when a
    half-written last line was found (and, with ``repair``, truncated away).

    Raises:
        RunDirError: a line other than the last is damaged (named by its number).
    """
    if not path.exists():
        return [], 0
    data = path.read_bytes()
    lines = data.split(b"\n")
    # data ends with "\n" when the last line is whole: the split leaves an empty tail.
    tail = lines.pop()
    records: list[SampleRecord] = []
    good_bytes = 0
    dropped = 0
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            good_bytes += len(raw) + 1
            continue
        try:
            records.append(SampleRecord.model_validate_json(raw))
        except ValueError as exc:
            if number == len(lines) and not tail:
                dropped = 1  # a whole line that is not a record, last: a torn write
                break
            raise RunDirError(f"{path}:{number}: not a sample record ({str(exc)[:120]}); "
                              "move the file away or fix that line") from None
        good_bytes += len(raw) + 1
    if tail.strip():
        dropped = 1  # no newline at the end: the writer was killed mid-line
    if dropped and repair:
        with open(path, "r+b") as fh:
            fh.truncate(good_bytes)
    return records, dropped


class RunDir:
    """``runs/NAME``: open (or resume) a run and append its samples.

    Args:
        path: the directory; created when missing.
        config: what this run is (model, mode, tasks, parameters, versions ...).
    """

    def __init__(self, path: str | os.PathLike, config: dict) -> None:
        self.path = Path(path)
        self.config = config
        self.config_path = self.path / "config.json"
        self.samples_path = self.path / "samples.jsonl"
        self._lock = threading.Lock()
        self._fd: int | None = None
        self.done: dict[tuple[str, int], SampleRecord] = {}
        self.dropped = 0

    def open(self, *, fresh: bool = False) -> RunDir:
        """Create the directory or resume it.

        Raises:
            RunDirError: not writable; or it holds a run with another config (the message
                lists the differences).
        """
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            probe = self.path / ".write-probe"
            probe.write_text("")
            probe.unlink()
        except OSError as exc:
            raise RunDirError(f"cannot write to {self.path}: {exc.strerror or exc}") from None
        if fresh:
            for name in ("config.json", "samples.jsonl", "skipped.json", "tasks.json",
                         "report.json", "report.md", "repair_curve.png", "by_domain.png"):
                (self.path / name).unlink(missing_ok=True)
        if self.config_path.exists():
            try:
                old = json.loads(self.config_path.read_text())
            except (OSError, ValueError) as exc:
                raise RunDirError(f"{self.config_path} is unreadable ({exc})") from None
            diffs = config_differences(old, self.config)
            if diffs:
                raise RunDirError(
                    f"{self.path} holds a run with another config ("
                    + "; ".join(diffs[:4]) + ("; ..." if len(diffs) > 4 else "")
                    + "): choose another --out, or add --fresh to start it again")
            self.config = {**old, **{k: self.config[k] for k in VOLATILE_KEYS
                                     if k in self.config and k != "created"},
                           "resumed": int(old.get("resumed", 0)) + 1}
        elif self.samples_path.exists() and self.samples_path.stat().st_size:
            raise RunDirError(f"{self.samples_path} exists without config.json: choose "
                              "another --out, or add --fresh to start again")
        self._write_json(self.config_path, self.config)
        records, self.dropped = load_samples(self.samples_path, repair=True)
        self.done = {(r.task_id, r.sample): r for r in records}
        self._fd = os.open(self.samples_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        return self

    def append(self, record: SampleRecord) -> None:
        """Write one finished sample durably (one write, then fsync)."""
        line = record.model_dump_json().encode() + b"\n"
        with self._lock:
            if self._fd is None:
                raise RunDirError("the run directory is not open")
            view = memoryview(line)
            while view:
                view = view[os.write(self._fd, view):]
            os.fsync(self._fd)
            self.done[(record.task_id, record.sample)] = record

    def write_skipped(self, skipped: dict[str, str]) -> None:
        self._write_json(self.path / "skipped.json", skipped)

    def write_tasks(self, tasks) -> None:
        """Each task's domain and framework, for the report's groups."""
        self._write_json(self.path / "tasks.json", {
            t.task_id: {"domain": t.domain, "framework": t.framework} for t in tasks})

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> RunDir:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @staticmethod
    def _write_json(path: Path, data: dict) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(tmp, path)
