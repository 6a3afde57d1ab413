#!/usr/bin/env bash
# Runs the checks: lint, format check and the test suite (fast, CPU, tiny models).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev,ray,onnx   # ray, onnx: the Ray engine's and ONNX Runtime's tests
# The console's browser tests drive Debian's chromium (without it they are skipped).
if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "== installing chromium for the browser tests"
  (apt-get install -y chromium >/dev/null 2>&1 ||
    (apt-get update >/dev/null 2>&1 && apt-get install -y chromium >/dev/null 2>&1)) ||
    echo "   (chromium could not be installed: the browser tests will be skipped)"
fi
. .venv/bin/activate
ruff check .
ruff format --check .
python -m pytest -q "$@"
