"""The warm zygote: an interpreter that has imported the libraries tasks use, and forks one
fresh, confined child per run. Standard library only; it runs inside the backend's isolation
(bubblewrap's namespaces, or the landlock backend's plain process) as
``python -I -u zygote.py SPEC_JSON``, next to ``confine.py`` and ``harness.py``.

What it holds: the preloaded modules, and nothing secret. The nonce and the program never pass
through it: for each run the app sends it three pipe ends (the run's stdin, stdout and stderr)
over the control socket, and writes the request into that stdin itself.

Control protocol (a ``SOCK_SEQPACKET`` socket, one JSON object per message):

* zygote -> app, once: ``{"e": "ready", "pid", "loaded", "failed", "threads", "rss_kb"}``;
* app -> zygote: ``{"op": "run", "id", "limits", "max_processes", "uid"}`` with the three fds;
  the answer is ``{"e": "started", "id", "pid"}``, and when the run's launcher ends
  ``{"e": "exit", "id", "status"}`` (a wait status);
* app -> zygote: ``{"op": "kill", "id", "hard"}``: SIGTERM to the run's launcher, which kills
  the program's whole tree (``confine.supervise``); ``hard`` SIGKILLs the launcher, and where
  the run has a uid of its own every process of that uid;
* the app closing its end: the zygote kills every launcher and exits.

Each run is a launcher forked from the zygote (``confine.supervise``: child subreaper, process
count, kill of every descendant at the end), and under it the program's process, which:
confines itself exactly as a cold landlock run does (a uid of its own where the zygote is root,
no new privileges, Landlock with only its own run directory writable and only its own /proc,
seccomp, rlimits); takes the run's environment, with ``HOME``/``TMPDIR`` its own directory;
reseeds the random generators the zygote imported; and runs the harness in place. Nothing it
does reaches the zygote or a sibling: each is a copy-on-write fork that ends with its run.
"""

from __future__ import annotations

import ctypes
import gc
import importlib
import json
import os
import select
import signal
import socket
import sys
import tempfile
import time


def _load(name: str):
    """The file ``name``.py next to this one, imported by path: its folder on sys.path could
    shadow the standard library (the package folder holds a ``types.py``)."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name + ".py")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


confine = _load("confine")
harness = _load("harness")

_MAX_MESSAGE = 1 << 20
#: set while the zygote imports its preload list: no library starts a thread pool.
#: OPENBLAS_THREAD_TIMEOUT: the BLAS threads a child starts again (``_restore_blas``) sleep
#: after 2**4 cycles of waiting instead of the default 2**28; spinning, they cost an empty
#: run ~45 ms of CPU (children's user time per run: 54.6 ms → 9.2 ms)
_NO_POOLS = {"OPENBLAS_NUM_THREADS": "1", "OPENBLAS_THREAD_TIMEOUT": "4",
             "JE_ARROW_MALLOC_CONF": "background_thread:false"}


def _send(ctl: socket.socket, message: dict) -> None:
    try:
        ctl.send(json.dumps(message).encode())
    except OSError:
        pass  # the app is gone: the next recv ends the loop


def _preload(names: list[str]) -> tuple[list[str], dict[str, str]]:
    """Import each ``module``, and for ``module:name`` get the name from it too (a library
    that imports lazily, as transformers does, loads the name's own modules only then)."""
    loaded, failed = [], {}
    for entry in names:
        module, _, attribute = entry.partition(":")
        try:
            imported = importlib.import_module(module)
            if attribute:
                getattr(imported, attribute)
            loaded.append(entry)
        except BaseException as exc:  # a library that fails to import is skipped, not fatal
            failed[entry] = f"{type(exc).__name__}: {exc}"[:300]
    return loaded, failed


def _home_refs(prefix: str) -> list[tuple[dict, str, object]]:
    """Module-level strings and paths the preloaded libraries computed from the zygote's own
    ``HOME``/``TMPDIR``/``HF_HOME`` at import (``huggingface_hub.constants.HF_HOME``,
    ``datasets.config.HF_DATASETS_CACHE`` ...): a child rebases them onto its own directory,
    as if it had imported the library under its own environment."""
    found = []
    for module in list(sys.modules.values()):
        namespace = getattr(module, "__dict__", None)
        if not isinstance(namespace, dict):
            continue
        for key, value in list(namespace.items()):
            if isinstance(value, str) and value.startswith(prefix):
                found.append((namespace, key, str))
            elif type(value).__name__ in ("PosixPath", "Path") and str(value).startswith(prefix):
                found.append((namespace, key, type(value)))
    return found


def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 0


def _thread_names() -> list[str]:
    names = []
    try:
        for tid in sorted(os.listdir("/proc/self/task")):
            with open(f"/proc/self/task/{tid}/comm") as fh:
                names.append(fh.read().strip())
    except OSError:
        pass
    return names


def _shared_writable() -> list[str]:
    """Writable shared mappings: memory a child would share with the zygote, and through it
    with every later child (the app refuses to run warm on such a zygote)."""
    found = []
    try:
        with open("/proc/self/maps") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) > 1 and parts[1][1] == "w" and parts[1][3] == "s":
                    found.append(" ".join(parts[5:]) or parts[0])
    except OSError:
        pass
    return found


def _openblas_libraries() -> list[str]:
    found = {}
    try:
        with open("/proc/self/maps") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) > 5 and "openblas" in os.path.basename(parts[5]).lower():
                    found[parts[5]] = None
    except OSError:
        pass
    return list(found)


def _restore_blas(libraries: list[str]) -> None:
    """Give OpenBLAS the thread count a cold run's starts with (it was loaded with one)."""
    if not libraries:
        return
    try:
        count = len(os.sched_getaffinity(0))
    except OSError:
        count = os.cpu_count() or 1
    for path in libraries:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for symbol in ("openblas_set_num_threads", "openblas_set_num_threads64_",
                       "scipy_openblas_set_num_threads", "scipy_openblas_set_num_threads64_"):
            setter = getattr(lib, symbol, None)
            if setter is not None:
                setter(ctypes.c_int(count))
                break


def _status_kb(field: str) -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _rss_kb() -> int:
    return _status_kb("VmRSS")


def _reseed() -> None:
    """Every child starts from the zygote's generator states: give each its own, as a fresh
    interpreter would have (``random`` reseeds itself after a fork)."""
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        try:
            numpy.random.seed()
        except Exception:
            pass
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            torch.random.default_generator.seed()
        except Exception:
            pass


def _program(spec: dict, refs: list, prefix: str, blas: list[str]) -> None:
    """In the program's process: confine, take the run's environment, run the harness."""
    confine.confine_self(spec)
    _restore_blas(blas)
    workdir = spec["workdir"]
    os.environ.clear()
    os.environ.update(spec["env"])
    for namespace, key, kind in refs:
        value = str(namespace.get(key, ""))
        if value.startswith(prefix):
            namespace[key] = kind(workdir + value[len(prefix):])
    tempfile.tempdir = None  # gettempdir() caches its answer: find TMPDIR again
    _reseed()
    sys.argv = [spec["harness"]]
    harness.main([])  # ends the process itself (os._exit) once the verdict is out
    os._exit(0)


def _kill_uid(uid: int) -> None:
    """SIGKILL every process of ``uid`` (a run's own uid): kill(-1) from a helper of that uid
    reaches exactly its processes."""
    helper = os.fork()
    if helper == 0:
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            for _ in range(50):
                try:
                    os.kill(-1, signal.SIGKILL)
                except ProcessLookupError:
                    break
                time.sleep(0.01)
        finally:
            os._exit(0)
    try:
        os.waitpid(helper, 0)
    except ChildProcessError:
        pass


def _children(me: int) -> set[int]:
    try:
        with open(f"/proc/{me}/task/{me}/children") as fh:
            return {int(p) for p in fh.read().split()}
    except (OSError, ValueError):
        return set()


def _kill_orphans(me: int, launchers: dict) -> None:
    """Kill every child of the zygote that is not a launcher. The zygote is a child
    subreaper: a process of a run whose launcher died first (SIGKILLed when it took too long
    to kill a fork bomb on a busy machine) comes here, not to the app, and its own children
    come here as it dies; so the sweep repeats until only launchers are left."""
    for _ in range(1000):
        orphans = _children(me) - set(launchers)
        if not orphans:
            return
        for pid in orphans:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in orphans:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])
    # the app gone, the zygote goes (each launcher then kills its run's tree: its own
    # parent-death signal)
    confine._libc.prctl(confine._PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    # what outlives a run's launcher is reparented here, where _kill_orphans ends it
    confine._libc.prctl(confine._PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    if spec.get("parent") is not None and os.getppid() != spec["parent"]:
        return 1  # the app ended before the parent-death signal was set
    ctl = socket.socket(fileno=int(spec["control_fd"]))
    os.makedirs(spec["runs_root"], exist_ok=True)
    # libraries read their settings at import (huggingface_hub's HF_HUB_OFFLINE, HF_HOME ...):
    # import them under the environment every run gets, never the launching process's
    # and with no thread pool started: OpenBLAS (numpy's, scipy's) starts its workers at load,
    # pyarrow's jemalloc a purging thread; a child restarts BLAS's (_restore_blas)
    os.environ.clear()
    os.environ.update(spec["env"])
    os.environ.update(_NO_POOLS)
    os.makedirs(spec["home"], exist_ok=True)
    loaded, failed = _preload(spec.get("preload", []))
    for key in _NO_POOLS:
        os.environ.pop(key, None)
    prefix = spec["home"]
    refs = _home_refs(prefix)
    blas = _openblas_libraries()
    harness.PRESNAPSHOT = (harness._class_snapshot(), harness._modules_mark())
    gc.collect()
    gc.freeze()  # what the zygote made stays out of every child's collections: fewer copied pages
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.set_wakeup_fd(wake_w)
    me = os.getpid()
    sys.stdout.flush()
    sys.stderr.flush()
    _send(ctl, {"e": "ready", "pid": me, "loaded": loaded, "failed": failed,
                "threads": _threads(), "thread_names": _thread_names(), "rss_kb": _rss_kb(),
                "data_kb": _status_kb("VmData"),
                "shared_writable": _shared_writable()})
    launchers: dict[int, tuple[int, int | None]] = {}  # launcher pid -> (run id, run uid)
    by_id: dict[int, int] = {}
    counter = 0
    try:
        while True:
            ready, _, _ = select.select([ctl, wake_r], [], [])
            if wake_r in ready:
                os.read(wake_r, 4096)
                ended = []
                while True:
                    try:
                        pid, status = os.waitpid(-1, os.WNOHANG)
                    except ChildProcessError:
                        break
                    if pid == 0:
                        break
                    run_id, _uid = launchers.pop(pid, (None, None))
                    if run_id is not None:
                        by_id.pop(run_id, None)
                        ended.append((run_id, status))
                # a run is over once nothing of it is left, even what outlived its launcher
                _kill_orphans(me, launchers)
                for run_id, status in ended:
                    _send(ctl, {"e": "exit", "id": run_id, "status": status})
            if ctl not in ready:
                continue
            try:
                data, fds, _flags, _addr = socket.recv_fds(ctl, _MAX_MESSAGE, 3)
            except OSError:
                data, fds = b"", []
            if not data:
                return 0
            try:
                message = json.loads(data)
            except ValueError:
                for fd in fds:
                    os.close(fd)
                continue
            op = message.get("op")
            if op == "run" and len(fds) == 3:
                counter += 1
                run_id = message["id"]
                run = {**spec["confine"], "limits": message["limits"],
                       "max_processes": message["max_processes"], "uid": message.get("uid"),
                       "workdir": os.path.join(spec["runs_root"], f"run-{counter}"),
                       "make_workdir": True, "parent": me, "harness": spec["harness"]}
                run["env"] = {**spec["env"], "HOME": run["workdir"], "TMPDIR": run["workdir"],
                              "HF_HOME": os.path.join(run["workdir"], "hf-home")}
                pid = os.fork()
                if pid == 0:
                    code = 125
                    try:
                        signal.set_wakeup_fd(-1)
                        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                        for target, fd in enumerate(fds):
                            os.dup2(fd, target)
                        os.closerange(3, 1 << 16)
                        code = confine.supervise(run, lambda run=run: _program(run, refs, prefix, blas))
                    except BaseException as exc:
                        try:
                            os.write(2, f"aicoder-zygote: the run could not start: {exc}\n"
                                        .encode())
                        except OSError:
                            pass
                    os._exit(code)
                for fd in fds:
                    os.close(fd)
                launchers[pid] = (run_id, message.get("uid"))
                by_id[run_id] = pid
                _send(ctl, {"e": "started", "id": run_id, "pid": pid})
            else:
                for fd in fds:
                    os.close(fd)
                if op == "kill" and message.get("id") in by_id:
                    pid = by_id[message["id"]]
                    try:
                        os.kill(pid, signal.SIGKILL if message.get("hard") else signal.SIGTERM)
                    except ProcessLookupError:
                        pass
                    uid = launchers.get(pid, (None, None))[1]
                    if message.get("hard") and uid is not None:
                        _kill_uid(uid)
                elif op == "ping":
                    _send(ctl, {"e": "pong", "threads": _threads(), "rss_kb": _rss_kb(),
                                "runs": len(launchers)})
    finally:
        for pid in list(launchers):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
