#!/usr/bin/env bash
# Creates .venv with what the app and the tests need. Idempotent: a second run is quick.
# Usage: bash scripts/setup.sh [requirements file]   (default requirements.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
reqs="${1:-requirements.txt}"

# System packages: bubblewrap (the default sandbox; setpriv from util-linux drops privileges
# when run as root), a C++ toolchain (pip compiles llama-cpp-python), and venv support.
need=()
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
command -v g++ >/dev/null 2>&1 || need+=(build-essential)
python3 -c "import ensurepip, venv" >/dev/null 2>&1 || need+=(python3-venv)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${need[*]} (apt)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "warning: missing system packages: ${need[*]} (sudo apt-get install ${need[*]})" >&2
  fi
fi

# llama-cpp-python compiles llama.cpp: build for any x86-64/arm64 CPU, not just this one.
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}"

# a .venv that exists (or a link to one elsewhere) is kept: `venv` cannot create over a link
[ -x .venv/bin/python ] || python3 -m venv .venv
# torch first, pinned: a bare `torch` requirement resolved later would pull several GB of CUDA.
.venv/bin/python -m pip install -q --disable-pip-version-check torch==2.13.0
.venv/bin/python -m pip install -q --disable-pip-version-check -r "$reqs"
