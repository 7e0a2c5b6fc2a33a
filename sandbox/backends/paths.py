"""Where things are, inside and outside a sandbox: the harness, the HuggingFace cache, and the
files under /etc that no program may read."""

from __future__ import annotations

import os
from pathlib import Path

from sandbox.errors import SandboxUnavailable

__all__ = ["CONFINED_FILES", "HARNESS", "HARNESS_INSIDE", "HF_INSIDE", "INSIDE", "SECRET_ETC_DIRS",
           "SECRET_ETC_FILES", "SYSTEM_DIRS", "WARM_FILES", "check_cache_readable",
           "hf_cache_dir"]

_PACKAGE = Path(__file__).resolve().parent.parent
HARNESS = _PACKAGE / "harness.py"
INSIDE = "/opt/aicoder"  # where isolated backends mount the files they run
HARNESS_INSIDE = f"{INSIDE}/harness.py"
#: what a warm zygote runs, all standard library only: the zygote, the confinement each child
#: applies, and the harness
WARM_FILES = (_PACKAGE / "zygote.py", _PACKAGE / "confine.py", HARNESS)

#: the read-only system trees a confined program may read and execute
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
#: files outside those trees that Python and its libraries read (or write, /dev/null), and
#: the Landlock rights a confined program has on each
CONFINED_FILES = {
    "/dev/null": ["READ_FILE", "WRITE_FILE"],
    "/dev/zero": ["READ_FILE"],
    "/dev/urandom": ["READ_FILE"],
    "/dev/random": ["READ_FILE"],
    "/proc/cpuinfo": ["READ_FILE"],
    "/proc/meminfo": ["READ_FILE"],
    "/proc/stat": ["READ_FILE"],
    "/sys/devices/system/cpu": ["READ_FILE", "READ_DIR"],
    "/sys/fs/cgroup/cpu.max": ["READ_FILE"],
}
HF_INSIDE = "/opt/hf-cache"  # where isolated backends mount the HuggingFace cache

# Files under /etc that a program has no business reading, masked with /dev/null.
SECRET_ETC_FILES = ("shadow", "gshadow", "shadow-", "gshadow-", "sudoers",
                    "ssh/ssh_host_rsa_key", "ssh/ssh_host_ecdsa_key", "ssh/ssh_host_ed25519_key",
                    "machine-id")
SECRET_ETC_DIRS = ("sudoers.d", "ssl/private", "docker")


def hf_cache_dir() -> Path | None:
    """The HuggingFace hub cache of this host, as huggingface_hub resolves it, if it exists."""
    explicit = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if explicit:
        path = Path(explicit)
    else:
        home = os.environ.get("HF_HOME") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "huggingface")
        path = Path(home) / "hub"
    return path if path.is_dir() else None


def check_cache_readable(cache: Path, uid_differs: bool) -> None:
    """Refuse a cache the sandboxed uid cannot read, instead of failing inside every task.

    Raises:
        SandboxUnavailable: the cache directory is not world-readable and traversable.
    """
    if uid_differs and (cache.stat().st_mode & 0o005) != 0o005:
        raise SandboxUnavailable(
            f"the HuggingFace cache {cache} is not readable by other users, and the sandbox "
            f"runs under a uid of its own: `chmod -R a+rX {cache}` (or pass hf_cache=False)")
