"""A plain child process with resource limits: for development only, chosen explicitly.

It has the harness's limits (CPU, memory, file size, open files, processes), a scrubbed
environment, a fresh working directory and its own process group killed at the end, but no
namespaces: the program can read what this user can read, reach the network, and signal this
user's other processes. Use bubblewrap or docker for anything untrusted.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings

from sandbox.backends.base import Launch, LocalSandbox
from sandbox.backends.environment import base_env
from sandbox.backends.paths import HARNESS, hf_cache_dir
from sandbox.types import Limits

__all__ = ["ProcessSandbox"]


class ProcessSandbox(LocalSandbox):
    name = "process"

    def __init__(self, python: str | None = None, *, hf_cache: bool = True,
                 warm: bool | None = None, preload: list[str] | None = None) -> None:
        super().__init__(python, warm=False, preload=preload)  # it has no warm path
        if os.geteuid() == 0:
            warnings.warn("the process sandbox runs programs as root with no isolation (and "
                          "root ignores the process limit): use it only for code you trust",
                          RuntimeWarning, stacklevel=3)
        cache = hf_cache_dir() if hf_cache else None
        self.hf_cache = str(cache) if cache else None

    def _command(self, limits: Limits) -> Launch:
        workdir = tempfile.mkdtemp(prefix="aicoder-run-")
        env = base_env(self.hf_cache)
        env["HOME"] = env["TMPDIR"] = workdir
        return Launch([self.python, "-I", "-u", str(HARNESS)], env, workdir,
                      cleanup=lambda: shutil.rmtree(workdir, ignore_errors=True))
