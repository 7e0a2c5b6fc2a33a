"""From a model's answer to a `Program`: imports + candidate function + test function + call.

A model answers in one of two shapes, and both become the same program:

* a **body completion**, as the paper scores: the text that follows the prompt (imports,
  signature, docstring), i.e. the function's body, possibly followed by more code;
* a **whole function or program**, usually in a fenced block, as chat models answer.

Only imports, the target function and the definitions it may use belong in the candidate:
module-level example code (prints, calls, ``if __name__ == '__main__':``) is dropped, because
it runs before the test and could print, raise or exit.
"""

from __future__ import annotations

import ast
import re
import textwrap

from aicoder.prompts.extract import extract_code
from aicoder.tasks.task import Task
from sandbox.types import Program

__all__ = ["assemble", "drop_broken_tail", "reference_program", "sanitize"]

_KEEP = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _is_constant_assignment(node: ast.stmt) -> bool:
    if not isinstance(node, (ast.Assign, ast.AnnAssign)):
        return False
    value = node.value
    if value is None:
        return True
    calls = [n for n in ast.walk(value) if isinstance(n, ast.Call)]
    return not calls


def sanitize(code: str) -> str:
    """Keep the imports, definitions and constant assignments of a module; blank out the rest.

    Dropped statements become empty lines, so line numbers in tracebacks still point at the
    code as the model (or the person) wrote it. Code that does not parse is returned
    unchanged: the sandbox reports the SyntaxError with its line, which the repair loop needs.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return code
    lines = code.splitlines(keepends=True)
    kept_lines: set[int] = set()
    dropped: list[tuple[int, int]] = []
    for node in tree.body:
        start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        if isinstance(node, _KEEP) or _is_constant_assignment(node):
            kept_lines.update(range(start, node.end_lineno + 1))
        else:
            dropped.append((start, node.end_lineno))
    for start, end in dropped:
        for number in range(start, end + 1):
            # `import x; print(x)` shares its line with a kept statement: the line stays whole
            if number not in kept_lines:
                lines[number - 1] = "\n"
    return "".join(lines).rstrip() + "\n"


def _missing_imports(imports: str, code: str) -> str:
    """The task's import statements that ``code`` does not make itself, one per line."""
    try:
        wanted = [n for n in ast.parse(imports).body if isinstance(n, (ast.Import, ast.ImportFrom))]
        have = {ast.unparse(n) for n in ast.parse(code).body
                if isinstance(n, (ast.Import, ast.ImportFrom))}
    except SyntaxError:
        return imports
    return "".join(ast.unparse(n) + "\n" for n in wanted if ast.unparse(n) not in have)


def _defines(code: str, name: str) -> bool:
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return bool(re.search(rf"^(?:async\s+)?(?:def|class)\s+{re.escape(name)}\b", code,
                              re.MULTILINE))
    return any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
               and n.name == name for n in tree.body)


def _first_def_line(code: str, name: str) -> int:
    """The 0-based line after which a broken tail may be cut: the target's `def` line."""
    match = re.search(rf"^(?:async\s+)?(?:def|class)\s+{re.escape(name)}\b", code, re.MULTILINE)
    return code[: match.start()].count("\n") + 1 if match else 0


def _as_body(answer: str) -> str:
    """A body completion, indented under the signature when the model dropped the indent."""
    text = answer.strip("\n")
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    if first and not first[0].isspace():
        text = textwrap.indent(text, "    ")
    return "\n" + text + "\n"


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except SyntaxError:
        return False
    return True


def drop_broken_tail(code: str, keep_lines: int) -> str:
    """Cut a module that does not parse at the last top-level line that makes it parse.

    A completion model goes on after the function (another def, example code) and is often cut
    off mid-statement by its token limit; that tail is not the answer, and a SyntaxError in it
    must not fail the function before it. Only lines after ``keep_lines`` are candidates for
    the cut, and only at a top-level statement's first line; when no cut parses the code is
    returned unchanged, so a SyntaxError in the function itself is still reported.
    """
    if _parses(code):
        return code
    lines = code.splitlines(keepends=True)
    starts = [i for i in range(keep_lines, len(lines))
              if lines[i].strip() and not lines[i][0].isspace() and not lines[i].startswith("#")]
    for cut in reversed(starts):
        prefix = "".join(lines[:cut])
        if _parses(prefix):
            return prefix
    return code


def assemble(task: Task, answer: str) -> Program:
    """Build the program that judges ``answer`` on ``task``.

    Args:
        task: the task.
        answer: the model's answer: a body completion, or a whole function/program, fenced
            or not.

    Returns:
        A Program whose candidate module is the task's imports + the candidate's code and
        whose test module is the task's test function.
    """
    code = extract_code(answer, task.function_name)
    if _defines(code, task.function_name):
        # The test may need the task's imports even when the answer forgot them. Only the
        # missing ones go on top, so that an answer with its imports keeps its line numbers.
        head = _missing_imports(task.imports, code)
        candidate = head + sanitize(drop_broken_tail(code, _first_def_line(code,
                                                                           task.function_name)))
    else:
        # A body: it continues the prompt, which ends inside the function after its docstring.
        module = task.prompt.rstrip() + _as_body(code)
        prompt_lines = task.prompt.rstrip().count("\n") + 2
        candidate = sanitize(drop_broken_tail(module, prompt_lines))
    return Program(candidate=candidate, test=task.test_code, entry=task.test_entry)


def reference_program(task: Task) -> Program:
    """The program that runs the task's own reference solution."""
    return Program(candidate=task.imports + task.reference_code, test=task.test_code,
                   entry=task.test_entry)
