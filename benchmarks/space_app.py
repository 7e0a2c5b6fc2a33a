"""What the Space benchmarks share: `python app.py` started as its own process on a free
port, a gradio_client connected to it, and the text of a chat message."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

__all__ = ["ROOT", "served_app", "text_of"]


def text_of(message) -> str:
    """A chat message's text (gradio_client returns content as a list of parts)."""
    content = message["content"]
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


@contextmanager
def served_app(*app_args: str, wait_s: float = 120.0):
    """Yield (process, port, client) for `python app.py --port P *app_args`; stop it after.

    Raises:
        RuntimeError: the app did not answer within ``wait_s`` (with the end of its stderr).
    """
    from gradio_client import Client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--dataset", "",
                            *app_args], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + wait_s
        while True:
            try:
                client = Client(f"http://127.0.0.1:{port}/", verbose=False)
                break
            except Exception:
                if app.poll() is not None or time.monotonic() > deadline:
                    app.kill()
                    raise RuntimeError("the app did not start: "
                                       + app.stderr.read()[-2000:]) from None
                time.sleep(0.5)
        yield app, port, client
    finally:
        app.terminate()
        app.wait(timeout=30)
