"""Running untrusted code: isolation backends, limits, the in-sandbox harness, verdicts.

    >>> from sandbox import Program, run
    >>> result = run(Program(candidate="def f():\\n    return 1\\n",
    ...                      test="def test_f():\\n    assert f() == 1\\n", entry="test_f"))
    >>> result.status
    <Status.PASSED: 'passed'>

Backends, by name (``AICODER_SANDBOX`` picks one; unset, the first that works here):

* ``bwrap`` (chosen where it works): bubblewrap namespaces, no network, read-only root,
  unprivileged uid.
* ``landlock`` (chosen where bubblewrap cannot create namespaces, as in a HuggingFace Space):
  Landlock + seccomp + rlimits under the app's own uid, no namespaces needed.
* ``docker``: a container per run (network none, read-only, memory and pids limits).
* ``process``: a plain child process with rlimits: no isolation; only when asked for, never
  chosen on its own.

This package imports nothing from ``aicoder`` or ``eval``.
"""

from __future__ import annotations

import difflib
import importlib
import logging
import os
import threading
from pathlib import Path
from typing import Protocol, runtime_checkable

from sandbox import astlock
from sandbox.errors import SandboxError, SandboxUnavailable
from sandbox.types import (
    CheckResult,
    CheckState,
    ExecutionResult,
    Frame,
    Limits,
    Program,
    Status,
    Tamper,
    TracebackInfo,
)

astlock.install()

__all__ = [
    "AUTO",
    "BACKENDS",
    "CheckResult",
    "CheckState",
    "ExecutionResult",
    "Frame",
    "Limits",
    "Program",
    "Sandbox",
    "SandboxError",
    "SandboxUnavailable",
    "Status",
    "Tamper",
    "TracebackInfo",
    "default_sandbox",
    "get_sandbox",
    "hf_cache_dir",
    "run",
]

@runtime_checkable
class Sandbox(Protocol):
    """What runs a program: every backend, and every wrapper of one (eval's bounded pool)."""

    name: str

    def run(self, program: Program, limits: Limits | None = None,
            cancel: threading.Event | None = None) -> ExecutionResult:
        """Run the program's test function in isolation and judge each check; never raises
        for what the program does. Setting ``cancel`` kills the run at once (``cancelled``)."""
        ...


def hf_cache_dir() -> Path | None:
    """The HuggingFace hub cache of this host (as huggingface_hub resolves it, from
    ``HF_HUB_CACHE`` / ``HF_HOME`` / ``XDG_CACHE_HOME``) when it exists: the directory the
    backends mount read-only for the program."""
    from sandbox.backends.paths import hf_cache_dir as find

    return find()


#: name -> "module:Class", imported only when chosen.
BACKENDS: dict[str, str] = {
    "bwrap": "sandbox.backends.bwrap:BwrapSandbox",
    "docker": "sandbox.backends.docker:DockerSandbox",
    "landlock": "sandbox.backends.landlock:LandlockSandbox",
    "process": "sandbox.backends.process:ProcessSandbox",
}


#: tried in this order when no backend is named: the first that works here is used.
AUTO = ("bwrap", "landlock")

log = logging.getLogger("sandbox")


def get_sandbox(name: str | None = None, **options) -> Sandbox:
    """Build a sandbox backend by name, or the first of ``AUTO`` that works here.

    Args:
        name: ``bwrap``, ``landlock``, ``docker`` or ``process``; default ``$AICODER_SANDBOX``,
            else each of ``AUTO`` is probed in turn and the choice logged with its reason.
        **options: passed to the backend (e.g. ``python=`` the interpreter that runs the
            program, ``hf_cache=`` a HuggingFace cache to mount read-only, or False;
            ``warm=False`` a fresh interpreter per run, where the default is ``AICODER_WARM``;
            ``preload=`` modules for the warm zygote to import).

    Raises:
        SandboxUnavailable: the backend cannot work on this host (the message says why and
            what to do), or the name is unknown; unnamed, none of ``AUTO`` works.
    """
    name = (name or os.environ.get("AICODER_SANDBOX") or "").strip().lower()
    if not name:
        reasons = []
        for candidate in AUTO:
            try:
                sandbox = _build(candidate, options)
            except SandboxUnavailable as exc:
                reasons.append(f"{candidate}: {exc}")
                continue
            why = "; ".join(reasons) or "it works here"
            log.warning("sandbox: %s, chosen by probing (%s)", candidate, why)
            return sandbox
        raise SandboxUnavailable("no isolating sandbox works here: " + "; ".join(reasons)
                                 + " (AICODER_SANDBOX=docker needs a Docker engine; =process "
                                 "does not isolate)")
    return _build(name, options)


def _build(name: str, options: dict) -> Sandbox:
    target = BACKENDS.get(name)
    if target is None:
        close = difflib.get_close_matches(name, BACKENDS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SandboxUnavailable(
            f"unknown sandbox backend {name!r}{hint}; choose one of {', '.join(BACKENDS)}")
    module, cls = target.split(":")
    return getattr(importlib.import_module(module), cls)(**options)


_default: Sandbox | None = None
_default_lock = threading.Lock()


def default_sandbox() -> Sandbox:
    """The process-wide default backend, built once."""
    global _default
    with _default_lock:
        if _default is None:
            _default = get_sandbox()
        return _default


def run(program: Program, limits: Limits | None = None, sandbox: Sandbox | None = None,
        cancel: threading.Event | None = None) -> ExecutionResult:
    """Run ``program`` in ``sandbox`` (default: ``default_sandbox()``) under ``limits``;
    setting ``cancel`` stops it at once."""
    return (sandbox or default_sandbox()).run(program, limits, cancel)
