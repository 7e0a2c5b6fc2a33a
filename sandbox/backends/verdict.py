"""From a process to a verdict: the request the harness reads, and the ExecutionResult made of
the harness's events and the process's end."""

from __future__ import annotations

import json
import signal
from dataclasses import dataclass, field

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

__all__ = ["Outcome", "request", "verdict"]


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


def verdict(outcome: Outcome, limits: Limits, backend: str, *, warm: bool = False
            ) -> ExecutionResult:
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
        exit_code=outcome.exit_code, backend=backend, tamper=tamper, warm=warm,
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
