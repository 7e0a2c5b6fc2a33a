"""A local stand-in for TGI / vLLM's OpenAI-compatible chat API (they cannot run here).

Each request takes the next scripted behaviour: ``("ok", text)`` streams the text as SSE
chunks with a final usage chunk; ``("status", code, body)`` answers with an HTTP error, as TGI
does while loading (503) or for a bad request; ``("sleep", seconds)`` stalls. ``script`` may
also be a function of the request body that returns the behaviour (a model that answers each
task its own way).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ServerDouble:
    def __init__(self, script) -> None:
        self.script = script if callable(script) else list(script)
        self.requests: list[dict] = []
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                double.requests.append({"path": self.path, **body})
                if callable(double.script):
                    step = double.script(body)
                else:
                    step = double.script.pop(0) if double.script else ("status", 500, "empty")
                if step[0] == "sleep":
                    time.sleep(step[1])
                    step = ("ok", "late")
                if step[0] == "status":
                    payload = json.dumps({"error": step[2]}).encode()
                    self.send_response(step[1])
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                words = step[1].split(" ")
                for i, word in enumerate(words):
                    delta = word if i == 0 else " " + word
                    chunk = {"id": "x", "object": "chat.completion.chunk", "created": 0,
                             "model": body.get("model", "tgi"),
                             "choices": [{"index": 0, "delta": {"role": "assistant",
                                                                "content": delta},
                                          "finish_reason": None}]}
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                    self.wfile.flush()
                last = {"id": "x", "object": "chat.completion.chunk", "created": 0,
                        "model": "m", "choices": [{"index": 0, "delta": {},
                                                   "finish_reason": "stop"}],
                        "usage": {"prompt_tokens": 7, "completion_tokens": len(words),
                                  "total_tokens": 7 + len(words)}}
                self.wfile.write(f"data: {json.dumps(last)}\n\ndata: [DONE]\n\n".encode())

        class Server(ThreadingHTTPServer):
            def handle_error(self, request, client_address):
                if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that hung up
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def reference_responder(tasks, *, wrong: frozenset[str] = frozenset(), delay_s: float = 0.0):
    """A behaviour function for ServerDouble: answers each task's prompt with its reference
    function (fenced), or with a broken one for the task ids in ``wrong``."""
    by_name = {t.function_name: t for t in tasks}

    def respond(body: dict):
        if delay_s:
            time.sleep(delay_s)
        text = " ".join(m.get("content", "") for m in body.get("messages", []))
        task = next((t for name, t in by_name.items() if f"def {name}(" in text), None)
        if task is None:
            return ("ok", "I do not know this task.")
        if task.task_id in wrong:
            code = f"def {task.function_name}(*args, **kwargs):\n    return None\n"
        else:
            code = task.reference_code
        return ("ok", "```python\n" + task.imports + "\n" + code + "\n```")

    return respond
