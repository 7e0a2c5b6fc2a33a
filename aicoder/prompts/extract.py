"""Code extraction from real model answers.

Answers come as fenced blocks with or without a language tag, several blocks (prose between),
a body that continues a prefilled prompt and closes its fence, prose around the code, or a
truncated answer with an unclosed fence. `extract_code` returns the code a person would take.
"""

from __future__ import annotations

import ast
import re
import textwrap

__all__ = ["extract_code", "fenced_blocks"]

_FENCE = re.compile(r"^[ \t]*(```+|~~~+)[ \t]*([\w+-]*)[^\n]*(?:\n|\Z)", re.MULTILINE)


def fenced_blocks(text: str) -> list[str]:
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
    blocks = fenced_blocks(answer)
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
