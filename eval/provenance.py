"""What a run records about where its numbers come from: the tasks' hash, package versions,
the project's git commit; and the exclusion lists that ``check-gt`` writes for run/score/report.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from importlib import metadata
from pathlib import Path

from aicoder.tasks import tasks_sha256

__all__ = ["app_versions", "exclusions_path", "git_commit", "load_exclusions", "now",
           "tasks_sha256"]

ROOT = Path(__file__).resolve().parent.parent
_APP_PACKAGES = ("torch", "transformers", "huggingface-hub", "peft", "llama-cpp-python",
                 "gradio", "pydantic", "numpy")


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def app_versions() -> dict[str, str]:
    out = {}
    for name in _APP_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def git_commit() -> str:
    """The project's commit, with ``+dirty`` when the tree has uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10)
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def exclusions_path(source_sha: str, env: str) -> Path:
    """Where ``check-gt`` keeps the exclusion list of a task source run in an environment."""
    base = os.environ.get("AICODER_HOME") or os.path.expanduser("~/.cache/aicoder")
    return Path(base) / "check-gt" / f"{source_sha[:16]}-{env}.json"


def exclusions_from_rows(rows: list[dict]) -> dict[str, str]:
    """check-gt's rule: a task whose reference ran and did not pass is excluded, with why. A
    skipped reference (its Hub repositories not cached) is not: once prefetch caches them it
    can run."""
    from aicoder.runs import SampleStatus

    keep = (SampleStatus.PASSED, SampleStatus.SKIPPED)
    return {r["task_id"]: f"reference {SampleStatus(r['status']).value}: "
                          f"{r.get('category', '')}"
            for r in rows if SampleStatus(r["status"]) not in keep}


def load_exclusions(path: Path) -> dict[str, str]:
    """task id -> why its reference does not pass, from an exclusion list (or a check-gt
    report: its rows whose status is not ``passed``)."""
    from aicoder.errors import TaskSourceError

    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise TaskSourceError(f"cannot read the exclusion list {path}: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("excluded"), dict):
        return {str(k): str(v) for k, v in data["excluded"].items()}
    if isinstance(data, dict) and isinstance(data.get("rows"), list):
        return exclusions_from_rows(data["rows"])
    if isinstance(data, list):
        return {str(t): "excluded by the list" for t in data}
    raise TaskSourceError(f"{path} is not an exclusion list (expected {{'excluded': "
                          "{task_id: reason}}, a check-gt report, or a list of ids)")
