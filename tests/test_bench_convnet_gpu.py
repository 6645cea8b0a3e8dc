"""``benches/convnet_gpu.py`` (the CUDA issue's benchmark) must run before it reaches the GPU
machine, whose time is short: here it runs its smoke form on the CPU, and its table has a row
per mode with rmx's time in it."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_convnet_benchmark_runs_on_the_cpu_and_prints_its_table():
    run = subprocess.run([sys.executable, os.path.join(ROOT, "benches", "convnet_gpu.py"), "--ctx", "cpu", "--models", "alexnet",
                          "--batches", "1", "--iters", "1"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    rows = [line.split("|")[1:-1] for line in run.stdout.splitlines() if line.startswith("| alexnet")]
    assert [r[2].strip() for r in rows] == ["fwd", "fwd+bwd"], run.stdout
    assert all(float(r[3]) > 0 for r in rows), run.stdout
    assert "cpu(0), float32" in run.stdout.splitlines()[0]
