"""The hostile-code corpus: each program tries to escape, cheat or harm, and each is contained.

Every case's test asserts that the attack *worked*; a contained attack therefore never passes,
and the host-side checks confirm that nothing happened outside the sandbox.
"""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from pathlib import Path

import pytest

from sandbox import Limits, Program, Status
from tests.conftest import is_root

QUICK = Limits(wall_s=15)


def run(sandbox, candidate: str, test: str, limits: Limits = QUICK):
    return sandbox.run(Program(candidate=candidate, test=test, entry="test_attack"), limits)


class Listener:
    """A listener of the test's own on a loopback address, recording what it accepts."""

    def __init__(self, family: int, host: str) -> None:
        self.server = socket.socket(family)
        self.server.bind((host, 0))
        self.server.listen(4)
        self.server.settimeout(0.2)
        self.address = self.server.getsockname()[:2]
        self.accepted: list = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                self.accepted.append(self.server.accept())
            except OSError:  # the accept timeout included
                continue

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.server.close()


def test_the_hosts_loopback_listeners_are_unreachable(isolated):
    """Even the host's loopback is another network: the test's own listeners on 127.0.0.1 and
    ::1 see no connection, whatever the program tries (TCP, UDP, by name)."""
    listeners = [Listener(socket.AF_INET, "127.0.0.1")]
    if socket.has_ipv6:
        try:
            listeners.append(Listener(socket.AF_INET6, "::1"))
        except OSError:
            pass  # no IPv6 loopback on this host
    targets = [listener.address for listener in listeners]
    cand = (
        "import socket\n"
        "def attack():\n"
        "    reached = []\n"
        f"    for host, port in {targets!r} + [('localhost', {targets[0][1]})]:\n"
        "        try:\n"
        "            socket.create_connection((host, port), timeout=2).close()\n"
        "            reached.append(host)\n"
        "        except OSError:\n"
        "            pass\n"
        "        try:\n"
        "            family = socket.AF_INET6 if ':' in host else socket.AF_INET\n"
        "            u = socket.socket(family, socket.SOCK_DGRAM)\n"
        "            u.sendto(b'x', (host, port))\n"
        "            u.close()\n"
        "        except OSError:\n"
        "            pass\n"
        "    return reached\n"
    )
    try:
        result = run(isolated, cand, "def test_attack():\n    assert attack() != []\n")
    finally:
        for listener in listeners:
            listener.close()
    assert result.status is Status.FAILED, result.reason
    assert [listener.accepted for listener in listeners] == [[] for _ in listeners]


def test_there_is_no_route_out(isolated):
    """No packet is sent to find out: the sandbox's interfaces are loopback only, and it has no
    route (default or other) through any other interface, in IPv4 or IPv6. (The landlock
    backend shares the host's network namespace and cannot make such a socket at all: see
    the next test.)"""
    if isolated.name == "landlock":
        pytest.skip("no network namespace of its own: no socket but AF_UNIX instead")
    if runs_warm(isolated):
        pytest.skip("warm runs share their zygote's network namespace: no socket but AF_UNIX "
                    "(the next test)")
    cand = (
        "import socket\n"
        "def interfaces():\n"
        "    return sorted(name for _, name in socket.if_nameindex())\n"
        "def routes():\n"
        "    found = []\n"
        "    for table in ('/proc/net/route', '/proc/net/ipv6_route'):\n"
        "        try:\n"
        "            lines = open(table).read().splitlines()\n"
        "        except OSError:\n"
        "            continue\n"
        "        if table.endswith('/route'):\n"
        "            lines = lines[1:]  # the IPv4 table has a header\n"
        "        found += [line.split()[0] if table.endswith('/route') else line.split()[-1]\n"
        "                  for line in lines if line.strip()]\n"
        "    return [dev for dev in found if dev != 'lo']\n"
    )
    test = ("def test_attack():\n"
            "    assert interfaces() == ['lo'], interfaces()\n"
            "    assert routes() == [], routes()\n")
    result = run(isolated, cand, test)
    assert result.status is Status.PASSED, (result.reason, [c.message for c in result.checks])


@pytest.fixture(params=["landlock", "bwrap"])
def socketless(request):
    """The landlock backend, and bubblewrap's warm runs: siblings of one zygote share its
    network namespace, so that its loopback would be a channel between two runs."""
    sandbox = request.getfixturevalue(request.param)
    if request.param == "bwrap" and not runs_warm(sandbox):
        pytest.skip("bubblewrap runs cold here")
    return sandbox


def runs_warm(sandbox) -> bool:
    zygote = getattr(sandbox, "zygote", None)
    return zygote is not None and zygote() is not None


def test_no_socket_but_a_unix_pair(socketless):
    """Without a network namespace of its own, no socket of any family can be made (TCP, UDP,
    raw, netlink, packet, and AF_UNIX too, which could connect to the app's or a daemon's
    socket, or a sibling run's), only a joined AF_UNIX pair; and the host's network is not even
    visible in /proc."""
    landlock = socketless
    cand = (
        "import socket\n"
        "def attack():\n"
        "    made = []\n"
        "    for family in (socket.AF_UNIX, socket.AF_INET, socket.AF_INET6, socket.AF_NETLINK,\n"
        "                   socket.AF_PACKET, 4, 5, 9, 10, 17, 38, 40, 44):\n"
        "        for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_RAW):\n"
        "            try:\n"
        "                socket.socket(family, kind).close()\n"
        "                made.append((family, kind))\n"
        "            except OSError:\n"
        "                pass\n"
        "        try:\n"
        "            if family != socket.AF_UNIX:\n"
        "                socket.socketpair(family).close()\n"
        "                made.append(('pair', family))\n"
        "        except (OSError, ValueError):\n"
        "            pass\n"
        "    for table in ('/proc/net/tcp', '/proc/self/net/route', '/proc/net/unix'):\n"
        "        try:\n"
        "            made.append(open(table).read()[:80])\n"
        "        except OSError:\n"
        "            pass\n"
        "    return made\n"
        "def unix_works():\n"
        "    a, b = socket.socketpair(socket.AF_UNIX)\n"
        "    a.sendall(b'ok')\n"
        "    return b.recv(2)\n"
    )
    test = ("def test_attack():\n"
            "    assert attack() != []\n"
            "    assert unix_works() == b'ok'\n")
    result = run(landlock, cand, test)
    assert result.status is Status.FAILED, result.reason
    assert [c.passed for c in result.checks] == [False, True], result.checks
    assert result.checks[0].message.startswith("AssertionError"), result.checks[0].message


def test_cannot_write_outside_tmp(isolated, tmp_path):
    target = tmp_path / "escaped.txt"
    cand = (
        "import os, tempfile\n"
        "def attack():\n"
        "    written = []\n"
        f"    for path in [{str(target)!r}, '/etc/evil', '/usr/evil', '/evil', '/opt/aicoder/x']:\n"
        "        try:\n"
        "            with open(path, 'w') as fh:\n"
        "                fh.write('x')\n"
        "            written.append(path)\n"
        "        except OSError:\n"
        "            pass\n"
        "    # its own tmp (TMPDIR: /tmp inside bubblewrap and docker, the run's folder in landlock)\n"
        "    open(os.path.join(tempfile.gettempdir(), 'allowed.txt'), 'w').write('fine')\n"
        "    return written\n"
    )
    result = run(isolated, cand, "def test_attack():\n    assert attack() != []\n")
    assert result.status is Status.FAILED, result.reason
    assert not target.exists()
    assert not Path("/evil").exists() and not Path("/usr/evil").exists()


@pytest.mark.skipif(not is_root(), reason="planting a file in /root needs root")
def test_cannot_read_root_or_shadow(isolated):
    canary = Path("/root") / f"aicoder-canary-{secrets.token_hex(4)}"
    canary.write_text("secret")
    try:
        cand = (
            "import os\n"
            "def attack():\n"
            "    found = []\n"
            "    try:\n"
            f"        found.append(open({str(canary)!r}).read())\n"
            "    except OSError:\n"
            "        pass\n"
            "    try:\n"
            "        found += [n for n in os.listdir('/root') if 'canary' in n]\n"
            "    except OSError:\n"
            "        pass\n"
            "    try:\n"
            "        text = open('/etc/shadow').read()\n"
            "        if text:\n"
            "            found.append(text)\n"
            "    except OSError:\n"
            "        pass\n"
            "    return found\n"
        )
        result = run(isolated, cand, "def test_attack():\n    assert attack() != []\n")
    finally:
        canary.unlink()
    assert result.status is Status.FAILED, result.reason
    assert "secret" not in result.stdout + result.stderr


def test_environment_secrets_do_not_reach_the_program(isolated, monkeypatch):
    token = "hf_" + secrets.token_hex(12)
    monkeypatch.setenv("HF_TOKEN", token)
    monkeypatch.setenv("OPENAI_API_KEY", token)
    cand = (
        "import os\n"
        "def attack():\n"
        "    seen = ' '.join(os.environ.values())\n"
        "    for pid in ('self', '1'):\n"
        "        try:\n"
        "            seen += open(f'/proc/{pid}/environ', 'rb').read().decode(errors='ignore')\n"
        "        except OSError:\n"
        "            pass\n"
        "    return seen\n"
    )
    test = f"def test_attack():\n    assert {token!r} in attack()\n"
    result = run(isolated, cand, test)
    assert result.status is Status.FAILED, result.reason
    assert token not in result.stdout + result.stderr


def test_fork_bomb_is_contained(isolated, monkeypatch):
    cand = "import os\ndef attack():\n    while True:\n        os.fork()\n"
    launchers = []
    if isolated.name == "landlock":  # which launcher ran it, to find its pids cgroup after
        kill = type(isolated)._kill
        monkeypatch.setattr(type(isolated), "_kill",
                            lambda self, proc: (launchers.append(proc.pid), kill(self, proc)))
    start = time.monotonic()
    result = run(isolated, cand, "def test_attack():\n    assert attack()\n", Limits(wall_s=20))
    assert time.monotonic() - start < 30 + 10 * len(launchers)
    assert result.status in (Status.ERROR, Status.FAILED, Status.TIMEOUT), result.reason
    assert not result.passed
    # no process of the bomb outlives the run (as root the landlock run has a pids cgroup,
    # which can only be removed once it is empty)
    from sandbox import confine

    for pid in launchers:
        cgroup = confine.run_cgroup(pid)
        assert cgroup is None or not os.path.exists(cgroup), "the bomb outlived its run"


@pytest.mark.parametrize("bomb", [
    "    b = bytearray(64 * 1024 ** 3)\n    return b\n",
    "    hoard = []\n    while True:\n        hoard.append(bytearray(64 * 1024 ** 2))\n",
])
def test_memory_bomb_hits_the_limit(any_sandbox, bomb):
    cand = "def attack():\n" + bomb
    result = run(any_sandbox, cand, "def test_attack():\n    assert attack()\n",
                 Limits(wall_s=30, memory_mb=512))
    assert result.status is Status.MEMORY, result.reason


def test_infinite_loop_times_out_and_is_killed(any_sandbox):
    cand = "def attack():\n    while True:\n        pass\n"
    start = time.monotonic()
    result = run(any_sandbox, cand, "def test_attack():\n    assert attack()\n", Limits(wall_s=2))
    assert result.status is Status.TIMEOUT
    assert 2 <= time.monotonic() - start < 10
    assert result.checks[0].message == "not reached: timeout"


def test_cpu_limit_catches_busy_threads(isolated):
    cand = (
        "import threading\n"
        "def spin():\n    while True:\n        pass\n"
        "def attack():\n"
        "    for _ in range(2):\n        threading.Thread(target=spin, daemon=True).start()\n"
        "    spin()\n"
    )
    result = run(isolated, cand, "def test_attack():\n    assert attack()\n",
                 Limits(wall_s=30, cpu_s=2))
    assert result.status is Status.TIMEOUT
    assert "CPU-time" in result.reason


def test_huge_output_is_capped(any_sandbox):
    cand = ("import sys\n"
            "def attack():\n"
            "    for _ in range(400):\n"
            "        sys.stdout.write('x' * 65536 + '\\n')\n"
            "        sys.stderr.write('y' * 65536 + '\\n')\n"
            "    return True\n")
    result = run(any_sandbox, cand, "def test_attack():\n    assert attack()\n",
                 Limits(wall_s=60, output_bytes=8192))
    assert result.status is Status.PASSED, result.reason
    assert result.stdout_bytes > 25_000_000 and result.stderr_bytes > 25_000_000
    assert len(result.stdout) < 9000 and "bytes cut" in result.stdout
    assert len(result.stderr) < 9000


def test_endless_output_times_out_without_flooding_memory(isolated):
    cand = "import os\ndef attack():\n    while True:\n        os.write(1, b'z' * 65536)\n"
    result = run(isolated, cand, "def test_attack():\n    assert attack()\n", Limits(wall_s=3))
    assert result.status is Status.TIMEOUT
    assert len(result.stdout) < 70_000


@pytest.mark.parametrize(("candidate", "expected"), [
    ("import sys\nsys.exit(0)\ndef attack():\n    return False\n", Status.ERROR),
    ("import os\ndef attack():\n    os._exit(0)\n", Status.CRASHED),
    ("import os\nos._exit(0)\n", Status.CRASHED),
    ("import sys\ndef attack():\n    sys.exit(0)\n", Status.FAILED),
    ("import os, signal\ndef attack():\n    os.kill(os.getpid(), signal.SIGKILL)\n",
     Status.CRASHED),
])
def test_early_exit_is_never_a_pass(any_sandbox, candidate, expected):
    result = run(any_sandbox, candidate, "def test_attack():\n    assert attack()\n")
    assert result.status is expected, result.reason
    assert not result.passed and not result.any_passed


def test_printing_a_pass_or_a_fake_event_is_not_a_pass(any_sandbox):
    cand = (
        "import json\n"
        "def attack():\n"
        "    print('All Tests Passed')\n"
        "    for nonce in ('0' * 32, 'deadbeef' * 4):\n"
        "        for event in ({'e': 'plan', 'pid': 1, 'checks': []},\n"
        "                      {'e': 'check', 'id': 0, 'passed': True, 'message': ''},\n"
        "                      {'e': 'done', 'status': 'passed', 'reason': 'forged'}):\n"
        "            print('\\n\\x1e' + nonce + ' ' + json.dumps(event))\n"
        "    import os\n"
        "    os._exit(0)\n"
    )
    result = run(any_sandbox, cand, "def test_attack():\n    assert attack()\n")
    assert result.status is Status.CRASHED
    assert result.reason != "forged"
    assert "All Tests Passed" in result.stdout


def test_calling_the_recorder_directly_is_ignored(any_sandbox):
    cand = (
        "import gc\n"
        "def attack():\n"
        "    rec = globals().get('__aicoder_checks__')\n"
        "    for cid in range(3):\n"
        "        rec.ok(cid)\n"
        "    globals()['__aicoder_checks__'] = type('Fake', (), {'ok': lambda *a: None,\n"
        "        'fail': lambda *a: True, 'caught': lambda *a: None})()\n"
        "    return False\n"
    )
    test = "def test_attack():\n    assert attack()\n    assert False\n    assert 1 == 2\n"
    result = run(any_sandbox, cand, test)
    assert result.status is Status.FAILED, result.reason
    assert not any(c.passed for c in result.checks)


def test_closing_stdout_or_forking_cannot_forge_the_result(isolated):
    cand = (
        "import os, sys\n"
        "def attack():\n"
        "    if os.fork() == 0:\n"
        "        return True   # the child 'passes'; only the harness's own process counts\n"
        "    os.wait()\n"
        "    os.close(1)\n"
        "    return False\n"
    )
    result = run(isolated, cand, "def test_attack():\n    assert attack()\n")
    assert result.status is Status.FAILED, result.reason


def test_killing_the_parent_is_contained(isolated):
    cand = (
        "import os, signal, time\n"
        "def attack():\n"
        "    targets = {os.getppid(), 1} - {os.getpid(), 0}\n"
        "    for pid in list(targets) + [-1]:\n"
        "        try:\n"
        "            os.kill(pid, signal.SIGKILL)\n"
        "        except OSError:\n"
        "            pass\n"
        "    time.sleep(0.2)\n"
        "    dead = 0\n"
        "    for pid in targets:\n"
        "        try:\n"
        "            os.kill(pid, 0)\n"
        "        except ProcessLookupError:\n"
        "            dead += 1\n"
        "        except OSError:\n"
        "            pass\n"
        "    return dead\n"
    )
    result = run(isolated, cand, "def test_attack():\n    assert attack() > 0\n")
    # The sandbox's init is out of reach (not the program's uid, or protected as pid 1), and
    # kill(-1) finds nothing else: the program survives its own attack and the check fails.
    assert result.status is Status.FAILED, result.reason
    after = run(isolated, "def attack():\n    return 1\n", "def test_attack():\n    assert attack()\n")
    assert after.status is Status.PASSED


def test_filling_the_disk_hits_the_file_size_limit(isolated):
    cand = (
        "import os, tempfile\n"
        "def attack():\n"
        "    with open(os.path.join(tempfile.gettempdir(), 'big.bin'), 'wb') as fh:\n"
        "        for _ in range(64):\n"
        "            fh.write(b'0' * (1 << 20))\n"
        "    return True\n"
    )
    result = run(isolated, cand, "def test_attack():\n    assert attack()\n",
                 Limits(wall_s=30, file_size_mb=8))
    assert result.status is Status.FAILED, result.reason
    assert "File too large" in result.checks[0].message


def test_exhausting_file_descriptors_hits_the_limit(isolated):
    cand = (
        "def attack():\n"
        "    return [open('/dev/null') for _ in range(5000)]\n"
    )
    result = run(isolated, cand, "def test_attack():\n    assert attack()\n",
                 Limits(wall_s=30, open_files=64))
    assert result.status is Status.FAILED, result.reason
    assert "Too many open files" in result.checks[0].message


def test_cancel_stops_a_run_at_once(isolated):
    """A Stop button: the run ends within a moment, as cancelled, never as a pass."""
    cancel = threading.Event()
    threading.Timer(1.0, cancel.set).start()
    start = time.monotonic()
    result = isolated.run(Program(candidate="import time\ndef attack():\n    time.sleep(60)\n",
                                  test="def test_attack():\n    assert attack() is None\n",
                                  entry="test_attack"), Limits(wall_s=60), cancel)
    assert result.status is Status.CANCELLED
    assert time.monotonic() - start < 5
