"""Training-step benchmark: rmx beside PyTorch and MXNet 1.9.1, each in its own interpreter,
in one run (../shared/BENCHMARKS.md workloads `mlp`, `lenet`, `cifar`).

    python benches/train.py [--workloads mlp,lenet,cifar] [--steps 10]

A step is forward, backward and an SGD-with-momentum update on random data (cifar also times
inference alone). Each framework uses its own natural API: rmx and MXNet a bound executor
(`simple_bind`, forward/backward, then an in-place update per parameter), PyTorch `nn.Module`
with `torch.optim.SGD`. Median of `--steps` steps after two warm-up steps. MXNet runs under
MXNET_PYTHON (default ~/.cache/mxnet-1.9.1/bin/python), PyTorch under TORCH_PYTHON (default
/work/torch-venv/bin/python); a framework whose interpreter is missing is skipped.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

BATCH = {"mlp": 128, "lenet": 128, "cifar": 32}
SHAPE = {"mlp": (784,), "lenet": (1, 28, 28), "cifar": (3, 32, 32)}


# --- the networks as MXNet symbols (rmx and MXNet share this code) --------------------------
def sym_net(mx, name):
    data = mx.sym.var("data")
    if name == "mlp":
        x = mx.sym.Activation(mx.sym.FullyConnected(data, num_hidden=512, name="fc1"), act_type="relu")
        x = mx.sym.Activation(mx.sym.FullyConnected(x, num_hidden=512, name="fc2"), act_type="relu")
        x = mx.sym.FullyConnected(x, num_hidden=10, name="fc3")
    elif name == "lenet":
        x = mx.sym.Activation(mx.sym.Convolution(data, kernel=(5, 5), num_filter=20, name="conv1"), act_type="tanh")
        x = mx.sym.Pooling(x, pool_type="max", kernel=(2, 2), stride=(2, 2))
        x = mx.sym.Activation(mx.sym.Convolution(x, kernel=(5, 5), num_filter=50, name="conv2"), act_type="tanh")
        x = mx.sym.Pooling(x, pool_type="max", kernel=(2, 2), stride=(2, 2))
        x = mx.sym.Activation(mx.sym.FullyConnected(mx.sym.Flatten(x), num_hidden=500, name="fc1"), act_type="tanh")
        x = mx.sym.FullyConnected(x, num_hidden=10, name="fc2")
    else:
        def conv_bn(x, f, i):
            x = mx.sym.Convolution(x, kernel=(3, 3), pad=(1, 1), num_filter=f, no_bias=True, name=f"c{i}")
            return mx.sym.Activation(mx.sym.BatchNorm(x, fix_gamma=False, name=f"bn{i}"), act_type="relu")

        x = mx.sym.Activation(mx.sym.Convolution(data, kernel=(3, 3), pad=(1, 1), num_filter=64, name="c0"), act_type="relu")
        x = conv_bn(conv_bn(x, 64, 1), 64, 2)
        x = mx.sym.Pooling(x, pool_type="max", kernel=(2, 2), stride=(2, 2))
        x = mx.sym.Activation(mx.sym.Convolution(x, kernel=(3, 3), pad=(1, 1), num_filter=128, name="c3"), act_type="relu")
        x = conv_bn(conv_bn(x, 128, 4), 128, 5)
        x = mx.sym.Pooling(x, pool_type="avg", global_pool=True, kernel=(1, 1))
        x = mx.sym.FullyConnected(mx.sym.Flatten(x), num_hidden=10, name="fc")
    return mx.sym.SoftmaxOutput(x, name="softmax")


def time_steps(step, steps):
    step()
    step()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def run_symbolic(mx, name, steps):
    import numpy as np

    batch = BATCH[name]
    net = sym_net(mx, name)
    ex = net.simple_bind(mx.cpu(), data=(batch, *SHAPE[name]), grad_req="write")
    rng = np.random.RandomState(0)
    for k, a in ex.arg_dict.items():
        if k == "softmax_label":
            a[:] = rng.randint(0, 10, size=a.shape)
        else:
            a[:] = rng.uniform(-0.05, 0.05, size=a.shape)
    for a in ex.aux_arrays:
        a[:] = 1.0
    params = [k for k in ex.arg_dict if k not in ("data", "softmax_label")]
    moms = {k: mx.nd.zeros(ex.arg_dict[k].shape) for k in params}
    has_sgd = hasattr(mx.nd, "sgd_mom_update")

    def step():
        ex.forward(is_train=True)
        ex.backward()
        for k in params:
            w, g = ex.arg_dict[k], ex.grad_dict[k]
            if has_sgd:
                mx.nd.sgd_mom_update(w, g, moms[k], lr=0.01, momentum=0.9, wd=0.0, out=w)
            else:
                moms[k][:] = moms[k] * 0.9 - g * 0.01
                w += moms[k]
        ex.outputs[0].wait_to_read()
        for k in params:
            ex.arg_dict[k].wait_to_read()

    out = {"step_ms": time_steps(step, steps)}
    if name == "cifar":
        def infer():
            ex.forward(is_train=False)
            ex.outputs[0].wait_to_read()

        out["infer_ms"] = time_steps(infer, steps)
    return out


def run_torch(name, steps):
    import torch
    from torch import nn

    torch.manual_seed(0)
    if name == "mlp":
        net = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))
    elif name == "lenet":
        net = nn.Sequential(nn.Conv2d(1, 20, 5), nn.Tanh(), nn.MaxPool2d(2, 2), nn.Conv2d(20, 50, 5), nn.Tanh(), nn.MaxPool2d(2, 2),
                            nn.Flatten(), nn.Linear(800, 500), nn.Tanh(), nn.Linear(500, 10))
    else:
        def conv_bn(c_in, f):
            return [nn.Conv2d(c_in, f, 3, padding=1, bias=False), nn.BatchNorm2d(f), nn.ReLU()]

        net = nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.ReLU(), *conv_bn(64, 64), *conv_bn(64, 64), nn.MaxPool2d(2, 2),
                            nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), *conv_bn(128, 128), *conv_bn(128, 128),
                            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10))
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x = torch.randn(BATCH[name], *SHAPE[name])
    y = torch.randint(0, 10, (BATCH[name],))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss_fn(net(x), y).backward()
        opt.step()

    out = {"step_ms": time_steps(step, steps)}
    if name == "cifar":
        net.eval()

        def infer():
            with torch.no_grad():
                net(x)

        out["infer_ms"] = time_steps(infer, steps)
    return out


def worker(framework, workloads, steps):
    results = {}
    for name in workloads:
        if framework == "torch":
            results[name] = run_torch(name, steps)
        else:
            mx = __import__("mxnet" if framework == "mxnet" else "rmx")
            results[name] = run_symbolic(mx, name, steps)
    print(json.dumps(results))


def spawn(python, framework, workloads, steps):
    if not python or not os.path.exists(python):
        return None
    cmd = [python, os.path.abspath(__file__), "--worker", framework, "--workloads", ",".join(workloads), "--steps", str(steps)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        print(f"{framework} failed:\n{r.stderr[-2000:]}", file=sys.stderr)
        return None
    return json.loads(r.stdout.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workloads", default="mlp,lenet,cifar")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--worker")
    a = p.parse_args()
    workloads = a.workloads.split(",")
    if a.worker:
        return worker(a.worker, workloads, a.steps)
    res = {
        "rmx": spawn(sys.executable, "rmx", workloads, a.steps),
        "pytorch": spawn(os.environ.get("TORCH_PYTHON", "/work/torch-venv/bin/python"), "torch", workloads, a.steps),
        "mxnet": spawn(os.environ.get("MXNET_PYTHON", os.path.expanduser("~/.cache/mxnet-1.9.1/bin/python")), "mxnet", workloads, a.steps),
    }
    print(f"{'workload':<18}{'rmx ms':>10}{'PyTorch ms':>12}{'MXNet ms':>10}{'rmx/PyTorch':>13}{'rmx/MXNet':>11}")
    for name in workloads:
        for key in ("step_ms", "infer_ms"):
            vals = {f: (r or {}).get(name, {}).get(key) for f, r in res.items()}
            if vals["rmx"] is None:
                continue
            fmt = lambda v: f"{v:.1f}" if v is not None else "-"  # noqa: E731
            ratio = lambda o: f"{vals['rmx'] / o:.2f}x" if o else "-"  # noqa: E731
            label = f"{name} {'step' if key == 'step_ms' else 'inference'}"
            print(f"{label:<18}{fmt(vals['rmx']):>10}{fmt(vals['pytorch']):>12}{fmt(vals['mxnet']):>10}{ratio(vals['pytorch']):>13}{ratio(vals['mxnet']):>11}")


if __name__ == "__main__":
    main()
