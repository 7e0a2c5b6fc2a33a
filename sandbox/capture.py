"""Reading a sandboxed program's output: capped text for people, harness events for verdicts."""

from __future__ import annotations

import json
import threading
import time
from typing import IO

__all__ = ["EventStream", "HeadTail", "pump"]


class HeadTail:
    """Keeps the first and last ``cap // 2`` bytes of a stream and counts the rest."""

    def __init__(self, cap: int) -> None:
        self.half = max(cap // 2, 1)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def write(self, data: bytes) -> None:
        self.total += len(data)
        room = self.half - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > self.half:
                del self.tail[: len(self.tail) - self.half]

    def text(self) -> str:
        kept = len(self.head) + len(self.tail)
        head = self.head.decode("utf-8", errors="replace")
        tail = self.tail.decode("utf-8", errors="replace")
        if self.total > kept:
            return f"{head}\n... [{self.total - kept} bytes cut] ...\n{tail}"
        return head + tail


class EventStream:
    """Splits stdout into the harness's events (lines that start with the nonce) and the rest.

    The harness writes ``\\n\\x1e<nonce> <json>\\n``; the blank line its leading newline makes
    is dropped too. A line that merely looks like an event but lacks the nonce is output.
    """

    _LONG = 1 << 20  # a partial line this long cannot be an event: pass it on as output

    def __init__(self, nonce: str, sink: HeadTail) -> None:
        self.prefix = b"\x1e" + nonce.encode() + b" "
        self.sink = sink
        self.events: list[dict] = []
        self.bad_events = 0
        self._pending = bytearray()
        self._held_blank = False

    def _output_line(self, line: bytes) -> None:
        if self._held_blank:
            self.sink.write(b"\n")
            self._held_blank = False
        if line == b"":
            self._held_blank = True
        else:
            self.sink.write(line + b"\n")

    def write(self, data: bytes) -> None:
        self._pending += data
        while True:
            nl = self._pending.find(b"\n")
            if nl < 0:
                break
            line = bytes(self._pending[:nl])
            del self._pending[: nl + 1]
            if line.startswith(self.prefix):
                self._held_blank = False
                try:
                    self.events.append(json.loads(line[len(self.prefix):]))
                except ValueError:
                    self.bad_events += 1
            else:
                self._output_line(line)
        if len(self._pending) > self._LONG and not self._pending.startswith(self.prefix):
            if self._held_blank:
                self.sink.write(b"\n")
                self._held_blank = False
            self.sink.write(bytes(self._pending))
            self._pending.clear()

    def close(self) -> None:
        if self._held_blank:
            self.sink.write(b"\n")
        if self._pending:
            self.sink.write(bytes(self._pending))
            self._pending.clear()


def pump(stream: IO[bytes], sink) -> threading.Thread:
    """Copy ``stream`` into ``sink.write`` on a daemon thread until EOF."""

    def run() -> None:
        try:
            while True:
                chunk = stream.read1(65536) if hasattr(stream, "read1") else stream.read(65536)
                if not chunk:
                    break
                sink.write(chunk)
        except (OSError, ValueError):
            pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def wait_end(ended: threading.Event, cancel: threading.Event, wall_s: float
             ) -> tuple[bool, bool]:
    """Wait until ``ended``, ``cancel`` or ``wall_s`` seconds have passed, whichever is first;
    returns ``(timed_out, cancelled)`` (both False: it ended)."""
    deadline = time.monotonic() + wall_s
    while not ended.wait(timeout=max(min(deadline - time.monotonic(), 0.05), 0)):
        if cancel.is_set():
            return False, True
        if time.monotonic() >= deadline:
            return True, False
    return False, False
