"""``benches/step_ops.py`` (where a Module step's time goes) still reads rmx's profiler dumps: a
few steps of the MLP must list the step's operators in the engine's order, the same number
every step, with durations that add up to at most the step's wall time."""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_step_ops_lists_the_mlp_step_in_order():
    run = subprocess.run([sys.executable, os.path.join(ROOT, "benches", "step_ops.py"), "--workload", "mlp", "--steps", "3", "--threads", "1"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    lines = run.stdout.splitlines()
    wall, busy = map(float, re.match(r"wall ([\d.]+) ms/step; operators ([\d.]+) ms", lines[1]).groups())
    assert 0 < busy <= wall
    ops = [line.split()[1] for line in lines[3:] if line.split()[0].isdigit()]
    assert lines[-1].startswith("Python per step, median us") and "update()" in lines[-1], lines[-1]
    # The two hidden layers run with their ReLU fused in (epilogue fusion), the last alone.
    fc = [i for i, name in enumerate(ops) if name in ("FullyConnected", "FullyConnected+Activation")]
    bfc = [i for i, name in enumerate(ops) if name == "_backward_FullyConnected"]
    assert len(fc) == 3 and len(bfc) == 3 and max(fc) < min(bfc), ops
    assert [ops[i] for i in fc] == ["FullyConnected+Activation"] * 2 + ["FullyConnected"], ops
    assert ops[-1] == "multi_sgd_mom_update", ops
