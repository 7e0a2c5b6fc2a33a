"""``report.json``: every number of a run. ``eval report`` computes it (``eval/report.py``);
the Space's leaderboard and training's ``--eval`` read it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AuditNote", "Disagreement", "Group", "Intervals", "Report", "TaskRow", "TheirHarness"]


class Intervals(BaseModel):
    """95% percentile-bootstrap intervals over tasks, ``[low, high]``."""

    level: float = 0.95
    sr_all: list[float] = Field(default_factory=lambda: [0.0, 0.0])
    sr_any: list[float] = Field(default_factory=lambda: [0.0, 0.0])
    pass_at_k: dict[str, list[float]] = Field(default_factory=dict)


class Group(BaseModel):
    """The tasks of one domain or framework."""

    n: int
    sr_all: float
    sr_any: float


class TaskRow(BaseModel):
    """One task of the report: its first sample's verdict and its samples' counts."""

    model_config = ConfigDict(extra="allow")

    status: str = Field(description="a SampleStatus value, of the first sample")
    checks_passed: int = 0
    checks_total: int = 0
    checks_executed: int = 0
    all_passed: bool = False
    any_passed: bool = False
    passed_at_round: int | None = None
    samples: int = 1
    samples_passed: int = 0
    samples_any_passed: int = 0
    domain: str = "unknown"
    framework: str = "unknown"
    authors_passed: bool | None = Field(default=None, description="--compat authors")


class AuditNote(BaseModel):
    """Which tasks an ``eval audit`` found weak, and whether the numbers leave them out."""

    source: str = Field(description="the audit (or the exclusion list that carried it)")
    min_mutation_score: float = 0.6
    excluded: bool = Field(default=False, description="the weak tasks are not in the numbers")
    weak: dict[str, str] = Field(default_factory=dict, description="the run's weak tasks, why")
    sr_all_strong: float | None = Field(default=None, description="SR@All on the scored "
                                        "tasks that are not weak (when they are in the numbers)")
    n_strong: int = 0


class Disagreement(BaseModel):
    """A sample that the authors' harness judged otherwise."""

    task_id: str
    sample: int
    ours: str
    ours_passed: bool
    authors_passed: bool
    stderr_has_error: bool
    stdout_has_failed: bool


class TheirHarness(BaseModel):
    """``--compat authors``: the authors' verdicts beside ours."""

    n: int
    sr_authors: float
    agree: int
    disagree: list[Disagreement] = Field(default_factory=list)


class Report(BaseModel):
    """One run directory's ``report.json``.

    Every field has a default, so that a report written by an older version still loads;
    keys this version does not know are kept.
    """

    model_config = ConfigDict(extra="allow")

    format_version: int = Field(default=0, description="0: written before the field existed")
    name: str = Field(default="", description="the run directory's name")
    model: str = ""
    mode: str = ""
    tasks: str = ""
    env: str = ""
    env_packages: dict[str, str] = Field(default_factory=dict)
    git_commit: str = ""
    source_sha256: str = ""
    n_tasks: int = 0
    n_scored: int = 0
    n_skipped: int = 0
    n_missing: int = Field(default=0, description="tasks with no sample yet (an unfinished "
                           "run): not in the numbers")
    samples_per_task: int = 1
    n_samples: int = 0
    n_vacuous: int = 0
    n_tampered: int = 0
    statuses: dict[str, int] = Field(default_factory=dict)
    sr_all: float = 0.0
    sr_any: float = 0.0
    pass_at_k: dict[str, float] = Field(default_factory=dict)
    intervals: Intervals = Field(default_factory=Intervals)
    repair_curve: list[float] = Field(default_factory=list, description="SR@All after round "
                                      "0..K")
    by_domain: dict[str, Group] = Field(default_factory=dict)
    by_framework: dict[str, Group] = Field(default_factory=dict)
    tokens_per_sample: float = 0.0
    completion_tokens_per_sample: float = 0.0
    seconds_per_sample: float = Field(default=0.0, description="a sample's own time, without "
                                      "its waits for a slot")
    queued_seconds_per_sample: float = 0.0
    per_task: dict[str, TaskRow] = Field(default_factory=dict)
    skipped: dict[str, str] = Field(default_factory=dict)
    compat: TheirHarness | None = None
    audit: AuditNote | None = None

    def as_dict(self) -> dict:
        """What ``report.json`` holds."""
        data = self.model_dump(mode="json", exclude_none=False)
        if self.compat is None:
            data.pop("compat")
        if self.audit is None:
            data.pop("audit")
        for row in data["per_task"].values():
            if row.get("authors_passed") is None:
                row.pop("authors_passed", None)
        return data
