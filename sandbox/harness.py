"""The in-sandbox harness: runs a task's test function and reports each check on its own.

This file runs *inside* the sandbox, under the task's interpreter, so it imports only the
standard library and nothing of this project.

Protocol
--------
The request is the nonce on a line of its own, then one JSON object, read from the file named
by ``argv[1]`` (deleted as soon as it is read) or else from stdin::

    0123456789abcdef0123456789abcdef
    {"candidate": "...", "test": "...", "entry": "test_f",
     "candidate_name": "candidate.py", "test_name": "test.py", "limits": {...}}

The nonce is read one byte at a time and kept as a tuple of the interpreter's one-byte
singletons; events are written with ``os.writev`` from those pieces. So the nonce is never
one contiguous string in this process's memory, where a raw-memory scan could find it.

Events go to the harness's own copy of the original stdout, each on a line of its own::

    \\x1e<nonce> {"e": "plan", "pid": 2, "checks": [{"id": 0, "name": "...", "line": 7}]}
    \\x1e<nonce> {"e": "check", "id": 0, "passed": true, "message": ""}
    \\x1e<nonce> {"e": "tamper", "event": "sys._getframe", "detail": "...", "line": 4, ...}
    \\x1e<nonce> {"e": "detail", "hex": "<hex of a JSON object: traceback, peak_kb>"}
    \\x1e<nonce> {"e": "done", "status": "passed", "reason": "..."}

Verdicts that cannot be forged
------------------------------
From outside: a program that prints "All Tests Passed", exits early with ``sys.exit(0)`` /
``os._exit(0)``, or prints something shaped like an event cannot produce a verdict, because
only the harness knows the nonce and without its own ``done`` event the parent reports
``crashed``.

From inside (the candidate runs in this interpreter), in layers:

* **The vault.** The nonce, the channel and every check's state live only in the local
  variables of one suspended generator (``_vault``), whose frame nothing can reach: reading
  ``gi_frame`` and every other route to a frame is refused by the audit hook. The vault takes
  messages only from the code objects it was given (the instrumented test, the hook, the
  guard, ``main``), checked by identity of the caller's code, so holding a reference to it is
  not enough to emit. It formats events itself with C functions captured before the
  candidate ran, and decides ``passed`` from its own state: patched builtins or a patched
  ``json`` cannot change a verdict or its reason.
* **Separate namespaces.** The candidate's module runs in its own globals; the test runs in a
  namespace of its own with a private copy of the builtins taken before any candidate code
  ran. The recorder is no global anywhere: the instrumented test function receives the vault
  and the guard as closure variables. The test's source is not in ``linecache`` while the
  candidate runs.
* **The audit hook** (PEP 578; it cannot be removed) refuses, when candidate code asks, every
  way to a frame (``sys._getframe``, ``sys._current_frames``, ``tb_frame``, ``gi_frame``,
  ``cr_frame``, ``ag_frame``), the garbage collector's object walks, trace and profile hooks,
  other audit hooks, ctypes, opening ``/proc/*/mem``, building or rebinding code objects, and
  reading the test's code. Each refusal is recorded and the verdict becomes ``tampered``. Who
  asks is found by walking the stack: the standard library's frame-handing helpers (inspect,
  ``traceback.walk_*``, ``logging.currentframe``, ctypes, the import system) are proxies and
  the caller behind them decides; a library frame that itself names the API it calls (the
  transformers logger's ``sys._getframe``) may use it; a library frame that does not name it
  was reached through a C trampoline (``map``, ``np.vectorize``, a thread's ``run``) handed a
  callable by the candidate, and is refused. Code that the candidate compiles or executes,
  directly or through a library (``typing`` evaluating its annotations), is candidate code.
* **What the test relies on is verified.** Before the candidate runs, the harness imports the
  candidate module's leading imports itself and snapshots the identity of every callable the
  test refers to (``np.allclose``, ``math.isclose``, the builtins) and of the callables those
  refer to in turn. A check whose snapshot no longer holds is void and the run ``tampered``.
* **Comparisons the candidate controls are checked.** Every operand the test compares,
  computes with, tests for truth or hands to a comparison function passes through the guard,
  which refuses values (or containers holding values) whose class overrides the protocol in
  play with candidate code: ``__eq__`` that says yes to anything, a ``float`` subclass that
  equals everything, ``__array_function__`` that makes ``np.allclose`` agree. Library classes
  are compared with a snapshot of their protocol methods, so patching ``torch.Tensor.__eq__``
  is caught too. Candidate classes the test never compares are not looked at.

What remains possible for a determined attacker with raw memory access from pure Python (for
example numpy's ``as_strided`` over the interpreter's heap) is outside what an in-process
harness can stop; the operating-system sandbox still contains such a program.

What counts as a check
----------------------
* Each ``assert`` statement of the test function is a check. A failing *top-level* assert is
  recorded and the test goes on, so independent checks each get a verdict (SR@Any needs that);
  a failing nested assert (inside ``try``/``for``/``if``) is recorded and re-raised, so the
  test's own control flow is unchanged.
* When the test function's top level is divided into blocks by markers such as
  ``# Test case 2`` or ``print("Testing case [2/3] started.")``, each block holding an assert
  is one check instead: it passes when it runs to its end with every assert true. A block that
  raises is recorded as failed and the next block runs.
* An exception caught by the test's own catch-all handler (``except:``, ``except Exception``)
  whose body asserts nothing is recorded as swallowed: the result is ``error``, not a pass.
"""

from __future__ import annotations

import ast
import io
import json
import linecache
import os
import re
import resource
import signal
import sys
import tokenize
import traceback

__all__ = ["check_blocks", "instrument", "main"]

_REC = "__aicoder_rec__"  # closure variable of the test function: the vault
_GRD = "__aicoder_g__"  # closure variable: the operand guard
_FMT = "__aicoder_f__"  # closure variable: exception -> (message, ordinary)
_EXC = "__aicoder_exc__"
_MAKE = "__aicoder_make__"
_BOOT = "__aicoder_boot__"
_MARKER = re.compile(r"test(?:ing)?[ _]?case\s*\[?\s*(\d+)\s*(?:/\s*(\d+))?", re.IGNORECASE)
_MSG_CAP = 2000
_TB_CAP = 8000
_BROAD = {"Exception", "BaseException"}

# Guard kinds: which protocol a use of a value goes through.
K_CMP, K_IN, K_NUM, K_BOOL, K_FUNC, K_ITEM, K_ITER, K_CALL = range(8)
_RICH = ("__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__")
_DISPATCH = ("__array_ufunc__", "__array_function__", "__array_priority__", "__array__",
             "__array_interface__", "__array_struct__", "__array_wrap__", "__torch_function__",
             "__torch_dispatch__")
_TRUTH = ("__bool__", "__len__")
_NUMERIC = (*(f"__{p}{op}__" for op in ("add", "sub", "mul", "truediv", "floordiv", "mod",
                                          "pow", "matmul", "and", "or", "xor", "lshift",
                                          "rshift", "divmod") for p in ("", "r", "i")),
            "__neg__", "__pos__", "__abs__", "__invert__", "__round__", "__float__", "__int__",
            "__index__", "__complex__", "__trunc__", "__floor__", "__ceil__")
_CONTAINER = ("__contains__", "__iter__", "__next__", "__getitem__", "__hash__", "__len__",
              "__reversed__")
PROTOCOLS = {
    K_CMP: _RICH + _TRUTH + _DISPATCH,
    K_IN: _RICH + _TRUTH + _DISPATCH + _CONTAINER,
    K_NUM: _NUMERIC + _RICH + _TRUTH + _DISPATCH,
    K_BOOL: _TRUTH + _DISPATCH,
    K_FUNC: (*_RICH, *_TRUTH, *_DISPATCH, *_NUMERIC, *_CONTAINER, "__fspath__", "__class__"),
    K_ITEM: ("__getitem__", "__class_getitem__", "__index__", *_DISPATCH),
    K_ITER: ("__iter__", "__next__", "__len__", "__getitem__"),
    K_CALL: ("__call__", "__get__"),
}
_ALL_PROTOCOLS = frozenset(p for group in PROTOCOLS.values() for p in group)
# Calls whose arguments the test compares: numpy/torch/math checkers and the builtins that
# read a value's protocol (len, abs, float, sorted ...).
_CHECK_FUNCS = frozenset({
    "allclose", "isclose", "equal", "array_equal", "array_equiv", "assert_allclose",
    "assert_array_equal", "assert_array_almost_equal", "assert_almost_equal", "assert_equal",
    "assert_close", "assert_approx_equal", "testing", "all", "any", "len", "abs", "float",
    "int", "round", "sum", "min", "max", "sorted", "list", "tuple", "set", "frozenset", "bool",
    "isnan", "isinf", "isfinite", "count_nonzero", "array", "asarray", "tensor", "as_tensor",
    "norm", "mean", "dist", "cosine_similarity", "greater", "less", "not_equal",
    "greater_equal", "less_equal", "logical_and", "logical_or", "logical_not", "item",
    "tolist", "numel", "shape", "size", "argmax", "argmin", "sort", "unique", "isinstance",
})


# ----------------------------------------------------------------------------- instrumentation


def _trim(text: str, cap: int) -> str:
    if len(text) <= cap:
        return text
    half = cap // 2
    return f"{text[:half]}\n... [{len(text) - cap} characters cut] ...\n{text[-half:]}"


def _send(*parts: ast.expr) -> ast.Call:
    """``__aicoder_rec__.send((parts...))``: a message to the vault."""
    return ast.Call(
        func=ast.Attribute(value=ast.Name(id=_REC, ctx=ast.Load()), attr="send", ctx=ast.Load()),
        args=[ast.Tuple(elts=list(parts), ctx=ast.Load())], keywords=[])


def _record(kind: str, check_id: int) -> ast.stmt:
    return ast.Expr(value=_send(ast.Constant(kind), ast.Constant(check_id)))


def _guard(body: list[ast.stmt], check_id: int, *, swallow: bool, on_ok: str = "ok") -> ast.Try:
    """``try: body / except BaseException as e: record fail [, raise] / else: record ok``.

    With ``swallow`` an ordinary exception is recorded and the test goes on; SystemExit,
    KeyboardInterrupt and MemoryError always propagate.
    """
    exc = ast.Name(id=_EXC, ctx=ast.Load())
    fmt = ast.Call(func=ast.Name(id=_FMT, ctx=ast.Load()), args=[exc], keywords=[])
    fail = _send(ast.Constant("fail"), ast.Constant(check_id), fmt, ast.Constant(swallow), exc)
    handler_body: list[ast.stmt] = [ast.If(test=ast.UnaryOp(op=ast.Not(), operand=fail),
                                           body=[ast.Raise()], orelse=[])]
    return ast.Try(
        body=body,
        handlers=[ast.ExceptHandler(type=ast.Name(id="BaseException", ctx=ast.Load()),
                                    name=_EXC, body=handler_body)],
        orelse=[_record(on_ok, check_id)],
        finalbody=[],
    )


def _is_broad(handler: ast.ExceptHandler) -> bool:
    t = handler.type
    if t is None:
        return True
    names = t.elts if isinstance(t, ast.Tuple) else [t]
    return any(isinstance(n, ast.Name) and n.id in _BROAD for n in names)


def _contains_assert(nodes: list[ast.stmt]) -> bool:
    return any(isinstance(n, ast.Assert) for s in nodes for n in ast.walk(s))


def _marker_of(stmt: ast.stmt, comments: dict[int, str], prev_end: int) -> tuple[str, int] | None:
    """The `Test case` marker that opens this statement, and its line: a comment just above it
    (or on its own line), or a print."""
    for line in range(prev_end + 1, stmt.lineno + 1):
        text = comments.get(line)
        if text and _MARKER.search(text):
            return text.lstrip("#").strip(), line
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        for arg in stmt.value.args:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and _MARKER.search(arg.value):
                return arg.value.strip(), stmt.lineno
            if isinstance(arg, ast.JoinedStr):
                lit = "".join(v.value for v in arg.values if isinstance(v, ast.Constant))
                if _MARKER.search(lit):
                    return lit.strip(), stmt.lineno
    return None


def _markers(func: ast.FunctionDef | ast.AsyncFunctionDef, comments: dict[int, str]
             ) -> list[tuple[int, str, int]]:
    """The statements of the test's top level that open a `Test case` block: (index, label,
    line of the marker)."""
    markers: list[tuple[int, str, int]] = []
    prev_end = func.lineno
    for i, stmt in enumerate(func.body):
        marker = _marker_of(stmt, comments, prev_end)
        if marker is not None:
            markers.append((i, *marker))
        prev_end = getattr(stmt, "end_lineno", stmt.lineno)
    return markers


def _block_end(body: list[ast.stmt], markers: list) -> int:
    """Where the last block stops: `return 'All Tests Passed'` closes the test, not the last case."""
    if isinstance(body[-1], ast.Return) and markers[-1][0] < len(body) - 1:
        return len(body) - 1
    return len(body)


def check_blocks(test_source: str, entry: str) -> list[tuple[int, int, int]]:
    """The checks of a test divided into `Test case` blocks, as ``instrument`` makes them: for
    each block that holds an assert, (the line of the check, which is its first statement;
    the first line of the block, its marker included; its last line). ``[]`` for a test that
    is not divided into blocks (its checks are its asserts).

    Raises:
        SyntaxError: the test does not parse.
        LookupError: the module defines no function ``entry`` at its top level.
    """
    module = ast.parse(test_source)
    func = next((n for n in module.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and n.name == entry), None)
    if func is None:
        raise LookupError(f"the test code defines no function named {entry!r}")
    markers = _markers(func, _comments(test_source))
    if len(markers) < 2:
        return []
    body = func.body
    end = _block_end(body, markers)
    bounds = [m[0] for m in markers] + [end]
    out = []
    for k, (start, _label, line) in enumerate(markers):
        block = body[start:bounds[k + 1]]
        if block and _contains_assert(block):
            last = (markers[k + 1][2] - 1 if k + 1 < len(markers)
                    else getattr(block[-1], "end_lineno", block[-1].lineno))
            out.append((block[0].lineno, min(line, block[0].lineno), last))
    return out


def _comments(source: str) -> dict[int, str]:
    out: dict[int, str] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                out[tok.start[0]] = tok.string
    except (tokenize.TokenError, SyntaxError):
        pass
    return out


def _label(source: str, node: ast.AST) -> str:
    seg = ast.get_source_segment(source, node) or ""
    seg = " ".join(seg.split())
    return seg if len(seg) <= 120 else seg[:117] + "..."


class _Handlers(ast.NodeTransformer):
    """Makes the test's own exception handlers report what they catch."""

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.ExceptHandler:
        self.generic_visit(node)
        if _contains_assert(node.body):
            return node  # a handler that asserts is checking the exception on purpose
        broad = _is_broad(node)
        if node.type is None:
            node.type = ast.Name(id="BaseException", ctx=ast.Load())
        if node.name is None:
            node.name = _EXC
        report = ast.Expr(value=_send(ast.Constant("caught"), ast.Name(id=node.name, ctx=ast.Load()),
                                      ast.Constant(broad)))
        node.body.insert(0, report)
        return node


class _Asserts(ast.NodeTransformer):
    """Wraps every assert of the test function in a recording guard."""

    def __init__(self, ids: dict[int, int], top_level: set[int], *, in_blocks: bool) -> None:
        self.ids = ids  # id(assert node) -> check id of the assert or of its block
        self.top_level = top_level  # ids of asserts whose failure does not stop the test
        # Inside blocks an assert that holds only counts as "ran"; the block records the pass.
        self.on_ok = "hit" if in_blocks else "ok"

    def visit_Assert(self, node: ast.Assert) -> ast.stmt:
        check_id = self.ids[id(node)]
        swallow = id(node) in self.top_level
        guarded = _guard([node], check_id, swallow=swallow, on_ok=self.on_ok)
        return ast.copy_location(guarded, node)


def _call_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


class _Operands(ast.NodeTransformer):
    """Passes every value the test compares, computes with or tests through the guard.

    ``g(value, kind)`` returns ``value`` unchanged, so evaluation order and short-circuiting
    are those of the original expression.
    """

    depth = 0  # how deep in calls and comparisons: explanations use the outermost values

    def _g(self, node: ast.expr, kind: int) -> ast.expr:
        if isinstance(node, ast.Constant) or (isinstance(node, ast.Call)
                                             and isinstance(node.func, ast.Name)
                                             and node.func.id == _GRD):
            return node
        call = ast.Call(func=ast.Name(id=_GRD, ctx=ast.Load()),
                        args=[node, ast.Constant(kind), ast.Constant(self.depth)], keywords=[])
        return ast.copy_location(call, node)

    def _inner(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    def visit_Compare(self, node: ast.Compare) -> ast.expr:
        self._inner(node)
        if all(isinstance(op, (ast.Is, ast.IsNot)) for op in node.ops):
            return node
        node.left = self._g(node.left, K_CMP)
        node.comparators = [self._g(c, K_IN if isinstance(op, (ast.In, ast.NotIn)) else K_CMP)
                            for op, c in zip(node.ops, node.comparators)]  # noqa: B905 - 3.8+
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.expr:
        self.generic_visit(node)
        node.left, node.right = self._g(node.left, K_NUM), self._g(node.right, K_NUM)
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.expr:
        self.generic_visit(node)
        node.operand = self._g(node.operand, K_BOOL if isinstance(node.op, ast.Not) else K_NUM)
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.expr:
        self.generic_visit(node)
        node.values = [self._g(v, K_BOOL) for v in node.values]
        return node

    def visit_Subscript(self, node: ast.Subscript) -> ast.expr:
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load):
            node.value = self._g(node.value, K_ITEM)
        return node

    def visit_Call(self, node: ast.Call) -> ast.expr:
        self._inner(node)
        name = _call_name(node.func)
        if name in _CHECK_FUNCS or (name or "").startswith("assert"):
            if isinstance(node.func, ast.Attribute):  # np.allclose, not the candidate's own f
                node.func = self._g(node.func, K_CALL)
            node.args = [a if isinstance(a, ast.Starred) else self._g(a, K_FUNC)
                         for a in node.args]
            for kw in node.keywords:
                kw.value = self._g(kw.value, K_FUNC)
            if isinstance(node.func, ast.Attribute) and name in ("item", "tolist", "numel",
                                                                  "all", "any", "argmax",
                                                                  "argmin", "sort", "mean"):
                node.func.value = self._g(node.func.value, K_FUNC)
        return node

    def _test(self, node):
        self.generic_visit(node)
        node.test = self._g(node.test, K_BOOL)
        return node

    visit_Assert = visit_If = visit_While = visit_IfExp = _test

    def visit_For(self, node: ast.For) -> ast.stmt:
        self.generic_visit(node)
        node.iter = self._g(node.iter, K_ITER)
        return node

    def visit_comprehension(self, node: ast.comprehension) -> ast.comprehension:
        self.generic_visit(node)
        node.iter = self._g(node.iter, K_ITER)
        node.ifs = [self._g(i, K_BOOL) for i in node.ifs]
        return node


def _names_used(func: ast.AST) -> tuple[set[str], set[tuple[str, ...]]]:
    """The names a function loads, and the attribute chains it reads (``np.testing.x``)."""
    names: set[str] = set()
    chains: set[tuple[str, ...]] = set()
    for node in ast.walk(func):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            parts = []
            cur: ast.AST = node
            while isinstance(cur, ast.Attribute):
                parts.append(cur.attr)
                cur = cur.value
            if isinstance(cur, ast.Name):
                chains.add((cur.id, *reversed(parts)))
    return names, chains


def instrument(test_source: str, entry: str) -> tuple[ast.Module, list[dict]]:
    """Rewrite the test module so each check reports itself to the vault.

    The test function is wrapped in a factory, ``__aicoder_make__(rec, guard, fmt)``, so that
    the vault and the guard reach it as closure variables, never as globals::

        def __aicoder_make__(__aicoder_rec__, __aicoder_g__, __aicoder_f__):
            def test_f(): ...            # asserts wrapped, operands guarded
            return test_f
        test_f = __aicoder_make__(*__aicoder_boot__)

    Args:
        test_source: the test module's source (it defines ``entry``).
        entry: the name of the test function.

    Returns:
        The rewritten module and the plan: one ``{"id", "name", "line"}`` per check.

    Raises:
        SyntaxError: the test does not parse.
        LookupError: the module defines no function ``entry`` at its top level.
    """
    module = ast.parse(test_source)
    index = next((i for i, n in enumerate(module.body)
                  if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == entry),
                 None)
    if index is None:
        raise LookupError(f"the test code defines no function named {entry!r}")
    func = module.body[index]

    body = func.body
    markers = _markers(func, _comments(test_source))

    plan: list[dict] = []
    ids: dict[int, int] = {}
    top_level: set[int] = set()

    if len(markers) >= 2:
        # Block mode: statements from one marker to the next form one check.
        end = _block_end(body, markers)
        bounds = [m[0] for m in markers] + [end]
        new_body: list[ast.stmt] = body[: markers[0][0]]
        total = len(markers)
        for k, (start, label, _line) in enumerate(markers):
            block = body[start : bounds[k + 1]]
            if not _contains_assert(block):
                new_body.extend(block)
                continue
            check_id = len(plan)
            name = label if re.search(r"\d+\s*/\s*\d+", label) else f"[{k + 1}/{total}] {label}"
            plan.append({"id": check_id, "name": name, "line": block[0].lineno})
            for s in block:
                for n in ast.walk(s):
                    if isinstance(n, ast.Assert):
                        ids[id(n)] = check_id
            guard = _guard(block, check_id, swallow=True, on_ok="block_ok")
            new_body.append(ast.copy_location(guard, block[0]))
        new_body.extend(body[end:])
        func.body = new_body
    else:
        direct = {id(s) for s in body if isinstance(s, ast.Assert)}
        for node in ast.walk(func):
            if isinstance(node, ast.Assert):
                check_id = len(plan)
                item = {"id": check_id, "name": f"line {node.lineno}: assert "
                        f"{_label(test_source, node.test)}", "line": node.lineno}
                if isinstance(node.test, ast.Constant) and not node.test.value:
                    item["unreachable"] = True  # `assert False`: passes by not being reached
                plan.append(item)
                ids[id(node)] = check_id
                if id(node) in direct:
                    top_level.add(id(node))
        plan.sort(key=lambda c: (c["line"], c["id"]))

    _Operands().visit(func)
    _Handlers().visit(func)
    _Asserts(ids, top_level, in_blocks=len(markers) >= 2).visit(func)
    args = ast.arguments(posonlyargs=[], args=[ast.arg(arg=a) for a in (_REC, _GRD, _FMT)],
                         vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[])
    maker = ast.FunctionDef(name=_MAKE, args=args,
                            body=[func, ast.Return(value=ast.Name(id=entry, ctx=ast.Load()))],
                            decorator_list=[], returns=None, type_comment=None)
    if sys.version_info >= (3, 12):
        maker.type_params = []
    bind = ast.Assign(targets=[ast.Name(id=entry, ctx=ast.Store())],
                      value=ast.Call(func=ast.Name(id=_MAKE, ctx=ast.Load()),
                                     args=[ast.Starred(value=ast.Name(id=_BOOT, ctx=ast.Load()),
                                                       ctx=ast.Load())], keywords=[]))
    drop = ast.Delete(targets=[ast.Name(id=_MAKE, ctx=ast.Del())])
    for new in (maker, bind, drop):
        ast.copy_location(new, func)
    module.body[index:index + 1] = [maker, bind, drop]
    ast.fix_missing_locations(module)
    return module, plan


# ----------------------------------------------------------------------------- describing


def _code_objects(code) -> list:
    found = [code]
    for const in code.co_consts:
        if hasattr(const, "co_code"):
            found.extend(_code_objects(const))
    return found


def _frames(tb, candidate_name: str) -> list[dict]:
    frames = []
    for fs in traceback.extract_tb(tb):
        if fs.filename.endswith("harness.py") and fs.name in ("_run", "main"):
            continue
        frames.append({
            "file": fs.filename,
            "line": fs.lineno or 0,
            "function": fs.name,
            "code": (fs.line or "").strip()[:300],
            "in_candidate": fs.filename == candidate_name,
        })
    return frames[-40:]


def _describe(exc: BaseException, candidate_name: str) -> dict:
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    text = "".join(line for line in lines if "harness.py" not in line or "File" not in line)
    info = {
        "exc_type": type(exc).__name__,
        "message": _trim(str(exc), _MSG_CAP),
        "frames": _frames(exc.__traceback__, candidate_name),
        "text": _trim(text, _TB_CAP),
    }
    if isinstance(exc, SyntaxError) and exc.filename:
        info["frames"].append({"file": exc.filename, "line": exc.lineno or 0, "function": "<module>",
                               "code": (exc.text or "").strip()[:300],
                               "in_candidate": exc.filename == candidate_name})
    return info


# ----------------------------------------------------------------------------- the vault


_MISSING = object()


def _vault(digits: tuple, fd: int, plan: list, test_ids: frozenset, main_ids: frozenset,
           watch: list, pending: list, pid: int, untrusted, test_file: str = "test.py",
           modes: tuple = ()):
    """The one place that knows the nonce and decides verdicts (a generator; see the module doc).

    Messages, each a tuple sent with ``.send``:

    * from the instrumented test only: ``("ok", id)``, ``("hit", id)``, ``("block_ok", id)``,
      ``("fail", id, (message, ordinary), swallow, exc)`` (replies whether the test goes on),
      ``("caught", exc, broad)``;
    * from anyone: ``("flush",)``, which writes the evidence the hook and the guard left in
      ``pending`` (tampering only ever costs the candidate);
    * from ``main`` only: ``("end", kind, exc, text)`` (replies the exception to describe),
      then ``("detail", json_bytes)``, which writes the detail and the final record.
    """
    # Everything the vault uses is bound here, before any candidate code runs.
    import _thread

    write, writev, getpid, getframe = os.write, os.writev, os.getpid, sys._getframe
    current_frames, get_ident = sys._current_frames, _thread.get_ident
    try:
        from _json import encode_basestring_ascii as enc  # C: immune to patches of json
    except ImportError:  # pragma: no cover - CPython always has _json
        enc = json.encoder.encode_basestring_ascii
    _id, _type, _str, _tuple, _len, _bytes = id, type, str, tuple, len, bytes
    _isinstance, _min, _any, _all, _bool = isinstance, min, any, all, bool
    _enumerate, _range, _getattr = enumerate, range, getattr
    s_encode, b_hex, dget = str.encode, bytes.hex, dict.get
    type_name = type.__dict__["__name__"].__get__
    missing = _MISSING
    memory_error = MemoryError
    head = (b"\n\x1e", *digits, b" ")
    head_bytes = 3 + _len(digits)
    del digits
    n_plan = _len(plan)
    plan_ids = frozenset(c["id"] for c in plan)
    unreachable = _tuple(c["id"] for c in plan if c.get("unreachable"))
    state: dict = {}  # check id -> passed
    failures: list = []  # (check id, exc)
    swallowed: list = []
    narrow: list = []
    hits: set = set()
    tampers: list = []
    ended = None  # (status, reason) once main said the test ended

    def out(body: bytes) -> None:
        if getpid() != pid:  # a forked child of the program has no say
            return
        pieces = [*head, body, b"\n"]
        total = head_bytes + _len(body) + 1
        done = writev(fd, pieces)
        if done < total:  # a pipe takes a large event in parts: the rest, piece by piece
            for piece in pieces:
                if done >= _len(piece):
                    done -= _len(piece)
                    continue
                rest = piece[done:]
                done = 0
                while rest:
                    rest = rest[write(fd, rest):]

    def text(value, cap=_MSG_CAP) -> bytes:
        if _type(value) is not _str:
            value = "?"
        if _len(value) > cap:
            value = value[:cap // 2] + " ... " + value[-cap // 2:]
        return s_encode(enc(value))

    def check_event(cid, passed, message="", evidence=""):
        out(b'{"e": "check", "id": %d, "passed": %s, "message": %s, "evidence": %s}'
            % (cid, b"true" if passed else b"false", text(message), text(evidence, 1600)))

    def drain():
        while pending:
            item = pending.pop(0)
            if _type(item) is not _tuple or _len(item) != 5:
                continue
            tampers.append(item)
            event, detail, file, line, code = item
            out(b'{"e": "tamper", "event": %s, "detail": %s, "file": %s, "line": %d, '
                b'"code": %s}' % (text(event, 200), text(detail, 600), text(file, 300),
                                  line if _type(line) is int else 0, text(code, 300)))

    function_type = type(_vault)
    get_qualname = function_type.__dict__["__qualname__"].__get__
    get_module = function_type.__dict__["__module__"].__get__
    get_code = function_type.__dict__["__code__"].__get__

    def broken():
        for index, (owner, key, value, label) in _enumerate(watch):
            now = dget(owner, key, missing)
            if now is value:
                continue
            # A library re-wrapping its own function on first use (torch.manual_seed does) puts
            # a function of the same name and of library code there: not the candidate's.
            if (_type(now) is function_type and _type(value) is function_type
                    and get_qualname(now) == get_qualname(value)
                    and get_module(now) == get_module(value)
                    and not untrusted(get_code(now))):
                watch[index] = (owner, key, now, label)
                continue
            return label
        return None

    mro_of = type.__dict__["__mro__"].__get__
    tdict = type.__dict__["__dict__"].__get__

    def pushed_mode():
        """A torch function or dispatch mode the candidate pushed and left on the stack: every
        torch call the test makes (torch.equal included) would go through its code."""
        for length, at, base in modes:
            for i in _range(base, length()):
                for cls in mro_of(_type(at(i))):
                    d = tdict(cls)
                    for name in ("__torch_function__", "__torch_dispatch__"):
                        fn = d.get(name)
                        fn = _getattr(fn, "__func__", fn)
                        if _type(fn) is function_type and untrusted(get_code(fn)):
                            return f"a torch mode of the candidate's ({type_name(cls)})"
        return None

    def busy_thread():
        """A thread running the candidate's code while a check passes: it could patch and
        restore what the check relies on between two looks."""
        me = get_ident()
        for tid, frame in current_frames().items():
            if tid == me:
                continue
            while frame is not None:
                if untrusted(frame.f_code):
                    return True
                frame = frame.f_back
        return False

    def verified(cid) -> bool:
        label = broken()
        mode = None if label is not None else pushed_mode()
        if label is None and mode is None and not busy_thread():
            return True
        if label is not None:
            event, why = "patched", f"{label} was replaced while the test ran"
        elif mode is not None:
            event, why = "mode", f"{mode} was active while a check passed"
        else:
            event, why = "thread", "a thread of the candidate's ran while a check passed"
        pending.append((event, why, "", 0, ""))
        drain()
        check_event(cid, False, f"void: {why}")
        state[cid] = False
        return False

    def conclude(kind, exc, info):
        if tampers:
            _event, detail, file, line, _code = tampers[0]
            where = ""
            if line:
                where = f" (line {line} of the {'test' if file == test_file else 'candidate'})"
            return "tampered", f"the candidate tampered with the test: {detail}{where}", None
        if kind == "memory":
            return "memory", "the program ran out of memory (MemoryError)", exc
        if kind in ("raised", "exit") and _any(exc is f for _, f in failures):
            return "failed", "a check failed", exc
        if kind in ("raised", "exit", "error"):
            return "error", info, exc
        if failures:
            first = _min(failures, key=lambda item: item[0])[1]
            return "failed", f"{_len(failures)} of {n_plan} checks failed", first
        for cid in unreachable:
            if cid not in state:
                state[cid] = True
                check_event(cid, True, "not reached, as the test intends")
        memory = [e for e in swallowed + narrow if _isinstance(e, memory_error)]
        if memory:
            return ("memory", "the program ran out of memory (MemoryError, caught by the test)",
                    memory[0])
        if swallowed:
            exc = swallowed[0]
            return ("error", f"the test caught {type_name(_type(exc))} with a catch-all handler: "
                    "the checks it guards did not pass", exc)
        skipped = n_plan - _len(state)
        if state and skipped and narrow:
            exc = narrow[0]
            return ("failed", f"{skipped} of {n_plan} checks did not run: the test caught "
                    f"{type_name(_type(exc))}", exc)
        if not state:
            if narrow:
                return ("vacuous", f"no check ran: the test caught {type_name(_type(narrow[0]))}",
                        narrow[0])
            return "vacuous", "the test finished without running any check", None
        if not _all(state.values()):
            return "failed", "a check failed", None
        ran = _len(state)
        if ran == n_plan:
            return "passed", f"all {ran} checks passed", None
        return ("passed", f"{ran} of {n_plan} checks ran and passed; the rest sit in branches "
                "the test did not take", None)

    out(s_encode(json.dumps({"e": "plan", "pid": pid, "checks": plan})))
    reply = None
    while True:
        message = yield reply
        reply = None
        drain()
        if _type(message) is not _tuple or not message:
            continue
        kind = message[0]
        if kind == "flush":
            continue
        caller = getframe(1)
        code_id = _id(caller.f_code)
        if code_id in test_ids and ended is None:
            if kind == "ok" and _len(message) == 2 and message[1] in plan_ids:
                cid = message[1]
                if cid not in state and verified(cid):  # in a loop: passes if every round did
                    state[cid] = True
                    check_event(cid, True)
            elif kind == "hit" and _len(message) == 2:
                hits.add(message[1])
            elif kind == "block_ok" and _len(message) == 2 and message[1] in plan_ids:
                cid = message[1]
                if cid in hits and cid not in state and verified(cid):
                    state[cid] = True
                    check_event(cid, True)
            elif kind == "fail" and _len(message) == 5 and message[1] in plan_ids:
                cid, described, swallow, exc = message[1], message[2], message[3], message[4]
                msg, ordinary, evidence = (described if _type(described) is _tuple
                                           and _len(described) == 3 else ("?", False, ""))
                if state.get(cid) is not False:
                    state[cid] = False
                    failures.append((cid, exc))
                    check_event(cid, False, msg, evidence)
                reply = _bool(swallow is True and ordinary is True)
            elif kind == "caught" and _len(message) == 3:
                exc = message[1]
                if not _any(exc is f for _, f in failures):
                    (swallowed if message[2] is True else narrow).append(exc)
        elif code_id in main_ids:
            if kind == "end" and ended is None and _len(message) == 4:
                label = broken()
                if label is not None:
                    pending.append(("patched", f"{label} was replaced while the test ran",
                                    "", 0, ""))
                    drain()
                status, reason, exc = conclude(message[1], message[2], message[3])
                ended = (status, reason)
                reply = exc
            elif kind == "detail" and ended is not None and _len(message) == 2:
                if _type(message[1]) is _bytes:
                    out(b'{"e": "detail", "hex": "%s"}' % s_encode(b_hex(message[1])))
                out(b'{"e": "done", "status": %s, "reason": %s}'
                    % (text(ended[0]), text(ended[1])))
        else:
            # Someone else holds the vault and tried to record a check: that is the forgery.
            code = caller.f_code
            pending.append(("recorder", "a call to the harness's recorder from outside the test",
                            code.co_filename, caller.f_lineno or 0, ""))
            drain()


# ----------------------------------------------------------------------------- trust


def _roots() -> tuple[str, ...]:
    """Directories whose files are library code: the interpreter's and the sys.path entries.

    The working directory (the run's private tmp) is never one, nor anything under it.
    """
    cwd = os.path.realpath(os.getcwd())
    found: set[str] = set()
    for path in [sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.__file__),
                 os.path.dirname(os.path.abspath(__file__)), *sys.path]:
        if not path or not os.path.isabs(path) or not os.path.isdir(path):
            continue
        for form in {path, os.path.realpath(path)}:
            form = form.rstrip(os.sep) + os.sep
            if (cwd + os.sep).startswith(form) or form.startswith(cwd + os.sep):
                continue
            found.add(form)
    return tuple(sorted(found))


def _preimports(candidate_src: str) -> list[ast.stmt]:
    """The candidate module's leading imports (the task's ``function_import`` block)."""
    try:
        body = ast.parse(candidate_src).body
    except SyntaxError:
        return []
    out = []
    for node in body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # a docstring
        if isinstance(node, ast.Import) or (isinstance(node, ast.ImportFrom) and not node.level
                                            and node.module != "__future__"):
            out.append(node)
            continue
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            continue
        break
    return out


def _module_type():
    return type(sys)


def _follow(value):
    """What a callable delegates to: numpy's dispatcher, functools.wraps, bound methods."""
    for attr in ("_implementation", "__wrapped__", "__func__"):
        try:
            inner = object.__getattribute__(value, attr)
        except (AttributeError, TypeError):
            continue
        if inner is not None and inner is not value:
            return inner
    return None


def _snapshot(scratch: dict, names: set, chains: set, cap: int = 5000) -> tuple[list, dict]:
    """What the test relies on, taken before any candidate code runs.

    Returns the watch list ``[(owner dict, key, value, label)]`` (the test's names bound by the
    leading imports, the attribute chains it reads through modules, and, two levels deep, the
    callables those functions name in their own module) and the expected bindings.
    """
    module_type = _module_type()
    expected = {n: scratch[n] for n in names if n in scratch}
    watch: list = []
    seen: set = set()

    def add(owner: dict, key: str, value, label: str) -> None:
        if len(watch) < cap and (id(owner), key) not in seen:
            seen.add((id(owner), key))
            watch.append((owner, key, value, label))

    frontier = []
    for chain in sorted(chains):
        obj = expected.get(chain[0], _MISSING)
        label = chain[0]
        for attr in chain[1:]:
            if not isinstance(obj, module_type):
                break
            owner = obj.__dict__
            if attr not in owner:
                try:
                    getattr(obj, attr)  # a lazy module fills its dict on first access
                except Exception:
                    pass
            if attr not in owner:
                break
            obj = owner[attr]
            label = f"{label}.{attr}"
            add(owner, attr, obj, label)
            frontier.append(obj)
    frontier.extend(expected.values())
    function_type = type(_snapshot)
    for _depth in range(2):
        following = []
        for value in frontier:
            targets = [value]
            inner = _follow(value)
            if inner is not None:
                targets.append(inner)
            for target in targets:
                if type(target) is not function_type:
                    continue
                globs = target.__globals__
                where = globs.get("__name__", "?")
                for code in _code_objects(target.__code__):
                    for name in code.co_names:
                        if name in globs:
                            obj = globs[name]
                            if callable(obj) or isinstance(obj, module_type):
                                add(globs, name, obj, f"{where}.{name}")
                                following.append(obj)
        frontier = following
    return watch, expected


#: set by a warm zygote before it forks: its own ``_class_snapshot()`` and the mark of the
#: modules it had loaded then (``_modules_mark``). A child whose sys.modules still bears that
#: mark has imported nothing since (only the candidate's leading imports, of installed
#: libraries, run before the snapshot is needed), so the snapshot is the one a walk would give.
PRESNAPSHOT: tuple[dict, tuple] | None = None


def _modules_mark() -> tuple:
    """sys.modules' size, last key and last module. Imports only append to it, so a module
    loaded since, even with another removed, changes the size or the last entry; removing the
    last one and putting the same module back changes neither, and loads nothing. Read without
    touching every key: in a forked child the first write to each key's refcount copies a page,
    and a set of the 3-4 thousand names a full zygote holds cost 50-65 ms a run."""
    modules = sys.modules
    last = next(reversed(modules), None)
    return len(modules), last, modules.get(last) if last is not None else None


def _same_mark(a: tuple, b: tuple) -> bool:
    return a[0] == b[0] and a[1] == b[1] and a[2] is b[2]


def _classes_now() -> dict:
    if PRESNAPSHOT is not None and _same_mark(_modules_mark(), PRESNAPSHOT[1]):
        return PRESNAPSHOT[0]
    return _class_snapshot()


def _class_snapshot() -> dict:
    """``id(class) -> (class, {protocol method: value})`` for every Python-level class."""
    heap = 1 << 9  # Py_TPFLAGS_HEAPTYPE
    flags = type.__dict__["__flags__"].__get__
    tdict = type.__dict__["__dict__"].__get__
    subclasses = type.__dict__["__subclasses__"]
    seen: dict = {}
    stack = [object]
    while stack:
        cls = stack.pop()
        try:
            subs = subclasses(cls)
        except TypeError:
            continue
        for sub in subs:
            if id(sub) not in seen:
                seen[id(sub)] = sub
                stack.append(sub)
    out = {}
    for key, cls in seen.items():
        if flags(cls) & heap:
            d = tdict(cls)
            out[key] = (cls, {p: d[p] for p in d.keys() & _ALL_PROTOCOLS})
    return out


# ----------------------------------------------------------------------------- guard and hook


class _Refused(RuntimeError):
    """Raised into the candidate where the harness refuses what it asked for."""


def _make_trust(cand_name: str, roots: tuple, harness_ids: set, test_ids: frozenset):
    """The shared judgement of code: whose is it, and who is asking."""
    _id, _type, _str, _any, _getattr, _isinstance = id, type, str, any, getattr, isinstance
    _frozenset, _hasattr = frozenset, hasattr
    untrusted_ids: set = set()
    keep: list = []  # keeps marked code objects alive, so their ids are never reused
    stdlib = os.path.dirname(os.__file__) + os.sep
    proxy_files = {stdlib + f"{m}.py" for m in (
        "inspect", "bdb", "pdb", "trace", "profile", "cProfile", "cgitb", "code", "codeop",
        "runpy", "doctest", "timeit", "pydoc", "rlcompleter")}
    proxy_dirs = tuple(stdlib + d + os.sep for d in ("ctypes", "importlib", "asyncio",
                                                     "concurrent", "unittest"))
    logging_file = stdlib + "logging" + os.sep + "__init__.py"
    traceback_file = traceback.__file__
    handback = frozenset({"walk_tb", "walk_stack", "_walk_tb_with_full_positions"})
    sys_modules = sys.modules
    module_type = _module_type()
    str_consts_cache: dict = {}

    def untrusted(code) -> bool:
        return _id(code) in untrusted_ids or code.co_filename == cand_name

    def mark(code) -> None:
        todo = [code]
        while todo:
            c = todo.pop()
            if _id(c) in untrusted_ids:
                continue
            untrusted_ids.add(_id(c))
            keep.append(c)
            todo.extend(k for k in c.co_consts if _hasattr(k, "co_code"))

    def proxy(code, frame):
        """None: not a proxy. '': the import system. Otherwise the name its caller calls."""
        fn = code.co_filename
        if _type(fn) is not _str:
            return None
        if fn.startswith("<frozen importlib"):
            return ""
        if fn in proxy_files or fn.startswith(proxy_dirs):
            qual = _getattr(code, "co_qualname", code.co_name)
            head = qual.split(".")[0]
            return head if code.co_name == "__init__" or head[:1].isupper() else code.co_name
        if fn == logging_file and code.co_name in ("<lambda>", "currentframe"):
            return "currentframe"
        if fn == traceback_file:
            f = frame
            while f is not None and f.f_code.co_filename == traceback_file:
                try:
                    if f.f_locals.get("capture_locals"):
                        return ""  # the locals' reprs go back to the caller
                except Exception:
                    return ""
                f = f.f_back
            if code.co_name in handback:
                back = frame.f_back
                if back is None or back.f_code.co_filename != traceback_file:
                    return code.co_name
        return None

    def mentions(code, names) -> bool:
        if _any(n in code.co_names for n in names):
            return True
        key = _id(code)
        consts = str_consts_cache.get(key)
        if consts is None:
            consts = _frozenset(c for c in code.co_consts if _type(c) is _str)
            str_consts_cache[key] = consts
        return _any(n in consts for n in names)

    def real_globals(frame) -> bool:
        g = frame.f_globals
        name = g.get("__name__")
        mod = sys_modules.get(name) if _type(name) is _str else None
        return _isinstance(mod, module_type) and _getattr(mod, "__dict__", None) is g

    def driven(frame, names) -> bool:
        """Is this request the candidate's? ``frame`` made it; ``names`` identify the API."""
        f = frame
        while f is not None:
            code = f.f_code
            cid = _id(code)
            if cid in harness_ids or cid in test_ids:
                return False
            if untrusted(code):
                return True
            px = proxy(code, f)
            if px is not None:
                names = (px,) if px else None
                f = f.f_back
                continue
            if names is not None and not mentions(code, names):
                return True  # reached through a C trampoline the candidate handed a callable
            return not real_globals(f)
        return True  # nothing but proxies and trampolines: a thread the candidate started

    def on_stack(frame) -> bool:
        """Is candidate code anywhere below this frame (before an import of library code)?"""
        f = frame
        while f is not None:
            code = f.f_code
            if untrusted(code):
                return True
            if _id(code) in test_ids or _id(code) in harness_ids:
                return False
            if (code.co_name == "<module>" and code.co_filename.startswith(roots)
                    and f.f_back is not None
                    and f.f_back.f_code.co_filename.startswith("<frozen importlib")):
                return False  # a library module importing itself
            f = f.f_back
        return False

    return untrusted, mark, driven, on_stack


def _guard_call(gen, value, kind, depth=0, _error=AssertionError):
    """``g(value, kind)``, as the instrumented test calls it: ``value``, or a refusal.

    The instrumented test holds ``functools.partial(_guard_call, generator)``: the guard's
    state (the class snapshot, the trust judgement, the evidence list) lives in the
    generator's frame, which nothing can reach, never in a closure one could read."""
    why = gen.send((value, kind, depth))
    if why is not None:
        raise _error(f"refused: {why}")
    return value


def _no_guard(value, kind):
    return value


class _NoExplain:
    """Stands in for the guard when hardening is off: no operands were seen."""

    @staticmethod
    def send(message):
        return ()


_NO_EXPLAIN = _NoExplain()


def _make_guard(untrusted, classes: dict, pending: list, flush, where):
    """The operand guard: a generator that answers ``(value, kind)`` with None or why not."""
    _type, _id, _len, _frozenset, _sorted, _any = type, id, len, frozenset, sorted, any
    _issubclass, _set, _str, _dict, _tuple = issubclass, set, str, dict, tuple
    exception = Exception
    flags = type.__dict__["__flags__"].__get__
    tdict = type.__dict__["__dict__"].__get__
    mro_of = type.__dict__["__mro__"].__get__
    type_name = type.__dict__["__qualname__"].__get__
    function_type = type(_make_guard)
    module_type = type(sys)
    heap = 1 << 9
    protocols = {k: _frozenset(v) for k, v in PROTOCOLS.items()}
    deep = {K_CMP, K_IN, K_NUM, K_FUNC}
    plain = _frozenset({int, float, complex, str, bytes, bool, type(None), type(Ellipsis),
                        range, slice})
    containers = (list, tuple, set, frozenset, dict)
    get_obj = object.__getattribute__
    ndarray = getattr(sys.modules.get("numpy"), "ndarray", None)
    wrappers = _frozenset({staticmethod, classmethod, property})
    try:
        import functools
        wrappers |= {functools.partial, functools.partialmethod}
    except ImportError:  # pragma: no cover
        pass

    def unwrap(value, attrs=("__func__", "func", "fget"), any_type=False):
        """What a wrapper (staticmethod, partial, property, bound method; with ``any_type``
        anything with one of ``attrs``, numpy's dispatcher) finally calls."""
        for _ in range(8):
            t = _type(value)
            if not any_type and t not in wrappers and t.__name__ != "method":
                return value
            for attr in attrs:
                try:
                    value = get_obj(value, attr)
                    break
                except exception:
                    continue
            else:
                return value
        return value

    def bad_class(t, protos):
        try:
            mro = mro_of(t)
        except TypeError:
            return None
        for cls in mro:
            if not flags(cls) & heap:
                continue
            d = tdict(cls)
            keys = protos & d.keys()
            if not keys:
                continue
            snap = classes.get(_id(cls))
            if snap is not None and snap[0] is cls:
                for p in keys:
                    if d[p] is not snap[1].get(p, _MISSING):
                        return f"{type_name(cls)}.{p} was replaced by the candidate"
                continue
            for p in _sorted(keys):
                value = d[p]
                if value is None:
                    continue
                inner = unwrap(value)
                if _type(inner) is function_type:
                    if untrusted(inner.__code__):
                        return f"the candidate's class {type_name(cls)} overrides {p}"
                else:
                    return (f"{type_name(cls)}, made while the candidate ran, sets {p} to a "
                            f"{type_name(_type(inner))}")
        return None

    def scan(value, kind):
        protos = protocols[kind]
        todo = [value]
        seen = _set()
        budget = 20000
        while todo and budget:
            budget -= 1
            obj = todo.pop()
            t = _type(obj)
            if t in plain:
                continue
            if _id(obj) in seen:
                continue
            seen.add(_id(obj))
            why = bad_class(t, protos)
            if why is not None:
                return why
            if kind not in deep:
                continue
            for base in containers:
                if _issubclass(t, base):
                    try:
                        if base is _dict:
                            todo.extend(_dict.keys(obj))
                            todo.extend(_dict.values(obj))
                        else:
                            todo.extend(base.__iter__(obj))
                    except exception:
                        pass
                    break
            else:
                if ndarray is not None and t is ndarray:
                    try:
                        if obj.dtype.kind == "O":
                            todo.extend(ndarray.tolist(ndarray.ravel(obj))[:budget])
                    except Exception:
                        pass
                else:
                    try:
                        own = get_obj(obj, "__dict__")
                    except Exception:
                        own = None
                    if _type(own) is _dict and _any(
                            _type(k) is _str and (k.startswith("__array") or k.startswith("__torch"))
                            for k in own):
                        return f"a {type_name(t)} carries its own array or tensor protocol"
        return None

    def callee(fn):
        """The checker the test calls (np.allclose, math.isclose ...): not the candidate's."""
        try:
            owner = get_obj(fn, "__self__")
        except exception:
            owner = None
        if owner is not None and _type(owner) is not module_type:
            return None  # a method of a value (result.tolist): the value is scanned instead
        fn = unwrap(fn, ("__func__", "func", "_implementation"), any_type=True)
        t = _type(fn)
        if t is function_type:
            return (f"the checker {fn.__qualname__} is the candidate's code"
                    if untrusted(fn.__code__) else None)
        return bad_class(t, protocols[K_CALL]) if flags(t) & heap else None

    recent: dict = {}  # test line -> the last operands the guard saw there, for explanations
    reply = None
    while True:
        message = yield reply
        reply = None
        if _type(message) is not _tuple:
            continue
        if _len(message) == 2 and message[0] == "explain":
            reply = recent.get(message[1], ())
            continue
        if _len(message) != 3:
            continue
        value, kind, depth = message
        if kind not in protocols:
            continue
        why = callee(value) if kind == K_CALL else scan(value, kind)
        file, line, code = where()
        if why is not None:
            pending.append(("comparison", why, file, line, code))
            flush()
            reply = why
        elif kind != K_CALL:
            seen_here = recent.get(line, ())
            recent[line] = (*seen_here[-11:], (kind, depth, value))


_WATCH = {
    "sys._getframe": "frame", "sys._current_frames": "frame", "sys._current_exceptions": "frame",
    "object.__getattr__": "getattr", "object.__setattr__": "setattr",
    "gc.get_objects": "gc", "gc.get_referrers": "gc", "gc.get_referents": "gc",
    "sys.settrace": "trace", "sys.setprofile": "trace", "sys.addaudithook": "trace",
    "sys.monitoring.register_callback": "trace", "sys.monitoring.use_tool_id": "trace",
    "code.__new__": "code", "function.__new__": "function", "exec": "exec", "open": "open",
    "ctypes.dlopen": "ctypes", "ctypes.dlsym": "ctypes", "ctypes.dlsym/handle": "ctypes",
    "ctypes.call_function": "ctypes", "ctypes.cdata": "ctypes", "ctypes.cdata/buffer": "ctypes",
    "ctypes.string_at": "ctypes", "ctypes.wstring_at": "ctypes", "ctypes.addressof": "ctypes",
    "ctypes.PyObj_FromPtr": "ctypes", "ctypes.create_string_buffer": "ctypes",
    "ctypes.create_unicode_buffer": "ctypes", "ctypes.get_errno": "ctypes",
    "ctypes.set_errno": "ctypes",
}
_FRAME_ATTRS = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame", "f_back"})
_API_NAMES = {
    "sys._getframe": ("_getframe",), "sys._current_frames": ("_current_frames",),
    "sys._current_exceptions": ("_current_exceptions",), "gc.get_objects": ("get_objects",),
    "gc.get_referrers": ("get_referrers",), "gc.get_referents": ("get_referents",),
    "sys.settrace": ("settrace",), "sys.setprofile": ("setprofile",),
    "sys.addaudithook": ("addaudithook",), "sys.monitoring.register_callback":
    ("register_callback",), "sys.monitoring.use_tool_id": ("use_tool_id",),
}
# Why each kind is refused (not only recorded): each hands the candidate something it cannot
# give back. A frame reaches every caller's locals (the test's expected values) through
# f_back; the collector's walks reach every object; a trace, profile or audit hook receives
# frames; ctypes reads and writes any memory; /proc/self/mem is the memory itself; a rebuilt
# or rebound code object runs as someone else's code. What the candidate merely executes or
# compiles is allowed, and its code is marked as the candidate's wherever it runs.
_WHY = {
    "frame": "a frame of the running program (it leads to the test's and the harness's state)",
    "gc": "a walk of the garbage collector's objects",
    "trace": "a trace, profile or audit hook (they receive frames)",
    "ctypes": "ctypes (raw memory access)",
    "code": "building a code object",
}


def _make_hook(trust, pending: list, flush, test_ids: frozenset, test_funcs: list,
               cand_name: str, cand_lines: list, classes: dict, active: list):
    """The audit hook (PEP 578): refuses and records introspection the candidate asks for."""
    untrusted, mark, driven, on_stack = trust
    import _thread

    _type, _id, _str, _bytes, _int, _len, _any = type, id, str, bytes, int, len, any
    _issubclass = issubclass
    getframe, get_ident, os_stat, fspath = sys._getframe, _thread.get_ident, os.stat, os.fspath
    flags = type.__dict__["__flags__"].__get__
    tdict = type.__dict__["__dict__"].__get__
    mro_of = type.__dict__["__mro__"].__get__
    code_type = type(_make_hook.__code__)
    function_type = type(_make_hook)
    func_code = function_type.__dict__["__code__"].__get__
    watch, why_of, api = dict(_WATCH), dict(_WHY), dict(_API_NAMES)  # copies: nobody's to edit
    frame_attrs = _FRAME_ATTRS
    refused = _Refused
    busy: set = set()
    dirs: list = []
    try:
        proc_dev = os_stat("/proc/self").st_dev
    except OSError:
        proc_dev = None
    s_isdir = __import__("stat").S_ISDIR
    # The import system's own file loaders, as they were before the candidate ran: only they
    # may run a file's code without it counting as the candidate's (a loader subclass, or a
    # patched get_code, could hand exec any code under a library's file name).
    import importlib.machinery as machinery
    file_loaders = (machinery.SourceFileLoader, machinery.SourcelessFileLoader)
    pinned = []
    for cls in {c for loader_cls in file_loaders for c in mro_of(loader_cls)}:
        if flags(cls) & (1 << 9):
            pinned.append((tdict(cls), dict(tdict(cls))))
    external = sys.modules.get("_frozen_importlib_external")
    if external is not None:
        pinned.append((external.__dict__, dict(external.__dict__)))

    def loaders_intact() -> bool:
        for now, then in pinned:
            for key, value in then.items():
                if now.get(key, _MISSING) is not value:
                    return False
        return True
    memory_maps = frozenset({"maps", "smaps", "smaps_rollup", "numa_maps", "pagemap",
                             "map_files"})

    def locate(frame):
        """The candidate's own line behind a request: its file's frame nearest the request
        (code it exec'd has no line of its own there), else the nearest candidate frame."""
        f, first = frame, None
        while f is not None:
            if untrusted(f.f_code):
                line = f.f_lineno or 0
                if f.f_code.co_filename == cand_name:
                    text = cand_lines[line - 1].strip()[:300] if 0 < line <= _len(cand_lines) \
                        else ""
                    return cand_name, line, text
                if first is None:
                    first = (f.f_code.co_filename, line, "")
            f = f.f_back
        if first is not None:
            return first
        if frame is None:
            return "", 0, ""
        return frame.f_code.co_filename, frame.f_lineno or 0, ""

    def refuse(event, detail, frame):
        file, line, text = locate(frame)
        pending.append((event, detail, file, line, text))
        flush()
        raise refused(f"refused by the AICoder harness: {detail}")

    def safe_pathlike(t) -> bool:
        try:
            mro = mro_of(t)
        except TypeError:
            return False
        for cls in mro:
            d = tdict(cls)
            if "__fspath__" in d:
                if not flags(cls) & (1 << 9):
                    return True
                snap = classes.get(_id(cls))
                return snap is not None and snap[0] is cls and \
                    snap[1].get("__fspath__") is d["__fspath__"]
        return False

    def check_open(path, frame):
        t = _type(path)
        if t is _int:
            return
        if t is not _str and _issubclass(t, _str):
            path, t = "".join((path,)), _str  # a subclass could lie to rpartition
        elif t is not _bytes and _issubclass(t, _bytes):
            path, t = b"".join((path,)), _bytes
        if t is _bytes:
            path = path.decode("utf-8", "surrogateescape")
        elif t is not _str:
            if not safe_pathlike(t):
                if driven(frame, None):
                    refuse("open", "open() of a path object whose class the candidate made",
                           frame)
                return
            path = fspath(path)
            if _type(path) is _bytes:
                path = path.decode("utf-8", "surrogateescape")
            if _type(path) is not _str:
                return
        name = path.rpartition("/")[2]
        try:
            st = os_stat(path)
        except (OSError, ValueError, TypeError):
            st = None
        if st is None:
            if name == "mem":
                refuse("open", f"open() of {path!r} (process memory)", frame)
            if not path.startswith("/"):
                for d in dirs:
                    try:
                        if os_stat(d + "/" + path).st_dev == proc_dev:
                            refuse("open", f"open() of {path!r} under /proc", frame)
                    except (OSError, ValueError):
                        continue
            return
        if proc_dev is not None and st.st_dev == proc_dev:
            if name == "mem" or not path.startswith("/proc/"):
                refuse("open", f"open() of {path!r} (process memory)", frame)
            if name in memory_maps and driven(frame, None):
                refuse("open", f"open() of {path!r} (where the process's memory lies)", frame)
        if s_isdir(st.st_mode) and _len(dirs) < 256:
            dirs.append(path)

    def handle(kind, event, args, frame):
        if kind in ("frame", "gc", "trace"):
            if driven(frame, api.get(event)):
                refuse(event, f"{event}(): {why_of[kind]}", frame)
        elif kind == "getattr":
            if _len(args) != 2:
                return
            obj, name = args
            if _type(name) is not _str:  # a str subclass could lie to `in`
                name = "".join((name,))
            if name in frame_attrs:
                if driven(frame, (name,)):
                    refuse(event, f"reading .{name}: {why_of['frame']}", frame)
            elif (name == "__code__" and _any(obj is f for f in test_funcs)
                  and driven(frame, None)):
                refuse(event, "reading the test function's code (its expected values)", frame)
        elif kind == "setattr":
            if _len(args) != 3:
                return
            obj, name = args[0], args[1]
            if _type(name) is not _str:
                name = "".join((name,))
            if name == "__code__":
                if _any(obj is f for f in test_funcs) or driven(frame, None):
                    refuse(event, "rebinding a function's __code__", frame)
            elif name in ("__defaults__", "__kwdefaults__") and (
                    _any(obj is f for f in test_funcs)
                    or (_type(obj) is function_type and not untrusted(func_code(obj))
                        and driven(frame, None))):
                refuse(event, f"rebinding {name} of a function that is not the candidate's",
                       frame)
        elif kind == "code":
            if frame is not None and frame.f_code.co_filename.startswith("<frozen importlib"):
                return  # unmarshalling a module's code while importing it (Python 3.8)
            if driven(frame, None):
                refuse(event, f"{event}(): {why_of['code']}", frame)
        elif kind == "function":
            code = args[0] if args else None
            if _type(code) is code_type and on_stack(frame):
                mark(code)
        elif kind == "exec":
            code = args[0] if args else None
            if _type(code) is not code_type:
                return
            if frame is not None and frame.f_code.co_name == "_call_with_frames_removed":
                back = frame.f_back
                loader = back.f_locals.get("self") if back is not None else None
                if (back is not None and back.f_code.co_name == "exec_module"
                        and _any(_type(loader) is cls for cls in file_loaders)
                        and _type(loader.__dict__.get("path")) is _str
                        and loader.__dict__["path"] == code.co_filename
                        and loaders_intact()):
                    return  # the import system running a library file
            if on_stack(frame):
                mark(code)
        elif kind == "open":
            if args:
                check_open(args[0], frame)
        elif kind == "ctypes" and driven(frame, None):
            refuse(event, f"{event}: {why_of['ctypes']}", frame)

    def hook(event, args):
        if not active[0]:
            return
        kind = watch.get(event)
        if kind is None:
            return
        tid = get_ident()
        if tid in busy:
            return
        busy.add(tid)
        try:
            try:
                frame = getframe(1)
            except ValueError:
                frame = None
            handle(kind, event, args, frame)
        finally:
            busy.discard(tid)

    return hook


# ----------------------------------------------------------------------------- running


def _apply_limits(limits: dict) -> None:
    def cap(res, soft, hard=None):
        hard = soft if hard is None else hard
        try:
            _, cur_hard = resource.getrlimit(res)
            if cur_hard != resource.RLIM_INFINITY:
                hard = min(hard, cur_hard)
                soft = min(soft, hard)
            resource.setrlimit(res, (soft, hard))
        except (ValueError, OSError):
            pass

    mib = 1024 * 1024
    if "cpu_s" in limits:
        cap(resource.RLIMIT_CPU, int(limits["cpu_s"]), int(limits["cpu_s"]) + 2)
    if "memory_mb" in limits:
        cap(resource.RLIMIT_DATA, int(limits["memory_mb"]) * mib)
    if "file_size_mb" in limits:
        cap(resource.RLIMIT_FSIZE, int(limits["file_size_mb"]) * mib)
    if "open_files" in limits:
        cap(resource.RLIMIT_NOFILE, int(limits["open_files"]))
    if "processes" in limits and os.getuid() != 0:
        cap(resource.RLIMIT_NPROC, int(limits["processes"]))
    cap(resource.RLIMIT_CORE, 0)
    # A write past the file-size limit fails with EFBIG instead of killing the process.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def _peak_kb() -> int:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids)


def run_script(source: str, name: str, emit, finish, pid: int) -> None:
    """Script mode: run the source as ``python name`` would, with nothing instrumented.

    The outcome is the script's own output: an uncaught exception prints its traceback to
    stderr exactly as the interpreter does. There are no checks, so the status is never
    ``passed``: ``vacuous`` when the script ran to its end, ``error`` when it raised.
    """
    emit({"e": "plan", "pid": pid, "checks": []})
    linecache.cache[name] = (len(source), None, source.splitlines(True), name)
    namespace = {"__name__": "__main__", "__builtins__": __builtins__}
    sys.argv = [name]
    try:
        exec(compile(source, name, "exec"), namespace)
    except SystemExit as exc:
        if exc.code in (None, 0):
            finish("vacuous", "the script called sys.exit(0)")
        if not isinstance(exc.code, int):
            print(exc.code, file=sys.stderr)  # as the interpreter does with sys.exit("msg")
        finish("error", f"the script called sys.exit({exc.code!r})")
    except BaseException as exc:
        # The interpreter's own report on the script's stderr, without this function's frame.
        traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next)
        finish("memory" if isinstance(exc, MemoryError) else "error",
               f"{type(exc).__name__} in the script", exc)
    finish("vacuous", "the script ran to its end (script mode has no checks)")


def _undumpable() -> None:
    """prctl(PR_SET_DUMPABLE, 0): no other process (a child the candidate starts, included) may
    read this one's memory through /proc/PID/mem."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0)
    except (ImportError, OSError, AttributeError):  # not Linux, or no ctypes: nothing to do
        pass


_EVIDENCE_CAP = 1500
_VALUE_CAP = 240


def _summary(value, cap: int = _VALUE_CAP) -> str:
    """A short, capped description of a value: shape, dtype and a few values for arrays and
    tensors, a capped repr for the rest."""
    kind = type(value)
    module = getattr(kind, "__module__", "") or ""
    try:
        if module.startswith(("numpy", "torch")) and hasattr(value, "shape") and \
                hasattr(value, "dtype"):
            flat = value.reshape(-1)[:8]
            items = flat.tolist() if hasattr(flat, "tolist") else list(flat)
            size = getattr(value, "size", None)  # numpy: an int; torch: a method
            more = " ..." if (size if isinstance(size, int) else value.numel()) > 8 else ""
            text = (f"{kind.__name__}(shape={tuple(value.shape)}, dtype={value.dtype}, "
                    f"values={items}{more})")
        else:
            text = repr(value)
    except BaseException:  # a repr that raises is still a value we saw
        text = f"<{kind.__name__} object>"
    text = " ".join(text.split()) if len(text) > 80 else text
    return text if len(text) <= cap else text[:cap - 5] + " ...>"


def _difference(left, right) -> str:
    """Where two compared values first differ: an index, a key, a length, an array element."""
    try:
        if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
            for i, (a, b) in enumerate(zip(left, right)):  # noqa: B905 - 3.8+
                if a != b:
                    return f"first difference at index {i}: {_summary(a, 80)} != {_summary(b, 80)}"
            if len(left) != len(right):
                return f"lengths differ: {len(left)} and {len(right)}"
        elif isinstance(left, dict) and isinstance(right, dict):
            only = sorted(map(repr, left.keys() ^ right.keys()))[:5]
            if only:
                return f"keys in only one of them: {', '.join(only)}"
            for key in left:
                if left[key] != right[key]:
                    return (f"first differing key {key!r}: {_summary(left[key], 80)} != "
                            f"{_summary(right[key], 80)}")
        shape = getattr(left, "shape", None)
        if shape is not None and getattr(right, "shape", None) is not None:
            if tuple(shape) != tuple(right.shape):
                return f"shapes differ: {tuple(shape)} and {tuple(right.shape)}"
            diff = abs(left - right)
            worst = diff.reshape(-1).argmax()
            index = int(worst)
            return (f"largest difference {float(diff.reshape(-1)[index]):.6g} at flat index "
                    f"{index}: {float(left.reshape(-1)[index]):.6g} vs "
                    f"{float(right.reshape(-1)[index]):.6g}")
    except BaseException:
        return ""
    return ""


def _explain(seen: tuple) -> list[str]:
    """The operands the guard saw on the failing line, as a debugger would show them."""
    lines: list[str] = []
    if seen:
        top = min(d for _, d, _ in seen)  # the assert's own comparison, not the inner calls'
        seen = tuple((k, v) for k, d, v in seen if d == top)
    compared = [v for k, v in seen if k in (K_CMP, K_IN)]
    args = [v for k, v in seen if k == K_FUNC]
    pair = (compared, ("left: ", "right:")) if len(compared) >= 2 else \
        (args, ("argument 1:", "argument 2:")) if len(args) >= 2 else None
    if pair is not None:
        (left, right), labels = pair[0][-2:], pair[1]
        lines += [f"{labels[0]} {_summary(left)}", f"{labels[1]} {_summary(right)}"]
        diff = _difference(left, right)
        if diff:
            lines.append(diff)
    elif compared or args:
        lines.append(f"value: {_summary((compared or args)[-1])}")
    elif seen:
        lines.append(f"value: {_summary(seen[-1][1])}")
    return lines


def _candidate_locals(exc: BaseException, cand_name: str, cand_lines: tuple) -> list[str]:
    """The candidate's line where the exception left its code, and its locals there."""
    tb, last = exc.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == cand_name:
            last = tb
        tb = tb.tb_next
    if last is None:
        return []
    line = last.tb_lineno
    source = cand_lines[line - 1].strip() if 0 < line <= len(cand_lines) else ""
    out = [f"in your function {last.tb_frame.f_code.co_name}, line {line}: {source}"]
    for name, value in list(last.tb_frame.f_locals.items())[:12]:
        if not name.startswith("__"):
            out.append(f"  {name} = {_summary(value, 160)}")
    return out


def _fmt(gen, cand_name: str, cand_lines: tuple, test_name: str, exc: BaseException) -> tuple:
    """What the vault records of a failed check: its message, whether the test goes on, and
    the evidence: the compared values on the failing line, or where the candidate's code
    raised and its locals there (pytest's assertion introspection, LDB's state)."""
    try:
        if isinstance(exc, AssertionError):
            text = str(exc)
            message = f"AssertionError: {text}" if text else "AssertionError"
        else:
            message = f"{type(exc).__name__}: {exc}"
    except BaseException:  # the candidate's __str__ raised
        message = type(exc).__name__
    ordinary = isinstance(exc, Exception) and not isinstance(exc, MemoryError)
    evidence: list[str] = []
    try:
        test_line, tb = 0, exc.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code.co_filename == test_name:
                test_line = tb.tb_lineno
            tb = tb.tb_next
        if isinstance(exc, AssertionError) and test_line and not str(message).startswith(
                "AssertionError: refused"):
            evidence = _explain(gen.send(("explain", test_line)) or ())
        if not evidence:
            evidence = _candidate_locals(exc, cand_name, cand_lines)
    except BaseException:  # evidence is a help, never a reason to fail differently
        evidence = []
    return (_trim(message, _MSG_CAP) if type(message) is str else "?", ordinary is True,
            _trim("\n".join(evidence), _EVIDENCE_CAP))


def main(argv: list[str] | None = None) -> None:
    import builtins

    pristine = dict(builtins.__dict__)  # before anything else can touch them
    argv = sys.argv[1:] if argv is None else argv
    fd = os.open(argv[0], os.O_RDONLY) if argv else 0
    single = tuple(bytes((i,)) for i in range(256))  # the interpreter's cached 1-byte objects
    digits = []
    while len(digits) < 64:
        byte = os.read(fd, 1)
        if not byte or byte == b"\n":
            break
        digits.append(single[byte[0]])
    digits = tuple(digits)
    chunks = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    request = json.loads(b"".join(chunks))
    del chunks
    if argv:
        os.close(fd)
        os.unlink(argv[0])
    else:
        sys.stdin.close()
        sys.stdin = open(os.devnull)  # noqa: SIM115 - the program may read stdin: give it nothing

    secret = [digits]  # for the simple emitter; emptied once the vault holds the nonce
    out_fd = os.dup(1)  # our own channel: survives the program closing or redirecting fd 1
    my_pid = os.getpid()
    exit_now = os._exit
    _apply_limits(request.get("limits", {}))
    cand_name = request.get("candidate_name", "candidate.py")
    test_name = request.get("test_name", "test.py")
    entry = request["entry"]
    candidate_src = request.pop("candidate")
    test_src = request.pop("test")
    harden = request.get("harden", True)

    def simple_emit(event: dict) -> None:  # script mode and unusable tests: no checks to forge
        if os.getpid() != my_pid:
            return
        if not secret:
            return
        data = b"\n\x1e" + b"".join(secret[0]) + b" " + json.dumps(event, default=str).encode()
        data += b"\n"
        while data:
            data = data[os.write(out_fd, data):]

    def simple_finish(status: str, reason: str, exc: BaseException | None = None) -> None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        event = {"e": "done", "status": status, "reason": reason, "peak_kb": _peak_kb()}
        if exc is not None:
            event["traceback"] = _describe(exc, cand_name)
        simple_emit(event)
        exit_now(0)

    if request.get("script"):
        run_script(candidate_src, cand_name, simple_emit, simple_finish, my_pid)
        return

    # Parse and instrument the test before any of the program's code runs.
    try:
        test_tree = ast.parse(test_src)
        module, plan = instrument(test_src, entry)
        test_code = compile(module, test_name, "exec")
    except (SyntaxError, LookupError) as exc:
        simple_emit({"e": "plan", "pid": my_pid, "checks": []})
        simple_finish("error", f"the task's test code is unusable: {exc}", exc)
        return
    test_ids = frozenset(id(c) for c in _code_objects(test_code))
    entry_node = next(n for n in test_tree.body if getattr(n, "name", None) == entry)
    used_names, used_chains = _names_used(entry_node)

    # The candidate's leading imports, run by the harness: what the test relies on is then
    # known, and snapshotted, before a line of the candidate's own runs.
    scratch: dict = {"__name__": "__main__", "__builtins__": builtins}
    for node in _preimports(candidate_src) if harden else []:
        try:
            exec(compile(ast.Module(body=[node], type_ignores=[]), "<aicoder-imports>", "exec"),
                 scratch)
        except BaseException:  # the candidate's own run reports it
            pass
    watch, expected = _snapshot(scratch, used_names, used_chains) if harden else ([], {})
    for key, value in pristine.items():
        if key != "_":
            watch.append((builtins.__dict__, key, value, f"builtins.{key}"))
    classes = _classes_now() if harden else {}

    pending: list = []
    main_ids = frozenset(id(c) for c in _code_objects(main.__code__))
    harness_ids = set()
    for fn in (_vault, _make_trust, _make_guard, _make_hook, main, _fmt, _undumpable,
               _guard_call, _summary, _difference, _explain, _candidate_locals):
        harness_ids.update(id(c) for c in _code_objects(fn.__code__))
    trust = _make_trust(cand_name, _roots(), harness_ids, test_ids)
    untrusted, mark = trust[0], trust[1]
    modes = []
    torch_c = getattr(sys.modules.get("torch"), "_C", None) if harden else None
    for length, at in (("_len_torch_function_stack", "_get_function_stack_at"),
                       ("_len_torch_dispatch_stack", "_get_dispatch_stack_at")):
        fn_len, fn_at = getattr(torch_c, length, None), getattr(torch_c, at, None)
        if fn_len is not None and fn_at is not None:
            modes.append((fn_len, fn_at, fn_len()))
    vault = _vault(digits, out_fd, plan, test_ids, main_ids, watch, pending, my_pid, untrusted,
                   test_name, tuple(modes))
    del digits
    secret.clear()
    next(vault)  # writes the plan

    def flush() -> None:
        try:
            vault.send(("flush",))
        except ValueError:  # the vault is running: it drains on its next message
            pass

    cand_lines = candidate_src.splitlines()
    test_lines = test_src.splitlines()

    def where():
        """The test's line that handed the guard its value (frame 3: where, the guard's
        generator, _guard_call, the test)."""
        try:
            frame = sys._getframe(3)
        except ValueError:
            return test_name, 0, ""
        line = frame.f_lineno or 0
        text = test_lines[line - 1].strip()[:300] if 0 < line <= len(test_lines) else ""
        return test_name, line, text

    import functools

    if harden:
        guard_gen = _make_guard(untrusted, classes, pending, flush, where)
        next(guard_gen)
        guard = functools.partial(_guard_call, guard_gen)
        fmt = functools.partial(_fmt, guard_gen, cand_name, tuple(candidate_src.splitlines()),
                                test_name)
    else:
        guard = _no_guard
        fmt = functools.partial(_fmt, _NO_EXPLAIN, cand_name, tuple(candidate_src.splitlines()),
                                test_name)
    active = [False]
    test_funcs: list = []
    if harden:
        _undumpable()
        sys.addaudithook(_make_hook(trust, pending, flush, test_ids, test_funcs, cand_name,
                                    cand_lines, classes, active))
    linecache.cache[cand_name] = (len(candidate_src), None, candidate_src.splitlines(True),
                                  cand_name)

    namespace = {"__name__": "__main__", "__builtins__": builtins}
    sys.argv = [cand_name]
    outcome = ["returned", None, ""]

    def run() -> None:
        """The candidate and the test, on a thread of their own: Python runs signal handlers
        only on the main thread, so the candidate can install none (a handler receives the
        frame that is running, which could be the vault's), and the main thread holds nothing
        but this wait."""
        stage = "candidate"
        try:
            code = compile(candidate_src, cand_name, "exec")
            mark(code)
            active[0] = True
            exec(code, namespace)
            stage = "test"
            tests = {k: v for k, v in namespace.items() if k != "__builtins__"}
            tests["__builtins__"] = dict(pristine)
            for name, value in expected.items():
                if tests.get(name, _MISSING) is not value:
                    pending.append(("rebound", f"the candidate rebound {name!r}, which the test "
                                    "uses", cand_name, 0, ""))
                    flush()
                watch.append((tests, name, value, name))
            for name in used_names & set(pristine):
                if (name in namespace and namespace[name] is not pristine[name]
                        and name not in expected):
                    pending.append(("shadowed", f"the candidate's module defines {name!r}, a "
                                    "builtin the test uses", cand_name, 0, ""))
                    flush()
            tests[_BOOT] = (vault, guard, fmt)
            exec(test_code, tests)
            del tests[_BOOT]
            test_fn = tests.pop(entry)  # the namespace a callback's __globals__ shows lacks it
            test_funcs.append(test_fn)
            stage = "run"
            test_fn()
        except BaseException as exc:
            outcome[1] = exc
            if isinstance(exc, MemoryError):
                outcome[0] = "memory"
            elif isinstance(exc, SystemExit):
                outcome[0] = "exit"
                outcome[2] = f"the program called sys.exit({exc.code!r}) before the test finished"
            else:
                where_text = {"candidate": "while defining the candidate",
                              "test": "while loading the test",
                              "run": "while running the test"}[stage]
                outcome[0], outcome[2] = "raised", f"{type(exc).__name__} {where_text}"
        finally:
            finished.release()

    # _thread, not threading: a threading.Thread would show its target (and through it this
    # function's closure) to threading.enumerate().
    import _thread

    finished = _thread.allocate_lock()
    finished.acquire()
    _thread.start_new_thread(run, ())
    finished.acquire()
    kind, caught, info = outcome
    active[0] = False
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    described = vault.send(("end", kind, caught, info))
    # The test's source goes into linecache only now, for the traceback.
    linecache.cache[test_name] = (len(test_src), None, test_src.splitlines(True), test_name)
    detail: dict = {"peak_kb": _peak_kb()}
    try:
        if described is not None:
            detail["traceback"] = _describe(described, cand_name)
        payload = json.dumps(detail, default=str).encode()
    except BaseException:
        payload = b'{}'
    vault.send(("detail", payload))
    exit_now(0)


if __name__ == "__main__":
    main()
