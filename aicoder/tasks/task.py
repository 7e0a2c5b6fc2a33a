"""`Task`: one AICoderEval task, built from a record of the v3/v5 layout.

A record has eight string fields::

    path, content, function_import, function_code, test_function_code,
    call_test_function_code, instruct, answer

``instruct`` is the prompt (imports, signature, docstring); ``answer`` the reference body;
``content`` the whole program. Each code field starts with a marker comment such as
``# function_import --------------------``, kept as it is.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from collections.abc import Sequence
from pathlib import PurePosixPath

from pydantic import BaseModel, Field

from aicoder.errors import TaskFormatError
from aicoder.tasks.domains import classify

__all__ = ["RECORD_FIELDS", "Task", "tasks_sha256"]

RECORD_FIELDS = ("path", "content", "function_import", "function_code", "test_function_code",
                 "call_test_function_code", "instruct", "answer")

_MARKER_LINE = re.compile(r"^# (function_import|function_code|test_function_code|"
                          r"call_test_function_code) -+\s*$", re.MULTILINE)


class Task(BaseModel, frozen=True):
    """One task: what the model sees, the reference, and the test that judges."""

    task_id: str = Field(description="stem of the record's path, e.g. f00035_sentiment_analysis")
    domain: str = Field(description="e.g. 'Natural Language Processing'; 'Other' when unknown")
    framework: str = Field(description="e.g. 'transformers', 'pytorch', 'tensorflow'")
    function_name: str = Field(description="the function the model writes")
    prompt: str = Field(description="the record's `instruct`: imports + signature + docstring")
    imports: str = Field(description="the record's `function_import`")
    reference: str = Field(description="the record's `answer`: the reference body")
    reference_code: str = Field(description="the record's `function_code`: the whole function")
    test_code: str = Field(description="the record's `test_function_code`")
    test_entry: str = Field(description="the test function's name")
    call: str = Field(description="the record's `call_test_function_code`")
    path: str = Field(description="the record's `path`")
    content: str = Field(description="the record's `content`: the whole reference program")
    source: str = Field(default="", description="where the record came from: 'file:line'")

    @classmethod
    def from_record(cls, record: object, *, source: str = "") -> Task:
        """Build a Task from a v3/v5 record.

        Raises:
            TaskFormatError: a field is missing or not a string, or the code does not define
                the function or the test function; the message names ``source`` and the fields.
        """
        where = source or "record"
        if not isinstance(record, dict):
            raise TaskFormatError(f"{where}: a record must be a JSON object, not "
                                  f"{type(record).__name__}")
        missing = [f for f in RECORD_FIELDS if f not in record]
        if missing:
            raise TaskFormatError(f"{where}: missing field{'s' if len(missing) > 1 else ''} "
                                  f"{', '.join(missing)}")
        wrong = [f for f in RECORD_FIELDS if not isinstance(record[f], str)]
        if wrong:
            raise TaskFormatError(f"{where}: field{'s' if len(wrong) > 1 else ''} "
                                  f"{', '.join(wrong)} must be strings")
        empty = [f for f in ("path", "function_code", "test_function_code", "instruct")
                 if not record[f].strip()]
        if empty:
            raise TaskFormatError(f"{where}: empty field{'s' if len(empty) > 1 else ''} "
                                  f"{', '.join(empty)}")

        function_name = _first_def(record["function_code"], where, "function_code")
        test_entry = _test_entry(record["test_function_code"], record["call_test_function_code"],
                                 where)
        imports = record["function_import"]
        domain, framework = classify(imports, record["function_code"])
        # A record may carry its own domain (the builtin suite does); it wins over the guess.
        if isinstance(record.get("domain"), str) and record["domain"].strip():
            domain = record["domain"].strip()
        return cls(
            task_id=PurePosixPath(record["path"]).stem,
            domain=domain,
            framework=framework,
            function_name=function_name,
            prompt=record["instruct"],
            imports=imports,
            reference=record["answer"],
            reference_code=record["function_code"],
            test_code=record["test_function_code"],
            test_entry=test_entry,
            call=record["call_test_function_code"],
            path=record["path"],
            content=record["content"],
            source=source,
        )

    def to_record(self) -> dict[str, str]:
        """The record this task was built from (the eight fields, in their order)."""
        return {
            "path": self.path,
            "content": self.content,
            "function_import": self.imports,
            "function_code": self.reference_code,
            "test_function_code": self.test_code,
            "call_test_function_code": self.call,
            "instruct": self.prompt,
            "answer": self.reference,
        }


def tasks_sha256(tasks: Sequence[Task]) -> str:
    """A hash of the task records themselves (not of a file): the same tasks give the same
    hash whether they came from the Hub, a local copy or a re-ordered file."""
    digest = hashlib.sha256()
    for task in sorted(tasks, key=lambda t: t.task_id):
        digest.update(json.dumps(task.to_record(), sort_keys=True).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def _first_def(code: str, where: str, field: str) -> str:
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise TaskFormatError(f"{where}: {field} does not parse (line {exc.lineno}: "
                              f"{exc.msg})") from exc
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            return node.name
    raise TaskFormatError(f"{where}: {field} defines no function or class")


def _test_entry(test_code: str, call: str, where: str) -> str:
    try:
        defined = [n.name for n in ast.parse(test_code).body
                   if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    except SyntaxError as exc:
        raise TaskFormatError(f"{where}: test_function_code does not parse (line {exc.lineno}: "
                              f"{exc.msg})") from exc
    if not defined:
        raise TaskFormatError(f"{where}: test_function_code defines no test function")
    try:
        called = [n.func.id for n in ast.walk(ast.parse(call))
                  if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
    except SyntaxError:
        called = []
    for name in called:
        if name in defined:
            return name
    tests = [n for n in defined if n.startswith("test")]
    return tests[0] if tests else defined[0]


def split_content(content: str) -> dict[str, str]:
    """Split a program written with the four section markers into the record's code fields.

    Used for the builtin tasks, which are stored as such programs.
    """
    parts: dict[str, str] = {}
    matches = list(_MARKER_LINE.finditer(content))
    for k, m in enumerate(matches):
        end = matches[k + 1].start() if k + 1 < len(matches) else len(content)
        parts[m.group(1)] = content[m.start():end]
    return parts
