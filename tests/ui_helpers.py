"""Serving the Space in a test: build it, launch it on a free port, close it after."""

from __future__ import annotations

import socket
from contextlib import contextmanager

from aicoder.ui.studio import StudioConfig, build_studio


@contextmanager
def serve(config: StudioConfig):
    """Yield the URL of the Space built from ``config``, served until the block ends."""
    app = build_studio(config)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.queue().launch(prevent_thread_lock=True, server_port=port, quiet=True)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        app.close()
