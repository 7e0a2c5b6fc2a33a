"""What every isolation backend shares: the backend class, and (for the process-based ones)
spawning, feeding, draining and killing the child. Where things are lives in
``sandbox.backends.paths``, the program's environment in ``sandbox.backends.environment``, and
the verdict in ``sandbox.backends.verdict``."""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sandbox.backends.verdict import Outcome, request, verdict
from sandbox.capture import EventStream, HeadTail, pump, wait_end
from sandbox.types import ExecutionResult, Limits, Program

log = logging.getLogger("sandbox")

__all__ = ["Launch", "LocalSandbox", "SandboxBackend", "WarmLaunch"]


@dataclass
class Launch:
    """How a local backend starts the harness for one run."""

    argv: list[str]
    env: dict[str, str] | None = None
    cwd: str | None = None
    cleanup: Callable[[], None] | None = None  # called after the run, whatever happened
    limits: Limits | None = None  # the limits the harness applies, where they differ


@dataclass
class WarmLaunch:
    """How a local backend starts its zygote (``sandbox/warm.py``), and what each run adds."""

    argv: list[str]  #: the last element is a placeholder for the zygote's spec
    spec: dict  #: the zygote's spec (``sandbox/zygote.py``)
    env: dict[str, str] | None = None
    cwd: str | None = None
    cleanup: Callable[[], None] | None = None  # called once the zygote has stopped
    after_run: Callable[[int], None] | None = None  # called with each run's launcher pid


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
    """A backend that starts the harness as a local child process (bubblewrap, plain).

    A backend that can (``_warm_launch``) runs programs warm: in a child forked from a zygote
    that has imported the preload list (``sandbox/warm.py``), started on the first run. A
    zygote that dies or wedges is replaced, and the run it was serving runs cold, once.
    ``warm=False`` (or ``AICODER_WARM=0``) runs every program cold.
    """

    def __init__(self, python: str | None = None, *, warm: bool | None = None,
                 preload: Iterable[str] | None = None) -> None:
        import sys

        from sandbox.warm import warm_enabled

        self.python = python or sys.executable
        self.warm = warm_enabled() if warm is None else bool(warm)
        self._preload = list(preload or [])
        self._zygote = None
        self._warm_off: str | None = None  # why this backend runs cold, once it must
        self._zygote_lock = threading.Lock()

    @abstractmethod
    def _command(self, limits: Limits) -> Launch:
        """How to start the harness for one run."""

    def _warm_launch(self, preload: list[str]) -> WarmLaunch | None:
        """How to start this backend's zygote; None where it has no warm path."""
        return None

    def _warm_request(self, limits: Limits) -> tuple[dict, Limits]:
        """One warm run's request to the zygote (limits, max_processes, uid), and the limits
        the harness applies."""
        return {"limits": limits.model_dump(), "max_processes": limits.processes,
                "uid": None}, limits

    # -- the warm path

    def preload(self, modules: Iterable[str]) -> None:
        """Add modules for the zygote to import (what the tasks about to run import); a zygote
        already running without them is replaced at the next run."""
        new = [m for m in modules if m not in self._preload]
        if not new:
            return
        with self._zygote_lock:
            self._preload += new
            zygote = self._zygote
            if zygote is not None and not set(new) <= set(zygote.preload):
                self._zygote = None
                self._stop_zygote(zygote)

    def prestart(self) -> None:
        """Start the zygote in the background now, so that its imports overlap whatever the
        caller does before its first run (a run waits for it, as it would have)."""
        if self.warm and self._warm_off is None and self._zygote is None:
            threading.Thread(target=self.zygote, name="zygote-start", daemon=True).start()

    def zygote(self):
        """The running zygote, started now if need be; None when this backend runs cold."""
        if not self.warm or self._warm_off is not None:
            return None
        with self._zygote_lock:
            if self._zygote is not None and self._zygote.alive:
                return self._zygote
            if self._zygote is not None:
                self._stop_zygote(self._zygote)
                self._zygote = None
            from sandbox.warm import Zygote, ZygoteFailed, preload_list

            launch = self._warm_launch(preload_list(self._preload))
            if launch is None:
                self._warm_off = "no warm path"
                return None
            try:
                self._zygote = Zygote(launch.argv, launch.spec, launch.env, launch.cwd,
                                      name=f"{self.name} zygote", cleanup=launch.cleanup,
                                      after_run=launch.after_run)
            except ZygoteFailed as exc:
                self._warm_off = str(exc)
                log.warning("sandbox: %s; %s runs cold from now on", exc, self.name)
                return None
            return self._zygote

    def _stop_zygote(self, zygote) -> None:
        zygote.close()

    def close(self) -> None:
        """Stop the zygote, if one runs (it also stops when this process ends)."""
        with self._zygote_lock:
            zygote, self._zygote = self._zygote, None
        if zygote is not None:
            self._stop_zygote(zygote)

    def _run_warm(self, zygote, program: Program, limits: Limits,
                  cancel: threading.Event) -> ExecutionResult:
        nonce = secrets.token_hex(16)
        start = time.monotonic()
        message, inner = self._warm_request(limits)
        # a child starts with the zygote's private data (the preloaded libraries'), which
        # RLIMIT_DATA counts: the memory limit is what the program may add to it
        inherited = -(-int(zygote.info.get("data_kb", 0)) // 1024)
        if inherited:
            inner = inner.model_copy(update={"memory_mb": inner.memory_mb + inherited})
            message = {**message, "limits": {**message["limits"], "memory_mb": inner.memory_mb}}
        outcome = zygote.run(request(program, inner, nonce, harden=self.harden), nonce, limits,
                             message, cancel)
        outcome.duration_s = time.monotonic() - start
        return verdict(outcome, limits, self.name, warm=True)

    def run(self, program: Program, limits: Limits | None = None,
            cancel: threading.Event | None = None) -> ExecutionResult:
        limits = limits or Limits()
        cancel = cancel or threading.Event()
        zygote = self.zygote()
        if zygote is not None:
            from sandbox.warm import ZygoteFailed

            try:
                return self._run_warm(zygote, program, limits, cancel)
            except ZygoteFailed as exc:
                log.warning("sandbox: %s; replacing it, and this run goes cold", exc)
                with self._zygote_lock:
                    if self._zygote is zygote:
                        self._zygote = None
                self._stop_zygote(zygote)
        return self._run_cold(program, limits, cancel)

    def _run_cold(self, program: Program, limits: Limits,
                  cancel: threading.Event) -> ExecutionResult:
        nonce = secrets.token_hex(16)
        start = time.monotonic()
        launch = self._command(limits)
        try:
            outcome = self._spawn(launch, request(program, launch.limits or limits, nonce,
                                                  harden=self.harden),
                                  nonce, limits, cancel)
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
        timed_out, cancelled = wait_end(ended, cancel, limits.wall_s)
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
