"""Executions on Ray actors: ``--executor ray`` (a local cluster, or the one ``RAY_ADDRESS``
names) or ``--executor ray://HEAD:10001`` (Ray Client).

`RaySandbox` is a `Sandbox` like any backend (``run(program, limits, cancel)``). Behind it is a
pool of actors. Each actor reserves one CPU and the run's memory and builds the chosen local
backend (bwrap, else landlock) on its node, with a warm zygote of the run's environment. Each
execution goes to an idle actor. The verdict comes back to the driver, which alone writes run
directories, so resume and reporting do not change.

When an actor dies with a run in flight (its worker was killed, its node went away), the run
goes again to another actor, and a fresh actor takes the dead one's place. A run is lost only
when `MAX_ATTEMPTS` actors die under it in turn. Then `SandboxError` says so: something is
killing whatever runs it. A run is never half-recorded. A dead actor returns nothing, and a
sample is written only when it has finished.

Every node needs the same interpreter at the same path (the environment's ``python``). For a
cluster of the app's Docker image, it is there. This package's code travels with the job
(``runtime_env`` ``py_modules``), so the nodes need Ray and the environment, not this checkout.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import sys
import threading
import time
from pathlib import Path

from sandbox.errors import SandboxError, SandboxUnavailable
from sandbox.types import ExecutionResult, Limits, Program

__all__ = ["INSTALL", "MAX_ATTEMPTS", "RaySandbox", "init_local", "parse_executor",
           "runtime_env"]

log = logging.getLogger("sandbox")

#: what installs Ray, named by every error that needs it
INSTALL = "pip install -r requirements-scale.txt"
#: actors that may die under one run before it is given up
MAX_ATTEMPTS = 3
#: memory an actor reserves beyond the run's limit: its own interpreter and the warm zygote
#: (measured: the zygote of the app's environment is about 0.5 GiB)
OVERHEAD_MB = 1024

#: seconds to wait for the first actors to be placed and to build their backend
START_TIMEOUT_S = 300.0

#: seconds past a run's wall limit after which its actor counts as lost
STALL_GRACE_S = 120.0


class _Stalled(Exception):
    """An actor that stopped answering: replaced, and its run sent elsewhere, like a dead one."""


_ACTOR_ERRORS: tuple[type[BaseException], ...] = (_Stalled,)
_POOLS = itertools.count()


def parse_executor(spec: str | None) -> str | None:
    """``local`` (or nothing): None. ``ray``: the cluster Ray finds (``RAY_ADDRESS``, else a
    new local one). ``ray://HOST:PORT``: that Ray Client server. Anything else is an error."""
    spec = (spec or "local").strip()
    if spec in ("", "local"):
        return None
    if spec == "ray" or spec.startswith("ray://"):
        return spec
    raise SandboxError(f"unknown executor {spec!r}: use local, ray, or ray://HEAD:10001")


def _import_ray(local: bool = False):
    """Ray, imported with its usage report off; ``local``: a cluster started here is a
    single-node one on loopback (Ray's own switch for that, read when Ray is imported)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no report to anyone's server
    if local and "ray" not in sys.modules:
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise SandboxUnavailable(f"--executor ray needs Ray, which is not installed: {INSTALL}"
                                 ) from None
    global _ACTOR_ERRORS
    from ray import exceptions as rex

    _ACTOR_ERRORS = (_Stalled, rex.RayActorError, rex.WorkerCrashedError, rex.NodeDiedError,
                     rex.LocalRayletDiedError, rex.ObjectLostError, rex.OwnerDiedError)
    return ray


def init_local(num_cpus: int | None = None, **options) -> None:
    """Start a private single-node Ray cluster here, on loopback, without the dashboard (what
    ``--executor ray`` starts where ``RAY_ADDRESS`` names none; tests start theirs with it)."""
    ray = _import_ray(local=True)
    ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False,
             namespace="aicoder", runtime_env=runtime_env(), **options)


def runtime_env() -> dict:
    """The job's runtime environment: this package travels with it (Ray uploads it to the
    cluster), so the nodes need Ray and the run's interpreter, not this checkout. A driver
    that starts Ray itself should pass it to ``ray.init``."""
    return {"py_modules": [str(Path(__file__).resolve().parent)]}


class _Executor:
    """One Ray actor: a local backend with its warm zygote, on whichever node Ray chose."""

    def __init__(self, backend: str | None, options: dict) -> None:
        import socket

        from sandbox import get_sandbox

        python = options.get("python")
        if python and not Path(python).exists():
            raise SandboxUnavailable(f"{socket.gethostname()} has no {python} (the run's "
                                     "environment must be at the same path on every node)")
        self.sandbox = get_sandbox(backend, **options)
        self.host = socket.gethostname()
        self.cancels: dict[str, threading.Event] = {}
        self.lock = threading.Lock()

    def info(self) -> dict:
        with self.lock:
            inflight = len(self.cancels)
        return {"pid": os.getpid(), "host": self.host, "backend": self.sandbox.name,
                "warm": bool(getattr(self.sandbox, "warm", False)), "inflight": inflight}

    def preload(self, modules: list[str]) -> None:
        preload = getattr(self.sandbox, "preload", None)
        if preload is not None:
            preload(modules)

    def warm_up(self) -> bool:
        """Start the zygote now rather than at the first run; True when one runs."""
        zygote = getattr(self.sandbox, "zygote", None)
        return zygote is not None and zygote() is not None

    def run(self, run_id: str, program: Program, limits: Limits) -> ExecutionResult:
        cancel = threading.Event()
        with self.lock:
            self.cancels[run_id] = cancel
        try:
            return self.sandbox.run(program, limits, cancel)
        finally:
            with self.lock:
                self.cancels.pop(run_id, None)

    def cancel(self, run_id: str) -> None:
        with self.lock:
            event = self.cancels.get(run_id)
        if event is not None:
            event.set()

    def close(self) -> None:
        close = getattr(self.sandbox, "close", None)
        if close is not None:
            close()


class RaySandbox:
    """A sandbox whose runs execute on a pool of Ray actors, ``actors`` of them.

    Args:
        executor: ``ray`` or ``ray://HOST:PORT`` (see `parse_executor`).
        actors: how many actors, each one CPU (the run's ``--workers``).
        backend: the local backend each actor builds (None: the first that works there).
        memory_mb: the run's memory limit; each actor reserves it plus `OVERHEAD_MB`.
        **options: for the backend (``python=``, ``warm=``, ``preload=``, ``hf_cache=``).

    Raises:
        SandboxUnavailable: Ray is not installed, the cluster cannot be reached, or an actor
            cannot build its backend (the message says which and why).
    """

    def __init__(self, executor: str = "ray", *, actors: int = 2, backend: str | None = None,
                 memory_mb: int | None = None, **options) -> None:
        ray = _import_ray(local=executor == "ray" and not os.environ.get("RAY_ADDRESS"))
        self._ray = ray
        self.executor = executor  # where the runs go, for the run's log line
        self.backend = backend
        self.options = dict(options)
        self.options["preload"] = list(self.options.get("preload") or [])
        self.memory_mb = int(memory_mb or Limits().memory_mb)
        self._owns_ray = False
        if not ray.is_initialized():
            self._connect(executor)
        self._remote = ray.remote(_Executor)
        self._actor_options = {
            "num_cpus": 1, "memory": self._actor_mb() * 1024 * 1024, "max_concurrency": 4,
            "max_restarts": 0}  # a dead actor is replaced here, its run sent elsewhere
        self._idle: queue.Queue = queue.Queue()
        self._actors: set = set()
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._names = itertools.count()
        self.retried = 0  # runs sent again because their actor died
        self.replaced = 0  # actors started in a dead one's place
        self._closed = False
        self._pool = f"executor-{os.getpid()}-{next(_POOLS)}"
        first = [self._spawn() for _ in range(self._capacity(max(int(actors), 1)))]
        try:
            infos = ray.get([a.info.remote() for a in first], timeout=START_TIMEOUT_S)
        except _ACTOR_ERRORS as exc:
            self.close()
            raise SandboxUnavailable(f"a Ray actor could not start its sandbox: "
                                     f"{_first_line(exc)}") from None
        except ray.exceptions.GetTimeoutError:
            self.close()
            raise SandboxUnavailable(
                f"Ray placed none of {len(first)} executor actors in {START_TIMEOUT_S:g} s "
                f"(each asks 1 CPU and {self._actor_mb() / 1024:.1f} GiB; the cluster has "
                f"{_describe(ray.available_resources())} free)") from None
        for actor in first:
            self._idle.put(actor)
        # the verdicts are the backend's, wherever it ran: the name is its name
        self.name = infos[0]["backend"]
        self.hosts = sorted({i["host"] for i in infos})
        self.warm = infos[0]["warm"]

    # -- the cluster

    def _actor_mb(self) -> int:
        return self.memory_mb + OVERHEAD_MB

    def _capacity(self, wanted: int) -> int:
        """``wanted``, or fewer when the whole cluster cannot hold that many actors at once
        (said once; none at all is an error)."""
        total = self._ray.cluster_resources()
        fits = min(int(total.get("CPU", 0)),
                   int(total.get("memory", 0) // (self._actor_mb() * 1024 * 1024)))
        if fits < 1:
            raise SandboxUnavailable(
                f"this Ray cluster cannot hold one executor actor (1 CPU and "
                f"{self._actor_mb() / 1024:.1f} GiB; it has {_describe(total)})")
        if fits < wanted:
            log.warning("sandbox: this Ray cluster holds %d executor actors, not %d "
                        "(%s); runs beyond that wait for one", fits, wanted, _describe(total))
        return min(wanted, fits)

    def _connect(self, executor: str) -> None:
        ray = self._ray
        address = executor if executor.startswith("ray://") else os.environ.get("RAY_ADDRESS")
        try:
            if address:
                ray.init(address=address, log_to_driver=False, namespace="aicoder",
                         runtime_env=runtime_env())
            else:  # a private cluster of this machine's CPUs
                init_local()
        except ImportError as exc:  # Ray Client needs the grpcio of ray[client]
            raise SandboxUnavailable(f"{executor} needs Ray Client ({exc}): {INSTALL}"
                                     ) from None
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = address or "a local Ray cluster"
            raise SandboxUnavailable(f"cannot start or reach {where}: {_first_line(exc)}"
                                     ) from None
        self._owns_ray = True

    def _spawn(self):
        name = f"{self._pool}-{next(self._names)}"  # `ray list actors` shows whose they are
        actor = self._remote.options(name=name, **self._actor_options).remote(
            self.backend, dict(self.options))
        with self._lock:
            self._actors.add(actor)
        return actor

    def actors(self) -> list:
        """The live actors' handles (for monitoring and tests)."""
        with self._lock:
            return list(self._actors)

    def _replace(self, dead) -> None:
        with self._lock:
            self._actors.discard(dead)
            closed = self._closed
        try:
            self._ray.kill(dead, no_restart=True)
        except Exception:  # already gone
            pass
        if closed:
            return
        self.replaced += 1
        fresh = self._spawn()
        fresh.warm_up.remote()
        self._idle.put(fresh)

    # -- the Sandbox API

    def preload(self, modules) -> None:
        """What every actor's zygote should import; the actors start their zygotes now."""
        modules = [m for m in modules if m not in self.options["preload"]]
        self.options["preload"] += modules  # replacements are built with the full list
        actors = self.actors()
        try:
            self._ray.get([a.preload.remote(modules) for a in actors])
        except _ACTOR_ERRORS:
            pass  # a dead one is replaced at its next run
        for actor in actors:
            actor.warm_up.remote()

    def run(self, program: Program, limits: Limits | None = None,
            cancel: threading.Event | None = None) -> ExecutionResult:
        limits = limits or Limits()
        run_id = f"run-{next(self._ids)}"
        failures: list[str] = []
        while True:
            actor = self._idle.get()
            try:
                result = self._run_on(actor, run_id, program, limits, cancel)
            except _ACTOR_ERRORS as exc:  # the actor is gone: run it again elsewhere
                failures.append(_first_line(exc))
                self._replace(actor)
                if len(failures) >= MAX_ATTEMPTS:
                    raise SandboxError(f"{len(failures)} Ray actors died in turn running one "
                                       f"execution; the last: {failures[-1]}") from None
                self.retried += 1
                log.warning("sandbox: a Ray actor died during a run (%s); running it again "
                            "on another", failures[-1])
                continue
            except BaseException:  # the driver's own (Ctrl-C ...): the actor stays in the pool
                self._idle.put(actor)
                raise
            self._idle.put(actor)
            return result

    def _run_on(self, actor, run_id: str, program: Program, limits: Limits,
                cancel: threading.Event | None) -> ExecutionResult:
        ray = self._ray
        ref = actor.run.remote(run_id, program, limits)
        asked = False
        # the backend on the actor enforces the wall limit; an actor that has not answered
        # well after it is wedged (or cut off) and is treated as dead
        deadline = time.monotonic() + limits.wall_s + STALL_GRACE_S
        try:
            while True:
                done, _ = ray.wait([ref], timeout=0.2)
                if done:
                    return ray.get(ref)
                if cancel is not None and cancel.is_set() and not asked:
                    actor.cancel.remote(run_id)  # the actor kills it and answers cancelled
                    asked = True
                if time.monotonic() > deadline:
                    raise _Stalled(f"the actor did not answer {limits.wall_s + STALL_GRACE_S:g} "
                                   "s after the run started")
        except _ACTOR_ERRORS:
            raise
        except BaseException:  # the driver stops (Ctrl-C): the run must not go on there
            actor.cancel.remote(run_id)
            raise

    def close(self) -> None:
        """Stop the actors (and their zygotes); leave a cluster this sandbox did not start."""
        with self._lock:
            self._closed = True
            actors, self._actors = list(self._actors), set()
        ray = self._ray
        if ray.is_initialized():
            try:
                ray.get([a.close.remote() for a in actors], timeout=30)
            except Exception:  # a dead or stuck actor: killed below
                pass
            for actor in actors:
                try:
                    ray.kill(actor, no_restart=True)
                except Exception:
                    pass
        if self._owns_ray and ray.is_initialized():
            ray.shutdown()
            self._owns_ray = False


def _describe(resources: dict) -> str:
    cpus = resources.get("CPU", 0)
    memory = resources.get("memory", 0) / 2**30
    return f"{cpus:g} CPUs and {memory:.1f} GiB"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # Ray's messages start with a banner line; the cause is the last meaningful line, which
    # names the remote exception's class ("sandbox.errors.SandboxUnavailable: ...")
    line = lines[-1] if lines else text
    head, sep, rest = line.partition(": ")
    if sep and head.rsplit(".", 1)[-1].endswith(("Error", "Unavailable", "Exception")):
        line = rest
    return line[:300]
