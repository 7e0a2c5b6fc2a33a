"""Confine a program without namespaces or privileges: Landlock + seccomp + rlimits.

This is the launcher of the ``landlock`` backend, for hosts where bubblewrap cannot create
namespaces (a HuggingFace Space: uid 1000, Docker's default seccomp profile). Standard library
only; it runs as ``python -I confine.py SPEC_JSON`` with the harness's stdin/stdout/stderr.

The launcher makes itself a child subreaper, so that every descendant of the program, even one
that calls ``setsid`` and double-forks, stays its descendant; it forks the program's process,
which confines itself in this order before it runs the harness:

1. ``PR_SET_NO_NEW_PRIVS`` (and, where we are root, every capability dropped): nothing it
   executes gains privileges, which Landlock and seccomp also require.
2. Landlock (the highest ABI the kernel offers, at least ``MIN_ABI``): read and execute only
   under the read-only paths, read and write only under the run directory, ``/proc`` only for
   its own process; TCP bind and connect denied (ABI >= 4); signals to and abstract unix
   sockets of processes outside the sandbox denied (ABI >= 6).
3. seccomp: ``SYSCALLS_DENIED`` fail with EPERM, ``socket`` of any family and ``socketpair``
   of any but AF_UNIX fail with EAFNOSUPPORT, ``clone`` with a namespace flag fails with EPERM, ``clone3``
   with ENOSYS (its flags are out of a filter's reach; libc falls back to ``clone``), and any
   other architecture's system calls (i386, x32) kill the process.
4. rlimits: CPU, memory, file size, open files, no core; processes just above the uid's
   current count (the uid is shared with the app, so a fixed RLIMIT_NPROC would count the
   app's threads too).
5. ``execve`` of the harness.

Meanwhile the launcher counts the program's descendants and kills the excess past
``max_processes``; as root (whom RLIMIT_NPROC never holds) the program also goes into a pids
cgroup of its own capped at that count. When the program ends, on SIGTERM, or on any error of
the launcher's own, it kills every descendant that is left before it exits with the
program's status.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import platform
import resource
import signal
import stat
import struct
import sys
import time

__all__ = ["MIN_ABI", "SYSCALLS_DENIED", "allowed_except", "confine_self", "landlock_abi", "main",
           "supervise", "uid_tasks"]

#: signal and abstract-unix-socket scoping: without them a program under the app's uid could
#: kill the app or reach its sockets.
MIN_ABI = 6
#: how often the launcher counts the program's processes when nothing wakes it sooner
WATCHDOG_S = 0.1

_NR_LANDLOCK_CREATE_RULESET, _NR_LANDLOCK_ADD_RULE, _NR_LANDLOCK_RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1

# Landlock filesystem access rights, and the ABI that introduced each.
_FS = {
    "EXECUTE": (1 << 0, 1), "WRITE_FILE": (1 << 1, 1), "READ_FILE": (1 << 2, 1),
    "READ_DIR": (1 << 3, 1), "REMOVE_DIR": (1 << 4, 1), "REMOVE_FILE": (1 << 5, 1),
    "MAKE_CHAR": (1 << 6, 1), "MAKE_DIR": (1 << 7, 1), "MAKE_REG": (1 << 8, 1),
    "MAKE_SOCK": (1 << 9, 1), "MAKE_FIFO": (1 << 10, 1), "MAKE_BLOCK": (1 << 11, 1),
    "MAKE_SYM": (1 << 12, 1), "REFER": (1 << 13, 2), "TRUNCATE": (1 << 14, 3),
    "IOCTL_DEV": (1 << 15, 5),
}
_FILE_ONLY = ("EXECUTE", "WRITE_FILE", "READ_FILE", "TRUNCATE", "IOCTL_DEV")
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1  # ABI 4
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6

_PR_SET_PDEATHSIG = 1
_PR_CAPBSET_DROP = 24
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_CHILD_SUBREAPER = 36
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2

# x86_64 system call numbers denied, and why. Not listed (allowed): what a Python program and
# its libraries use. Landlock already confines files and signals; these are the kernel
# interfaces it does not cover, or that reach other processes or the kernel itself.
SYSCALLS_DENIED: dict[str, tuple[int, str]] = {
    "ptrace": (101, "read or write another process of the same uid (the app, other runs)"),
    "process_vm_readv": (310, "read another process's memory without ptrace"),
    "process_vm_writev": (311, "write another process's memory"),
    "kcmp": (312, "compare kernel objects of other processes (a side channel)"),
    "pidfd_getfd": (438, "steal a file descriptor of another process"),
    "process_madvise": (440, "act on another process's memory"),
    "bpf": (321, "load programs into the kernel"),
    "perf_event_open": (298, "kernel and CPU side channels"),
    "keyctl": (250, "the kernel keyring, shared by the uid's processes (tokens may live there)"),
    "add_key": (248, "the kernel keyring"),
    "request_key": (249, "the kernel keyring"),
    "userfaultfd": (323, "stall the kernel at will: the usual heap-exploit primitive"),
    "io_uring_setup": (425, "a second system-call interface that seccomp cannot see into"),
    "io_uring_enter": (426, "io_uring"),
    "io_uring_register": (427, "io_uring"),
    "mount": (165, "change the file system view"),
    "umount2": (166, "change the file system view"),
    "pivot_root": (155, "change the root"),
    "chroot": (161, "change the root"),
    "open_tree": (428, "the new mount API"),
    "move_mount": (429, "the new mount API"),
    "fsopen": (430, "the new mount API"),
    "fsconfig": (431, "the new mount API"),
    "fsmount": (432, "the new mount API"),
    "fspick": (433, "the new mount API"),
    "mount_setattr": (442, "the new mount API"),
    "unshare": (272, "new namespaces (a user namespace gives capabilities inside it)"),
    "setns": (308, "enter another process's namespaces"),
    "personality": (135, "turn off ASLR and other hardening for what it executes"),
    "name_to_handle_at": (303, "file handles: open_by_handle_at bypasses path checks"),
    "open_by_handle_at": (304, "open a file by handle, without a path Landlock could check"),
    "kexec_load": (246, "replace the kernel"),
    "kexec_file_load": (320, "replace the kernel"),
    "init_module": (175, "load a kernel module"),
    "finit_module": (313, "load a kernel module"),
    "delete_module": (176, "unload a kernel module"),
    "reboot": (169, "the machine"),
    "swapon": (167, "the machine's swap"),
    "swapoff": (168, "the machine's swap"),
    "acct": (163, "process accounting"),
    "quotactl": (179, "disk quotas"),
    "syslog": (103, "the kernel log (addresses that defeat KASLR)"),
    "iopl": (172, "direct hardware I/O"),
    "ioperm": (173, "direct hardware I/O"),
    "vhangup": (153, "hang up the terminal"),
    "lookup_dcookie": (212, "kernel profiling"),
}
_NR_SOCKET, _NR_SOCKETPAIR, _NR_CLONE, _NR_CLONE3, _NR_IOCTL = 41, 53, 56, 435, 16
_AF_UNIX = 1
_X32_BIT = 0x40000000
_AUDIT_ARCH_X86_64 = 0xC000003E
# CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET
_CLONE_NAMESPACES = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 \
    | 0x20000000 | 0x40000000
_TIOCSTI, _TIOCLINUX = 0x5412, 0x541C  # push input into a terminal; console ioctls

_RET_ALLOW = 0x7FFF0000
_RET_KILL_PROCESS = 0x80000000


def _ret_errno(code: int) -> int:
    return 0x00050000 | (code & 0xFFFF)


_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long
_libc.prctl.restype = ctypes.c_int


def _check(result: int, what: str) -> int:
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")
    return result


def landlock_abi() -> int:
    """The Landlock ABI version the kernel offers here; 0 where it has none."""
    if platform.machine() != "x86_64":
        return 0
    version = _libc.syscall(_NR_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0),
                            ctypes.c_uint32(_CREATE_RULESET_VERSION))
    return max(int(version), 0)


def _fs_rights(abi: int, names=None) -> int:
    return sum(bit for name, (bit, since) in _FS.items()
               if since <= abi and (names is None or name in names))


def _landlock(abi: int, read_only: list[str], read_write: list[str],
              files: dict[str, list[str]]) -> None:
    handled = _fs_rights(abi)
    net = (_NET_BIND_TCP | _NET_CONNECT_TCP) if abi >= 4 else 0
    scoped = (_SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL) if abi >= 6 else 0
    attr = struct.pack("=QQQ", handled, net, scoped)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    buf = ctypes.create_string_buffer(attr[:size], size)
    ruleset = _check(_libc.syscall(_NR_LANDLOCK_CREATE_RULESET, buf, ctypes.c_size_t(size),
                                   ctypes.c_uint32(0)), "landlock_create_ruleset")
    ro = _fs_rights(abi, ("EXECUTE", "READ_FILE", "READ_DIR"))
    rules = [(p, ro) for p in read_only] + [(p, handled) for p in read_write]
    rules += [(p, _fs_rights(abi, names)) for p, names in files.items()]
    try:
        for path, rights in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # a path this host does not have
            try:
                if not stat.S_ISDIR(os.fstat(fd).st_mode):
                    rights &= _fs_rights(abi, _FILE_ONLY)
                rule = ctypes.create_string_buffer(struct.pack("=Qi", rights, fd), 12)
                _check(_libc.syscall(_NR_LANDLOCK_ADD_RULE, ruleset, _RULE_PATH_BENEATH, rule,
                                     ctypes.c_uint32(0)), f"landlock_add_rule {path}")
            finally:
                os.close(fd)
        _check(_libc.syscall(_NR_LANDLOCK_RESTRICT_SELF, ruleset, ctypes.c_uint32(0)),
               "landlock_restrict_self")
    finally:
        os.close(ruleset)


def allowed_except(root: str, hidden: list[str]) -> list[str]:
    """The entries under ``root`` to allow so that all of it but ``hidden`` (paths relative to
    it) is reachable: a folder that holds a hidden path is not allowed whole, its other entries
    are (Landlock rules only add access, so an exception is made by leaving it out). Symbolic
    links are never rules themselves."""
    allowed: list[str] = []

    def walk(folder: str, hide: list[list[str]]) -> None:
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            return
        for name in names:
            inside = [h[1:] for h in hide if h[0] == name]
            path = os.path.join(folder, name)
            if any(not rest for rest in inside) or os.path.islink(path):
                # Hidden itself; or a link, which a rule would follow to its target (as
                # /proc/PID/root would to /): a link's target is checked when it is opened.
                continue
            if inside and os.path.isdir(path):
                walk(path, inside)
            else:
                allowed.append(path)

    walk(root, [h.split("/") for h in hidden])
    return allowed


def _filter() -> bytes:
    """The seccomp BPF program (see the module docstring)."""
    ld_nr, ld_arch, ld_arg0, ld_arg1 = (0x20, 0, 0, 0), (0x20, 0, 0, 4), (0x20, 0, 0, 16), \
        (0x20, 0, 0, 24)

    def jeq(k, jt, jf):
        return (0x15, jt, jf, k)

    def jset(k, jt, jf):
        return (0x45, jt, jf, k)

    def ret(k):
        return (0x06, 0, 0, k)

    prog = [ld_arch, jeq(_AUDIT_ARCH_X86_64, 1, 0), ret(_RET_KILL_PROCESS),
            ld_nr, jset(_X32_BIT, 0, 1), ret(_RET_KILL_PROCESS)]
    for nr, _why in SYSCALLS_DENIED.values():
        prog += [jeq(nr, 0, 1), ret(_ret_errno(errno.EPERM))]
    # No socket() at all: an AF_UNIX socket could connect() to any pathname socket the uid
    # may open (the app's, a daemon's: Landlock does not mediate connect), and one of any other
    # family is the network. socketpair() of AF_UNIX stays: two ends joined to each other only
    # (asyncio, multiprocessing.Pipe).
    prog += [jeq(_NR_SOCKET, 0, 1), ret(_ret_errno(errno.EAFNOSUPPORT))]
    prog += [jeq(_NR_SOCKETPAIR, 0, 4), ld_arg0, jeq(_AF_UNIX, 0, 1), ret(_RET_ALLOW),
             ret(_ret_errno(errno.EAFNOSUPPORT)), ld_nr]
    prog += [jeq(_NR_CLONE, 0, 4), ld_arg0, jset(_CLONE_NAMESPACES, 0, 1),
             ret(_ret_errno(errno.EPERM)), ret(_RET_ALLOW), ld_nr]
    prog += [jeq(_NR_CLONE3, 0, 1), ret(_ret_errno(errno.ENOSYS))]
    prog += [jeq(_NR_IOCTL, 0, 5), ld_arg1, jeq(_TIOCSTI, 1, 0), jeq(_TIOCLINUX, 0, 1),
             ret(_ret_errno(errno.EPERM)), ret(_RET_ALLOW)]
    prog.append(ret(_RET_ALLOW))
    return b"".join(struct.pack("=HBBI", *ins) for ins in prog)


def _seccomp() -> None:
    code = _filter()
    filt = ctypes.create_string_buffer(code, len(code))
    # struct sock_fprog { unsigned short len; struct sock_filter *filter; }
    fprog = struct.pack("=HxxxxxxQ", len(code) // 8, ctypes.addressof(filt))
    buf = ctypes.create_string_buffer(fprog, len(fprog))
    _check(_libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, buf, 0, 0), "seccomp")


def _drop_capabilities() -> None:
    """As root: no capability in any set, and none to regain (the uid stays 0)."""
    for cap in range(64):
        if _libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 and ctypes.get_errno() == errno.EINVAL:
            break
    header = struct.pack("=Ii", 0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = bytes(24)  # two {effective, permitted, inheritable} blocks, all zero
    _check(_libc.syscall(126, ctypes.create_string_buffer(header, 8),  # capset
                         ctypes.create_string_buffer(data, 24)), "capset")


def uid_tasks(uid: int) -> int:
    """The tasks (processes and threads) that RLIMIT_NPROC counts for ``uid`` now."""
    total = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status", "rb") as fh:
                fields = dict(line.split(b":", 1) for line in fh.read().splitlines()
                              if b":" in line)
        except OSError:
            continue
        if int(fields.get(b"Uid", b"-1").split()[0]) == uid:
            total += int(fields.get(b"Threads", b"1").strip() or 1)
    return total


def _rlimits(limits: dict) -> None:
    mib = 1024 * 1024

    def cap(res, soft, hard=None):
        hard = soft if hard is None else hard
        _, cur_hard = resource.getrlimit(res)
        if cur_hard != resource.RLIM_INFINITY:
            hard, soft = min(hard, cur_hard), min(soft, cur_hard)
        resource.setrlimit(res, (soft, hard))

    cap(resource.RLIMIT_CPU, int(limits["cpu_s"]), int(limits["cpu_s"]) + 2)
    cap(resource.RLIMIT_DATA, int(limits["memory_mb"]) * mib)
    cap(resource.RLIMIT_FSIZE, int(limits["file_size_mb"]) * mib)
    cap(resource.RLIMIT_NOFILE, int(limits["open_files"]))
    cap(resource.RLIMIT_CORE, 0)
    if os.getuid() != 0:  # the kernel never applies RLIMIT_NPROC to uid 0
        # the backend has added the uid's tasks at the start of the run to the program's share
        cap(resource.RLIMIT_NPROC, int(limits["processes"]))


def confine_self(spec: dict) -> None:
    """In the program's process: steps 1-4 of the module docstring, after which the process
    may run the harness (by ``execve``, or in place in a warm child)."""
    os.setsid()
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    uid = spec.get("uid")
    if uid is not None:
        # a warm child of a zygote that runs as root: a uid of the run's own, and with it
        # every capability gone (a change away from uid 0 clears them all)
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    if spec.get("make_workdir"):
        os.mkdir(spec["workdir"], 0o700)
    os.chdir(spec["workdir"])
    if os.geteuid() == 0:
        _drop_capabilities()
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
    pid = os.getpid()
    # its own /proc, but not its view of the network namespace (the app's sockets, routes)
    read_only = [*spec["read_only"],
                 *allowed_except(f"/proc/{pid}", ["net", f"task/{pid}/net"])]
    # the folders themselves may be listed (and opened, as a dir_fd): READ_DIR reaches the
    # names in net/, never what its files hold
    own = {p: ["READ_DIR"] for p in (f"/proc/{pid}", f"/proc/{pid}/task",
                                      f"/proc/{pid}/task/{pid}")}
    _landlock(spec["abi"], read_only, [spec["workdir"]], {**own, **spec["files"]})
    _seccomp()
    _rlimits(spec["limits"])
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)


def _confine_and_exec(spec: dict) -> None:
    """Confine this process, then ``execve`` the harness. Never returns."""
    confine_self(spec)
    os.execve(spec["argv"][0], spec["argv"], spec["env"])


def _descendants(root: int) -> list[int]:
    """Live (not zombie) descendants of ``root``, found through /proc."""
    parent: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as fh:
                stat = fh.read()
            fields = stat[stat.rindex(b")") + 2:].split()
            if fields[0] != b"Z":
                parent[int(name)] = int(fields[1])
        except (OSError, ValueError, IndexError):
            continue  # it ended while we read it
    found, frontier = [], {root}
    while frontier:
        frontier = {pid for pid, ppid in parent.items() if ppid in frontier}
        found += frontier
    return found


_PIDS_V1 = "/sys/fs/cgroup/pids"


def run_cgroup(launcher: int) -> str | None:
    """The pids cgroup a launcher with pid ``launcher``, started by this process, makes for its
    run (under the pids cgroup this process is in, which the launcher inherits); None where
    there is no writable pids hierarchy."""
    here = "/"
    try:
        with open("/proc/self/cgroup") as fh:
            for line in fh:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                if "pids" in controllers.split(","):
                    here = path
    except (OSError, ValueError):
        return None
    parent = os.path.join(_PIDS_V1, here.lstrip("/"))
    if not os.access(parent, os.W_OK):
        return None
    return os.path.join(parent, f"aicoder-run-{launcher}")


def kill_cgroup(path: str | None, timeout_s: float = 30.0) -> None:
    """SIGKILL every process of a run's cgroup until it is empty, then remove it: what the app
    does when the launcher could not (killed before it finished its own cleanup), so that no
    process of a run outlives it. The cgroup's cap bounds how many a fork bomb can make while
    this runs."""
    if path is None or not os.path.isdir(path):
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with open(os.path.join(path, "cgroup.procs")) as fh:
                pids = [int(line) for line in fh if line.strip()]
        except (OSError, ValueError):
            return
        if not pids:
            break
        _kill(pids)
        time.sleep(0.01)
    _remove_cgroup(path)


def _pids_cgroup(limit: int) -> str | None:
    """As root, RLIMIT_NPROC holds nothing (the kernel exempts uid 0): a pids cgroup of the
    run's own caps its process count instead (under the launcher's own pids cgroup, so that
    every limit above it holds too). None where no writable pids hierarchy exists."""
    if os.geteuid() != 0:
        return None
    path = run_cgroup(os.getpid())
    if path is None:
        return None
    try:
        os.mkdir(path)
        with open(os.path.join(path, "pids.max"), "w") as fh:
            fh.write(str(limit))
    except OSError:
        return None
    return path


def _remove_cgroup(path: str | None) -> None:
    if path is None:
        return
    for _ in range(100):
        try:
            os.rmdir(path)
            return
        except OSError:
            time.sleep(0.01)  # the last killed processes are still leaving it


def _reap() -> list[tuple[int, int]]:
    ended = []
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return ended
        if pid == 0:
            return ended
        ended.append((pid, status))


def _kill(pids: list[int]) -> int:
    killed = 0
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
            killed += 1
        except ProcessLookupError:
            pass
    return killed


def _kill_all(me: int, group: int) -> None:
    """SIGKILL every descendant until none is left. The program's process group goes first,
    at once (the kernel kills a group atomically with respect to fork); then whatever left it
    with setsid or setpgid, one by one, until a scan finds nothing."""
    try:
        os.killpg(group, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    while True:
        _reaped.extend(_reap())
        targets = _descendants(me)
        if not targets:
            return
        _kill(targets)


_reaped: list[tuple[int, int]] = []


def _remove_workdir(path: str, uid: int | None) -> None:
    """Remove a run directory the program made. Where the run has a uid of its own, the
    launcher takes that uid first, so that it needs no right over other users' files: this is
    the last thing a launcher does, once every process of the run is dead (no fork: a warm
    launcher is a copy of a zygote of hundreds of MB, and a fork of it costs milliseconds)."""
    import shutil

    if uid is not None:
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
        except OSError:
            return
    shutil.rmtree(path, ignore_errors=True)


def main(argv: list[str]) -> int:
    """The cold launcher: ``python -I confine.py SPEC_JSON``; the program ``execve``s the
    harness named in the spec."""
    spec = json.loads(argv[0])
    return supervise(spec, lambda: _confine_and_exec(spec))


def supervise(spec: dict, start) -> int:
    """Be the launcher of one run: fork the program's process, which calls ``start()`` (it
    confines itself and runs the harness, and never returns), watch it and its descendants,
    and kill every one of them when it ends, on SIGTERM, or on any error. Returns the
    program's exit status, as a shell gives it (128 + signal for a kill)."""
    me = os.getpid()
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    _check(_libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "child subreaper")
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # SIGCHLD and SIGTERM are taken with sigtimedwait: the launcher wakes the moment the
    # program ends or the app asks it to stop, and polls only as a watchdog.
    waited = {signal.SIGCHLD, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, waited)
    stop = False
    if os.getppid() != spec["parent"]:
        return 1  # the app died before PR_SET_PDEATHSIG was in place
    cap = int(spec["max_processes"])
    cgroup = _pids_cgroup(cap)
    child = os.fork()
    if child == 0:
        try:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, waited)  # a mask survives exec
            if cgroup is not None:
                with open(os.path.join(cgroup, "cgroup.procs"), "w") as fh:
                    fh.write("0")
            start()
        except BaseException as exc:
            os.write(2, f"aicoder-confine: cannot confine the harness: {exc}\n".encode())
        os._exit(126)
    status = None
    excess_killed = 0
    try:
        while not stop:
            for pid, st in [*_reaped, *_reap()]:
                if pid == child:
                    status = st
            _reaped.clear()
            if status is not None:
                break
            live = _descendants(me)
            if len(live) > cap:
                # one pass, the program's own process kept: it goes on (or times out) with
                # fewer processes; the watchdog comes back within WATCHDOG_S
                excess_killed += _kill([p for p in live if p != child][: len(live) - cap])
            info = signal.sigtimedwait(waited, WATCHDOG_S)
            stop = info is not None and info.si_signo == signal.SIGTERM
    finally:
        # whatever happened here, nothing the program started outlives the launcher
        _kill_all(me, child)
        _remove_cgroup(cgroup)
        if spec.get("make_workdir"):
            _remove_workdir(spec["workdir"], spec.get("uid"))
    if excess_killed:
        os.write(2, f"aicoder-confine: killed {excess_killed} processes past the limit of "
                    f"{cap}\n".encode())
    if status is None:
        return 128 + signal.SIGTERM
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        signal.signal(sig, signal.SIG_DFL)
        os.kill(me, sig)
        return 128 + sig
    return os.WEXITSTATUS(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
