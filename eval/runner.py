"""Running many samples at once: generation requests and sandbox executions overlapped.

Each sample runs on its own thread from start to end (generate, execute, repair ...). Two
semaphores decide what runs at once: ``concurrency`` model streams (1 for an in-process model,
which computes one answer at a time; more for a server, which batches) and ``workers`` sandbox
executions. With ``concurrency + workers`` sample threads, the model is never idle while code
runs and the sandbox workers are never idle while the model writes.

Stopping lets no new sample start. On Ctrl-C the samples in flight are closed, which cancels
their model stream and kills their sandbox run; when the model server goes away, samples in
flight may still finish (those that need the model again fail the same way and are not kept).
Only finished samples are ever written, so the run resumes exactly where it stopped.
"""

from __future__ import annotations

import contextvars
import signal
import threading
import time
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

from aicoder.models import ChatModel, Completion, GenerationParams, Message, ModelUnavailable
from aicoder.runs import RunDir, SampleRecord
from sandbox import ExecutionResult, Limits, Program, Sandbox

__all__ = ["BoundedModel", "BoundedSandbox", "Job", "RunStopped", "SampleCancelled", "run_jobs"]


class RunStopped(Exception):
    """The run stopped before every sample was done (the reason is the message)."""


class SampleCancelled(Exception):
    """A sample waiting for a model or sandbox slot gave up because the run is stopping."""


def _acquire(slots: threading.Semaphore, stop: threading.Event | None) -> None:
    """Take a slot; while waiting, give up as soon as the run stops (a sample queued behind a
    long prompt must not make Ctrl-C wait for its turn)."""
    while not slots.acquire(timeout=0.2):
        if stop is not None and stop.is_set():
            raise SampleCancelled("the run is stopping")

class _Waits:
    """Seconds each sample spent waiting for a slot: a sample's own time excludes them.

    The account belongs to the sample, not to a thread: the agent streams the model and runs
    the sandbox on threads of its own, started with a copy of the sample thread's context, so
    what they wait for is added to the account that the sample thread opened with ``take``.
    """

    def __init__(self) -> None:
        self._account: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar(
            f"waits-{id(self)}", default=None)

    def add(self, seconds: float) -> None:
        account = self._account.get()
        if account is not None:
            account[0] += seconds

    def take(self) -> float:
        """The waiting since the last call (the first call opens this context's account)."""
        account = self._account.get()
        if account is None:
            self._account.set([0.0])
            return 0.0
        waited, account[0] = account[0], 0.0
        return waited


class BoundedSandbox(_Waits):
    """A sandbox that runs at most ``workers`` programs at once (the others wait)."""

    def __init__(self, sandbox: Sandbox, workers: int, stop: threading.Event | None = None
                 ) -> None:
        super().__init__()
        self.stop = stop
        self.inner = sandbox
        self.name = sandbox.name
        self.workers = max(int(workers), 1)
        self._slots = threading.BoundedSemaphore(self.workers)

    def preload(self, modules) -> None:
        """What the backend's warm zygote should import (a no-op where it has none)."""
        preload = getattr(self.inner, "preload", None)
        if preload is not None:
            preload(modules)

    def close(self) -> None:
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()

    def run(self, program: Program, limits: Limits | None = None,
            cancel: threading.Event | None = None) -> ExecutionResult:
        asked = time.monotonic()
        _acquire(self._slots, self.stop)
        try:
            self.add(time.monotonic() - asked)
            return self.inner.run(program, limits, cancel)
        finally:
            self._slots.release()


class BoundedModel(ChatModel, _Waits):
    """A model with at most ``concurrency`` streams in flight; counts tokens for the bar."""

    def __init__(self, model: ChatModel, concurrency: int,
                 stop: threading.Event | None = None) -> None:
        _Waits.__init__(self)
        self.stop = stop
        self.inner = model
        self.spec = model.spec
        self.concurrency = max(min(int(concurrency), model.concurrency), 1)
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self.completion_tokens = 0
        self._lock = threading.Lock()

    def stream(self, messages: list[Message], params: GenerationParams | None = None,
               cancel: threading.Event | None = None) -> Generator[str, None, Completion]:
        asked = time.monotonic()
        _acquire(self._slots, self.stop)
        try:
            self.add(time.monotonic() - asked)
            completion = yield from self.inner.stream(messages, params, cancel)
        finally:
            self._slots.release()
        with self._lock:
            self.completion_tokens += completion.completion_tokens
        return completion


@dataclass(frozen=True)
class Job:
    task_id: str
    sample: int


def run_jobs(jobs: Iterable[Job], work: Callable[[Job, threading.Event], SampleRecord | None],
             rundir: RunDir, *, threads: int, on_record: Callable[[SampleRecord], None]
             | None = None, stop: threading.Event | None = None) -> int:
    """Run ``work`` for every job not yet in ``rundir`` and append each record as it finishes.

    ``work(job, stop)`` returns the finished record, or None when it was stopped part-way.

    Returns:
        How many records were written.
    Raises:
        RunStopped: a model became unusable (message: why); the run is resumable.
        KeyboardInterrupt: after in-flight samples were cancelled.
    """
    stop = stop or threading.Event()  # set: in-flight samples are cancelled (Ctrl-C)
    drain = threading.Event()  # set: no new sample starts; those in flight may finish
    # Ctrl-C is taken at one safe point of the loop below, not wherever the signal happens to
    # land (inside a lock of the pool, a progress bar or a write); a second one acts at once.
    interrupted = threading.Event()

    def on_sigint(signum, frame):
        if interrupted.is_set():
            raise KeyboardInterrupt
        interrupted.set()
        stop.set()

    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, on_sigint) if main else None
    try:
        pending = [j for j in jobs if (j.task_id, j.sample) not in rundir.done]
        return _run_jobs(pending, work, rundir, threads, on_record, stop, drain, interrupted)
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)


def _run_jobs(pending: list[Job], work, rundir: RunDir, threads: int, on_record, stop,
              drain: threading.Event, interrupted: threading.Event) -> int:
    written = 0
    failure: BaseException | None = None
    with ThreadPoolExecutor(max(threads, 1), thread_name_prefix="sample") as pool:
        queue = iter(pending)
        running: dict[Future, Job] = {}

        def fill() -> None:
            while len(running) < max(threads, 1) and not stop.is_set() and not drain.is_set():
                job = next(queue, None)
                if job is None:
                    return
                running[pool.submit(work, job, stop)] = job

        try:
            fill()
            while running:
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED, timeout=0.5)
                if interrupted.is_set():
                    raise KeyboardInterrupt
                for future in finished:
                    running.pop(future)
                    try:
                        record = future.result()
                    except ModelUnavailable as exc:
                        # The model is gone: start nothing new, but let samples whose answer
                        # is already written finish judging (they are complete results).
                        failure = failure or exc
                        drain.set()
                        continue
                    if record is not None:  # finished samples are kept, even when stopping
                        rundir.append(record)
                        written += 1
                        if on_record:
                            on_record(record)
                fill()
        except KeyboardInterrupt:
            # In-flight samples see `stop` at their next event and close their agent (model
            # stream closed, sandbox run killed); one that finished meanwhile is still kept.
            stop.set()
            for future in list(running):
                if future.cancel():
                    running.pop(future)
            for future in wait(list(running)).done:
                record = None if future.exception() else future.result()
                if record is not None:
                    rundir.append(record)
                    written += 1
            raise
    if failure is not None:
        raise RunStopped(str(failure)) from failure
    return written
