"""Gluon training steps: rmx imperative and hybridized beside MXNet 1.9.1 (both modes) and PyTorch
eager, each framework in its own interpreter, in one run, rounds interleaved.

    python benches/gluon.py [--models lenet,resnet18] [--steps 10] [--rounds 2]
                            [--frameworks rmx,mxnet,pytorch]

Two workloads. `lenet`: the Gluon LeNet of the MNIST demo (conv 20 5x5 tanh, max-pool, conv 50
5x5 tanh, max-pool, dense 500 tanh, dense 10) on batches of 128 random 1x28x28 images.
`resnet18`: the model zoo's `resnet18_v1` with `thumbnail=True` (the CIFAR-shaped ResNet-18: a
3x3 stem, no max-pool, 10 classes) on batches of 32 random 3x32x32 images (`--steps` 5 for it).
A step is forward under `autograd.record()`, softmax cross-entropy, backward and
`Trainer.step` (SGD with momentum); PyTorch runs the same networks (`nn.Sequential`, and a
ResNet-18 written out with the same blocks) with `optim.SGD`. Median of `--steps` steps after
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

BATCH = {"lenet": 128, "resnet18": 32}
INPUT = {"lenet": (1, 28, 28), "resnet18": (3, 32, 32)}
STEPS = {"lenet": 10, "resnet18": 5}


def timed(step, steps):
    for _ in range(2):
        step()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def gluon_net(mx, model):
    nn = mx.gluon.nn
    if model == "resnet18":
        return mx.gluon.model_zoo.vision.get_model("resnet18_v1", thumbnail=True, classes=10)
    net = nn.HybridSequential()
    net.add(nn.Conv2D(20, 5, activation="tanh"), nn.MaxPool2D(2, 2), nn.Conv2D(50, 5, activation="tanh"),
            nn.MaxPool2D(2, 2), nn.Flatten(), nn.Dense(500, activation="tanh"), nn.Dense(10))
    return net


def run_gluon(mx, model, hybridize, steps):
    from_gluon = mx.gluon
    batch = BATCH[model]
    net = gluon_net(mx, model)
    net.initialize(mx.init.Xavier())
    if hybridize:
        net.hybridize()
    trainer = from_gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.05, "momentum": 0.9})
    loss_fn = from_gluon.loss.SoftmaxCrossEntropyLoss()
    rng = np.random.RandomState(0)
    x = mx.nd.array(rng.randn(batch, *INPUT[model]).astype("float32"))
    y = mx.nd.array(rng.randint(0, 10, batch).astype("float32"))

    def step():
        with mx.autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(batch)
        loss.wait_to_read()
        mx.nd.waitall()

    return timed(step, steps)


def torch_resnet18(nn):
    """MXNet's thumbnail `resnet18_v1`: BasicBlockV1 (conv-BN-ReLU-conv-BN, a 1x1 conv-BN
    shortcut where the shape changes, ReLU after the sum) in four stages of two."""

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                                      nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
            self.down = None
            if stride != 1 or cin != cout:
                self.down = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            return (self.body(x) + (x if self.down is None else self.down(x))).relu()

    layers = [nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU()]
    cin = 64
    for i, cout in enumerate([64, 128, 256, 512]):
        layers += [Block(cin, cout, 1 if i == 0 else 2), Block(cout, cout, 1)]
        cin = cout
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 10)]
    return nn.Sequential(*layers)


def run_torch(model, steps):
    import torch

    torch.set_num_threads(os.cpu_count())
    nn = torch.nn
    batch = BATCH[model]
    if model == "resnet18":
        net = torch_resnet18(nn)
    else:
        net = nn.Sequential(nn.Conv2d(1, 20, 5), nn.Tanh(), nn.MaxPool2d(2, 2), nn.Conv2d(20, 50, 5), nn.Tanh(),
                            nn.MaxPool2d(2, 2), nn.Flatten(), nn.Linear(800, 500), nn.Tanh(), nn.Linear(500, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.RandomState(0)
    x = torch.from_numpy(rng.randn(batch, *INPUT[model]).astype("float32"))
    y = torch.from_numpy(rng.randint(0, 10, batch))

    def step():
        opt.zero_grad()
        loss_fn(net(x), y).backward()
        opt.step()

    return {"threads": torch.get_num_threads(), "eager": timed(step, steps)}


def worker(framework, model, steps):
    if framework == "pytorch":
        return run_torch(model, steps)
    mx = __import__(framework)
    return {"imperative": run_gluon(mx, model, False, steps), "hybridized": run_gluon(mx, model, True, steps)}


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
    p.add_argument("--models", default="lenet,resnet18")
    p.add_argument("--steps", type=int, help="timed steps per mode (default: 10 for lenet, 5 for resnet18)")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--frameworks", default="rmx,mxnet,pytorch")
    p.add_argument("--worker")
    a = p.parse_args()
    if a.worker:
        model = a.models
        print(json.dumps(worker(a.worker, model, a.steps or STEPS[model])))
        return
    pythons = {
        "rmx": sys.executable,
        "mxnet": os.environ.get("MXNET_PYTHON", os.path.expanduser("~/.cache/mxnet-1.9.1/bin/python")),
        "pytorch": os.environ.get("TORCH_PYTHON", "/work/torch-venv/bin/python"),
    }
    chosen = [f for f in a.frameworks.split(",") if os.path.exists(pythons[f])]
    print(cpu_header())
    for model in a.models.split(","):
        best = {}
        for _ in range(a.rounds):
            for f in chosen:
                cmd = [pythons[f], os.path.abspath(__file__), "--worker", f, "--models", model]
                if a.steps:
                    cmd += ["--steps", str(a.steps)]
                r = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
                for mode, v in json.loads(r.stdout.strip().splitlines()[-1]).items():
                    key = (f, mode)
                    best[key] = v if mode == "threads" else min(v, best.get(key, v))
        report(model, best)


def report(model, best):
    print(f"threads: rmx/MXNet default (one per core), PyTorch {best.get(('pytorch', 'threads'), '-')}")
    torch_ms = best.get(("pytorch", "eager"))
    print(f"{f'{model} step, batch {BATCH[model]}':<28}{'ms':>8}{'/ PyTorch':>11}")
    for (f, mode), v in best.items():
        if mode == "threads":
            continue
        ratio = f"{v / torch_ms:.2f}x" if torch_ms else "-"
        print(f"{f + ' ' + mode:<28}{v:>8.1f}{ratio:>11}")


if __name__ == "__main__":
    main()
