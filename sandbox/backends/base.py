"""What every isolation backend shares: the backend class, and (for the process-based ones)
spawning, feeding, draining and killing the child. Where things are lives in
``sandbox.backends.paths``, the program's environment in ``sandbox.backends.environment``, and
the verdict in ``sandbox.backends.verdict``."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from sandbox.backends.verdict import Outcome, request, verdict
from sandbox.capture import EventStream, HeadTail, pump
from sandbox.types import ExecutionResult, Limits, Program

__all__ = ["Launch", "LocalSandbox", "SandboxBackend"]


@dataclass
class Launch:
    """How a local backend starts the harness for one run."""

    argv: list[str]
    env: dict[str, str] | None = None
    cwd: str | None = None
    cleanup: Callable[[], None] | None = None  # called after the run, whatever happened
    limits: Limits | None = None  # the limits the harness applies, where they differ


class SandboxBackend(ABC):
    """A backend of the ``sandbox.Sandbox`` protocol: runs a Program under Limits, and never
    raises for what the program does."""

    name: str = "sandbox"
    #: The harness's in-process defences against forged verdicts (``sandbox/harness.py``).
    #: False only in tests of the operating-system layer beneath them, and in the benchmark
    #: that measures what they cost.
    harden: bool = True

    @abstractmethod
    def run(self, program: Program, limits: Limits | None = None,
            cancel: threading.Event | None = None) -> ExecutionResult:
        """Run the program's test function in isolation and judge each check.

        Setting ``cancel`` kills the run at once; its status is then ``cancelled``.
        """


class LocalSandbox(SandboxBackend):
    """A backend that starts the harness as a local child process (bubblewrap, plain)."""

    def __init__(self, python: str | None = None) -> None:
        import sys

        self.python = python or sys.executable

    @abstractmethod
    def _command(self, limits: Limits) -> Launch:
        """How to start the harness for one run."""

    def run(self, program: Program, limits: Limits | None = None,
            cancel: threading.Event | None = None) -> ExecutionResult:
        limits = limits or Limits()
        nonce = secrets.token_hex(16)
        start = time.monotonic()
        launch = self._command(limits)
        try:
            outcome = self._spawn(launch, request(program, launch.limits or limits, nonce,
                                                  harden=self.harden),
                                  nonce, limits, cancel or threading.Event())
        finally:
            if launch.cleanup is not None:
                launch.cleanup()
        outcome.duration_s = time.monotonic() - start
        return verdict(outcome, limits, self.name)

    def _spawn(self, launch: Launch, payload: bytes, nonce: str, limits: Limits,
               cancel: threading.Event) -> Outcome:
        out_sink, err_sink = HeadTail(limits.output_bytes), HeadTail(limits.output_bytes)
        events = EventStream(nonce, out_sink)
        proc = subprocess.Popen(launch.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=launch.env, cwd=launch.cwd,
                                start_new_session=True, close_fds=True)
        readers = [pump(proc.stdout, events), pump(proc.stderr, err_sink)]
        try:
            proc.stdin.write(payload)
            proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        # Popen.wait(timeout=) polls with sleeps of up to 50 ms; a blocking wait on a thread
        # wakes the moment the child ends.
        ended = threading.Event()
        threading.Thread(target=lambda: (proc.wait(), ended.set()), daemon=True).start()
        timed_out = cancelled = False
        deadline = time.monotonic() + limits.wall_s
        while not ended.wait(timeout=max(min(deadline - time.monotonic(), 0.05), 0)):
            if cancel.is_set():
                cancelled = True
                break
            if time.monotonic() >= deadline:
                timed_out = True
                break
        # Whatever the program left behind (forked children, threads) goes with it.
        self._kill(proc)
        for reader in readers:
            reader.join(timeout=5)
        events.close()
        return Outcome(events=events.events, stdout=out_sink.text(), stderr=err_sink.text(),
                       stdout_bytes=out_sink.total, stderr_bytes=err_sink.total,
                       exit_code=proc.returncode, timed_out=timed_out, cancelled=cancelled)


    def _kill(self, proc: subprocess.Popen) -> None:
        """Kill the run's process group (what bubblewrap's namespace holds)."""
        _kill_group(proc)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
