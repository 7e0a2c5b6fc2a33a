"""The default backend: bubblewrap namespaces around an unprivileged process.

Inside: a read-only view of /usr, /etc (secrets masked) and the interpreter's own directories;
a private, size-limited /tmp that is the only writable place; no network (a fresh network
namespace with loopback only); its own PID, IPC and UTS namespaces; a new session; the whole
namespace killed with its parent. The program runs under a uid of its own: when we are root,
``setpriv`` drops to a per-run uid with no capabilities; otherwise a user namespace maps our
own uid. The environment is built from scratch (see ``base_env``).
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import subprocess
import threading
from pathlib import Path

from sandbox import confine
from sandbox.backends.base import Launch, LocalSandbox, WarmLaunch
from sandbox.backends.environment import base_env, resolve_interpreter
from sandbox.backends.paths import (
    CONFINED_FILES,
    HARNESS,
    HARNESS_INSIDE,
    HF_INSIDE,
    INSIDE,
    SECRET_ETC_DIRS,
    SECRET_ETC_FILES,
    SYSTEM_DIRS,
    WARM_FILES,
    check_cache_readable,
    hf_cache_dir,
)
from sandbox.errors import SandboxUnavailable
from sandbox.types import Limits

__all__ = ["BwrapSandbox"]

log = logging.getLogger("sandbox")
#: the size of the /tmp that every warm run of one zygote shares
WARM_TMP_MB = 4096


_uid_lock = threading.Lock()
_uid_counter = itertools.count()
# Per-process block of uids so concurrent runs (here and in other processes) rarely share one:
# RLIMIT_NPROC counts per uid, and two programs under one uid could signal each other.
_UID_BASE = 200_000 + (os.getpid() % 1000) * 256


def _next_uid() -> int:
    with _uid_lock:
        return _UID_BASE + next(_uid_counter) % 256


class BwrapSandbox(LocalSandbox):
    """Run the harness under bubblewrap. Raises SandboxUnavailable where it cannot work."""

    name = "bwrap"

    def __init__(self, python: str | None = None, *, hf_cache: str | Path | bool | None = True,
                 bwrap: str | None = None, warm: bool | None = None,
                 preload: list[str] | None = None) -> None:
        super().__init__(python, warm=warm, preload=preload)
        self.bwrap = bwrap or shutil.which("bwrap")
        if not self.bwrap:
            raise SandboxUnavailable(
                "bubblewrap is not installed: `apt-get install bubblewrap` (or choose the "
                "docker backend; the process backend does not isolate)")
        self.root = os.geteuid() == 0
        self.setpriv = shutil.which("setpriv") if self.root else None
        if self.root and not self.setpriv:
            raise SandboxUnavailable("running as root needs setpriv (package util-linux) to "
                                     "drop privileges inside the sandbox")
        if hf_cache is True:
            self.hf_cache = hf_cache_dir()
        else:
            self.hf_cache = Path(hf_cache) if hf_cache else None
        if self.hf_cache is not None:
            check_cache_readable(self.hf_cache, uid_differs=self.root)
        self.interpreter = resolve_interpreter(self.python)
        self._probe()

    def _probe(self) -> None:
        """Fail now, with the reason, rather than on the first task."""
        launch = self._command(Limits(), probe=True)
        proc = subprocess.run(launch.argv, capture_output=True, text=True, timeout=60,
                              env=launch.env)
        if proc.returncode != 0 or not proc.stdout.strip():
            detail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise SandboxUnavailable(
                f"bubblewrap cannot create a sandbox here ({detail[0]}); on hosts that forbid "
                "user namespaces run as root, or use the docker backend")
        self.interpreter.check(proc.stdout, self.name)

    def _namespace(self, tmp_bytes: int, binds: list[tuple[str, str]], env: dict[str, str],
                   root_caps: list[str] | None = None) -> list[str]:
        """bubblewrap's arguments up to ``--``: the namespaces and the file system view."""
        args = [self.bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                "--unshare-cgroup-try", "--die-with-parent", "--new-session"]
        if not self.root:
            args += ["--unshare-user"]
        elif root_caps is not None:
            # the zygote as root: only what it needs to give each run a uid of its own and to
            # kill that run's processes
            args += ["--cap-drop", "ALL"]
            for cap in root_caps:
                args += ["--cap-add", cap]
        args += ["--ro-bind", "/usr", "/usr"]
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            host = Path("/") / name
            if host.is_symlink():
                args += ["--symlink", os.readlink(host), f"/{name}"]
            elif host.is_dir():
                args += ["--ro-bind", str(host), f"/{name}"]
        args += ["--ro-bind", "/etc", "/etc"]
        for rel in SECRET_ETC_FILES:
            if (Path("/etc") / rel).is_file():
                args += ["--ro-bind", "/dev/null", f"/etc/{rel}"]
        for rel in SECRET_ETC_DIRS:
            if (Path("/etc") / rel).is_dir():
                args += ["--tmpfs", f"/etc/{rel}"]
        args += ["--proc", "/proc", "--dev", "/dev",
                 "--perms", "1777", "--size", str(tmp_bytes), "--tmpfs", "/tmp"]
        made: set[str] = {"/", "/usr", "/etc", "/proc", "/dev", "/tmp"}
        binds = [(p, p) for p in self.interpreter.paths] + binds
        if self.hf_cache is not None:
            binds.append((str(self.hf_cache), HF_INSIDE))
        for src, dest in binds:
            # bubblewrap makes missing parents 0700; the unprivileged program must traverse them.
            parents = list(Path(dest).parents)[::-1][1:]
            for parent in parents:
                if str(parent) not in made:
                    args += ["--perms", "0755", "--dir", str(parent)]
                    made.add(str(parent))
            args += ["--ro-bind", src, dest]
            made.add(dest)
        args += ["--remount-ro", "/", "--chdir", "/tmp", "--clearenv"]
        for key, value in env.items():
            args += ["--setenv", key, value]
        args.append("--")
        return args

    def _command(self, limits: Limits, probe: bool = False) -> Launch:
        env = base_env(HF_INSIDE if self.hf_cache is not None else None)
        args = self._namespace(limits.tmp_mb * 1024 * 1024, [(str(HARNESS), HARNESS_INSIDE)],
                               env)
        if self.root:
            uid = str(_next_uid())
            args += [self.setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
                     "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
        python = self.interpreter.executable
        if probe:
            args += [python, "-I", "-c", self.interpreter.probe]
        else:
            args += [python, "-I", "-u", HARNESS_INSIDE]
        return Launch(args, {"PATH": os.environ.get("PATH", "/usr/bin:/bin")})

    # -- warm: a zygote inside one bubblewrap sandbox, each run a confined child of it

    def _warm_launch(self, preload: list[str]) -> WarmLaunch | None:
        abi = confine.landlock_abi()
        if abi < confine.MIN_ABI:
            # siblings in one namespace are kept apart by each child's own Landlock domain
            log.warning("sandbox: bwrap runs cold: warm children need Landlock ABI %d to be "
                        "kept apart from each other (this kernel: %d)", confine.MIN_ABI, abi)
            return None
        home = "/tmp/.aicoder-zygote"
        env = base_env(HF_INSIDE if self.hf_cache is not None else None)
        env.update(HOME=home, TMPDIR=home, HF_HOME=f"{home}/hf-home")
        binds = [(str(path), f"{INSIDE}/{path.name}") for path in WARM_FILES]
        # every warm run shares this /tmp (each writes only its own directory in it)
        args = self._namespace(WARM_TMP_MB * 1024 * 1024, binds, env,
                               root_caps=["CAP_SETUID", "CAP_SETGID", "CAP_KILL"])
        args += [self.interpreter.executable, "-I", "-u", f"{INSIDE}/zygote.py", "{}"]
        read_only = [p for p in SYSTEM_DIRS if os.path.exists(p)]
        read_only += confine.allowed_except("/etc", [*SECRET_ETC_FILES, *SECRET_ETC_DIRS])
        read_only += [*self.interpreter.paths, INSIDE]
        if self.hf_cache is not None:
            read_only.append(HF_INSIDE)
        # parent None: in its own PID namespace the zygote cannot see us (bubblewrap's
        # --die-with-parent ends it with us instead)
        spec = {"preload": preload, "runs_root": "/tmp", "home": home, "env": env,
                "harness": HARNESS_INSIDE, "parent": None,
                "confine": {"read_only": read_only, "files": CONFINED_FILES, "abi": abi}}
        return WarmLaunch(args, spec, {"PATH": os.environ.get("PATH", "/usr/bin:/bin")})

    def _warm_request(self, limits: Limits) -> tuple[dict, Limits]:
        if self.root:  # a uid of the run's own: RLIMIT_NPROC counts only its processes
            return {"limits": limits.model_dump(), "max_processes": limits.processes,
                    "uid": _next_uid()}, limits
        # one uid for the zygote and every run (a user namespace maps ours): the run's share
        # goes on top of what the uid runs now, as in the landlock backend
        inner = limits.model_copy(
            update={"processes": confine.uid_tasks(os.getuid()) + limits.processes})
        return {"limits": inner.model_dump(), "max_processes": limits.processes,
                "uid": None}, inner
