"""The environment of a sandboxed program: its variables (nothing of ours), and the interpreter
that runs it, with where its packages really are."""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from functools import lru_cache

from sandbox.errors import SandboxUnavailable

__all__ = ["Interpreter", "base_env", "resolve_interpreter"]


def base_env(hf_cache_inside: str | None) -> dict[str, str]:
    """The whole environment of a sandboxed program: nothing from ours (no tokens, no keys)."""
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "MPLBACKEND": "Agg",
        "OMP_WAIT_POLICY": "PASSIVE",  # busy-waiting threads starve the other workers
        "TOKENIZERS_PARALLELISM": "false",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        # There is no network inside: say so, so that libraries fail at once with a clear
        # "offline" error instead of retrying connections.
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HOME": "/tmp/hf-home",
    }
    if hf_cache_inside:
        env["HF_HUB_CACHE"] = hf_cache_inside
    return env


# Run by the interpreter on the host (with -I) to learn where it lives, and again inside the
# sandbox to prove it still sees the same installation there.
_WHERE = r"""
import importlib, importlib.util, json, os, site, sys
light = ("pip", "packaging", "idna", "certifi", "six", "typing_extensions")
sites = [os.path.realpath(p) for p in site.getsitepackages() if os.path.isdir(p)]
module = origin = None
for name in light:
    spec = importlib.util.find_spec(name)
    if spec and spec.origin and any(os.path.realpath(spec.origin).startswith(d + os.sep)
                                    for d in sites):
        module, origin = name, os.path.realpath(importlib.import_module(name).__file__)
        break
print(json.dumps({"executable": sys.executable, "prefix": os.path.realpath(sys.prefix),
                  "sites": sites, "module": module, "origin": origin,
                  "paths": [sys.prefix, sys.base_prefix, sys.exec_prefix,
                            sys.base_exec_prefix] + sys.path}))
"""


@dataclass(frozen=True)
class Interpreter:
    """Where an interpreter and its packages really are, symlinks resolved.

    A venv reached through a symlink (``.venv -> /data/venv``) finds its ``pyvenv.cfg`` only
    next to the path it is started by; a sandbox that binds the real directories must start it
    by the real path too, or it silently runs the base interpreter without the venv's packages.
    """

    executable: str  #: the path to start it by: real directories, the file's own name
    prefix: str  #: its real ``sys.prefix``
    paths: tuple[str, ...]  #: the outermost real directories it needs that /usr does not cover
    module: str | None  #: a light site-packages module the sandbox probe imports
    origin: str | None  #: that module's real file

    @property
    def probe(self) -> str:
        """Python source that prints where the interpreter is, as JSON (see ``check``)."""
        return _WHERE

    def check(self, output: str, backend: str) -> None:
        """Compare a sandbox probe's output with this host's view of the interpreter.

        Raises:
            SandboxUnavailable: inside, the interpreter has another ``sys.prefix`` or does not
                import its site-packages from the same place: every task would fail with
                ``ModuleNotFoundError`` and be scored as the model's error.
        """
        try:
            inside = json.loads(output.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise SandboxUnavailable(
                f"{backend}: the interpreter {self.executable} printed no answer to the "
                f"startup probe inside the sandbox: {output.strip()[-300:]!r}") from None
        if inside.get("prefix") != self.prefix or inside.get("origin") != self.origin:
            seen = inside.get("origin") or f"no {self.module}"
            raise SandboxUnavailable(
                f"{backend}: the interpreter {self.executable} does not see its own packages "
                f"inside the sandbox (sys.prefix {inside.get('prefix')} there, {self.prefix} "
                f"here; {seen} there, {self.origin} here): every task would fail to import")


@lru_cache(maxsize=8)
def resolve_interpreter(python: str) -> Interpreter:
    """Ask ``python`` where it and its packages live, with every symlink resolved.

    Raises:
        SandboxUnavailable: the interpreter does not run.
    """
    try:
        out = subprocess.run([python, "-I", "-c", _WHERE], capture_output=True, text=True,
                             timeout=60, check=True).stdout
        info = json.loads(out.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError) as exc:
        raise SandboxUnavailable(f"cannot run the interpreter {python}: {exc}") from exc
    executable = info["executable"] or python
    # Resolve the directories but keep the file's own name: a venv's bin/python is a symlink
    # to the base interpreter, and only its own path leads Python to the venv's pyvenv.cfg.
    real_exec = os.path.join(os.path.realpath(os.path.dirname(os.path.abspath(executable))),
                             os.path.basename(executable))
    paths = {os.path.realpath(p) for p in info["paths"] if p and os.path.exists(p)}
    paths |= {os.path.dirname(real_exec), os.path.dirname(os.path.realpath(real_exec))}
    # Keep only the outermost directories that /usr does not already cover.
    keep = sorted(p for p in paths if not p.startswith("/usr/") and p != "/usr")
    outer: list[str] = []
    for p in keep:
        if not any(p == o or p.startswith(o + "/") for o in outer):
            outer.append(p)
    return Interpreter(executable=real_exec, prefix=info["prefix"], paths=tuple(outer),
                       module=info["module"], origin=info["origin"])
