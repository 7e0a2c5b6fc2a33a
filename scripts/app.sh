#!/usr/bin/env bash
# Sets up .venv and starts the app on http://127.0.0.1:7860 (options: python app.py --help).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements.txt
exec .venv/bin/python app.py "$@"
