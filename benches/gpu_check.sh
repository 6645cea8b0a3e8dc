#!/usr/bin/env bash
# The GPU check, run on a machine with an NVIDIA GPU and no network, from the repository root,
# with the wheel built on a build machine in dist/ (maturin build --profile quick --out dist):
#   bash benches/gpu_check.sh
# Installs the wheel into a fresh virtual environment that sees the system's packages (NumPy,
# PyTorch), prints the GPU, driver and library versions, and runs tests/gpu. Everything it
# prints is the log the CUDA issues ask to keep.
set -uo pipefail
cd "$(dirname "$0")/.."
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
python3 -m venv --system-site-packages /tmp/rmx-gpu-venv
/tmp/rmx-gpu-venv/bin/pip install -q --no-deps --no-index dist/rmx-*.whl
PY=/tmp/rmx-gpu-venv/bin/python
$PY - <<'PYEOF'
import sys, numpy, rmx as mx
print("python", sys.version.split()[0], "numpy", numpy.__version__, "rmx", mx.__version__ if hasattr(mx, "__version__") else "?")
print("num_gpus", mx.context.num_gpus(), "memory (free, total)", mx.context.gpu_memory_info(0) if mx.context.num_gpus() else None)
PYEOF
$PY -m pytest -q -o addopts="" -p no:cacheprovider tests/gpu tests/test_crate_edge.py -k "gpu" 2>&1 | tail -20
$PY -m pytest -q -o addopts="" -p no:cacheprovider tests/gpu 2>&1 | tail -5
