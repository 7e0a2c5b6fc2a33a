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

from aicoder.tasks.task import Task
from sandbox.types import Program

__all__ = ["assemble", "extract_code", "reference_program", "sanitize"]

_FENCE = re.compile(r"^[ \t]*(```+|~~~+)[ \t]*([\w+-]*)[^\n]*(?:\n|\Z)", re.MULTILINE)
_KEEP = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _fenced_blocks(text: str) -> list[str]:
    """Code inside fences; an unclosed last fence runs to the end (a truncated answer)."""
    blocks = []
    pos = 0
    while True:
        m = _FENCE.search(text, pos)
        if m is None:
            break
        lang = m.group(2).lower()
        close = re.compile(rf"^[ \t]*{re.escape(m.group(1)[0])}{{{len(m.group(1))},}}[ \t]*$",
                           re.MULTILINE)
        end = close.search(text, m.end())
        body = text[m.end(): end.start() if end else len(text)]
        if lang in ("", "python", "py", "python3", "py3"):
            blocks.append(body)
        if end is None:
            break
        pos = end.end()
    return blocks


def extract_code(answer: str, function_name: str) -> str:
    """The code in a model's answer: the fenced block that defines ``function_name`` (with the
    imports of the other blocks), else the longest block, else the answer itself."""
    first = _FENCE.search(answer)
    if first is None:
        return answer
    head = answer[: first.start()]
    lead = next((ln for ln in head.splitlines() if ln.strip()), "")
    if lead[:1] in (" ", "\t") and _is_code(textwrap.dedent(head)):
        # An indented body before the first fence: the answer continued a prompt that opened
        # the code block, and the fence closes it.
        return head
    blocks = _fenced_blocks(answer)
    if not blocks:
        return answer
    defining = re.compile(rf"^\s*(?:async\s+)?(?:def|class)\s+{re.escape(function_name)}\b",
                          re.MULTILINE)
    chosen = [b for b in blocks if defining.search(b)]
    if not chosen:
        return max(blocks, key=len)
    main = chosen[-1]  # a repair answer's last definition is its final word
    imports = []
    for block in blocks:
        if block is main:
            continue
        for line in block.splitlines():
            if re.match(r"^(?:import|from)\s+\S+", line) and line not in main:
                imports.append(line)
    return "\n".join([*imports, main]) if imports else main


def _is_code(text: str) -> bool:
    """Text that parses as statements (a function body counts), not just a word or number."""
    try:
        body = ast.parse(text).body
    except SyntaxError:
        try:  # a body may `return`: parse it inside a function
            body = ast.parse("def _f():\n" + textwrap.indent(text, "    ")).body[0].body
        except SyntaxError:
            return False
    return any(not (isinstance(n, ast.Expr) and isinstance(n.value, (ast.Constant, ast.Name)))
               for n in body)


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


def _as_body(answer: str) -> str:
    """A body completion, indented under the signature when the model dropped the indent."""
    text = answer.strip("\n")
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    if first and not first[0].isspace():
        text = textwrap.indent(text, "    ")
    return "\n" + text + "\n"


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
        candidate = _missing_imports(task.imports, code) + sanitize(code)
    else:
        # A body: it continues the prompt, which ends inside the function after its docstring.
        candidate = sanitize(task.prompt.rstrip() + _as_body(code))
    return Program(candidate=candidate, test=task.test_code, entry=task.test_entry)


def reference_program(task: Task) -> Program:
    """The program that runs the task's own reference solution."""
    return Program(candidate=task.imports + task.reference_code, test=task.test_code,
                   entry=task.test_entry)
