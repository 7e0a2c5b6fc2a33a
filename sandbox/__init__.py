"""Running untrusted code: isolation backends, limits, the in-sandbox harness, verdicts.

    >>> from sandbox import Program, run
    >>> result = run(Program(candidate="def f():\\n    return 1\\n",
    ...                      test="def test_f():\\n    assert f() == 1\\n", entry="test_f"))
    >>> result.status
    <Status.PASSED: 'passed'>

Backends, by name (``AICODER_SANDBOX`` picks the default):

* ``bwrap`` (default): bubblewrap namespaces, no network, read-only root, unprivileged uid.
* ``docker``: a container per run (network none, read-only, memory and pids limits).
* ``process``: a plain child process with rlimits: no isolation; only when asked for.

This package imports nothing from ``aicoder`` or ``eval``.
"""

from __future__ import annotations

import difflib
import importlib
import os
import threading

from sandbox.errors import SandboxError, SandboxUnavailable
from sandbox.types import (
    CheckResult,
    ExecutionResult,
    Frame,
    Limits,
    Program,
    Status,
    TracebackInfo,
)

__all__ = [
    "BACKENDS",
    "CheckResult",
    "ExecutionResult",
    "Frame",
    "Limits",
    "Program",
    "SandboxError",
    "SandboxUnavailable",
    "Status",
    "TracebackInfo",
    "default_sandbox",
    "get_sandbox",
    "run",
]

#: name -> "module:Class", imported only when chosen.
BACKENDS: dict[str, str] = {
    "bwrap": "sandbox.backends.bwrap:BwrapSandbox",
    "docker": "sandbox.backends.docker:DockerSandbox",
    "process": "sandbox.backends.process:ProcessSandbox",
}


def get_sandbox(name: str | None = None, **options):
    """Build a sandbox backend by name.

    Args:
        name: ``bwrap``, ``docker`` or ``process``; default ``$AICODER_SANDBOX`` or ``bwrap``.
        **options: passed to the backend (e.g. ``python=`` the interpreter that runs the
            program, ``hf_cache=`` a HuggingFace cache to mount read-only, or False).

    Raises:
        SandboxUnavailable: the backend cannot work on this host (the message says why and
            what to do), or the name is unknown.
    """
    name = (name or os.environ.get("AICODER_SANDBOX") or "bwrap").strip().lower()
    target = BACKENDS.get(name)
    if target is None:
        close = difflib.get_close_matches(name, BACKENDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SandboxUnavailable(
            f"unknown sandbox backend {name!r}{hint}; choose one of {', '.join(BACKENDS)}")
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)(**options)


_default = None
_default_lock = threading.Lock()


def default_sandbox():
    """The process-wide default backend, built once."""
    global _default
    with _default_lock:
        if _default is None:
            _default = get_sandbox()
        return _default


def run(program: Program, limits: Limits | None = None, sandbox=None,
        cancel: threading.Event | None = None) -> ExecutionResult:
    """Run ``program`` in ``sandbox`` (default: ``default_sandbox()``) under ``limits``;
    setting ``cancel`` stops it at once."""
    return (sandbox or default_sandbox()).run(program, limits, cancel)
