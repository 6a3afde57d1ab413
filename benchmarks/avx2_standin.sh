#!/usr/bin/env bash
# Runs a command as if this CPU had AVX2 but no AVX-512, VNNI, bf16 or AMX (benchmarks/avx2_standin.c):
# CPUID answers with those bits cleared for every library (torch, oneDNN, MKL, ONNX Runtime,
# numpy), glibc's own string functions are kept off AVX-512, and oneDNN's cap tells Nabız's
# `auto` that there is no native bf16. Needs gcc and a CPU/kernel with `cpuid_fault`.
#   bash benchmarks/avx2_standin.sh python benchmarks/bench_vs_plain.py --model models/nabiz-cpu
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
lib="${AVX2_STANDIN_LIB:-$here/../.cache/avx2_standin.so}"
if [ ! -f "$lib" ] || [ "$here/avx2_standin.c" -nt "$lib" ]; then
  mkdir -p "$(dirname "$lib")"
  gcc -O2 -shared -fPIC -Wall -o "$lib" "$here/avx2_standin.c" -ldl
fi
export LD_PRELOAD="$lib${LD_PRELOAD:+:$LD_PRELOAD}"
export GLIBC_TUNABLES="glibc.cpu.hwcaps=-AVX512F,-AVX512VL,-AVX512BW,-AVX512DQ,-AVX512CD"
export ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 MKL_ENABLE_INSTRUCTIONS=AVX2
export CPU_STANDIN="CPUID without AVX-512, VNNI, bf16, AMX (benchmarks/avx2_standin.sh)"
exec "$@"
