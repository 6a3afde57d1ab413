#!/usr/bin/env bash
# From a fresh clone to a running service: install, convert the base encoder, prepare the data,
# train the `cpu` profile (9-21 minutes on 2 cores, measured on seven kinds of CPU) unless
# a model exists, export it for ONNX Runtime (what CPUs without native bf16 score with), on a CPU
# with native bf16 measure bf16's near ties (about 1.5 min), score the sample export, then serve
# the API on http://127.0.0.1:8000 (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh encoder,onnx   # what the job needs; `scripts/test.sh` adds the test tools
. .venv/bin/activate
export NABIZ_MODEL_DIR="${NABIZ_MODEL_DIR:-$PWD/models/nabiz-cpu}"
host="${NABIZ_HOST:-127.0.0.1}"
port="${NABIZ_PORT:-8000}"

echo "== base encoder"
nabiz convert-encoder
echo "== training data"
nabiz data prepare --config configs/default.yaml --profile cpu
if [ ! -f "$NABIZ_MODEL_DIR/nabiz.json" ]; then
  echo "== training the cpu profile into $NABIZ_MODEL_DIR"
  nabiz train --config configs/default.yaml --profile cpu --output "$NABIZ_MODEL_DIR"
else
  echo "== model exists: $NABIZ_MODEL_DIR (delete it to retrain)"
fi
if [ ! -f "$NABIZ_MODEL_DIR/network.onnx" ]; then
  echo "== exporting the network for ONNX Runtime (used on CPUs without native bf16)"
  nabiz export-onnx --model "$NABIZ_MODEL_DIR"
fi
if [ ! -f "$NABIZ_MODEL_DIR/bf16_rechecks.json" ] && python -c \
  "from nabiz.model.runtime import cpu_has_fast_bf16; raise SystemExit(not cpu_has_fast_bf16())"
then
  echo "== measuring which texts bf16 leaves near a tie (served from fp32 instead)"
  nabiz quantize --model "$NABIZ_MODEL_DIR" --precision bf16
fi
echo "== scoring the sample export"
mkdir -p outputs
nabiz score data/samples/sample_export.csv --output outputs/sample_export_scored.csv \
  --id-column id --channel-column kanal --time-column tarih
echo "== serving: http://$host:$port/docs (API docs), /v1/predict, /v1/queue, /metrics"
exec nabiz serve --host "$host" --port "$port"
