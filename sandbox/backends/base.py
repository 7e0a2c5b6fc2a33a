"""What every isolation backend shares: the request, the verdict from the harness's events,
and (for the process-based ones) spawning, feeding, draining and killing the child."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from sandbox.capture import EventStream, HeadTail, pump
from sandbox.errors import SandboxUnavailable
from sandbox.types import (
    CheckResult,
    ExecutionResult,
    Frame,
    Limits,
    Program,
    Status,
    Tamper,
    TracebackInfo,
)

__all__ = [
    "HARNESS",
    "HARNESS_INSIDE",
    "HF_INSIDE",
    "SECRET_ETC_DIRS",
    "SECRET_ETC_FILES",
    "Interpreter",
    "Launch",
    "LocalSandbox",
    "Outcome",
    "Sandbox",
    "base_env",
    "check_cache_readable",
    "hf_cache_dir",
    "resolve_interpreter",
    "verdict",
]

HARNESS = Path(__file__).resolve().parent.parent / "harness.py"
HARNESS_INSIDE = "/opt/aicoder/harness.py"  # where isolated backends mount it
HF_INSIDE = "/opt/hf-cache"  # where isolated backends mount the HuggingFace cache

# Files under /etc that a program has no business reading, masked with /dev/null.
SECRET_ETC_FILES = ("shadow", "gshadow", "shadow-", "gshadow-", "sudoers",
                    "ssh/ssh_host_rsa_key", "ssh/ssh_host_ecdsa_key", "ssh/ssh_host_ed25519_key",
                    "machine-id")
SECRET_ETC_DIRS = ("sudoers.d", "ssl/private", "docker")


def hf_cache_dir() -> Path | None:
    """The HuggingFace hub cache of this host, as huggingface_hub resolves it, if it exists."""
    explicit = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if explicit:
        path = Path(explicit)
    else:
        home = os.environ.get("HF_HOME") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "huggingface")
        path = Path(home) / "hub"
    return path if path.is_dir() else None


def check_cache_readable(cache: Path, uid_differs: bool) -> None:
    """Refuse a cache the sandboxed uid cannot read, instead of failing inside every task.

    Raises:
        SandboxUnavailable: the cache directory is not world-readable and traversable.
    """
    if uid_differs and (cache.stat().st_mode & 0o005) != 0o005:
        raise SandboxUnavailable(
            f"the HuggingFace cache {cache} is not readable by other users, and the sandbox "
            f"runs under a uid of its own: `chmod -R a+rX {cache}` (or pass hf_cache=False)")


def base_env(hf_cache_inside: str | None) -> dict[str, str]:
    """The whole environment of a sandboxed program: nothing from ours (no tokens, no keys)."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "MPLBACKEND": "Agg",
        "OMP_WAIT_POLICY": "PASSIVE",  # busy-waiting threads starve the other workers
        "TOKENIZERS_PARALLELISM": "false",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        # There is no network inside: say so, so that libraries fail at once with a clear
        # "offline" error instead of retrying connections.
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HOME": "/tmp/hf-home",
    }
    if hf_cache_inside:
        env["HF_HUB_CACHE"] = hf_cache_inside
    return env


# Run by the interpreter on the host (with -I) to learn where it lives, and again inside the
# sandbox to prove it still sees the same installation there.
_WHERE = r"""
import importlib, importlib.util, json, os, site, sys
light = ("pip", "packaging", "idna", "certifi", "six", "typing_extensions")
sites = [os.path.realpath(p) for p in site.getsitepackages() if os.path.isdir(p)]
module = origin = None
for name in light:
    spec = importlib.util.find_spec(name)
    if spec and spec.origin and any(os.path.realpath(spec.origin).startswith(d + os.sep)
                                    for d in sites):
        module, origin = name, os.path.realpath(importlib.import_module(name).__file__)
        break
print(json.dumps({"executable": sys.executable, "prefix": os.path.realpath(sys.prefix),
                  "sites": sites, "module": module, "origin": origin,
                  "paths": [sys.prefix, sys.base_prefix, sys.exec_prefix,
                            sys.base_exec_prefix] + sys.path}))
"""


@dataclass(frozen=True)
class Interpreter:
    """Where an interpreter and its packages really are, symlinks resolved.

    A venv reached through a symlink (``.venv -> /data/venv``) finds its ``pyvenv.cfg`` only
    next to the path it is started by; a sandbox that binds the real directories must start it
    by the real path too, or it silently runs the base interpreter without the venv's packages.
    """

    executable: str  #: the path to start it by: real directories, the file's own name
    prefix: str  #: its real ``sys.prefix``
    paths: tuple[str, ...]  #: the outermost real directories it needs that /usr does not cover
    module: str | None  #: a light site-packages module the sandbox probe imports
    origin: str | None  #: that module's real file

    @property
    def probe(self) -> str:
        """Python source that prints where the interpreter is, as JSON (see ``check``)."""
        return _WHERE

    def check(self, output: str, backend: str) -> None:
        """Compare a sandbox probe's output with this host's view of the interpreter.

        Raises:
            SandboxUnavailable: inside, the interpreter has another ``sys.prefix`` or does not
                import its site-packages from the same place: every task would fail with
                ``ModuleNotFoundError`` and be scored as the model's error.
        """
        try:
            inside = json.loads(output.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise SandboxUnavailable(
                f"{backend}: the interpreter {self.executable} printed no answer to the "
                f"startup probe inside the sandbox: {output.strip()[-300:]!r}") from None
        if inside.get("prefix") != self.prefix or inside.get("origin") != self.origin:
            seen = inside.get("origin") or f"no {self.module}"
            raise SandboxUnavailable(
                f"{backend}: the interpreter {self.executable} does not see its own packages "
                f"inside the sandbox (sys.prefix {inside.get('prefix')} there, {self.prefix} "
                f"here; {seen} there, {self.origin} here): every task would fail to import")


@lru_cache(maxsize=8)
def resolve_interpreter(python: str) -> Interpreter:
    """Ask ``python`` where it and its packages live, with every symlink resolved.

    Raises:
        SandboxUnavailable: the interpreter does not run.
    """
    try:
        out = subprocess.run([python, "-I", "-c", _WHERE], capture_output=True, text=True,
                             timeout=60, check=True).stdout
        info = json.loads(out.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as exc:
        raise SandboxUnavailable(f"cannot run the interpreter {python}: {exc}") from exc
    executable = info["executable"] or python
    # Resolve the directories but keep the file's own name: a venv's bin/python is a symlink
    # to the base interpreter, and only its own path leads Python to the venv's pyvenv.cfg.
    real_exec = os.path.join(os.path.realpath(os.path.dirname(os.path.abspath(executable))),
                             os.path.basename(executable))
    paths = {os.path.realpath(p) for p in info["paths"] if p and os.path.exists(p)}
    paths |= {os.path.dirname(real_exec), os.path.dirname(os.path.realpath(real_exec))}
    # Keep only the outermost directories that /usr does not already cover.
    keep = sorted(p for p in paths if not p.startswith("/usr/") and p != "/usr")
    outer: list[str] = []
    for p in keep:
        if not any(p == o or p.startswith(o + "/") for o in outer):
            outer.append(p)
    return Interpreter(executable=real_exec, prefix=info["prefix"], paths=tuple(outer),
                       module=info["module"], origin=info["origin"])


@dataclass
class Launch:
    """How a local backend starts the harness for one run."""

    argv: list[str]
    env: dict[str, str] | None = None
    cwd: str | None = None
    cleanup: Callable[[], None] | None = None  # called after the run, whatever happened
    limits: Limits | None = None  # the limits the harness applies, where they differ


@dataclass
class Outcome:
    """What a backend observed of one process, before it becomes an ExecutionResult."""

    events: list[dict] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""
    stdout_bytes: int = 0
    stderr_bytes: int = 0
    exit_code: int | None = None
    timed_out: bool = False
    cancelled: bool = False
    duration_s: float = 0.0
    note: str = ""  # what the backend knows that the events cannot say (e.g. OOM-killed)


def _traceback(data: dict | None) -> TracebackInfo | None:
    if not data:
        return None
    frames = [Frame(**f) for f in data.get("frames", [])]
    return TracebackInfo(exc_type=data.get("exc_type", "Exception"),
                         message=data.get("message", ""), frames=frames,
                         text=data.get("text", ""))


def _detail(event: dict | None) -> dict:
    """The harness's detail record (traceback, peak memory): hex of a JSON object."""
    if not event:
        return {}
    try:
        data = json.loads(bytes.fromhex(str(event.get("hex", ""))))
    except (ValueError, TypeError):
        return {}
    return data if isinstance(data, dict) else {}


def _tampers(events: list[dict]) -> list[Tamper]:
    found: list[Tamper] = []
    for event in events:
        try:
            evidence = (Tamper(event=str(event.get("event", "")), detail=str(event.get("detail", "")),
                                file=str(event.get("file", "")), line=int(event.get("line") or 0),
                                code=str(event.get("code", ""))))
        except (ValueError, TypeError):
            continue
        if evidence not in found:  # the same refusal in every check is one piece of evidence
            found.append(evidence)
    return found[:20]


def verdict(outcome: Outcome, limits: Limits, backend: str) -> ExecutionResult:
    """Turn the harness's events and the process's end into one ExecutionResult.

    Only a ``done`` event from the harness's own process can say passed/failed/vacuous/error;
    without one the process-level facts decide (timeout, memory, crashed). Any ``tamper``
    event makes the run ``tampered`` (unless it was cancelled), and a tampered run has no
    passed check. A ``passed`` that its own check events do not bear out is not believed.
    """
    plan: list[dict] = []
    pid = None
    state: dict[int, tuple[bool, str]] = {}
    evidence: dict[int, str] = {}
    done: dict | None = None
    detail: dict | None = None
    tamper_events: list[dict] = []
    for event in outcome.events:
        kind = event.get("e")
        if kind == "plan" and pid is None:
            pid, plan = event.get("pid"), event.get("checks", [])
        elif kind == "check":
            cid = event.get("id")
            if isinstance(cid, int) and 0 <= cid < len(plan):
                previous = state.get(cid)
                if previous is None or previous[0]:  # a failure is never overturned
                    state[cid] = (bool(event.get("passed")), str(event.get("message", "")))
                    if event.get("evidence"):
                        evidence[cid] = str(event["evidence"])[:2000]
        elif kind == "tamper":
            tamper_events.append(event)
        elif kind == "detail" and detail is None:
            detail = event
        elif kind == "done" and done is None:
            done = event

    extra = _detail(detail)
    if done is not None:
        try:
            status = Status(done.get("status", "crashed"))
        except ValueError:
            status = Status.CRASHED
        reason = str(done.get("reason", ""))
        tb = _traceback(done.get("traceback") or extra.get("traceback"))
        peak = done.get("peak_kb") or extra.get("peak_kb")
        executed = [passed for passed, _ in state.values()]
        if status is Status.PASSED and (not executed or not all(executed)):
            status, reason = Status.CRASHED, ("the harness's final record says passed, but its "
                                              "checks do not: not believed")
    else:
        tb, peak = None, None
        code = outcome.exit_code
        if outcome.cancelled:
            status, reason = Status.CANCELLED, "stopped before it finished"
        elif outcome.timed_out:
            status, reason = Status.TIMEOUT, f"killed after the {limits.wall_s:g} s wall-clock limit"
        elif code in (-signal.SIGXCPU, 128 + signal.SIGXCPU):
            status, reason = Status.TIMEOUT, f"killed at the {limits.cpu_s} s CPU-time limit"
        elif outcome.note == "oom":
            status, reason = Status.MEMORY, f"killed at the {limits.memory_mb} MiB memory limit"
        elif not plan and code not in (0, None) and "harness" in outcome.stderr:
            status, reason = Status.CRASHED, "the harness could not start: " + outcome.stderr[-300:]
        else:
            how = (f"killed by signal {-code}" if code is not None and code < 0
                   else f"exit code {code}")
            status = Status.CRASHED
            reason = (f"the process ended ({how}) before the harness finished: "
                      "an early exit or a kill is never a pass")

    tamper = _tampers(tamper_events)
    if tamper and status is not Status.CANCELLED:
        if status is not Status.TAMPERED:
            reason = f"the candidate tampered with the test: {tamper[0].detail}"
        status = Status.TAMPERED

    unreached = "not reached"
    if status is not Status.PASSED and tb is not None:
        unreached = f"not reached: {tb.summary()}"[:300]
    elif status in (Status.TIMEOUT, Status.MEMORY, Status.CRASHED, Status.CANCELLED):
        unreached = f"not reached: {status.value}"
    checks = []
    for item in plan:
        cid = item["id"]
        if cid in state:
            passed, message = state[cid]
            if status is Status.TAMPERED and passed:
                passed, message = False, "void: the candidate tampered with the test"
            checks.append(CheckResult(name=item["name"], line=item["line"], passed=passed,
                                      executed=True, message=message,
                                      evidence="" if passed else evidence.get(cid, "")))
        else:
            checks.append(CheckResult(name=item["name"], line=item["line"], passed=False,
                                      executed=False, message=unreached))
    return ExecutionResult(
        status=status, checks=checks, stdout=outcome.stdout, stderr=outcome.stderr,
        stdout_bytes=outcome.stdout_bytes, stderr_bytes=outcome.stderr_bytes, traceback=tb,
        reason=reason, duration_s=round(outcome.duration_s, 4),
        peak_memory_mb=round(peak / 1024, 1) if isinstance(peak, (int, float)) and peak else None,
        exit_code=outcome.exit_code, backend=backend, tamper=tamper,
    )


def request(program: Program, limits: Limits, nonce: str, *, harden: bool = True) -> bytes:
    """The harness's request: the nonce on a line of its own, then the JSON object."""
    return nonce.encode() + b"\n" + json.dumps({
        "harden": harden,
        "candidate": program.candidate,
        "test": program.test,
        "entry": program.entry,
        "candidate_name": program.candidate_name,
        "test_name": program.test_name,
        "script": program.script,
        "limits": limits.model_dump(exclude={"wall_s", "output_bytes", "tmp_mb"}),
    }).encode()


class Sandbox(ABC):
    """Runs a Program under Limits. Never raises for what the program does."""

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


class LocalSandbox(Sandbox):
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
