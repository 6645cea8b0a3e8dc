#!/usr/bin/env bash
# The GPU check, run on a machine with an NVIDIA GPU and no network, from the repository root,
# with the wheel built on a build machine in dist/ (maturin build --profile quick --out dist):
#   bash benches/gpu_check.sh
# Installs the wheel into a fresh virtual environment that sees the system's packages (NumPy,
# PyTorch), prints the GPU, driver and library versions, runs tests/gpu and then the convnet
# benchmark beside PyTorch (benches/convnet_gpu.py). Everything it
# prints is the log the CUDA issues ask to keep.
set -uo pipefail
cd "$(dirname "$0")/.."
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true
python3 -m venv --system-site-packages /tmp/rmx-gpu-venv
if ! /tmp/rmx-gpu-venv/bin/pip install -q --no-deps --no-index dist/rmx-*.whl; then
  # An older glibc tag than the build machine's: unpack the wheel instead (the extension needs
  # only glibc symbols that every supported machine has; ldd below says if not).
  echo "pip refused the wheel's platform tag; unpacking it"
  site=$(/tmp/rmx-gpu-venv/bin/python -c "import site; print(site.getsitepackages()[0])")
  /tmp/rmx-gpu-venv/bin/python -m zipfile -e dist/rmx-*.whl "$site"
fi
ldd --version | head -1
# pytest's wheels travel in dist/ too when the machine has none (pip download pytest -d dist).
/tmp/rmx-gpu-venv/bin/python -c "import pytest" 2>/dev/null || /tmp/rmx-gpu-venv/bin/pip install -q --no-index --find-links dist pytest
PY=/tmp/rmx-gpu-venv/bin/python
$PY - <<'PYEOF'
import sys, numpy, rmx as mx
print("python", sys.version.split()[0], "numpy", numpy.__version__, "rmx", mx.__version__ if hasattr(mx, "__version__") else "?")
print("num_gpus", mx.context.num_gpus(), "memory (free, total)", mx.context.gpu_memory_info(0) if mx.context.num_gpus() else None)
PYEOF
$PY -m pytest -q -o addopts="" -p no:cacheprovider -rA tests/gpu 2>&1 | tail -20
# The benchmark (benches/RESULTS.md's GPU rows); bounded so the whole check stays under 8 minutes.
timeout 300 $PY benches/convnet_gpu.py || echo "benches/convnet_gpu.py did not finish (exit $?)"
