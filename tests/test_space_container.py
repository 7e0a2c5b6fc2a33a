"""The Space where it runs: a container built like a HuggingFace Space's (no registry: a root
filesystem from `docker import`), run as uid 1000 under Docker's default seccomp profile with
every capability dropped, /usr and the venv mounted read-only. Bubblewrap cannot create
namespaces there; inside it, the hostile corpus and the shared-uid attacks run on the landlock
backend, and app.py starts on it by itself and completes a builtin task through gradio_client.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import ROOT, in_ci

INSIDE = os.environ.get("AICODER_IN_SPACE_CONTAINER") == "1"
INNER_FILES = ["tests/test_hostile.py", "tests/test_shared_uid.py",
               "tests/test_space_container.py"]
LANDLOCK_ONLY = {"test_no_socket_but_a_unix_pair", "test_daemons_that_leave_the_session_are_killed",
                 "test_inside_the_app_starts_on_landlock_and_serves_a_task"}


def _engine():
    docker = pytest.importorskip("docker")
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as exc:
        if in_ci():
            pytest.fail(f"CI must run the Space-like container test: no Docker engine ({exc})")
        pytest.skip(f"no Docker engine answers ({exc.__class__.__name__})")
    return client


def space_run_argv(out: Path, command: list[str], env: dict[str, str]) -> list[str]:
    """`docker run` for a Space-like container: uid 1000, default seccomp, no capabilities,
    no network but its own loopback, the host's /usr, /etc, interpreter and this checkout
    mounted read-only at their own paths, a private /tmp and HOME."""
    from sandbox.backends.docker import BASE_IMAGE
    from sandbox.backends.environment import resolve_interpreter

    argv = ["docker", "run", "--rm", "--user", "1000:1000", "--cap-drop", "ALL",
            "--network", "none", "--pids-limit", "4096", "--memory", "6g",
            "--tmpfs", "/tmp:mode=1777,size=1g",
            "--tmpfs", "/home/user:uid=1000,gid=1000,mode=0700,size=256m",
            "-v", "/usr:/usr:ro", "-v", "/etc:/etc:ro", "-v", f"{out}:/out",
            "-v", f"{ROOT}:{ROOT}:ro", "-w", str(ROOT)]
    for path in resolve_interpreter(sys.executable).paths:
        if not (path == str(ROOT) or path.startswith(f"{ROOT}/")):
            argv += ["-v", f"{path}:{path}:ro"]
    for key, value in {"HOME": "/home/user", "PYTHONDONTWRITEBYTECODE": "1",
                       "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", **env}.items():
        argv += ["-e", f"{key}={value}"]
    return [*argv, BASE_IMAGE, *command]


@pytest.mark.docker
@pytest.mark.skipif(INSIDE, reason="the outer test starts the container")
def test_the_hostile_corpus_and_the_app_run_confined_in_a_space_like_container(tmp_path):
    from sandbox.backends.docker import DockerSandbox

    client = _engine()
    DockerSandbox(client=client, hf_cache=False)  # imports the empty base image when missing
    out = tmp_path / "out"
    out.mkdir()
    out.chmod(0o777)
    argv = space_run_argv(out, [
        str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv").exists() else sys.executable,
        "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "-o", "addopts=",
        "--basetemp", "/tmp/pytest", "--junitxml", "/out/inner.xml", "-rs", *INNER_FILES],
        {"AICODER_IN_SPACE_CONTAINER": "1"})
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=1800)
    tail = (proc.stdout + proc.stderr)[-6000:]
    assert (out / "inner.xml").is_file(), tail
    cases = {}
    for case in ET.parse(out / "inner.xml").getroot().iter("testcase"):
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = child.tag
        cases[case.get("name")] = (outcome, (case.find("skipped") if outcome == "skipped"
                                             else case.find(outcome)))
    failed = {n: (c.get("message") or "")[:300] for n, (o, c) in cases.items()
              if o in ("failure", "error")}
    assert failed == {}, tail
    # every landlock case ran and passed, but those that cannot apply there
    expected_skips = ("no network namespace of its own", "needs root")
    # (a landlock-only test parametrized for bubblewrap's warm runs too has a [bwrap] case,
    # which is bubblewrap's: it is checked with the other bwrap cases below)
    landlock = {n: (o, c) for n, (o, c) in cases.items()
                if "[landlock" in n or (n.split("[")[0] in LANDLOCK_ONLY and "[bwrap" not in n)}
    assert len(landlock) >= 30, sorted(cases)
    not_run = {n: (c.get("message") or "") for n, (o, c) in landlock.items() if o != "passed"}
    assert {n: m for n, m in not_run.items() if not any(e in m for e in expected_skips)} == {}
    assert "test_inside_the_app_starts_on_landlock_and_serves_a_task" not in not_run
    # bubblewrap was tried there and could not work: that is why landlock was chosen
    bwrap = {n: (o, c) for n, (o, c) in cases.items() if "[bwrap" in n}
    why = {n: (c.get("message") or "") if c is not None else "" for n, (o, c) in bwrap.items()}
    assert any("bubblewrap cannot create a sandbox here" in m for m in why.values()), why
    assert all(o == "skipped" and any(e in why[n] for e in (
        "bubblewrap cannot create a sandbox here", *expected_skips))
        for n, (o, c) in bwrap.items()), why
    assert proc.returncode == 0, tail


@pytest.mark.skipif(not INSIDE, reason="runs inside the Space-like container")
def test_inside_the_app_starts_on_landlock_and_serves_a_task(tmp_path):
    """app.py with no sandbox flag: it probes, picks landlock, says so, and a visitor's run of a
    builtin task completes with its verdict."""
    from gradio_client import Client

    from aicoder.tasks import load_tasks
    from tests.server_double import ServerDouble, reference_responder

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path / "app.log"
    with ServerDouble(reference_responder(load_tasks("builtin"))) as srv, log.open("w") as fh:
        env = {**os.environ, "HF_TOKEN": "hf_planted_in_the_app", "GRADIO_SERVER_PORT": str(port)}
        env.pop("AICODER_SANDBOX", None)
        app = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--dataset", "",
                                "--model", f"double=openai:{srv.url}"], cwd=tmp_path, env=env,
                               stdout=fh, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 600  # a safety bound: it waits for the port to answer
            while time.monotonic() < deadline and app.poll() is None:
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", port)) == 0:
                        break
                time.sleep(0.2)
            assert app.poll() is None, log.read_text()[-3000:]
            client = Client(f"http://127.0.0.1:{port}/", verbose=False)
            job = client.submit("Builtin suite", "b001_softmax · numpy", "", "", "double",
                                "direct", 0, 0.6, api_name="/run")
            final = job.result(timeout=600)
            text = str(final[0][-1])
            assert "✓ Passed" in text, text[-2000:]
            # the app kept serving and is still healthy
            assert app.poll() is None
        finally:
            app.terminate()
            app.wait(timeout=30)
    startup = log.read_text()
    assert "sandbox: landlock, chosen by probing (bwrap: bubblewrap cannot create" in startup
    assert "the landlock sandbox" in startup

