"""The backend for unprivileged containers: Landlock + seccomp + rlimits, no namespaces.

A HuggingFace Space runs its image as uid 1000 under Docker's default seccomp profile, which
forbids the namespaces bubblewrap needs. This backend needs none: the program's process
confines itself (``sandbox/confine.py``) before it runs the harness. What it may touch:

* read and execute: ``/usr``, ``/lib*``, ``/bin``, ``/sbin``, ``/etc`` but its secrets (the
  files and folders the other backends mask), the interpreter's real directories, the harness,
  the HuggingFace cache, a few device and CPU-information files;
* read and write: a fresh per-run directory, which is its cwd, ``HOME`` and ``TMPDIR``;
* ``/proc`` only for its own process (never ``/proc/<app pid>/environ``);
* no socket but AF_UNIX, no TCP bind or connect; no signal to, ptrace of or abstract socket
  of any process outside the sandbox; a process count just above what the uid runs now.

The uid is the app's, so the secrets a process of that uid can reach (``$HOME``, the app's
runs, its environment) are closed by Landlock, not by file permissions. Where we are root (a
developer's host), every capability is dropped too.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from sandbox import confine
from sandbox.backends.base import Launch, LocalSandbox, WarmLaunch
from sandbox.backends.environment import base_env, resolve_interpreter
from sandbox.backends.paths import (
    CONFINED_FILES,
    HARNESS,
    SECRET_ETC_DIRS,
    SECRET_ETC_FILES,
    SYSTEM_DIRS,
    WARM_FILES,
    hf_cache_dir,
)
from sandbox.errors import SandboxUnavailable
from sandbox.types import Limits

__all__ = ["LandlockSandbox"]

CONFINE = Path(confine.__file__).resolve()

class LandlockSandbox(LocalSandbox):
    """Confine the harness with Landlock, seccomp and rlimits under our own uid.

    Raises SandboxUnavailable where the kernel lacks Landlock ABI ``confine.MIN_ABI`` (signal
    scoping), or the architecture is not x86-64 (the seccomp filter's system call numbers).
    """

    name = "landlock"

    def __init__(self, python: str | None = None, *, hf_cache: str | Path | bool | None = True,
                 warm: bool | None = None, preload: list[str] | None = None) -> None:
        super().__init__(python, warm=warm, preload=preload)
        abi = confine.landlock_abi()
        if abi < confine.MIN_ABI:
            have = f"ABI {abi}" if abi else "no Landlock"
            raise SandboxUnavailable(
                f"the landlock backend needs Landlock ABI {confine.MIN_ABI} or newer (Linux "
                f"6.12: signal scoping, without which a program could kill the app); this "
                f"kernel offers {have} on {os.uname().machine}")
        self.abi = abi
        if hf_cache is True:
            self.hf_cache = hf_cache_dir()
        else:
            self.hf_cache = Path(hf_cache) if hf_cache else None
        self.interpreter = resolve_interpreter(self.python)
        secrets = [*SECRET_ETC_FILES, *SECRET_ETC_DIRS]
        read_only = [p for p in SYSTEM_DIRS if os.path.exists(p)] + confine.allowed_except(
            "/etc", secrets)
        read_only += list(self.interpreter.paths)
        if self.hf_cache is not None:
            read_only.append(str(self.hf_cache.resolve()))
        self.read_only = read_only
        self._probe()

    def _probe(self) -> None:
        """Confine the interpreter once now: fail with the reason rather than on a task."""
        launch = self._command(Limits(), probe=True)
        try:
            proc = subprocess.run(launch.argv, capture_output=True, text=True, timeout=60,
                                  env=launch.env, cwd=launch.cwd)
        finally:
            launch.cleanup()
        if proc.returncode != 0 or not proc.stdout.strip():
            detail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise SandboxUnavailable(f"the landlock backend cannot confine a program here: "
                                     f"{detail[0]}")
        self.interpreter.check(proc.stdout, self.name)

    def _command(self, limits: Limits, probe: bool = False) -> Launch:
        workdir = tempfile.mkdtemp(prefix="aicoder-landlock-")
        env = base_env(str(self.hf_cache) if self.hf_cache is not None else None)
        env.update(HOME=workdir, TMPDIR=workdir, HF_HOME=os.path.join(workdir, "hf-home"))
        python = self.interpreter.executable
        argv = ([python, "-I", "-c", self.interpreter.probe] if probe
                else [python, "-I", "-u", str(HARNESS)])
        # RLIMIT_NPROC counts every task of the uid, the app's threads and other runs included:
        # the program's share goes on top of what the uid runs now (the harness applies it too).
        inner = limits if os.getuid() == 0 else limits.model_copy(
            update={"processes": confine.uid_tasks(os.getuid()) + limits.processes})
        spec = {"workdir": workdir, "read_only": self.read_only,
                "files": {**CONFINED_FILES, str(HARNESS): ["READ_FILE"]}, "abi": self.abi,
                "argv": argv, "env": env, "limits": inner.model_dump(), "parent": os.getpid(),
                "max_processes": limits.processes}
        return Launch([sys.executable, "-I", str(CONFINE), json.dumps(spec)],
                      {"PATH": "/usr/bin:/bin"}, workdir,
                      cleanup=lambda: shutil.rmtree(workdir, ignore_errors=True), limits=inner)

    def _kill(self, proc: subprocess.Popen) -> None:
        """Ask the launcher to kill the program's whole tree (it knows every descendant, as
        their subreaper); a launcher that does not answer is killed with its group, and as
        root whatever is left in the run's pids cgroup after it (a fork bomb's children that
        left the group, on a machine too busy for the launcher to finish in time)."""
        if proc.poll() is None:
            try:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        super()._kill(proc)
        if os.geteuid() == 0:
            confine.kill_cgroup(confine.run_cgroup(proc.pid))

    # -- warm: a zygote under our uid, each run a child that confines itself as above

    def _warm_launch(self, preload: list[str]) -> WarmLaunch | None:
        root = tempfile.mkdtemp(prefix="aicoder-warm-")
        home = os.path.join(root, ".zygote")
        env = base_env(str(self.hf_cache) if self.hf_cache is not None else None)
        env.update(HOME=home, TMPDIR=home, HF_HOME=os.path.join(home, "hf-home"))
        zygote = str(WARM_FILES[0])
        spec = {"preload": preload, "runs_root": root, "home": home, "env": env,
                "harness": str(HARNESS),
                "confine": {"read_only": self.read_only,
                            "files": {**CONFINED_FILES, **{str(p): ["READ_FILE"]
                                                           for p in WARM_FILES}},
                            "abi": self.abi}}
        argv = [self.interpreter.executable, "-I", "-u", zygote, "{}"]
        after = None
        if os.geteuid() == 0:
            # as after a cold run: whatever a fork bomb left in the run's pids cgroup
            def after(pid: int | None) -> None:
                if pid is not None:
                    confine.kill_cgroup(confine.run_cgroup(pid))
        return WarmLaunch(argv, spec, {"PATH": "/usr/bin:/bin"}, root,
                          cleanup=lambda: shutil.rmtree(root, ignore_errors=True),
                          after_run=after)

    def _warm_request(self, limits: Limits) -> tuple[dict, Limits]:
        inner = limits if os.getuid() == 0 else limits.model_copy(
            update={"processes": confine.uid_tasks(os.getuid()) + limits.processes})
        return {"limits": inner.model_dump(), "max_processes": limits.processes,
                "uid": None}, inner
