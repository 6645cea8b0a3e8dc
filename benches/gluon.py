"""Gluon training steps: rmx imperative and hybridized beside MXNet 1.9.1 (both modes) and PyTorch
eager, each framework in its own interpreter, in one run, rounds interleaved.

    python benches/gluon.py [--steps 10] [--rounds 2] [--frameworks rmx,mxnet,pytorch]

The workload is the Gluon LeNet of the MNIST demo (conv 20 5x5 tanh, max-pool, conv 50 5x5 tanh,
max-pool, dense 500 tanh, dense 10) on batches of 128 random 1x28x28 images: a step is forward
under `autograd.record()`, softmax cross-entropy, backward and `Trainer.step` (SGD with momentum);
PyTorch runs the same network as `nn.Sequential` with `optim.SGD`. Median of `--steps` steps after
two warm-up steps, minimum over rounds. MXNet runs under MXNET_PYTHON (default
~/.cache/mxnet-1.9.1/bin/python), PyTorch under TORCH_PYTHON (default /work/torch-venv/bin/python);
a framework whose interpreter is missing is skipped. Threads: PyTorch's set to the core count,
rmx's and MXNet's defaults (one per core); printed in the header.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

BATCH = 128


def timed(step, steps):
    for _ in range(2):
        step()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def run_gluon(mx, hybridize, steps):
    from_gluon = mx.gluon
    nn = from_gluon.nn
    net = nn.HybridSequential()
    net.add(nn.Conv2D(20, 5, activation="tanh"), nn.MaxPool2D(2, 2), nn.Conv2D(50, 5, activation="tanh"),
            nn.MaxPool2D(2, 2), nn.Flatten(), nn.Dense(500, activation="tanh"), nn.Dense(10))
    net.initialize(mx.init.Xavier())
    if hybridize:
        net.hybridize()
    trainer = from_gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.05, "momentum": 0.9})
    loss_fn = from_gluon.loss.SoftmaxCrossEntropyLoss()
    rng = np.random.RandomState(0)
    x = mx.nd.array(rng.randn(BATCH, 1, 28, 28).astype("float32"))
    y = mx.nd.array(rng.randint(0, 10, BATCH).astype("float32"))

    def step():
        with mx.autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(BATCH)
        loss.wait_to_read()
        mx.nd.waitall()

    return timed(step, steps)


def run_torch(steps):
    import torch

    torch.set_num_threads(os.cpu_count())
    nn = torch.nn
    net = nn.Sequential(nn.Conv2d(1, 20, 5), nn.Tanh(), nn.MaxPool2d(2, 2), nn.Conv2d(20, 50, 5), nn.Tanh(),
                        nn.MaxPool2d(2, 2), nn.Flatten(), nn.Linear(800, 500), nn.Tanh(), nn.Linear(500, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.RandomState(0)
    x = torch.from_numpy(rng.randn(BATCH, 1, 28, 28).astype("float32"))
    y = torch.from_numpy(rng.randint(0, 10, BATCH))

    def step():
        opt.zero_grad()
        loss_fn(net(x), y).backward()
        opt.step()

    return {"threads": torch.get_num_threads(), "eager": timed(step, steps)}


def worker(framework, steps):
    if framework == "pytorch":
        return run_torch(steps)
    mx = __import__(framework)
    return {"imperative": run_gluon(mx, False, steps), "hybridized": run_gluon(mx, True, steps)}


def cpu_header():
    flags, model = set(), "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    ext = [e for e in ("avx2", "fma", "avx512f") if e in flags]
    return f"{model}, {os.cpu_count()} cores, {' '.join(ext)}"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--frameworks", default="rmx,mxnet,pytorch")
    p.add_argument("--worker")
    a = p.parse_args()
    if a.worker:
        print(json.dumps(worker(a.worker, a.steps)))
        return
    pythons = {
        "rmx": sys.executable,
        "mxnet": os.environ.get("MXNET_PYTHON", os.path.expanduser("~/.cache/mxnet-1.9.1/bin/python")),
        "pytorch": os.environ.get("TORCH_PYTHON", "/work/torch-venv/bin/python"),
    }
    chosen = [f for f in a.frameworks.split(",") if os.path.exists(pythons[f])]
    best = {}
    for _ in range(a.rounds):
        for f in chosen:
            r = subprocess.run([pythons[f], os.path.abspath(__file__), "--worker", f, "--steps", str(a.steps)],
                               stdout=subprocess.PIPE, text=True, check=True)
            for mode, v in json.loads(r.stdout.strip().splitlines()[-1]).items():
                key = (f, mode)
                best[key] = v if mode == "threads" else min(v, best.get(key, v))
    print(cpu_header())
    print(f"threads: rmx/MXNet default (one per core), PyTorch {best.get(('pytorch', 'threads'), '-')}")
    torch_ms = best.get(("pytorch", "eager"))
    print(f"{'LeNet step, batch 128':<28}{'ms':>8}{'/ PyTorch':>11}")
    for (f, mode), v in best.items():
        if mode == "threads":
            continue
        ratio = f"{v / torch_ms:.2f}x" if torch_ms else "-"
        print(f"{f + ' ' + mode:<28}{v:>8.1f}{ratio:>11}")


if __name__ == "__main__":
    main()
