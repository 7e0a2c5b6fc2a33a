"""Mutants of a reference solution: small semantic changes a good test must notice.

A task whose tests pass the reference *and* most of its mutants tests little. The mutation
libraries (mutmut, cosmic-ray) mutate files on disk and drive pytest in-process; here the
reference is a string and every program must run in the sandbox, so this is a small AST
mutator with a fixed list of operators, applied one site at a time to the functions of the
reference (never to docstrings):

==============  ==============================================================================
``arith``       a binary operator swapped: ``+``/``-``, ``*``/``/``, ``//``→``/``, ``%``→``//``,
                ``**``→``*``, ``@``→``*``, ``&``/``|``, ``<<``/``>>`` (also in ``+=`` ...)
``compare``     a comparison moved across its boundary (``<``/``<=``, ``>``/``>=``) or negated
                (``==``/``!=``, ``in``/``not in``, ``is``/``is not``)
``boolean``     ``and``/``or`` swapped; a ``not`` or a unary minus removed
``constant``    a number changed (0→1, 1→0, n→n+1, x→2x), ``True``/``False`` flipped, a string
                that is passed to a call or used as a key emptied
``return``      ``return <value>`` → ``return None``
``statement``   an assignment, call, ``if``, loop, ``with``, ``raise`` or ``assert`` replaced by
                ``pass``
``keyword``     a keyword argument dropped from a call (``keepdims=True``, ``dim=-1``,
                ``padding=True`` ...)
``filter``      a comprehension's ``if`` dropped or negated (``... for p in params if
                p.requires_grad``: every item, or the others)
==============  ==============================================================================

Mutants whose code equals the reference's, or another mutant's, are dropped. Some that remain
are *equivalent* (no input tells them apart); the score counts them as survivors, as mutation
testing does, so a score of 1.0 is rare and 0.6 is a useful floor.
"""

from __future__ import annotations

import ast
import copy
import random
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["OPERATORS", "Mutant", "mutants"]

OPERATORS = ("arith", "compare", "boolean", "constant", "return", "statement", "keyword",
             "filter")

_ARITH: dict[type, type] = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div, ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult, ast.MatMult: ast.Mult,
    ast.BitAnd: ast.BitOr, ast.BitOr: ast.BitAnd, ast.LShift: ast.RShift, ast.RShift: ast.LShift,
}
_COMPARE: dict[type, tuple[type, ...]] = {
    ast.Lt: (ast.LtE,), ast.LtE: (ast.Lt,), ast.Gt: (ast.GtE,), ast.GtE: (ast.Gt,),
    ast.Eq: (ast.NotEq,), ast.NotEq: (ast.Eq,), ast.In: (ast.NotIn,), ast.NotIn: (ast.In,),
    ast.Is: (ast.IsNot,), ast.IsNot: (ast.Is,),
}
_STATEMENTS = (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr, ast.If, ast.For, ast.While,
               ast.With, ast.Raise, ast.Assert)


@dataclass(frozen=True)
class Mutant:
    """One mutant of the reference: the whole reference code with one change."""

    mutant_id: str     # "constant@12:8#0": operator, line:column in the reference, a count
    operator: str
    line: int
    description: str   # "line 12: `keepdims=True` → `keepdims=False`"
    code: str          # the mutated reference code (every function of it)

    def to_dict(self) -> dict[str, object]:
        return {"mutant_id": self.mutant_id, "operator": self.operator, "line": self.line,
                "description": self.description}


def _is_docstring(node: ast.AST, parent: ast.AST | None) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str) and parent is not None
            and isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                    ast.Module))
            and getattr(parent, "body", [None])[0] is node)


def _sites(tree: ast.Module) -> Iterator[tuple[int, str, int]]:
    """``(node index in _walk order, operator, variant)`` for every mutation site."""
    for index, (node, parent, ctx) in enumerate(_walk(tree)):
        if not ctx["in_function"] or ctx["in_docstring"]:
            continue
        if isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in _ARITH:
            yield index, "arith", 0
        elif isinstance(node, ast.Compare):
            for k, op in enumerate(node.ops):
                for v in range(len(_COMPARE.get(type(op), ()))):
                    yield index, "compare", k * 8 + v
        elif isinstance(node, ast.BoolOp) or (isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub))):
            yield index, "boolean", 0
        elif isinstance(node, ast.Constant) and _mutable_constant(node, parent, ctx):
            yield index, "constant", 0
        elif isinstance(node, ast.Return) and node.value is not None and not (
                isinstance(node.value, ast.Constant) and node.value.value is None):
            yield index, "return", 0
        elif isinstance(node, ast.Call):
            for k in range(len(node.keywords)):
                if node.keywords[k].arg is not None:
                    yield index, "keyword", k
        elif isinstance(node, ast.comprehension):
            for k, condition in enumerate(node.ifs):
                yield index, "filter", 2 * k       # dropped
                if not isinstance(condition, ast.Compare) and not (
                        isinstance(condition, ast.UnaryOp) and isinstance(condition.op, ast.Not)):
                    yield index, "filter", 2 * k + 1   # negated (`compare`, `boolean` do those)
        if isinstance(node, _STATEMENTS) and not _is_docstring(node, parent) and not (
                isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)):
            yield index, "statement", 0


def _mutable_constant(node: ast.Constant, parent: ast.AST | None, ctx: dict) -> bool:
    value = node.value
    if isinstance(value, bool):
        return True
    if isinstance(value, (int, float)):
        # `-1` is a unary minus on `1`: removing the minus is its mutant (`boolean`), and
        # `-0` would only repeat `0`'s
        return not (isinstance(parent, ast.UnaryOp) and isinstance(parent.op, ast.USub))
    if isinstance(value, str):
        # a string passed to a call or used as a key changes behaviour; one in a message
        # (a raise, an assert, an f-string) almost never does
        if ctx["in_message"] or not value:
            return False
        return isinstance(parent, (ast.Call, ast.keyword, ast.Subscript, ast.Dict, ast.Compare))
    return False


def _walk(tree: ast.AST) -> Iterator[tuple[ast.AST, ast.AST | None, dict]]:
    """Every node, parents before children, in a fixed order, with where it is."""
    stack: list[tuple[ast.AST, ast.AST | None, dict]] = [
        (tree, None, {"in_function": False, "in_docstring": False, "in_message": False})]
    while stack:
        node, parent, ctx = stack.pop()
        yield node, parent, ctx
        inner = dict(ctx)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            inner["in_function"] = True
        if isinstance(node, (ast.Raise, ast.Assert, ast.JoinedStr)):
            inner["in_message"] = True
        if _is_docstring(node, parent):
            inner["in_docstring"] = True
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            # the signature's defaults and annotations are the task's interface, not its body
            children = list(node.body)
        else:
            children = list(ast.iter_child_nodes(node))
        for child in reversed(children):
            stack.append((child, node, inner))


def _apply(node: ast.AST, parent: ast.AST | None, operator: str, variant: int) -> str:
    """Mutate ``node`` in place; returns what changed, for the description."""
    before = ast.unparse(node) if not isinstance(node, ast.stmt) else ast.unparse(node).split("\n")[0]
    if operator == "arith":
        node.op = _ARITH[type(node.op)]()
    elif operator == "compare":
        k, v = divmod(variant, 8)
        node.ops[k] = _COMPARE[type(node.ops[k])][v]()
    elif operator == "boolean":
        if isinstance(node, ast.BoolOp):
            node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        else:
            return f"`{before}` → `{ast.unparse(node.operand)}`"
    elif operator == "constant":
        value = node.value
        if isinstance(value, bool):
            node.value = not value
        elif isinstance(value, int):
            node.value = 1 if value == 0 else 0 if value == 1 else value + 1
        elif isinstance(value, float):
            node.value = 1.0 if value == 0 else value * 2
        else:
            node.value = ""
    elif operator == "return":
        node.value = ast.Constant(None)
    elif operator == "keyword":
        del node.keywords[variant]
    elif operator == "filter":
        k, negate = divmod(variant, 2)
        condition = ast.unparse(node.ifs[k])
        if not negate:
            del node.ifs[k]
            return f"`if {condition}` removed"
        node.ifs[k] = ast.UnaryOp(ast.Not(), node.ifs[k])
        return f"`if {condition}` → `if not {condition}`"
    elif operator == "statement":
        return f"`{before}` removed"
    after = ast.unparse(node) if not isinstance(node, ast.stmt) else ast.unparse(node).split("\n")[0]
    return f"`{before}` → `{after}`"


class _Replace(ast.NodeTransformer):
    """Replaces one node (by identity): a statement by ``pass``, an operand-less unary by its
    operand."""

    def __init__(self, target: ast.AST, replacement: ast.AST):
        self.target, self.replacement = target, replacement

    def visit(self, node: ast.AST) -> ast.AST:
        if node is self.target:
            return self.replacement
        return self.generic_visit(node)


def mutants(reference_code: str, *, limit: int | None = None, seed: int = 0) -> list[Mutant]:
    """The mutants of ``reference_code`` (one change each), in source order.

    Args:
        reference_code: the reference function(s), as the task's ``function_code``.
        limit: at most this many, a seeded sample spread over the operators when there are
            more (None: all).
        seed: the sample's seed.

    Returns:
        Distinct mutants whose code differs from the reference's; [] when the code does not
        parse.
    """
    try:
        tree = ast.parse(reference_code)
    except SyntaxError:
        return []
    original = ast.unparse(tree)
    seen = {original}
    ids: dict[str, int] = {}
    out: list[Mutant] = []
    for index, operator, variant in list(_sites(tree)):
        clone = copy.deepcopy(tree)
        node, parent, _ = next(item for i, item in enumerate(_walk(clone)) if i == index)
        # a comprehension has no position of its own: its filter's is where the change is
        at = node.ifs[variant // 2] if operator == "filter" else node
        line, col = getattr(at, "lineno", 0), getattr(at, "col_offset", 0)
        description = _apply(node, parent, operator, variant)
        if operator == "statement":
            clone = _Replace(node, ast.Pass()).visit(clone)
        elif operator == "boolean" and isinstance(node, ast.UnaryOp):
            clone = _Replace(node, node.operand).visit(clone)
        ast.fix_missing_locations(clone)
        try:
            code = ast.unparse(clone)
            compile(code, "<mutant>", "exec")
        except (SyntaxError, ValueError):
            continue
        if code in seen:
            continue
        seen.add(code)
        key = f"{operator}@{line}:{col}"
        ids[key] = ids.get(key, -1) + 1  # nested nodes can start at one column
        out.append(Mutant(f"{key}#{ids[key]}", operator, line,
                          f"line {line}: {description}", code + "\n"))
    if limit is not None and len(out) > limit:
        rng = random.Random(seed)
        by_op: dict[str, list[Mutant]] = {}
        for m in out:
            by_op.setdefault(m.operator, []).append(m)
        for group in by_op.values():
            rng.shuffle(group)
        picked: list[Mutant] = []
        while len(picked) < limit:  # round-robin over the operators: each gets its share
            for group in by_op.values():
                if group and len(picked) < limit:
                    picked.append(group.pop())
        order = {m.mutant_id: i for i, m in enumerate(out)}
        out = sorted(picked, key=lambda m: order[m.mutant_id])
    return out
