"""A run directory: ``config.json``, ``samples.jsonl`` (append-only), ``skipped.json``,
``tasks.json``.

Nothing is lost on a crash and nothing runs twice: each finished sample is one line written
with a single ``write`` to a file opened ``O_APPEND`` and fsync'd; on resume the lines already
there are the samples that are done. One rule for a torn last line, for every reader: a last
line cut short by a kill (no newline, or not a record) is dropped (and, by a writer resuming
the run, truncated away, so the next append starts clean). A damaged line *before* the last is
not a crash artefact: it is reported with its line number.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import RootModel, ValidationError

from aicoder.errors import AICoderError
from aicoder.runs.config import FORMAT_VERSION, VOLATILE_KEYS, RunConfig
from aicoder.runs.records import SampleRecord

__all__ = ["Run", "RunDir", "RunDirError", "Skipped", "config_differences", "load_samples",
           "read_run"]

#: what ``--fresh`` removes
_RUN_FILES = ("config.json", "samples.jsonl", "skipped.json", "tasks.json", "report.json",
              "report.md", "repair_curve.png", "by_domain.png")


class RunDirError(AICoderError):
    """The run directory cannot be used (unwritable, another config, a damaged file)."""


class Skipped(RootModel[dict[str, str]]):
    """``skipped.json``: task id -> why it could not run here (never counted as a failure)."""

    root: dict[str, str] = {}


def config_differences(old: RunConfig, new: RunConfig) -> list[str]:
    """The result-changing keys where two configs differ, as 'key: old -> new' lines."""
    a, b = old.as_dict(), new.as_dict()
    keys = sorted((set(a) | set(b)) - VOLATILE_KEYS)
    return [f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in keys if a.get(k) != b.get(k)]


def load_samples(path: Path, *, repair: bool = False) -> tuple[list[SampleRecord], int]:
    """Read a samples file: the one reader of ``samples.jsonl``. Returns (records, dropped)
    where ``dropped`` is 1 when a half-written last line was found (and, with ``repair``,
    truncated away).

    Raises:
        RunDirError: unreadable, or a line other than the last is damaged (named by its
            number).
    """
    if not path.exists():
        return [], 0
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RunDirError(f"cannot read {path}: {exc.strerror or exc}") from None
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
            first = str(exc).splitlines()
            why = (first[1].strip() if isinstance(exc, ValidationError) and len(first) > 1
                   else str(exc))[:120]
            raise RunDirError(f"{path}:{number}: not a sample record ({why}); move the file "
                              "away or fix that line") from None
        good_bytes += len(raw) + 1
    if tail.strip():
        dropped = 1  # no newline at the end: the writer was killed mid-line
    if dropped and repair:
        with open(path, "r+b") as fh:
            fh.truncate(good_bytes)
    return records, dropped


def _read_json(path: Path, what: str) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise RunDirError(f"{path} is unreadable ({exc})") from None
    if not isinstance(data, dict):
        raise RunDirError(f"{path} is not {what} (not a JSON object)")
    return data


def _read_config(path: Path) -> RunConfig:
    data = _read_json(path, "a run config")
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise RunDirError(f"{path} is not a run config ({exc.errors()[0]['loc']}: "
                          f"{exc.errors()[0]['msg']})") from None


@dataclass
class Run:
    """A run directory as read: what the report is computed from."""

    path: Path
    config: RunConfig
    records: list[SampleRecord]
    skipped: dict[str, str]
    task_meta: dict[str, dict] = field(default_factory=dict)
    dropped: int = 0


def read_run(path: str | os.PathLike) -> Run:
    """Read a run directory (any format version), without changing it.

    Raises:
        RunDirError: no config.json (not a run directory), or a damaged file.
    """
    path = Path(path)
    config_path = path / "config.json"
    if not config_path.is_file():
        raise RunDirError(f"{path} is not a run directory (no config.json)")
    config = _read_config(config_path)
    records, dropped = load_samples(path / "samples.jsonl")
    skipped_path = path / "skipped.json"
    skipped = Skipped.model_validate(_read_json(skipped_path, "a skipped list")).root \
        if skipped_path.is_file() else {}
    meta_path = path / "tasks.json"
    meta = _read_json(meta_path, "a task list") if meta_path.is_file() else {}
    return Run(path, config, records, dict(skipped), meta, dropped)


class RunDir:
    """``runs/NAME``: open (or resume) a run and append its samples.

    Args:
        path: the directory; created when missing.
        config: what this run is (model, mode, tasks, parameters, versions ...).
    """

    def __init__(self, path: str | os.PathLike, config: RunConfig) -> None:
        self.path = Path(path)
        self.config = config.model_copy(update={"format_version": FORMAT_VERSION})
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
            for name in _RUN_FILES:
                (self.path / name).unlink(missing_ok=True)
        if self.config_path.exists():
            old = _read_config(self.config_path)
            diffs = config_differences(old, self.config)
            if diffs:
                raise RunDirError(
                    f"{self.path} holds a run with another config ("
                    + "; ".join(diffs[:4]) + ("; ..." if len(diffs) > 4 else "")
                    + "): choose another --out, or add --fresh to start it again")
            # the old config goes on, with this invocation's volatile facts (not its date)
            update = {k: getattr(self.config, k) for k in VOLATILE_KEYS - {"created"}
                      if k in self.config.model_fields_set}
            self.config = old.model_copy(update={**update, "resumed": old.resumed + 1})
        elif self.samples_path.exists() and self.samples_path.stat().st_size:
            raise RunDirError(f"{self.samples_path} exists without config.json: choose "
                              "another --out, or add --fresh to start again")
        self._write_json(self.config_path, self.config.as_dict())
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
        self._write_json(self.path / "skipped.json", Skipped(skipped).root)

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
