"""Attacks that matter when the program runs under the app's own uid (the landlock backend in a
Space): the app's environment, signals and ptrace, its runs directory, its Hub token, its
sockets, and a fork bomb that leaves the session. Each runs on every isolating backend.

The "app" is a process of the test's own (same uid), started with a planted secret in its
environment, a unix socket in its runs directory and a loopback listener; every check that the
attack failed is made from outside the sandbox as well.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sandbox import Limits, Program, Status

APP = """
import os, socket, sys, time
runs = sys.argv[1]
unix = socket.socket(socket.AF_UNIX)
unix.bind(os.path.join(runs, 'app.sock'))
unix.listen(8)
tcp = socket.socket()
tcp.bind(('127.0.0.1', 0))
tcp.listen(8)
unix.setblocking(False)
tcp.setblocking(False)
print(tcp.getsockname()[1], flush=True)
accepted = 0
while True:
    for server in (unix, tcp):
        try:
            server.accept()
            accepted += 1
            open(os.path.join(runs, 'accepted'), 'w').write(str(accepted))
        except BlockingIOError:
            pass
    time.sleep(0.01)
"""


@pytest.fixture
def app(tmp_path):
    """A stand-in for the app: a secret in its environment, a runs folder with a socket in it,
    a loopback port; the HuggingFace token file in a HOME of its own."""
    runs = tmp_path / "runs"
    runs.mkdir()
    (runs / "report.json").write_text("{}")
    home = tmp_path / "home"
    (home / ".cache" / "huggingface").mkdir(parents=True)
    token = "hf_" + secrets.token_hex(12)
    (home / ".cache" / "huggingface" / "token").write_text(token)
    proc = subprocess.Popen([sys.executable, "-c", APP, str(runs)], stdout=subprocess.PIPE,
                            text=True, env={"PATH": os.environ.get("PATH", ""),
                                            "HF_TOKEN": token, "HOME": str(home)})
    port = int(proc.stdout.readline())
    yield {"pid": proc.pid, "proc": proc, "token": token, "runs": runs, "home": home,
           "port": port}
    proc.kill()
    proc.wait()


def _run(sandbox, candidate: str, limits: Limits = Limits(wall_s=30)):
    test = "def test_attack():\n    assert attack() != []\n"
    return sandbox.run(Program(candidate=candidate, test=test, entry="test_attack"), limits)


def test_the_apps_environment_and_token_stay_secret(isolated, app):
    token_file = app["home"] / ".cache" / "huggingface" / "token"
    cand = (
        "import os, glob\n"
        "def attack():\n"
        "    seen = []\n"
        f"    paths = [f'/proc/{app['pid']}/environ', f'/proc/{app['pid']}/cmdline',\n"
        f"             f'/proc/{os.getpid()}/environ', {str(token_file)!r},\n"
        "             os.path.expanduser('~/.cache/huggingface/token')]\n"
        "    paths += glob.glob('/proc/[0-9]*/environ')\n"
        "    for path in paths:\n"
        "        try:\n"
        "            text = open(path, 'rb').read().decode(errors='ignore')\n"
        f"            if {app['token']!r} in text:\n"
        "                seen.append(path)\n"
        "        except OSError:\n"
        "            pass\n"
        "    return seen\n"
    )
    result = _run(isolated, cand)
    assert result.status is Status.FAILED, (result.reason, result.checks)
    assert app["token"] not in result.stdout + result.stderr


def test_the_app_cannot_be_signalled_or_traced(isolated, app):
    """Judged by the effects: the app is alive, neither stopped nor traced, afterwards. (A
    kill of the app's whole process group may return 0 in a container, where its init
    shares the group and drops the signal, without reaching the app.)"""
    cand = (
        "import ctypes, os, signal, time\n"
        "def gone(pid):\n"
        "    try:\n"
        "        os.kill(pid, 0)\n"
        "    except ProcessLookupError:\n"
        "        return True\n"
        "    except OSError:\n"
        "        pass\n"
        "    return False\n"
        "def attack():\n"
        "    done = []\n"
        f"    pid = {app['pid']}\n"
        "    for sig in (signal.SIGSTOP, signal.SIGTERM, signal.SIGKILL):\n"
        "        try:\n"
        "            os.kill(pid, sig)\n"
        "            done.append(('kill', sig))\n"
        "        except OSError:\n"
        "            pass\n"
        "    libc = ctypes.CDLL(None, use_errno=True)\n"
        "    if libc.ptrace(16, pid, 0, 0) == 0:  # PTRACE_ATTACH\n"
        "        done.append('ptrace')\n"
        "    try:\n"
        "        with open(f'/proc/{pid}/mem', 'rb') as fh:\n"
        "            done.append(('mem', fh.read(1)))\n"
        "    except OSError:\n"
        "        pass\n"
        "    try:\n"
        "        os.killpg(os.getpgid(pid), signal.SIGKILL)\n"
        "        time.sleep(0.2)\n"
        "        if gone(pid):\n"
        "            done.append('killpg')\n"
        "    except OSError:\n"
        "        pass\n"
        "    return done\n"
    )
    isolated.harden = False  # the OS layer on its own: the harness would refuse ctypes first
    try:
        result = _run(isolated, cand)
    finally:
        isolated.harden = True
    assert result.status is Status.FAILED, (result.reason, result.checks)
    assert app["proc"].poll() is None, "the app died"
    state = Path(f"/proc/{app['pid']}/stat").read_text().rsplit(")", 1)[1].split()[0]
    assert state in ("S", "R"), f"the app is {state} (stopped or traced)"
    tracer = [line for line in Path(f"/proc/{app['pid']}/status").read_text().splitlines()
              if line.startswith("TracerPid:")]
    assert tracer == ["TracerPid:\t0"]


def test_the_apps_runs_and_sockets_are_out_of_reach(isolated, app):
    runs = app["runs"]
    cand = (
        "import os, socket\n"
        "def attack():\n"
        "    done = []\n"
        f"    runs = {str(runs)!r}\n"
        "    for name in ('report.json', 'planted.json'):\n"
        "        try:\n"
        "            with open(os.path.join(runs, name), 'w') as fh:\n"
        "                fh.write('forged')\n"
        "            done.append(name)\n"
        "        except OSError:\n"
        "            pass\n"
        "    try:\n"
        "        done.append(os.listdir(runs))\n"
        "    except OSError:\n"
        "        pass\n"
        "    for family, address in ((socket.AF_UNIX, os.path.join(runs, 'app.sock')),\n"
        f"                            (socket.AF_INET, ('127.0.0.1', {app['port']}))):\n"
        "        try:\n"
        "            s = socket.socket(family)\n"
        "            s.settimeout(2)\n"
        "            s.connect(address)\n"
        "            done.append(address)\n"
        "        except OSError:\n"
        "            pass\n"
        "    return done\n"
    )
    result = _run(isolated, cand)
    assert result.status is Status.FAILED, (result.reason, result.checks)
    assert (runs / "report.json").read_text() == "{}"
    assert not (runs / "planted.json").exists()
    time.sleep(0.1)  # the app accepts within 10 ms: give a connection that got through time
    assert not (runs / "accepted").exists(), "the app accepted a connection from the program"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def test_daemons_that_leave_the_session_are_killed(landlock):
    """Children that setsid and double-fork (daemons) are still the run's: none outlives it.
    (Under bubblewrap and docker the whole pid namespace goes; here, without one, the
    launcher is their subreaper and kills each by pid.)"""
    cand = (
        "import os, time\n"
        "def attack():\n"
        "    pids = []\n"
        "    for _ in range(20):\n"
        "        r, w = os.pipe()\n"
        "        if os.fork() == 0:\n"
        "            os.setsid()\n"
        "            if os.fork() == 0:\n"
        "                os.write(w, str(os.getpid()).encode().ljust(16))\n"
        "                time.sleep(600)\n"
        "            os._exit(0)\n"
        "        pids.append(int(os.read(r, 16)))\n"
        "    print('daemons', *pids)\n"
        "    return pids\n"
    )
    test = "def test_attack():\n    assert attack() == []\n"
    result = landlock.run(Program(candidate=cand, test=test, entry="test_attack"),
                          Limits(wall_s=30))
    assert result.status is Status.FAILED, (result.reason, result.checks)
    line = next(x for x in result.stdout.splitlines() if x.startswith("daemons"))
    pids = [int(x) for x in line.split()[1:]]
    assert len(pids) == 20
    assert [p for p in pids if _alive(p)] == []


def test_a_fork_bomb_that_leaves_the_session_is_contained(isolated):
    cand = ("import os\n"
            "def attack():\n"
            "    while True:\n"
            "        try:\n"
            "            if os.fork() == 0:\n"
            "                os.setsid()\n"
            "        except OSError:\n"
            "            pass\n")
    start = time.monotonic()
    result = _run(isolated, cand, Limits(wall_s=10, processes=64))
    assert not result.passed and result.status is not Status.PASSED
    assert time.monotonic() - start < 60
    # nothing of it is left: the next run works as usual
    after = isolated.run(Program(candidate="def attack():\n    return [1]\n",
                                 test="def test_attack():\n    assert attack()\n",
                                 entry="test_attack"), Limits(wall_s=30))
    assert after.status is Status.PASSED, after.reason


@pytest.fixture(autouse=True)
def _no_leftover(request):
    """After each attack, no process of this test's sandbox runs is left (checked by pid)."""
    before = {int(p) for p in os.listdir("/proc") if p.isdigit()}
    yield
    if "isolated" not in request.fixturenames and "landlock" not in request.fixturenames:
        return
    time.sleep(0.2)
    harness = "sandbox/harness.py"
    left = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in before:
            continue
        try:
            cmd = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            ppid = int(Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if harness in cmd and ppid == 1 and _alive(int(name)):
            left.append(int(name))
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == [], f"sandbox processes outlived their run: {left}"

