"""``config.json``: what a run is. Written by ``eval run`` and ``eval score``, compared on
resume, read by the report."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["FORMAT_VERSION", "VOLATILE_KEYS", "Filters", "RunConfig", "Versions"]

#: the version of the run format this code writes; files without one are version 0
FORMAT_VERSION = 1

#: config keys that do not change results: a resume may differ in them (and takes the new
#: values).
VOLATILE_KEYS = frozenset({"created", "versions", "git_commit", "workers", "executor",
                           "concurrency", "command", "resumed", "format_version"})


class Filters(BaseModel):
    """The task filters of the command line."""

    domain: str | None = None
    framework: str | None = None
    ids: str | None = None
    limit: int | None = None


class Versions(BaseModel):
    """Package versions of the app and of the execution environment."""

    model_config = ConfigDict(extra="allow")

    app: dict[str, str] = Field(default_factory=dict)
    env: dict[str, str] = Field(default_factory=dict)


class RunConfig(BaseModel):
    """One run directory's ``config.json``.

    Every field has a default, so that a config written by an older version still loads;
    keys this version does not know are kept (``extra="allow"``) and written back.
    """

    model_config = ConfigDict(extra="allow")

    format_version: int = Field(default=0, description="0: written before the field existed")
    kind: Literal["run", "score"] | None = Field(default=None, description="which command")
    # the tasks
    tasks: str = ""
    filters: Filters = Field(default_factory=Filters)
    task_ids_sha256: str = ""
    source_sha256: str = Field(default="", description="the whole task source (keys "
                               "check-gt's exclusion lists)")
    n_tasks: int = 0
    exclude: str | None = None
    no_skip: bool = False
    # execution
    timeout_s: float | None = None
    sandbox: str = ""
    env: str = ""
    env_packages: dict[str, str] = Field(default_factory=dict)
    workers: int | None = None
    executor: str | None = Field(default=None, description="local, ray or ray://HEAD:PORT")
    # the model and how it was used (run)
    model: str = ""
    mode: str = Field(default="", description="direct, codergen, react; 'score' for score")
    samples: int = 1
    max_rounds: int | None = None
    react_steps: int | None = None
    prompts: str | None = None
    candidates: int | None = None
    analysis_tokens: int | None = None
    max_new_tokens: int | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    seed: int | None = None
    concurrency: int | None = None
    # predictions (score)
    predictions: str | None = None
    predictions_sha256: str | None = None
    compat: str | None = None
    # provenance
    versions: Versions = Field(default_factory=Versions)
    git_commit: str = ""
    created: str = ""
    command: str = Field(default="", description="the command that resumes the run")
    resumed: int = 0

    @property
    def repair_rounds(self) -> int:
        """The rounds a repair curve of this run spans (0 for one-shot modes)."""
        return int(self.max_rounds or 0) if self.mode == "codergen" else 0

    def as_dict(self) -> dict:
        """What ``config.json`` holds: the keys the command set (a score run has no
        ``temperature``), and the unknown ones kept."""
        return self.model_dump(mode="json", exclude_unset=True)
