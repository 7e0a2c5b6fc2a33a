"""deploy/: the TGI and vLLM compose files parse (with the compose tool when one is installed,
else as YAML), serve the adapter as `aicoder` with a health check and a GPU reservation, and
the model specs they document are the ones the product accepts."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import ROOT

DEPLOY = ROOT / "deploy"
FILES = {"tgi": DEPLOY / "compose.tgi.yaml", "vllm": DEPLOY / "compose.vllm.yaml"}


def _compose() -> list[str] | None:
    for command in (["docker", "compose"], ["docker-compose"]):
        if shutil.which(command[0]) and subprocess.run(
                [*command, "version"], capture_output=True).returncode == 0:
            return command
    return None


def _service(name: str) -> dict:
    doc = yaml.safe_load(FILES[name].read_text())
    (service,) = doc["services"].values()
    return service


@pytest.mark.parametrize("name", FILES)
def test_health_check_gpu_and_adapter_mount(name):
    service = _service(name)
    port = "80" if name == "tgi" else "8000"
    assert f"localhost:{port}/health" in " ".join(service["healthcheck"]["test"])
    assert service["healthcheck"]["start_period"]  # a first start downloads the base model
    (device,) = service["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["count"] == 1 and "gpu" in device["capabilities"]
    mounts = [v for v in service["volumes"] if v.endswith(":/adapters/aicoder:ro")]
    assert mounts and "ADAPTER_DIR:?" in mounts[0]  # no silent empty mount
    assert any(p.endswith(f":{port}") for p in service["ports"])


def test_tgi_serves_the_adapter_as_aicoder():
    env = _service("tgi")["environment"]
    assert env["LORA_ADAPTERS"] == "aicoder=/adapters/aicoder"
    assert "Meta-Llama-3-8B-Instruct" in env["MODEL_ID"]


def test_vllm_serves_the_adapter_as_aicoder():
    command = _service("vllm")["command"]
    assert "--enable-lora" in command
    assert command[command.index("--lora-modules") + 1] == "aicoder=/adapters/aicoder"
    rank = command[command.index("--max-lora-rank") + 1]
    assert int(re.sub(r"\$\{\w+:-(\d+)\}", r"\1", rank)) >= 8  # the default recipe's r


@pytest.mark.parametrize("name", FILES)
def test_the_documented_model_spec_is_accepted(name):
    from aicoder.models.server_backend import ServerModel

    specs = re.findall(r"--model (\S+)", FILES[name].read_text())
    assert specs
    for spec in specs:
        kind, _, rest = spec.partition(":")
        url, _, adapter = rest.partition("#")
        model = ServerModel(kind, url, model=adapter)
        assert model.model == "aicoder" and model.spec == spec


@pytest.mark.parametrize("name", FILES)
def test_compose_validates_the_file(name, tmp_path):
    compose = _compose()
    if compose is None:
        pytest.skip("no docker compose here: the YAML checks above stand in")
    env = {**os.environ, "ADAPTER_DIR": str(tmp_path)}
    ok = subprocess.run([*compose, "-f", str(FILES[name]), "config", "-q"], env=env,
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    env.pop("ADAPTER_DIR")
    missing = subprocess.run([*compose, "-f", str(FILES[name]), "config", "-q"], env=env,
                             capture_output=True, text=True)
    assert missing.returncode != 0 and "set ADAPTER_DIR" in missing.stderr
