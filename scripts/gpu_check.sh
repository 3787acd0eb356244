#!/usr/bin/env bash
# GPU check: the device tests on CUDA, then the GPU benchmark. Needs CuPy (and optionally
# PyTorch) already installed, e.g. on a machine without network access. Under 5 minutes.
#   bash scripts/gpu_check.sh [OUTDIR]
set -uo pipefail
cd "$(dirname "$0")/.."
out="${1:-${OUT:-gpu-check}}"
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tee "$out/gpu.txt"
python -c "import cupy, numpy; print('cupy', cupy.__version__, 'numpy', numpy.__version__)" 2>&1 | tee -a "$out/gpu.txt"
python -c "import hypothesis" 2>/dev/null || echo "note: hypothesis missing; property tests skip" | tee -a "$out/gpu.txt"
timeout 240 python -m pytest -q -p no:cacheprovider tests/test_devices.py -k "cuda" 2>&1 | tee "$out/tests.txt"
tests_rc=${PIPESTATUS[0]}
timeout 150 python benchmarks/gpu.py --quick --markdown "$out/gpu-benchmark.md" 2>&1 | tee "$out/bench.txt"
bench_rc=${PIPESTATUS[0]}
echo "tests exit $tests_rc, benchmark exit $bench_rc" | tee -a "$out/gpu.txt"
exit $(( tests_rc != 0 || bench_rc != 0 ))
