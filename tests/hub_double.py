"""A local stand-in for the Hub's HTTP API (the Hub cannot be reached from here): enough of
``/api/models/{repo}[/revision/{rev}]`` and ``/{repo}/resolve/{rev}/{file}`` for
``HfApi.model_info`` and ``snapshot_download`` to work against it, files served from memory.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse

COMMIT = "c0ffee" + "0" * 34


class HubDouble:
    def __init__(self, repos: dict[str, dict[str, bytes]]) -> None:
        self.repos = repos
        self.requests: list[str] = []
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, code: int, body: bytes, headers: dict | None = None,
                      head: bool = False) -> None:
                self.send_response(code)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if not head:
                    self.wfile.write(body)

            def _handle(self, head: bool) -> None:
                path = unquote(urlparse(self.path).path)
                double.requests.append(f"{self.command} {path}")
                if path.startswith("/api/models/") and "/tree/" in path:
                    repo = path[len("/api/models/"):].split("/tree/")[0]
                    files = double.repos.get(repo, {})
                    tree = [{"type": "file", "path": n, "size": len(b),
                             "oid": hashlib.sha1(b).hexdigest()} for n, b in files.items()]
                    self._send(200, json.dumps(tree).encode(),
                               {"Content-Type": "application/json"})
                    return
                if path.startswith("/api/models/"):
                    repo = path[len("/api/models/"):].split("/revision/")[0]
                    files = double.repos.get(repo)
                    if files is None:
                        self._send(404, b'{"error": "Repository not found"}',
                                   {"X-Error-Code": "RepoNotFound"})
                        return
                    info = {"id": repo, "modelId": repo, "sha": COMMIT, "private": False,
                            "siblings": [{"rfilename": n, "size": len(b),
                                          "blobId": hashlib.sha1(b).hexdigest()}
                                         for n, b in files.items()]}
                    self._send(200, json.dumps(info).encode(),
                               {"Content-Type": "application/json"})
                    return
                if "/resolve/" in path:
                    repo, _, rest = path.lstrip("/").partition("/resolve/")
                    _, _, name = rest.partition("/")
                    body = double.repos.get(repo, {}).get(name)
                    if body is None:
                        self._send(404, b"", {"X-Error-Code": "EntryNotFound"})
                        return
                    self._send(200, body, {"X-Repo-Commit": COMMIT,
                                           "ETag": f'"{hashlib.sha1(body).hexdigest()}"'},
                               head=head)
                    return
                self._send(404, b"")

            def do_GET(self):
                self._handle(head=False)

            def do_HEAD(self):
                self._handle(head=True)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
