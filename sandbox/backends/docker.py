"""The Docker backend: one container per run, for hosts with an engine.

The container has no network (``network_mode=none``), a read-only root, a private size-limited
/tmp, a memory limit without swap, a pids limit, no capabilities, ``no-new-privileges``, and
runs as ``nobody``. The environment is built from scratch (see ``base_env``).

Two ways to get an interpreter inside:

* ``image=None`` (default): a tiny local base image (made once with ``docker import``, no
  registry needed) with this host's /usr, /etc (secrets masked) and the interpreter's own
  directories mounted read-only — the same view the bubblewrap backend gives;
* ``image="name"``: an image that has its own Python (e.g. one built from the benchmark's
  environment file); only the harness and the HuggingFace cache are mounted.
"""

from __future__ import annotations

import io
import os
import secrets
import shutil
import tarfile
import tempfile
import threading
import time
from pathlib import Path

from sandbox.backends.base import SandboxBackend
from sandbox.backends.environment import base_env, resolve_interpreter
from sandbox.backends.paths import (
    HARNESS,
    HARNESS_INSIDE,
    HF_INSIDE,
    SECRET_ETC_DIRS,
    SECRET_ETC_FILES,
    check_cache_readable,
    hf_cache_dir,
)
from sandbox.backends.verdict import Outcome, request, verdict
from sandbox.capture import EventStream, HeadTail
from sandbox.errors import SandboxError, SandboxUnavailable
from sandbox.types import ExecutionResult, Limits, Program

__all__ = ["BASE_IMAGE", "DockerSandbox"]

BASE_IMAGE = "aicoder-sandbox-base:2"
_REQUEST_INSIDE = "/opt/aicoder-request"
_NOBODY = "65534:65534"


def _base_image_tar() -> bytes:
    """A root filesystem with nothing in it but mount points and the usr-merge links."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        def add_dir(name: str, mode: int = 0o755) -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, mode, 0
            tar.addfile(info)

        for name in ("usr", "etc", "opt", "opt/aicoder", "proc", "dev", "sys", "root", "home"):
            add_dir(name)
        add_dir("tmp", 0o1777)
        # /sbin stays a real directory: the engine mounts its init at /sbin/docker-init.
        add_dir("sbin")
        for name in ("bin", "lib", "lib32", "lib64", "libx32"):
            host = Path("/") / name
            if host.is_symlink():
                info = tarfile.TarInfo(name)
                info.type, info.linkname, info.mtime = tarfile.SYMTYPE, os.readlink(host), 0
                tar.addfile(info)
            elif host.is_dir():
                add_dir(name)
    return buf.getvalue()


class DockerSandbox(SandboxBackend):
    """Run the harness in a fresh container per run (there is no warm path: ``warm`` and
    ``preload`` are accepted, as every backend takes them, and have no effect)."""

    name = "docker"

    def __init__(self, python: str | None = None, *, image: str | None = None,
                 hf_cache: str | Path | bool | None = True, client=None,
                 warm: bool | None = None, preload: list[str] | None = None) -> None:
        try:
            import docker
        except ImportError as exc:  # pragma: no cover - docker is in requirements.txt
            raise SandboxUnavailable("the docker backend needs the docker package "
                                     "(pip install docker)") from exc
        try:
            self.client = client or docker.from_env(timeout=120)
            self.client.ping()
        except Exception as exc:
            raise SandboxUnavailable(
                f"no Docker engine answers ({exc.__class__.__name__}): start dockerd, or set "
                "DOCKER_HOST; or use the bwrap backend") from exc
        import sys

        self.image = image
        self.python = python or ("python3" if image else sys.executable)
        if hf_cache is True:
            self.hf_cache = hf_cache_dir()
        else:
            self.hf_cache = Path(hf_cache) if hf_cache else None
        if self.hf_cache is not None:
            check_cache_readable(self.hf_cache, uid_differs=True)  # the container runs as nobody
        self.interpreter = None if image else resolve_interpreter(self.python)
        if image is None:
            self._ensure_base_image()
        else:
            self._require_image(image)

    def _ensure_base_image(self) -> None:
        import docker.errors

        try:
            self.client.images.get(BASE_IMAGE)
        except docker.errors.ImageNotFound:
            repo, tag = BASE_IMAGE.split(":")
            self.client.api.import_image_from_data(_base_image_tar(), repository=repo, tag=tag)

    def _require_image(self, image: str) -> None:
        import docker.errors

        try:
            self.client.images.get(image)
        except docker.errors.ImageNotFound as exc:
            raise SandboxUnavailable(f"the Docker image {image!r} is not on this host: build it "
                                     "first (docker build -t NAME ...)") from exc

    def _mounts(self, request_dir: str) -> list:
        from docker.types import Mount

        def ro(src: str, dest: str) -> Mount:
            return Mount(target=dest, source=src, type="bind", read_only=True)

        mounts = [ro(str(HARNESS), HARNESS_INSIDE),
                  Mount(target=_REQUEST_INSIDE, source=request_dir, type="bind", read_only=False)]
        if self.hf_cache is not None:
            mounts.append(ro(str(self.hf_cache), HF_INSIDE))
        if self.image is None:
            mounts += [ro("/usr", "/usr"), ro("/etc", "/etc")]
            for rel in SECRET_ETC_FILES:
                if (Path("/etc") / rel).is_file():
                    mounts.append(ro("/dev/null", f"/etc/{rel}"))
            mounts += [ro(p, p) for p in self.interpreter.paths]
            for name in ("lib", "lib32", "lib64", "libx32", "bin"):
                host = Path("/") / name
                if host.is_dir() and not host.is_symlink():
                    mounts.append(ro(str(host), f"/{name}"))
        return mounts

    def run(self, program: Program, limits: Limits | None = None,
            cancel: threading.Event | None = None) -> ExecutionResult:
        limits = limits or Limits()
        nonce = secrets.token_hex(16)
        start = time.monotonic()
        request_dir = tempfile.mkdtemp(prefix="aicoder-docker-")
        try:
            # Only the harness reads the request (and deletes it before the program runs).
            os.chmod(request_dir, 0o777)
            req = Path(request_dir) / "request.json"
            req.write_bytes(request(program, limits, nonce, harden=self.harden))
            os.chmod(req, 0o644)
            outcome = self._run_container(request_dir, nonce, limits, cancel or threading.Event())
        finally:
            shutil.rmtree(request_dir, ignore_errors=True)
        outcome.duration_s = time.monotonic() - start
        return verdict(outcome, limits, self.name)

    def _run_container(self, request_dir: str, nonce: str, limits: Limits,
                       cancel: threading.Event) -> Outcome:
        import docker.errors

        container = None
        try:
            container = self._create(request_dir, limits)
            container.start()
        except docker.errors.DockerException as exc:
            if container is not None:
                container.remove(force=True)
            raise SandboxError(f"the Docker engine could not start a sandbox: {exc}") from exc
        return self._collect(container, nonce, limits, cancel)

    def _create(self, request_dir: str, limits: Limits):
        mib = 1024 * 1024
        tmpfs = {"/tmp": f"size={limits.tmp_mb}m,mode=1777"}
        for rel in SECRET_ETC_DIRS:
            if self.image is None and (Path("/etc") / rel).is_dir():
                tmpfs[f"/etc/{rel}"] = "size=1m"
        return self.client.containers.create(
            self.image or BASE_IMAGE,
            command=[self.interpreter.executable if self.interpreter else self.python, "-I", "-u",
                     HARNESS_INSIDE, f"{_REQUEST_INSIDE}/request.json"],
            environment=base_env(HF_INSIDE if self.hf_cache is not None else None),
            mounts=self._mounts(request_dir),
            tmpfs=tmpfs,
            working_dir="/tmp",
            user=_NOBODY,
            network_mode="none",
            read_only=True,
            mem_limit=limits.memory_mb * mib + 256 * mib,  # the harness's RLIMIT_DATA bites first
            memswap_limit=limits.memory_mb * mib + 256 * mib,
            pids_limit=limits.processes,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            ipc_mode="none",
            init=True,  # an init as pid 1 reaps the program's children and lets it get SIGXCPU
            labels={"aicoder.sandbox": "1"},
            detach=True,
        )

    def _collect(self, container, nonce: str, limits: Limits, cancel: threading.Event
                 ) -> Outcome:
        out_sink, err_sink = HeadTail(limits.output_bytes), HeadTail(limits.output_bytes)
        events = EventStream(nonce, out_sink)
        timed_out = cancelled = False
        exit_code = None
        note = ""
        try:
            readers = [self._pump(container, events, stdout=True),
                       self._pump(container, err_sink, stdout=False)]
            waited: dict = {}
            waiter = threading.Thread(target=self._wait, args=(container, limits, waited),
                                      daemon=True)
            waiter.start()
            deadline = time.monotonic() + limits.wall_s + 5
            while waiter.is_alive() and time.monotonic() < deadline:
                waiter.join(timeout=0.05)
                if cancel.is_set():
                    cancelled = True
                    break
            exit_code = waited.get("code")
            if exit_code is None and not cancelled:
                timed_out = True
            if exit_code is None:
                try:
                    container.kill()
                except Exception:  # it may have ended meanwhile
                    pass
            for reader in readers:
                reader.join(timeout=10)
            events.close()
            container.reload()
            if container.attrs.get("State", {}).get("OOMKilled"):
                note = "oom"
        finally:
            try:
                container.remove(force=True)
            except Exception:
                pass
        if exit_code is not None and exit_code > 128 and not note:
            exit_code = -(exit_code - 128)  # report signals the way subprocess does
        return Outcome(events=events.events, stdout=out_sink.text(), stderr=err_sink.text(),
                       stdout_bytes=out_sink.total, stderr_bytes=err_sink.total,
                       exit_code=exit_code, timed_out=timed_out, cancelled=cancelled,
                       note=note)

    @staticmethod
    def _wait(container, limits: Limits, into: dict) -> None:
        try:
            into["code"] = container.wait(timeout=limits.wall_s).get("StatusCode")
        except Exception:  # requests' ReadTimeout / ConnectionError: no exit code
            pass

    @staticmethod
    def _pump(container, sink, *, stdout: bool) -> threading.Thread:
        def run() -> None:
            try:
                for chunk in container.logs(stdout=stdout, stderr=not stdout, stream=True,
                                            follow=True):
                    sink.write(chunk)
            except Exception:
                pass

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        return thread


