"""Task sources: the AICoderEval dataset on the Hub, a local jsonl, the builtin suite.

A source is named by a spec string:

* ``hub:vixuowis/AICoderEval`` (the test split), ``hub:vixuowis/AICoderEval:train``,
  ``hub:OWNER/NAME:FILE.jsonl`` — through huggingface_hub and its cache;
* a path to a ``.jsonl`` file of the same layout;
* ``builtin`` — the project's own offline suite (``aicoder/tasks/builtin/``).

Every record becomes a Task or an error that names the file, the line and the fields:
nothing is dropped silently.
"""

from __future__ import annotations

import ast
import json
import os
import re
from pathlib import Path

from aicoder.errors import TaskFormatError, TaskSourceError
from aicoder.tasks.domains import canonical_domain
from aicoder.tasks.task import Task, split_content

__all__ = ["HUB_DATASET", "HUB_SPLITS", "load_builtin", "load_builtin_file", "load_hub",
           "load_jsonl", "load_tasks"]

HUB_DATASET = "vixuowis/AICoderEval"
HUB_SPLITS = {"test": "v5-test-492.jsonl", "train": "v5-train-2118.jsonl"}
BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"


def load_jsonl(path: str | os.PathLike) -> list[Task]:
    """Load every record of a jsonl file.

    Raises:
        TaskSourceError: the file cannot be read.
        TaskFormatError: a line is not JSON or not a valid record (file and line named).
    """
    path = Path(path)
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise TaskSourceError(f"cannot read tasks from {path}: {exc.strerror or exc}") from exc
    tasks: list[Task] = []
    seen: dict[str, int] = {}
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TaskFormatError(f"{where}: not valid JSON ({exc.msg}, column {exc.colno})"
                                      ) from exc
            task = Task.from_record(record, source=where)
            if task.task_id in seen:
                raise TaskFormatError(f"{where}: task id {task.task_id} repeats line "
                                      f"{seen[task.task_id]}")
            seen[task.task_id] = number
            tasks.append(task)
    if not tasks:
        raise TaskFormatError(f"{path}: no records")
    return tasks


def load_hub(repo: str = HUB_DATASET, split: str = "test", *, revision: str | None = None
             ) -> list[Task]:
    """Download (or reuse from the cache) one split of a dataset on the Hub and load it.

    Args:
        repo: the dataset repository, ``owner/name``.
        split: ``test``, ``train``, or a file name ending in ``.jsonl``.
        revision: a branch, tag or commit; default the main branch.

    Raises:
        TaskSourceError: the split is unknown, or the file is neither downloadable nor cached.
    """
    filename = split if split.endswith(".jsonl") else HUB_SPLITS.get(split)
    if filename is None:
        raise TaskSourceError(f"unknown split {split!r} of {repo}: use test, train, or a "
                              "file name ending in .jsonl")
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    try:
        local = hf_hub_download(repo_id=repo, filename=filename, repo_type="dataset",
                                revision=revision)
    except LocalEntryNotFoundError as exc:
        raise TaskSourceError(
            f"cannot download {filename} of {repo} and it is not in the HuggingFace cache "
            "(no network, or HF_HUB_OFFLINE=1): connect once, or pass a local .jsonl") from exc
    except HfHubHTTPError as exc:
        raise TaskSourceError(f"the Hub refused {repo}/{filename}: {exc}") from exc
    except OSError as exc:
        raise TaskSourceError(f"cannot fetch {repo}/{filename}: {exc}") from exc
    return load_jsonl(local)


def load_builtin() -> list[Task]:
    """The builtin offline suite (``aicoder/tasks/builtin/*.py``)."""
    tasks = []
    for path in sorted(BUILTIN_DIR.glob("*.py")):
        if not path.name.startswith("_"):
            tasks.extend(load_builtin_file(path))
    return tasks


def load_builtin_file(path: str | os.PathLike) -> list[Task]:
    """One task written as a program with the four section markers.

    ``instruct`` and ``answer`` are derived from the function: the prompt stops after the
    docstring; the answer is the body after it. A ``# domain: NAME`` line names the domain.

    Raises:
        TaskSourceError: the file cannot be read.
        TaskFormatError: a section is missing, or the function has no docstring.
    """
    path = Path(path)
    try:
        content = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TaskSourceError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return [task_from_program(content, f"builtin/{path.name}", str(path))]


def task_from_program(content: str, record_path: str, where: str) -> Task:
    """A task from one program with the four section markers (a builtin file, a custom task).

    Raises:
        TaskFormatError: a section is missing, or the function has no docstring.
    """
    parts = split_content(content)
    missing = [k for k in ("function_import", "function_code", "test_function_code",
                           "call_test_function_code") if k not in parts]
    if missing:
        raise TaskFormatError(f"{where}: missing section{'s' if len(missing) > 1 else ''} "
                              f"{', '.join(missing)} (lines like '# function_code ----')")
    instruct, answer = split_prompt(parts["function_import"], parts["function_code"], where)
    record = {"path": record_path, "content": content, **parts,
              "instruct": instruct, "answer": answer}
    declared = re.search(r"^# domain: (.+)$", content, re.MULTILINE)
    # a domain line that is not one of the seven (a list, a made-up name) is not trusted:
    # the domain is then read off the code, as for a record without one
    if declared and (domain := canonical_domain(declared.group(1))):
        record["domain"] = domain
    return Task.from_record(record, source=where)


def split_prompt(imports: str, function_code: str, where: str) -> tuple[str, str]:
    """Cut a reference function into the prompt (up to its docstring) and the body after it."""
    tree = ast.parse(function_code)
    func = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))),
                None)
    if func is None or not func.body:
        raise TaskFormatError(f"{where}: function_code defines no function")
    first = func.body[0]
    has_doc = (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
               and isinstance(first.value.value, str))
    if not has_doc:
        raise TaskFormatError(f"{where}: the function needs a docstring (it is the prompt)")
    lines = function_code.splitlines(keepends=True)
    cut = first.end_lineno
    return imports + "".join(lines[:cut]), "".join(lines[cut:])


def load_tasks(spec: str) -> list[Task]:
    """Load tasks from a spec: ``hub:REPO[:SPLIT]``, ``builtin``, or a ``.jsonl`` path.

    Raises:
        TaskSourceError: the spec names nothing loadable (the message lists the forms).
        TaskFormatError: a record is malformed.
    """
    spec = spec.strip()
    if spec == "builtin":
        return load_builtin()
    if spec.startswith("hub:"):
        rest = spec[4:]
        repo, _, split = rest.partition(":")
        if repo.count("/") != 1:
            raise TaskSourceError(f"bad Hub spec {spec!r}: use hub:OWNER/NAME[:test|:train]")
        return load_hub(repo, split or "test")
    path = Path(spec).expanduser()
    if path.is_file():
        return load_jsonl(path)
    raise TaskSourceError(f"no tasks at {spec!r}: give hub:{HUB_DATASET}[:test|:train], "
                          "builtin, or the path of a .jsonl file")
