"""Warm execution: the app's side of a zygote (``sandbox/zygote.py``).

A fresh interpreter spends most of a run importing numpy, torch and transformers. A zygote is
an interpreter inside the backend's isolation that has imported them once; each run is a
confined child forked from it, used once. ``Zygote.run`` gives a backend the same ``Outcome``
a cold process gives, so verdicts are made the same way.

Which modules it preloads: ``DEFAULT_PRELOAD`` (or ``AICODER_PRELOAD``, a comma list), plus
what ``imported_modules`` finds in the tasks about to run. An import that fails in the zygote
is logged and skipped. ``AICODER_WARM=0`` (or ``--cold``) turns the warm path off.
"""

from __future__ import annotations

import ast
import itertools
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable

from sandbox.backends.verdict import Outcome
from sandbox.capture import EventStream, HeadTail, pump, wait_end
from sandbox.types import Limits

__all__ = ["DEFAULT_PRELOAD", "Zygote", "ZygoteFailed", "imported_modules", "preload_for",
           "preload_for_tasks",
           "preload_list", "warm_enabled"]

log = logging.getLogger("sandbox")

#: what a zygote imports when nothing else is said: the libraries AICoderEval's tasks use. The
#: names a task imports from them (``from transformers import pipeline`` loads seconds of
#: modules of its own) come from the scan of the tasks about to run (``preload_for_tasks``)
DEFAULT_PRELOAD = ("numpy", "torch", "transformers", "tokenizers", "datasets", "sklearn", "PIL")
#: how long a zygote may take to import its preload list
START_TIMEOUT_S = 300.0
#: how long a zygote may take to fork a run's launcher before it counts as wedged
ACK_TIMEOUT_S = 20.0
#: after a soft kill, how long the launcher has to kill the tree before it is killed itself
KILL_GRACE_S = 10.0

_STDLIB = set(sys.stdlib_module_names)


def warm_enabled() -> bool:
    """False when ``AICODER_WARM`` is 0/false/no/off."""
    return os.environ.get("AICODER_WARM", "1").strip().lower() not in ("0", "false", "no", "off")


def _import_nodes(sources: Iterable[str]):
    """Every absolute import statement of the sources that parse, in order."""
    for source in sources:
        try:
            tree = ast.parse(source or "")
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) or (isinstance(node, ast.ImportFrom)
                                                and node.module and not node.level):
                yield node


def imported_modules(sources: Iterable[str]) -> list[str]:
    """The top-level modules the sources import (a static scan; the standard library, relative
    imports and code that does not parse are left out), in first-seen order."""
    seen: dict[str, None] = {}
    for node in _import_nodes(sources):
        names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                 else [node.module])
        for name in names:
            top = name.split(".")[0]
            if top and top not in _STDLIB and top.isidentifier():
                seen.setdefault(top, None)
    return list(seen)


def preload_for(sources: Iterable[str]) -> list[str]:
    """What a zygote should preload for these sources: each top-level module they import, then
    each ``module:name`` of their ``from module import name`` lines (a lazily importing library
    loads a name's own modules only when it is first got: ``transformers.BertModel`` costs
    seconds after ``import transformers``)."""
    sources = list(sources)
    names: dict[str, None] = {}
    for node in _import_nodes(sources):
        if isinstance(node, ast.ImportFrom) and node.module.split(".")[0] not in _STDLIB:
            for alias in node.names:
                if alias.name != "*":
                    names.setdefault(f"{node.module}:{alias.name}", None)
    return [*imported_modules(sources), *names]


def preload_for_tasks(tasks: Iterable) -> list[str]:
    """`preload_for` the imports, reference and test of each task (anything with those three
    source attributes: this package does not import aicoder's Task)."""
    return preload_for(part for t in tasks for part in (t.imports, t.reference_code,
                                                          t.test_code))


def preload_list(extra: Iterable[str] = ()) -> list[str]:
    """``AICODER_PRELOAD`` (a comma list; empty for none) or ``DEFAULT_PRELOAD``, then
    ``extra``, without repeats."""
    env = os.environ.get("AICODER_PRELOAD")
    base = [m.strip() for m in env.split(",") if m.strip()] if env is not None \
        else list(DEFAULT_PRELOAD)
    return list(dict.fromkeys([*base, *extra]))


class ZygoteFailed(RuntimeError):
    """The zygote died, wedged or could not start: the run it was serving goes cold."""


class _Run:
    __slots__ = ("ended", "pid", "started", "status")

    def __init__(self) -> None:
        self.started = threading.Event()
        self.ended = threading.Event()
        self.pid: int | None = None
        self.status: int | None = None


class Zygote:
    """One warm zygote process and its control socket.

    Args:
        argv: how to start it; its last element is replaced by the JSON spec (see
            ``sandbox/zygote.py``), to which ``control_fd`` and ``parent`` are added.
        spec: the zygote's spec: ``preload``, ``runs_root``, ``home``, ``env``, ``confine``
            (the confinement every child applies: ``read_only``, ``files``, ``abi``) and
            ``harness`` (its path as the zygote sees it).
        env, cwd: the zygote process's own environment and directory.
    """

    def __init__(self, argv: list[str], spec: dict, env: dict[str, str] | None = None,
                 cwd: str | None = None, name: str = "zygote",
                 cleanup: Callable[[], None] | None = None,
                 after_run: Callable[[int], None] | None = None) -> None:
        self.name = name
        self._cleanup = cleanup
        self._after_run = after_run
        self._pong = threading.Event()
        self.preload = list(spec.get("preload", []))
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        spec = {"parent": os.getpid(), **spec, "control_fd": theirs.fileno()}
        self._ids = itertools.count(1)
        self._runs: dict[int, _Run] = {}
        self._lock = threading.Lock()
        self._dead = threading.Event()
        self._ready = threading.Event()
        self.info: dict = {}
        self._stderr = HeadTail(16384)
        self._stopped = threading.Event()
        spawned = threading.Event()
        failure: list[OSError] = []

        def keeper() -> None:
            # The parent-death signals (bubblewrap's --die-with-parent, the zygote's own) fire
            # when the *thread* that started the process ends: start it from one that lives as
            # long as the zygote, whichever thread asked first (a worker, a warm-up).
            try:
                self.proc = subprocess.Popen(
                    [*argv[:-1], json.dumps(spec)], stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                    pass_fds=[theirs.fileno()], env=env, cwd=cwd, start_new_session=True)
            except OSError as exc:
                failure.append(exc)
                return
            finally:
                spawned.set()
            self._stopped.wait()

        threading.Thread(target=keeper, name=f"{name}-keeper", daemon=True).start()
        spawned.wait()
        theirs.close()
        if failure:
            ours.close()
            if cleanup is not None:
                cleanup()
            raise ZygoteFailed(f"the {name} could not start: {failure[0]}") from failure[0]
        self.ctl = ours
        pump(self.proc.stderr, self._stderr)
        threading.Thread(target=self._read, name=f"{name}-control", daemon=True).start()
        if not self._ready.wait(START_TIMEOUT_S) or self._dead.is_set():
            self.close()
            raise ZygoteFailed(f"the {name} did not start: {self.stderr_tail()}")
        if self.info.get("shared_writable"):
            shared = ", ".join(self.info["shared_writable"][:3])
            self.close()
            raise ZygoteFailed(f"the {name} shares writable memory with its children ({shared}),"
                               " through which one run could reach the next")
        if self.info.get("threads", 1) > 1:
            log.warning("sandbox: the %s runs %d threads (%s) when it forks: a preloaded "
                        "library started them", name, self.info["threads"],
                        ", ".join(self.info.get("thread_names", [])))
        failed = self.info.get("failed") or {}
        if failed:
            shown = "; ".join(f"{m} ({why})" for m, why in list(failed.items())[:5])
            more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
            log.warning("sandbox: the %s could not preload %s%s; runs import them themselves",
                        name, shown, more)

    # -- the control socket

    def _read(self) -> None:
        try:
            while True:
                data = self.ctl.recv(1 << 20)
                if not data:
                    break
                try:
                    message = json.loads(data)
                except ValueError:
                    continue
                kind = message.get("e")
                if kind == "ready":
                    self.info = message
                    self._ready.set()
                    continue
                with self._lock:
                    run = self._runs.get(message.get("id"))
                if run is None:
                    if kind == "pong":
                        self.state = message
                        self._pong.set()
                    continue
                if kind == "started":
                    run.pid = message.get("pid")
                    run.started.set()
                elif kind == "exit":
                    run.status = message.get("status")
                    run.ended.set()
        except OSError:
            pass
        finally:
            self._dead.set()
            self._ready.set()
            self._pong.set()
            with self._lock:
                runs = list(self._runs.values())
            for run in runs:
                run.started.set()
                run.ended.set()

    def _send(self, message: dict, fds: list[int] | None = None) -> None:
        data = json.dumps(message).encode()
        with self._lock:
            if fds:
                socket.send_fds(self.ctl, [data], fds)
            else:
                self.ctl.send(data)

    @property
    def alive(self) -> bool:
        return not self._dead.is_set() and self.proc.poll() is None

    def stderr_tail(self) -> str:
        return self._stderr.text().strip()[-500:] or f"exit code {self.proc.poll()}"

    # -- one run

    def run(self, payload: bytes, nonce: str, limits: Limits, request: dict,
            cancel: threading.Event) -> Outcome:
        """Run one program in a fresh child: the same Outcome a cold process gives.

        Raises:
            ZygoteFailed: the zygote is dead, or did not start the run in time (wedged); the
                caller replaces it and runs the program cold.
        """
        if not self.alive:
            raise ZygoteFailed(f"the {self.name} is not running: {self.stderr_tail()}")
        run_id = next(self._ids)
        run = _Run()
        with self._lock:
            self._runs[run_id] = run
        pipes = [os.pipe() for _ in range(3)]  # stdin, stdout, stderr
        theirs = [pipes[0][0], pipes[1][1], pipes[2][1]]
        stdin = os.fdopen(pipes[0][1], "wb", buffering=0)
        stdout = os.fdopen(pipes[1][0], "rb", buffering=0)
        stderr = os.fdopen(pipes[2][0], "rb", buffering=0)
        out_sink, err_sink = HeadTail(limits.output_bytes), HeadTail(limits.output_bytes)
        events = EventStream(nonce, out_sink)
        try:
            try:
                self._send({"op": "run", "id": run_id, **request}, theirs)
            except OSError as exc:
                raise ZygoteFailed(f"the {self.name} does not answer: {exc}") from exc
            finally:
                for fd in theirs:
                    os.close(fd)
            if not run.started.wait(ACK_TIMEOUT_S) or run.pid is None:
                self.close()
                raise ZygoteFailed(f"the {self.name} did not start a run within "
                                   f"{ACK_TIMEOUT_S:g} s: {self.stderr_tail()}")
            readers = [pump(stdout, events), pump(stderr, err_sink)]
            try:
                stdin.write(payload)
            except (BrokenPipeError, OSError):
                pass
            finally:
                stdin.close()
            timed_out, cancelled = wait_end(run.ended, cancel, limits.wall_s)
            if not run.ended.is_set():
                self._kill(run_id, run)
            if self._after_run is not None:
                self._after_run(run.pid)
            for reader in readers:
                reader.join(timeout=5)
            events.close()
            if self._dead.is_set() and run.status is None:
                # the zygote went while the run was on: nothing says how the run ended
                raise ZygoteFailed(f"the {self.name} died during a run: {self.stderr_tail()}")
            code = None if run.status is None else os.waitstatus_to_exitcode(run.status)
            return Outcome(events=events.events, stdout=out_sink.text(),
                           stderr=err_sink.text(), stdout_bytes=out_sink.total,
                           stderr_bytes=err_sink.total, exit_code=code, timed_out=timed_out,
                           cancelled=cancelled)
        finally:
            with self._lock:
                self._runs.pop(run_id, None)
            for stream in (stdin, stdout, stderr):
                try:
                    stream.close()
                except OSError:
                    pass

    def _kill(self, run_id: int, run: _Run) -> None:
        """The launcher kills the run's whole tree on SIGTERM; one that does not end in
        ``KILL_GRACE_S`` is SIGKILLed (and every process of the run's uid, where it has one),
        and if even that is not answered the zygote is replaced."""
        try:
            self._send({"op": "kill", "id": run_id, "hard": False})
            if run.ended.wait(KILL_GRACE_S):
                return
            self._send({"op": "kill", "id": run_id, "hard": True})
            if run.ended.wait(KILL_GRACE_S):
                return
        except OSError:
            pass
        log.warning("sandbox: the %s did not end a run after a kill; replacing it", self.name)
        self.close()

    def host_pid(self) -> int | None:
        """The zygote's pid as this host sees it (under bubblewrap it is a descendant of the
        process started here, in a PID namespace of its own); None once it is gone."""
        children: dict[int, list[int]] = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat", "rb") as fh:
                    ppid = int(fh.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(name))
        todo = [self.proc.pid]
        while todo:
            pid = todo.pop()
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as fh:
                    argv = fh.read().split(b"\0")
            except OSError:
                continue
            # bubblewrap's own processes carry the same arguments: the zygote is the python
            if b"bwrap" not in os.path.basename(argv[0]) and any(
                    arg.endswith(b"zygote.py") for arg in argv):
                return pid
            todo += children.get(pid, [])
        return None

    def ping(self, timeout_s: float = 10.0) -> dict:
        """The zygote's own state now (threads, resident memory, runs in flight); {} when it
        does not answer."""
        self._pong.clear()
        self.state: dict = {}
        try:
            self._send({"op": "ping"})
        except OSError:
            return {}
        self._pong.wait(timeout_s)
        return self.state

    def close(self) -> None:
        """Stop the zygote: it kills every launcher, and each its run's tree."""
        try:
            self.ctl.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self.proc.wait()
        self._dead.set()
        self._stopped.set()
        try:
            self.ctl.close()
        except OSError:
            pass
        cleanup, self._cleanup = self._cleanup, None
        if cleanup is not None:
            cleanup()
