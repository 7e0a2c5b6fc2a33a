"""AICoderEval tasks: the `Task` type, its loaders, and program assembly."""

from aicoder.prompts.extract import extract_code
from aicoder.tasks.assemble import assemble, reference_program, sanitize
from aicoder.tasks.loaders import (
    HUB_DATASET,
    HUB_SPLITS,
    load_builtin,
    load_hub,
    load_jsonl,
    load_tasks,
)
from aicoder.tasks.task import RECORD_FIELDS, Task, tasks_sha256

__all__ = [
    "HUB_DATASET",
    "HUB_SPLITS",
    "RECORD_FIELDS",
    "Task",
    "assemble",
    "extract_code",
    "load_builtin",
    "load_hub",
    "load_jsonl",
    "load_tasks",
    "reference_program",
    "sanitize",
    "tasks_sha256",
]
