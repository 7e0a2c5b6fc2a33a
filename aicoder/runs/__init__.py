"""The run format's one home: what a run directory holds, typed.

A run directory (``runs/NAME``) is the contract between ``python -m eval`` (which writes it),
its report, the Space's replay and leaderboard, and training's ``--eval``:

* ``config.json`` — `RunConfig`: what the run is (model, mode, tasks, parameters, versions);
* ``samples.jsonl`` — one `SampleRecord` per finished sample, appended; `RunDir` writes and
  resumes it, and `load_samples` is its one reader (one rule for a torn last line);
* ``skipped.json`` — `Skipped`: the tasks that could not run here, with why;
* ``tasks.json`` — each task's domain and framework, for the report's groups;
* ``report.json`` — `Report`: every number of the run.

``config.json`` and ``report.json`` carry ``format_version`` (`FORMAT_VERSION`); a file
written before it existed reads as version 0 and loads the same way.
"""

from aicoder.runs.config import FORMAT_VERSION, RunConfig
from aicoder.runs.records import CompatVerdict, SampleRecord, SampleStatus, record_from_steps
from aicoder.runs.report import Report
from aicoder.runs.rundir import (
    Run,
    RunDir,
    RunDirError,
    Skipped,
    config_differences,
    load_samples,
    read_run,
)

__all__ = [
    "FORMAT_VERSION",
    "CompatVerdict",
    "Report",
    "Run",
    "RunConfig",
    "RunDir",
    "RunDirError",
    "SampleRecord",
    "SampleStatus",
    "Skipped",
    "config_differences",
    "load_samples",
    "read_run",
    "record_from_steps",
]
