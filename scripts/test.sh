#!/usr/bin/env bash
# Sets up .venv (bubblewrap, torch, requirements-dev.txt) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements-dev.txt
exec .venv/bin/python -m pytest -n 2 --dist loadfile -q "$@"
