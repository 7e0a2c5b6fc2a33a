"""A visitor's own task: a signature with a docstring, and a test function.

Validated before anything runs (syntax errors with their line, size limits, the pieces a task
needs); the code itself only ever runs in the sandbox.
"""

from __future__ import annotations

import ast

from aicoder.errors import TaskFormatError
from aicoder.tasks import Task
from aicoder.tasks.loaders import task_from_program

__all__ = ["MAX_FIELD_CHARS", "custom_task"]

MAX_FIELD_CHARS = 20_000

_NO_REFERENCE = "    raise NotImplementedError('a custom task has no reference solution')\n"


def _parse(text: str, what: str) -> ast.Module:
    try:
        return ast.parse(text)
    except SyntaxError as exc:
        raise TaskFormatError(f"{what}, line {exc.lineno}: {exc.msg}") from None


def custom_task(signature: str, test: str) -> Task:
    """Build a Task from a signature (imports + ``def`` + docstring) and a test function.

    Raises:
        TaskFormatError: empty or too long, a syntax error (with its line), no function with
            a docstring, no ``test_...`` function, or a test that never calls the function.
    """
    for text, what in ((signature, "the signature"), (test, "the test")):
        if not text.strip():
            raise TaskFormatError(f"{what} is empty")
        if len(text) > MAX_FIELD_CHARS:
            raise TaskFormatError(f"{what} is {len(text):,} characters; the limit is "
                                  f"{MAX_FIELD_CHARS:,}")
    head = _parse(signature.rstrip() + "\n" + _NO_REFERENCE, "the signature")
    funcs = [n for n in head.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    if len(funcs) != 1:
        raise TaskFormatError("the signature must define exactly one function "
                              f"(it defines {len(funcs)})")
    func = funcs[0]
    if ast.get_docstring(func) is None:
        raise TaskFormatError(f"{func.name}() needs a docstring: it is what the model reads")
    tests = [n for n in _parse(test, "the test").body
             if isinstance(n, ast.FunctionDef) and n.name.startswith("test")]
    if not tests:
        raise TaskFormatError("the test must define a function whose name starts with test")
    if func.name not in test:
        raise TaskFormatError(f"the test never calls {func.name}()")
    lines = signature.rstrip().splitlines()
    first = func.lineno - 1 - len(getattr(func, "decorator_list", []))
    imports = "\n".join(lines[:first]).strip()
    code = "\n".join(lines[first:]) + "\n" + _NO_REFERENCE
    content = (f"# domain: Custom\n# function_import --------------------\n\n{imports}\n\n"
               f"# function_code --------------------\n\n{code}\n"
               f"# test_function_code --------------------\n\n{test.strip()}\n\n"
               f"# call_test_function_code --------------------\n\n{tests[0].name}()\n")
    return task_from_program(content, f"custom/custom_{func.name}.py", "your task")
