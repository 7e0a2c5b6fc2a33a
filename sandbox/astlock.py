"""One thread at a time in ``ast.parse``, on the CPython versions where threads can break it.

CPython before 3.13 keeps the AST constructor's recursion counter in the interpreter, not in
the thread (python/cpython#106905). When two threads parse at once and the GIL passes between
them mid-conversion (a finalizer that runs during an allocation is enough), one of them gets
``SystemError: AST constructor recursion depth mismatch`` for valid source. The product parses in
threads: the eval runner's samples, the Space's sessions, the build's audit pool, and the
stdlib's own ``traceback`` (3.11 parses each frame's line to place the carets). CI caught it
when a server thread printed a traceback while the build loaded the builtin tasks.

:func:`install` wraps ``ast.parse`` (the one every caller, the stdlib's included, looks up at
call time) in a process-wide re-entrant lock. A parse takes microseconds to milliseconds, so
the lock costs nothing measurable; on 3.13 and later it is not installed.
"""

from __future__ import annotations

import ast
import functools
import os
import sys
import threading

AFFECTED = sys.implementation.name == "cpython" and sys.version_info < (3, 13)
LOCK = threading.RLock()


def _renew_lock() -> None:
    # a child forked while another thread parsed must not inherit a lock nobody will release
    global LOCK
    LOCK = threading.RLock()


os.register_at_fork(after_in_child=_renew_lock)


def install() -> None:
    """Serialise ``ast.parse`` in this process (idempotent; a no-op where not affected)."""
    if not AFFECTED or getattr(ast.parse, "__aicoder_locked__", False):
        return
    parse = ast.parse

    @functools.wraps(parse)
    def locked_parse(*args, **kwargs):
        with LOCK:
            return parse(*args, **kwargs)

    locked_parse.__aicoder_locked__ = True
    ast.parse = locked_parse
