"""The tasks' own execution environments: pinned requirements, built as separate venvs.

AICoderEval tasks were written against the libraries of their time (transformers 4,
``cached_download``, ``*FeatureExtractor``) and use packages the app does not need (diffusers,
flair ...). Candidates therefore run with the interpreter of an environment built from a
requirements file kept here (``eval/envs/<name>.txt``), not with the app's.

    python -m eval env create                 # builds "aicodereval" from eval/envs/aicodereval.txt
    python -m eval env list
    python -m eval run ... --env aicodereval  # the sandbox runs candidates with its interpreter
    python -m eval env docker-build           # the same file as a Docker image (docker backend)

Environments live in ``$AICODER_HOME/envs/<name>`` (default ``~/.cache/aicoder/envs``); each
has ``env.json`` with its requirements' hash and every installed package's version, which
``config.json`` and the report record. The name ``app`` means the app's own interpreter.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from aicoder.errors import AICoderError

__all__ = ["APP_ENV", "DEFAULT_ENV", "EnvError", "Environment", "build_image", "create",
           "dockerfile", "env_home", "image_tag", "installed_packages", "list_envs",
           "requirements_file", "resolve"]

APP_ENV = "app"
DEFAULT_ENV = "aicodereval"
HERE = Path(__file__).resolve().parent

#: the packages a report names (all of them are in config.json)
KEY_PACKAGES = ("torch", "transformers", "huggingface-hub", "tokenizers", "datasets",
                "diffusers", "sentence-transformers", "accelerate", "scikit-learn", "numpy")

_PROBE = ("import json, importlib.metadata as m; print(json.dumps({d.metadata['Name'].lower(): "
          "d.version for d in m.distributions() if d.metadata['Name']}))")


class EnvError(AICoderError):
    """An environment is missing, or cannot be built."""


def env_home() -> Path:
    base = os.environ.get("AICODER_HOME") or os.path.expanduser("~/.cache/aicoder")
    return Path(base) / "envs"


def requirements_file(name: str) -> Path:
    return HERE / f"{name}.txt"


def installed_packages(python: str) -> dict[str, str]:
    """Every distribution the interpreter sees, name -> version."""
    try:
        out = subprocess.run([python, "-I", "-c", _PROBE], capture_output=True, text=True,
                             timeout=60, check=True)
    except (OSError, subprocess.SubprocessError) as exc:
        raise EnvError(f"cannot run {python}: {exc}") from None
    return dict(sorted(json.loads(out.stdout).items()))


@dataclass(frozen=True)
class Environment:
    """An execution environment: its name, interpreter and installed packages."""

    name: str
    python: str
    packages: dict[str, str]
    requirements_sha256: str = ""

    def describe(self) -> dict:
        """What config.json and the report record."""
        return {"name": self.name, "python": self.python,
                "requirements_sha256": self.requirements_sha256,
                "key_packages": {k: self.packages[k] for k in KEY_PACKAGES if k in self.packages},
                "packages": self.packages}


def resolve(name: str) -> Environment:
    """The environment called ``name`` (``app``: the app's own interpreter).

    Raises:
        EnvError: it was never built (the message has the command that builds it).
    """
    if name == APP_ENV:
        return Environment(APP_ENV, sys.executable, installed_packages(sys.executable))
    root = env_home() / name
    meta = root / "env.json"
    if not meta.is_file():
        known = ", ".join(list_envs()) or "none yet"
        how = (f"python -m eval env create --name {name}" if requirements_file(name).is_file()
               else f"python -m eval env create --name {name} --requirements FILE")
        raise EnvError(f"no execution environment {name!r} (built: {known}): run `{how}`, "
                       f"or pass --env {APP_ENV} to run candidates in the app's environment")
    data = json.loads(meta.read_text())
    return Environment(name, data["python"], data.get("packages", {}),
                       data.get("requirements_sha256", ""))


def list_envs() -> list[str]:
    home = env_home()
    return sorted(p.name for p in home.iterdir() if (p / "env.json").is_file()) \
        if home.is_dir() else []


def _pip(python: str, *args: str) -> None:
    cmd = [python, "-m", "pip", "install", "--disable-pip-version-check", *args]
    print("+ " + " ".join(cmd[2:]), flush=True)
    if subprocess.run(cmd).returncode != 0:
        raise EnvError(f"pip failed: {' '.join(cmd[2:])} (the output above says why)")


def create(name: str = DEFAULT_ENV, requirements: str | os.PathLike | None = None, *,
           force: bool = False) -> Environment:
    """Build the environment as a venv: torch first when the file pins it (a plain ``torch``
    resolution would pull CUDA), then the rest of the file.

    Raises:
        EnvError: no requirements file, the venv or pip failed.
    """
    req = Path(requirements) if requirements else requirements_file(name)
    if not req.is_file():
        raise EnvError(f"no requirements file {req} (give --requirements FILE)")
    if name == APP_ENV or not name.replace("-", "").replace("_", "").isalnum():
        raise EnvError(f"bad environment name {name!r}: letters, digits, - and _ only, not 'app'")
    root = env_home() / name
    if (root / "env.json").exists() and not force:
        raise EnvError(f"{root} exists: add --force to build it again")
    root.parent.mkdir(parents=True, exist_ok=True)
    if subprocess.run([sys.executable, "-m", "venv", "--clear", str(root)]).returncode != 0:
        raise EnvError(f"cannot create a venv at {root} (is python3-venv installed?)")
    python = str(root / "bin" / "python")
    lines = [ln.split("#")[0].strip() for ln in req.read_text().splitlines()]
    torch_pin = [ln for ln in lines if ln.replace(" ", "").startswith("torch==")]
    if torch_pin:
        _pip(python, torch_pin[0])
    if any(ln and not ln.startswith("torch==") for ln in lines):
        _pip(python, "-r", str(req))
    env = Environment(name, python, installed_packages(python),
                      hashlib.sha256(req.read_bytes()).hexdigest())
    (root / "env.json").write_text(json.dumps(
        {"name": name, "python": python, "requirements": str(req),
         "requirements_sha256": env.requirements_sha256,
         "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
         "packages": env.packages}, indent=1))
    return env


def image_tag(name: str, requirements: Path) -> str:
    """The Docker image of an environment: named after it, tagged by its requirements' hash."""
    return f"aicoder-env-{name}:{hashlib.sha256(requirements.read_bytes()).hexdigest()[:12]}"


def dockerfile(requirements: Path, base: str = "python:3.11-slim") -> str:
    """A Dockerfile that installs the same requirements file (torch first, CPU build)."""
    lines = [ln.split("#")[0].strip() for ln in requirements.read_text().splitlines()]
    torch_pin = next((ln for ln in lines if ln.replace(" ", "").startswith("torch==")), None)
    torch_step = (f"pip install {torch_pin} --index-url https://download.pytorch.org/whl/cpu && "
                  if torch_pin else "")
    return (f"# Built by `python -m eval env docker-build` from {requirements.name}.\n"
            f"FROM {base}\n"
            "ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1\n"
            "COPY requirements.txt /tmp/requirements.txt\n"
            f"RUN {torch_step}pip install -r /tmp/requirements.txt\n"
            "RUN useradd --uid 65534 --no-create-home --home-dir /tmp sandbox 2>/dev/null || true\n")


def build_image(name: str = DEFAULT_ENV, requirements: str | os.PathLike | None = None, *,
                base: str = "python:3.11-slim", client=None) -> str:
    """Build the environment's Docker image; the docker sandbox runs candidates in it.

    Raises:
        EnvError: no requirements file, no engine, or the build failed (its last log line).
    """
    import io
    import tarfile

    req = Path(requirements) if requirements else requirements_file(name)
    if not req.is_file():
        raise EnvError(f"no requirements file {req} (give --requirements FILE)")
    tag = image_tag(name, req)
    try:
        import docker
        import docker.errors

        client = client or docker.from_env(timeout=600)
        client.ping()
    except Exception as exc:
        raise EnvError(f"no Docker engine answers ({type(exc).__name__}): start dockerd") from None
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        for arcname, data in (("Dockerfile", dockerfile(req, base).encode()),
                              ("requirements.txt", req.read_bytes())):
            info = tarfile.TarInfo(arcname)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    context.seek(0)
    last = ""
    try:
        for chunk in client.api.build(fileobj=context, custom_context=True, tag=tag, rm=True,
                                      decode=True):
            if "stream" in chunk and chunk["stream"].strip():
                last = chunk["stream"].strip()
                print(last, flush=True)
            if "error" in chunk:
                raise EnvError(f"docker build of {tag} failed: {chunk['error'].strip()}")
    except docker.errors.APIError as exc:
        raise EnvError(f"docker build of {tag} failed: {exc.explanation or exc}") from None
    return tag
