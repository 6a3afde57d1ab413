#!/usr/bin/env bash
# Runs the checks: lint, format check and the test suite (fast, CPU, tiny models).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev,ray   # ray: the Ray engine's tests (about 30 s to install)
. .venv/bin/activate
ruff check .
ruff format --check .
python -m pytest -q "$@"
