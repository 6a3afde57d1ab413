#!/usr/bin/env bash
# Creates .venv at the repository root and installs Nabız into it.
# torch is pinned to 2.13.0 so that pip takes the CPU build; an unpinned torch pulls CUDA (GBs).
# Usage: scripts/setup.sh [extras]   (default extras: dev,encoder)
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-dev,encoder}"
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$python" -m venv .venv
fi
. .venv/bin/activate
if ! python -c "import torch, sys; sys.exit(torch.__version__.split('+')[0] != '2.13.0')" 2>/dev/null; then
  echo "== installing torch 2.13.0 (CPU build)"
  python -m pip install --quiet "torch==2.13.0"
fi
echo "== installing nabiz[$extras]"
python -m pip install --quiet -e ".[$extras]"
