"""The in-sandbox harness: runs a task's test function and reports each check on its own.

This file runs *inside* the sandbox, under the task's interpreter, so it imports only the
standard library and nothing of this project.

Protocol
--------
The request is one JSON object, read from the file named by ``argv[1]`` (deleted as soon as it
is read) or else from stdin::

    {"nonce": "...", "candidate": "...", "test": "...", "entry": "test_f",
     "candidate_name": "candidate.py", "test_name": "test.py", "limits": {...}}

Events go to the harness's own copy of the original stdout, each on a line of its own::

    \\x1e<nonce> {"e": "plan", "pid": 2, "checks": [{"id": 0, "name": "...", "line": 7}]}
    \\x1e<nonce> {"e": "check", "id": 0, "passed": true, "message": ""}
    \\x1e<nonce> {"e": "done", "status": "passed", ...}

Only the harness knows the nonce (it arrives after the process starts and is never in the
environment or a file the program can read), so a program that prints "All Tests Passed",
exits early with ``sys.exit(0)`` / ``os._exit(0)``, or prints something shaped like an event
cannot produce a verdict: without the harness's own ``done`` event the parent reports
``crashed``. Only code objects compiled from the instrumented test may record a check.

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

__all__ = ["instrument", "main"]

_REC = "__aicoder_checks__"  # the global the harness sets just before calling the test
_LOCAL = "__aicoder_rec__"  # the test function's own binding: the program cannot rebind it
_EXC = "__aicoder_exc__"
_MARKER = re.compile(r"test(?:ing)?[ _]?case\s*\[?\s*(\d+)\s*(?:/\s*(\d+))?", re.IGNORECASE)
_MSG_CAP = 2000
_TB_CAP = 8000
_BROAD = {"Exception", "BaseException"}


# ----------------------------------------------------------------------------- instrumentation


def _trim(text: str, cap: int) -> str:
    if len(text) <= cap:
        return text
    half = cap // 2
    return f"{text[:half]}\n... [{len(text) - cap} characters cut] ...\n{text[-half:]}"


def _stmt(src: str) -> ast.stmt:
    return ast.parse(src).body[0]


def _record_call(method: str, *args: ast.expr) -> ast.stmt:
    call = ast.Call(
        func=ast.Attribute(value=ast.Name(id=_LOCAL, ctx=ast.Load()), attr=method, ctx=ast.Load()),
        args=list(args),
        keywords=[],
    )
    return ast.Expr(value=call)


def _guard(body: list[ast.stmt], check_id: int, *, swallow: bool, on_ok: str = "ok") -> ast.Try:
    """``try: body / except BaseException as e: record fail [, raise] / else: record ok``.

    With ``swallow`` an ordinary exception is recorded and the test goes on; SystemExit,
    KeyboardInterrupt and MemoryError always propagate.
    """
    fail = ast.Call(
        func=ast.Attribute(value=ast.Name(id=_LOCAL, ctx=ast.Load()), attr="fail", ctx=ast.Load()),
        args=[ast.Constant(check_id), ast.Name(id=_EXC, ctx=ast.Load()), ast.Constant(swallow)],
        keywords=[],
    )
    handler_body: list[ast.stmt] = [ast.If(test=ast.UnaryOp(op=ast.Not(), operand=fail),
                                           body=[ast.Raise()], orelse=[])]
    return ast.Try(
        body=body,
        handlers=[ast.ExceptHandler(type=ast.Name(id="BaseException", ctx=ast.Load()),
                                    name=_EXC, body=handler_body)],
        orelse=[_record_call(on_ok, ast.Constant(check_id))],
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


def _marker_of(stmt: ast.stmt, comments: dict[int, str], prev_end: int) -> str | None:
    """The `Test case` marker that opens this statement: a comment just above it, or a print."""
    for line in range(prev_end + 1, stmt.lineno + 1):
        text = comments.get(line)
        if text and _MARKER.search(text):
            return text.lstrip("#").strip()
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        for arg in stmt.value.args:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and _MARKER.search(arg.value):
                return arg.value.strip()
            if isinstance(arg, ast.JoinedStr):
                lit = "".join(v.value for v in arg.values if isinstance(v, ast.Constant))
                if _MARKER.search(lit):
                    return lit.strip()
    return None


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

    def __init__(self) -> None:
        self.count = 0

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.ExceptHandler:
        self.generic_visit(node)
        if _contains_assert(node.body):
            return node  # a handler that asserts is checking the exception on purpose
        broad = _is_broad(node)
        if node.type is None:
            node.type = ast.Name(id="BaseException", ctx=ast.Load())
        if node.name is None:
            node.name = _EXC
        report = _record_call("caught", ast.Name(id=node.name, ctx=ast.Load()), ast.Constant(broad))
        node.body.insert(0, report)
        self.count += 1
        return node

    # nested function definitions are the test's helpers: their handlers count the same
    # (generic_visit walks into them)


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


def instrument(test_source: str, entry: str) -> tuple[ast.Module, list[dict]]:
    """Rewrite the test module so each check reports itself.

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
    func = next((n for n in module.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
                 and n.name == entry), None)
    if func is None:
        raise LookupError(f"the test code defines no function named {entry!r}")

    comments = _comments(test_source)
    body = func.body
    markers: list[tuple[int, str]] = []
    prev_end = func.lineno
    for index, stmt in enumerate(body):
        label = _marker_of(stmt, comments, prev_end)
        if label is not None:
            markers.append((index, label))
        prev_end = getattr(stmt, "end_lineno", stmt.lineno)

    plan: list[dict] = []
    ids: dict[int, int] = {}
    top_level: set[int] = set()

    if len(markers) >= 2:
        # Block mode: statements from one marker to the next form one check.
        end = len(body)
        if isinstance(body[-1], ast.Return) and markers[-1][0] < len(body) - 1:
            end = len(body) - 1  # `return 'All Tests Passed'` closes the test, not the last case
        bounds = [m[0] for m in markers] + [end]
        new_body: list[ast.stmt] = body[: markers[0][0]]
        total = len(markers)
        for k, (start, label) in enumerate(markers):
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
                entry = {"id": check_id, "name": f"line {node.lineno}: assert "
                         f"{_label(test_source, node.test)}", "line": node.lineno}
                if isinstance(node.test, ast.Constant) and not node.test.value:
                    entry["unreachable"] = True  # `assert False`: passes by not being reached
                plan.append(entry)
                ids[id(node)] = check_id
                if id(node) in direct:
                    top_level.add(id(node))
        plan.sort(key=lambda c: (c["line"], c["id"]))

    _Handlers().visit(func)
    _Asserts(ids, top_level, in_blocks=len(markers) >= 2).visit(func)
    # Bind the recorder to a local first thing, so that code the test calls cannot swap the
    # global for a fake; nested helpers of the test see the local through their closure.
    bind = ast.Assign(targets=[ast.Name(id=_LOCAL, ctx=ast.Store())],
                      value=ast.Name(id=_REC, ctx=ast.Load()))
    func.body.insert(0, ast.copy_location(bind, func.body[0]))
    ast.fix_missing_locations(module)
    return module, plan


# ----------------------------------------------------------------------------- recording


def _code_objects(code) -> set:
    found = {code}
    for const in code.co_consts:
        if hasattr(const, "co_code"):
            found |= _code_objects(const)
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


class Recorder:
    """Receives check events from the instrumented test, and only from it."""

    __slots__ = ("_allowed", "_emit", "_getframe", "failures", "hits", "narrow", "state",
                 "swallowed")

    def __init__(self, emit) -> None:
        self._emit = emit
        self._allowed: frozenset = frozenset()
        self._getframe = sys._getframe
        self.state: dict[int, bool] = {}  # check id -> passed (absent: never ran)
        self.failures: dict[int, BaseException] = {}
        self.swallowed: list[BaseException] = []  # caught by the test's catch-all handlers
        self.narrow: list[BaseException] = []  # caught by handlers for named exceptions
        self.hits: set[int] = set()  # blocks in which at least one assert held

    def allow(self, codes: set) -> None:
        self._allowed = frozenset(codes)

    def _genuine(self) -> bool:
        # frame 0: _genuine, 1: the recording method, 2: its caller
        return self._getframe(2).f_code in self._allowed

    def ok(self, check_id: int) -> None:
        if not self._genuine():
            return
        if check_id not in self.state:  # an assert in a loop passes only if every round passed
            self.state[check_id] = True
            self._emit({"e": "check", "id": check_id, "passed": True, "message": ""})

    def hit(self, check_id: int) -> None:
        if self._genuine():
            self.hits.add(check_id)

    def block_ok(self, check_id: int) -> None:
        """A block ran to its end: it passes only if one of its asserts ran (and held)."""
        if not self._genuine():
            return
        if check_id in self.hits and check_id not in self.state:
            self.state[check_id] = True
            self._emit({"e": "check", "id": check_id, "passed": True, "message": ""})

    def fail(self, check_id: int, exc: BaseException, swallow: bool) -> bool:
        """Record a failed check; True when the test should go on past it."""
        if not self._genuine():
            return False
        if self.state.get(check_id) is not False:
            self.state[check_id] = False
            self.failures[check_id] = exc
            if isinstance(exc, AssertionError):
                message = f"AssertionError: {exc}" if str(exc) else "AssertionError"
            else:
                message = f"{type(exc).__name__}: {exc}"
            self._emit({"e": "check", "id": check_id, "passed": False,
                        "message": _trim(message, _MSG_CAP)})
        return swallow and isinstance(exc, Exception) and not isinstance(exc, MemoryError)

    def caught(self, exc: BaseException, broad: bool) -> None:
        if not self._genuine():
            return
        if any(exc is f for f in self.failures.values()):
            return  # a failed check the test caught itself: already counted as failed
        (self.swallowed if broad else self.narrow).append(exc)

    def is_failure(self, exc: BaseException) -> bool:
        return any(exc is f for f in self.failures.values())


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


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv:
        with open(argv[0], encoding="utf-8") as fh:
            request = json.load(fh)
        os.unlink(argv[0])
    else:
        request = json.loads(sys.stdin.read())
        sys.stdin.close()
        sys.stdin = open(os.devnull)  # noqa: SIM115 - the program may read stdin: give it nothing

    nonce = request.pop("nonce").encode()
    out_fd = os.dup(1)  # our own channel: survives the program closing or redirecting fd 1
    my_pid = os.getpid()
    write = os.write
    dumps = json.dumps
    getpid = os.getpid
    exit_now = os._exit

    def emit(event: dict) -> None:
        if getpid() != my_pid:  # a forked child of the program has no say
            return
        data = b"\n\x1e" + nonce + b" " + dumps(event, default=str).encode() + b"\n"
        while data:
            data = data[write(out_fd, data):]

    _apply_limits(request.get("limits", {}))
    cand_name = request.get("candidate_name", "candidate.py")
    test_name = request.get("test_name", "test.py")
    entry = request["entry"]
    candidate_src = request.pop("candidate")
    test_src = request.pop("test")

    def finish(status: str, reason: str, exc: BaseException | None = None) -> None:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        event = {"e": "done", "status": status, "reason": reason, "peak_kb": _peak_kb()}
        if exc is not None:
            event["traceback"] = _describe(exc, cand_name)
        emit(event)
        exit_now(0)

    if request.get("script"):
        run_script(candidate_src, cand_name, emit, finish, my_pid)
        return

    # Parse and instrument the test before any of the program's code runs.
    try:
        module, plan = instrument(test_src, entry)
        test_code = compile(module, test_name, "exec")
    except (SyntaxError, LookupError) as exc:
        emit({"e": "plan", "pid": my_pid, "checks": []})
        finish("error", f"the task's test code is unusable: {exc}", exc)
        return
    emit({"e": "plan", "pid": my_pid, "checks": plan})

    recorder = Recorder(emit)
    recorder.allow(_code_objects(test_code))
    for name, src in ((cand_name, candidate_src), (test_name, test_src)):
        linecache.cache[name] = (len(src), None, src.splitlines(True), name)

    namespace = {"__name__": "__main__", "__builtins__": __builtins__, _REC: recorder}
    sys.argv = [cand_name]
    stage = "candidate"
    try:
        exec(compile(candidate_src, cand_name, "exec"), namespace)
        stage = "test"
        exec(test_code, namespace)
        namespace[_REC] = recorder  # the candidate cannot swap the recorder for its own
        stage = "run"
        namespace[entry]()
    except BaseException as exc:
        if isinstance(exc, MemoryError):
            finish("memory", "the program ran out of memory (MemoryError)", exc)
        if recorder.is_failure(exc):
            finish("failed", "a check failed", exc)
        if isinstance(exc, SystemExit):
            finish("error", f"the program called sys.exit({exc.code!r}) before the test finished",
                   exc)
        where = {"candidate": "while defining the candidate",
                 "test": "while loading the test", "run": "while running the test"}[stage]
        finish("error", f"{type(exc).__name__} {where}", exc)
        return

    if recorder.failures:
        first = recorder.failures[min(recorder.failures)]
        finish("failed", f"{len(recorder.failures)} of {len(plan)} checks failed", first)
    for check in plan:
        if check.get("unreachable") and check["id"] not in recorder.state:
            recorder.state[check["id"]] = True
            emit({"e": "check", "id": check["id"], "passed": True,
                  "message": "not reached, as the test intends"})
    memory = [e for e in recorder.swallowed + recorder.narrow if isinstance(e, MemoryError)]
    if memory:
        finish("memory", "the program ran out of memory (MemoryError, caught by the test)",
               memory[0])
    if recorder.swallowed:
        exc = recorder.swallowed[0]
        finish("error", f"the test caught {type(exc).__name__} with a catch-all handler: "
               "the checks it guards did not pass", exc)
    skipped = len(plan) - len(recorder.state)
    if recorder.state and skipped and recorder.narrow:
        exc = recorder.narrow[0]
        finish("failed", f"{skipped} of {len(plan)} checks did not run: the test caught "
               f"{type(exc).__name__}", exc)
    if not recorder.state:
        if recorder.narrow:
            exc = recorder.narrow[0]
            finish("vacuous", f"no check ran: the test caught {type(exc).__name__}", exc)
        finish("vacuous", "the test finished without running any check")
    ran = len(recorder.state)
    if ran == len(plan):
        finish("passed", f"all {ran} checks passed")
    finish("passed", f"{ran} of {len(plan)} checks ran and passed; the rest sit in branches "
           "the test did not take")


if __name__ == "__main__":
    main()
