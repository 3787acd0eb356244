#!/usr/bin/env bash
# GPU check: the device tests on CUDA, then the GPU benchmark. Needs CuPy (and optionally
# PyTorch) already installed, e.g. on a machine without network access. Under 5 minutes.
#   bash scripts/gpu_check.sh [OUTDIR]
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-gpu-check}}"
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
# the GPU images name their interpreter python3; PYTHON overrides
py="${PYTHON:-$(command -v python3 || command -v python)}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tee "$out/gpu.txt"
"$py" -c "import cupy, numpy; print('cupy', cupy.__version__, 'numpy', numpy.__version__)" 2>&1 | tee -a "$out/gpu.txt"
"$py" -c "import hypothesis" 2>/dev/null || echo "note: hypothesis missing; property tests skip" | tee -a "$out/gpu.txt"
timeout 200 "$py" -m pytest -q -p no:cacheprovider tests/test_devices.py -k "cuda" 2>&1 | tee "$out/tests.txt"
tests_rc=${PIPESTATUS[0]}
timeout 120 "$py" benchmarks/gpu.py --quick --markdown "$out/gpu-benchmark.md" 2>&1 | tee "$out/bench.txt"
bench_rc=${PIPESTATUS[0]}
# the command line on the GPU: two lecture models, end to end
cli_rc=0
for model in logistic softmax; do
  data=$([ "$model" = logistic ] && echo breast_cancer || echo iris)
  timeout 60 "$py" -m microgradlin train --model "$model" --data "$data" --method minibatch \
    --epochs 20 --device cuda --out "/tmp/mg-train-$model" --overwrite --quiet 2>&1 | tee -a "$out/cli.txt"
  [ "${PIPESTATUS[0]}" = 0 ] || cli_rc=1
  cat "/tmp/mg-train-$model/summary.md" 2>/dev/null | head -20 | tee -a "$out/cli.txt"
done
echo "tests exit $tests_rc, benchmark exit $bench_rc, cli exit $cli_rc" | tee -a "$out/gpu.txt"
exit $(( tests_rc != 0 || bench_rc != 0 || cli_rc != 0 ))
