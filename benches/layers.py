"""Layer benchmark: the layers issue 16's fourth round changed, rmx beside PyTorch, in one run.

    python benches/layers.py [--threads 2] [--reps 200] [--rounds 3]

Each row times one layer at a training workload's shape (``benches/train.py``), forward alone or
forward and backward (all gradients), on preallocated inputs; the figure is the first quartile of
``--reps`` calls after warm-up (it reads through the machine's noise better than the median),
best of ``--rounds`` interleaved rounds (rmx, PyTorch, then again):

- ``fc 128x784x512`` / ``fc 128x512x512``: FullyConnected (``nn.Linear``) at the MLP's batch and
  widths, forward (ms), and forward + backward (ms);
- ``fc+relu ... forward``: the layer and its ReLU as a bound executor runs them (rmx fuses the
  activation into the layer's epilogue), and ``unfused`` with that fusion off
  (``RMX_FUSE_EPILOGUE=0``); PyTorch ``relu(lin(x))``;
- ``maxpool 2x2 lenet1`` / ``lenet2``: max pooling 2x2, stride 2, over LeNet's first (128x20x24x24)
  and second (128x50x8x8) convolutions' outputs, forward + backward (ms).

Every framework gets ``--threads`` compute threads; rmx one engine worker. PyTorch runs under
TORCH_PYTHON (default /tmp/torch-venv/bin/python) and is skipped where that is missing.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvstore import cpu_header  # noqa: E402

FC = [(128, 784, 512), (128, 512, 512)]
POOL = {"lenet1": (128, 20, 24, 24), "lenet2": (128, 50, 8, 8)}


def quartile(fn, reps, sync):
    for _ in range(5):
        fn()
    sync()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 4] * 1e3


def rmx_rows(reps):
    import rmx as mx
    rng, rows = np.random.RandomState(0), {}
    sync = mx.nd.waitall
    for m, k, n in FC:
        x, w, b = (mx.nd.array(rng.rand(*s).astype(np.float32)) for s in [(m, k), (n, k), (n,)])
        out = mx.nd.zeros((m, n))
        rows[f"fc {m}x{k}x{n} forward"] = quartile(lambda: mx.nd.FullyConnected(x, w, b, num_hidden=n, out=out), reps, sync)
        for a in (x, w, b):
            a.attach_grad()

        def step():
            with mx.autograd.record():
                y = mx.nd.FullyConnected(x, w, b, num_hidden=n)
            y.backward()
        rows[f"fc {m}x{k}x{n} forward+backward"] = quartile(step, reps, sync)
        for label, switch in (("", "1"), (", unfused", "0")):
            rows[f"fc+relu {m}x{k}x{n} forward{label}"] = quartile(fc_relu_executor(mx, x, w, b, switch), reps, sync)
    for name, shape in POOL.items():
        x = mx.nd.array(rng.randn(*shape).astype(np.float32))
        x.attach_grad()

        def pool():
            with mx.autograd.record():
                y = mx.nd.Pooling(x, kernel=(2, 2), stride=(2, 2), pool_type="max")
            y.backward()
        rows[f"maxpool 2x2 {name} forward+backward"] = quartile(pool, reps, sync)
    return rows


def fc_relu_executor(mx, x, w, b, switch):
    """`relu(FullyConnected(x))` bound as an executor with epilogue fusion `switch`ed on or off
    (read at bind); returns its forward."""
    sym = mx.sym.Activation(mx.sym.FullyConnected(mx.sym.var("x"), num_hidden=w.shape[0], name="fc"), act_type="relu")
    os.environ["RMX_FUSE_EPILOGUE"] = switch
    try:
        ex = sym.bind(mx.cpu(), {"x": x, "fc_weight": w, "fc_bias": b})
    finally:
        os.environ.pop("RMX_FUSE_EPILOGUE")
    return lambda: ex.forward(is_train=False)


def torch_rows(reps, threads):
    import torch
    torch.set_num_threads(threads)
    rows, sync = {}, (lambda: None)
    for m, k, n in FC:
        x = torch.rand(m, k, requires_grad=True)
        lin = torch.nn.Linear(k, n)
        with torch.no_grad():
            rows[f"fc {m}x{k}x{n} forward"] = quartile(lambda: lin(x), reps, sync)
        rows[f"fc {m}x{k}x{n} forward+backward"] = quartile(lambda: lin(x).backward(torch.ones(m, n)), reps, sync)
        with torch.no_grad():
            rows[f"fc+relu {m}x{k}x{n} forward"] = quartile(lambda: torch.relu(lin(x)), reps, sync)
    for name, shape in POOL.items():
        x = torch.randn(*shape, requires_grad=True)
        grad = torch.ones(shape[0], shape[1], shape[2] // 2, shape[3] // 2)
        rows[f"maxpool 2x2 {name} forward+backward"] = quartile(lambda: torch.nn.functional.max_pool2d(x, 2, 2).backward(grad), reps, sync)
    return rows


def spawn(python, framework, a):
    if not python or not os.path.exists(python):
        return None
    n = str(a.threads)
    env = dict(os.environ, OMP_NUM_THREADS=n, MKL_NUM_THREADS=n, RAYON_NUM_THREADS=n, RMX_CPU_WORKERS="1")
    cmd = [python, os.path.abspath(__file__), "--worker", framework, "--reps", str(a.reps), "--threads", n]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env)
    if r.returncode != 0:
        print(f"{framework} failed (exit status {r.returncode})", file=sys.stderr)
        return None
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--reps", type=int, default=200)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--worker", help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.worker:
        rows = rmx_rows(a.reps) if a.worker == "rmx" else torch_rows(a.reps, a.threads)
        print(json.dumps(rows))
        return
    pythons = {"rmx": sys.executable, "pytorch": os.environ.get("TORCH_PYTHON", "/tmp/torch-venv/bin/python")}
    best = {}
    for _ in range(a.rounds):
        for fw, py in pythons.items():
            for row, ms in (spawn(py, fw, a) or {}).items():
                best.setdefault(row, {})[fw] = min(ms, best.get(row, {}).get(fw, float("inf")))
    print(f"# {cpu_header()}; {a.threads} compute threads each, first quartile of {a.reps} calls, best of {a.rounds} rounds")
    print(f"{'layer (ms)':44s} {'rmx':>8s} {'PyTorch':>8s} {'rmx/PyTorch':>12s}")
    for row, v in best.items():
        r, t = v.get("rmx"), v.get("pytorch")
        ratio = f"{r / t:.2f}x" if r and t else ""
        fmt = lambda x: f"{x:8.3f}" if x else f"{'':8s}"  # noqa: E731
        print(f"{row:44s} {fmt(r)} {fmt(t)} {ratio:>12s}")


if __name__ == "__main__":
    main()
