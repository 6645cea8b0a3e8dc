"""Training benchmark: rmx beside PyTorch and MXNet 1.9.1, each in its own interpreter, in one
run (../shared/BENCHMARKS.md workloads `mlp`, `lenet`, `cifar`; and `time99`, on request).

    python benches/train.py [--workloads mlp,lenet,cifar,time99] [--steps 10] [--rounds 2]
                            [--threads N] [--fit-batches 20] [--frameworks rmx,pytorch,mxnet]
                            [--max-epochs 10] [--max-isa avx2 --rmx-python DIR]

A step is what users run: rmx and MXNet a `Module`'s `forward_backward` and `update` (SGD with
momentum, as `fit` steps), PyTorch `nn.Sequential` with `torch.optim.SGD`; on random data, cifar
also timing inference alone. Each figure is the median of `--steps` steps after two warm-up
steps; `fit samples/s` times `Module.fit` for one epoch of `--fit-batches` batches from an
`NDArrayIter` (PyTorch: the same loop by hand, with the accuracy counted as fit's metric does).
Every framework gets `--threads` compute threads (default: the CPU count) and one engine worker;
the frameworks run one after the other, `--rounds` times (rmx, PyTorch, MXNet, then again), and
the best round is reported. The header names the CPU and its vector extensions. MXNet runs
under MXNET_PYTHON (default ~/.cache/mxnet-1.9.1/bin/python), PyTorch under TORCH_PYTHON
(default /tmp/torch-venv/bin/python); a framework whose interpreter is missing is skipped.

`--max-isa avx2` runs an AVX-512 machine as an AVX2 one: PyTorch's MKL and oneDNN, MXNet's
oneDNN and OpenBLAS capped at AVX2 through their environment variables, and rmx from
`--rmx-python` (a directory holding an `rmx` package built without the `gemm` crate's AVX-512
micro-kernels, `maturin develop --no-default-features`; rmx's own loops use nothing past AVX2).
The same cores run the wider instructions too, so this is the AVX2 code on this machine, not an
AVX2 machine.

`time99` (not in the default list: minutes per framework) is time to 99% test accuracy on MNIST
with LeNet, trained as `python -m rmx.examples.mnist` trains it: batch 64, SGD with momentum 0.9,
learning rate 0.05 divided by 10 after epoch 3, weight decay 1e-4 on weights (not biases),
Xavier-uniform weights (fan-in, magnitude 2.34) and zero biases, pixels / 256. Every framework
starts from the same initial weights (drawn with NumPy) and sees the same batches (one NumPy
permutation per epoch; the last batch of an epoch topped up from the epoch's first images, 938
updates an epoch, as MNISTIter pads). After each epoch the whole 10,000-image test set is scored;
the clock (training and scoring, from the first step) stops at the first score >= 99%, or after
`--max-epochs`. It reports the seconds, the epochs and each epoch's test accuracy.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvstore import cpu_header  # noqa: E402

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


OPT = {"learning_rate": 0.01, "momentum": 0.9, "wd": 0.0}


def bound_module(mx, name):
    """Workload `name`'s net as a `Module` bound for its batch, initialized, with SGD and momentum."""
    batch = BATCH[name]
    mod = mx.mod.Module(sym_net(mx, name), context=mx.cpu())
    mod.bind(data_shapes=[("data", (batch, *SHAPE[name]))], label_shapes=[("softmax_label", (batch,))])
    mod.init_params(initializer=mx.init.Uniform(0.05))
    mod.init_optimizer(optimizer="sgd", optimizer_params=OPT)
    return mod


def run_symbolic(mx, name, steps, fit_batches):
    """A `Module` trained as `fit` trains it: `forward_backward` then `update` (SGD with
    momentum through the module's updater), waiting for the step's results; then `fit` itself
    for one epoch of `fit_batches` batches from an `NDArrayIter`."""
    batch = BATCH[name]
    mod = bound_module(mx, name)
    rng = np.random.RandomState(0)
    data = rng.uniform(-1, 1, size=(fit_batches * batch, *SHAPE[name])).astype(np.float32)
    label = rng.randint(0, 10, size=fit_batches * batch).astype(np.float32)
    one = mx.io.DataBatch([mx.nd.array(data[:batch])], [mx.nd.array(label[:batch])])

    def step():
        mod.forward_backward(one)
        mod.update()
        mx.nd.waitall()

    out = {"step_ms": time_steps(step, steps)}
    if name == "cifar":
        def infer():
            mod.forward(one, is_train=False)
            mod.get_outputs()[0].wait_to_read()

        out["infer_ms"] = time_steps(infer, steps)
    it = mx.io.NDArrayIter(data, label, batch_size=batch, label_name="softmax_label")
    t = time.perf_counter()
    mod.fit(it, num_epoch=1, optimizer="sgd", optimizer_params=OPT, eval_metric="acc")
    mx.nd.waitall()
    out["fit_samples_s"] = fit_batches * batch / (time.perf_counter() - t)
    return out


def run_torch(name, steps, fit_batches):
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
    batch = BATCH[name]
    rng = np.random.RandomState(0)
    data = torch.from_numpy(rng.uniform(-1, 1, size=(fit_batches * batch, *SHAPE[name])).astype(np.float32))
    label = torch.from_numpy(rng.randint(0, 10, size=fit_batches * batch))
    x, y = data[:batch], label[:batch]
    loss_fn = nn.CrossEntropyLoss()

    def train(xb, yb):
        opt.zero_grad()
        out = net(xb)
        loss_fn(out, yb).backward()
        opt.step()
        return out

    out = {"step_ms": time_steps(lambda: train(x, y), steps)}
    if name == "cifar":
        net.eval()

        def infer():
            with torch.no_grad():
                net(x)

        out["infer_ms"] = time_steps(infer, steps)
        net.train()
    # fit's equivalent: an epoch over the batches, with the accuracy kept as fit's metric does
    t = time.perf_counter()
    correct = 0
    for i in range(fit_batches):
        xb, yb = data[i * batch:(i + 1) * batch], label[i * batch:(i + 1) * batch]
        correct += int((train(xb, yb).argmax(1) == yb).sum())
    out["fit_samples_s"] = fit_batches * batch / (time.perf_counter() - t)
    return out


# --- time to 99% test accuracy on MNIST with LeNet (`time99`) --------------------------------
# rmx.examples.mnist's defaults
T99_BATCH, T99_LR, T99_MOMENTUM, T99_WD, T99_STEP_EPOCHS, T99_FACTOR = 64, 0.05, 0.9, 1e-4, (3,), 0.1
T99_TARGET = 0.99
LENET_PARAMS = [("conv1_weight", (20, 1, 5, 5)), ("conv1_bias", (20,)), ("conv2_weight", (50, 20, 5, 5)), ("conv2_bias", (50,)),
                ("fc1_weight", (500, 800)), ("fc1_bias", (500,)), ("fc2_weight", (10, 500)), ("fc2_bias", (10,))]


def mnist_arrays():
    """(train images, train labels, test images, test labels): images (N, 1, 28, 28) float32 as
    MNISTIter scales them (byte / 256), labels int64."""
    import gzip

    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "mnist")

    def idx(name, offset):
        with gzip.open(os.path.join(root, name)) as f:
            return np.frombuffer(f.read(), np.uint8, offset=offset)

    images = lambda name: (idx(name, 16).reshape(-1, 1, 28, 28) / np.float32(256)).astype(np.float32)  # noqa: E731
    labels = lambda name: idx(name, 8).astype(np.int64)  # noqa: E731
    return (images("train-images-idx3-ubyte.gz"), labels("train-labels-idx1-ubyte.gz"),
            images("t10k-images-idx3-ubyte.gz"), labels("t10k-labels-idx1-ubyte.gz"))


def lenet_init():
    """The initial LeNet weights, the same for every framework: MXNet's Xavier(factor_type='in',
    magnitude=2.34) uniform, U(-s, s) with s = sqrt(2.34 / fan_in), drawn with NumPy; biases 0."""
    rng = np.random.RandomState(42)
    out = {}
    for name, shape in LENET_PARAMS:
        if name.endswith("_weight"):
            s = np.sqrt(2.34 / np.prod(shape[1:]))
            out[name] = rng.uniform(-s, s, size=shape).astype(np.float32)
        else:
            out[name] = np.zeros(shape, np.float32)
    return out


def epoch_batches(rng, n, batch):
    """One epoch's batches of indices: a permutation, the last batch topped up from its start."""
    perm = rng.permutation(n)
    perm = np.concatenate([perm, perm[: (-n) % batch]]) if n % batch else perm
    return perm.reshape(-1, batch)


def time_to_target(train_epoch, test_accuracy, max_epochs):
    """Runs epochs until the test accuracy reaches T99_TARGET; the seconds include scoring."""
    accs = []
    start = time.perf_counter()
    for epoch in range(max_epochs):
        train_epoch(epoch)
        accs.append(float(test_accuracy()))
        elapsed = time.perf_counter() - start
        print(f"  epoch {epoch + 1}: test accuracy {accs[-1]:.4f} at {elapsed:.0f} s", file=sys.stderr, flush=True)
        if accs[-1] >= T99_TARGET:
            return {"seconds": elapsed, "epochs": epoch + 1, "accuracy": accs}
    return {"seconds": None, "epochs": None, "accuracy": accs, "elapsed": time.perf_counter() - start}


def run_time99_symbolic(mx, max_epochs):
    x, y, xt, yt = mnist_arrays()
    batch = T99_BATCH
    mod = mx.mod.Module(sym_net(mx, "lenet"), context=mx.cpu())
    mod.bind(data_shapes=[("data", (batch, 1, 28, 28))], label_shapes=[("softmax_label", (batch,))])
    mod.init_params(arg_params={k: mx.nd.array(v) for k, v in lenet_init().items()}, aux_params={})
    epoch_size = -(-len(x) // batch)
    sched = mx.lr_scheduler.MultiFactorScheduler(step=[epoch_size * e for e in T99_STEP_EPOCHS], factor=T99_FACTOR, base_lr=T99_LR)
    mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": T99_LR, "momentum": T99_MOMENTUM, "wd": T99_WD, "lr_scheduler": sched})
    rng = np.random.RandomState(10)
    yf = y.astype(np.float32)

    def train_epoch(_):
        for idx in epoch_batches(rng, len(x), batch):
            mod.forward_backward(mx.io.DataBatch([mx.nd.array(x[idx])], [mx.nd.array(yf[idx])]))
            mod.update()

    def test_accuracy():
        correct = 0
        for i in range(0, len(xt), batch):
            xb = xt[i:i + batch]
            n = len(xb)
            if n < batch:
                xb = np.concatenate([xb, np.zeros((batch - n, *xb.shape[1:]), xb.dtype)])
            mod.forward(mx.io.DataBatch([mx.nd.array(xb)], [mx.nd.zeros((batch,))]), is_train=False)
            correct += int((mod.get_outputs()[0].asnumpy()[:n].argmax(axis=1) == yt[i:i + n]).sum())
        return correct / len(xt)

    return time_to_target(train_epoch, test_accuracy, max_epochs)


def run_time99_torch(max_epochs):
    import torch
    from torch import nn

    x, y, xt, yt = mnist_arrays()
    net = nn.Sequential(nn.Conv2d(1, 20, 5), nn.Tanh(), nn.MaxPool2d(2, 2), nn.Conv2d(20, 50, 5), nn.Tanh(), nn.MaxPool2d(2, 2),
                        nn.Flatten(), nn.Linear(800, 500), nn.Tanh(), nn.Linear(500, 10))
    init = lenet_init()
    params = list(net.parameters())
    with torch.no_grad():
        for p, (name, _) in zip(params, LENET_PARAMS):
            p.copy_(torch.from_numpy(init[name]))
    # MXNet's default: weight decay on weights only (Module names the parameters).
    groups = [{"params": [p for p, (n, _) in zip(params, LENET_PARAMS) if n.endswith("_weight")], "weight_decay": T99_WD},
              {"params": [p for p, (n, _) in zip(params, LENET_PARAMS) if not n.endswith("_weight")], "weight_decay": 0.0}]
    opt = torch.optim.SGD(groups, lr=T99_LR, momentum=T99_MOMENTUM)
    loss_fn = nn.CrossEntropyLoss()
    rng = np.random.RandomState(10)
    xs, ys, xts = torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(xt)

    def train_epoch(epoch):
        for group in opt.param_groups:
            group["lr"] = T99_LR * T99_FACTOR ** sum(epoch >= e for e in T99_STEP_EPOCHS)
        net.train()
        for idx in epoch_batches(rng, len(x), T99_BATCH):
            idx = torch.from_numpy(idx)
            opt.zero_grad()
            loss_fn(net(xs[idx]), ys[idx]).backward()
            opt.step()

    def test_accuracy():
        net.eval()
        with torch.no_grad():
            pred = torch.cat([net(xts[i:i + 1000]).argmax(dim=1) for i in range(0, len(xt), 1000)])
        return float((pred.numpy() == yt).mean())

    return time_to_target(train_epoch, test_accuracy, max_epochs)


def worker(framework, workloads, steps, max_epochs, fit_batches, threads, max_isa=None):
    results = {}
    if framework == "torch":
        import torch
        torch.set_num_threads(threads)
    for name in workloads:
        if framework == "torch":
            results[name] = run_time99_torch(max_epochs) if name == "time99" else run_torch(name, steps, fit_batches)
        else:
            mx = __import__("mxnet" if framework == "mxnet" else "rmx")
            if framework == "rmx" and max_isa == "avx2" and mx._rmx.GEMM_AVX512_KERNELS:
                sys.exit(f"--max-isa avx2: the rmx at {os.path.dirname(mx.__file__)} has the AVX-512 gemm kernels; "
                         "give --rmx-python a build made with `maturin develop --no-default-features`")
            results[name] = run_time99_symbolic(mx, max_epochs) if name == "time99" else run_symbolic(mx, name, steps, fit_batches)
    print(json.dumps(results))


def thread_env(threads):
    """Every framework's compute threads set to `threads`, engine workers to 1 (their default)."""
    n = str(threads)
    return {"OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n, "RAYON_NUM_THREADS": n, "RMX_CPU_WORKERS": "1",
            "MXNET_CPU_WORKER_NTHREADS": "1", "RMX_PROGRESS": "0"}


# Every library's cap on the vector instructions it uses, as `--max-isa avx2` sets them.
AVX2_CAPS = {"MKL_ENABLE_INSTRUCTIONS": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2", "DNNL_MAX_CPU_ISA": "AVX2",
             "MKLDNN_MAX_CPU_ISA": "AVX2", "OPENBLAS_CORETYPE": "Haswell"}


def spawn(python, framework, a):
    if not python or not os.path.exists(python):
        return None
    cmd = [python, os.path.abspath(__file__), "--worker", framework, "--workloads", a.workloads, "--steps", str(a.steps),
           "--max-epochs", str(a.max_epochs), "--fit-batches", str(a.fit_batches), "--threads", str(a.threads)]
    if "time99" in a.workloads:
        print(f"{framework}: time99", file=sys.stderr, flush=True)
    env = dict(os.environ, **thread_env(a.threads))
    if a.max_isa == "avx2":
        env.update(AVX2_CAPS)
        cmd += ["--max-isa", a.max_isa]
    if framework == "rmx" and a.rmx_python:
        env["PYTHONPATH"] = os.pathsep.join([a.rmx_python, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    # stderr passes through: time99's per-epoch progress, and any failure's traceback
    r = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env)
    if r.returncode != 0:
        print(f"{framework} failed (exit status {r.returncode})", file=sys.stderr)
        return None
    return json.loads(r.stdout.strip().splitlines()[-1])


def best(rounds):
    """Per framework, workload and figure, the best over rounds (least ms, most samples/s)."""
    out = {}
    for res in rounds:
        for f, r in res.items():
            for name, figs in (r or {}).items():
                for key, v in figs.items():
                    if not isinstance(v, (int, float)):
                        out.setdefault(f, {}).setdefault(name, {})[key] = v
                        continue
                    have = out.setdefault(f, {}).setdefault(name, {}).get(key)
                    better = have is None or (v > have if key.endswith("_s") else v < have)
                    out[f][name][key] = v if better else have
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workloads", default="mlp,lenet,cifar")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--rounds", type=int, default=2, help="interleaved rounds (rmx, PyTorch, MXNet, then again)")
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="compute threads of every framework")
    p.add_argument("--fit-batches", type=int, default=20, help="batches of the timed fit epoch")
    p.add_argument("--frameworks", default="rmx,pytorch,mxnet")
    p.add_argument("--max-epochs", type=int, default=10, help="time99: give up after this many epochs")
    p.add_argument("--max-isa", choices=["avx2"], help="cap every framework's vector instructions at AVX2")
    p.add_argument("--rmx-python", help="directory of the rmx package to run (prepended to PYTHONPATH)")
    p.add_argument("--worker")
    a = p.parse_args()
    workloads = a.workloads.split(",")
    if a.worker:
        return worker(a.worker, workloads, a.steps, a.max_epochs, a.fit_batches, a.threads, a.max_isa)
    pythons = {
        "rmx": (sys.executable, "rmx"),
        "pytorch": (os.environ.get("TORCH_PYTHON", "/tmp/torch-venv/bin/python"), "torch"),
        "mxnet": (os.environ.get("MXNET_PYTHON", os.path.expanduser("~/.cache/mxnet-1.9.1/bin/python")), "mxnet"),
    }
    chosen = a.frameworks.split(",")
    print(f"# {cpu_header()}; {a.threads} compute threads per framework (OMP_NUM_THREADS, RAYON_NUM_THREADS, "
          f"torch.set_num_threads), 1 engine worker; best of {a.rounds} interleaved rounds, each the median of {a.steps} steps"
          + ("; vector instructions capped at AVX2 (" + ", ".join(f"{k}={v}" for k, v in AVX2_CAPS.items())
             + "; rmx without AVX-512 gemm kernels)" if a.max_isa else ""))
    rounds = [{f: spawn(*pythons[f], a) if f in chosen else None for f in pythons} for _ in range(1 if "time99" in workloads else a.rounds)]
    res = best(rounds)
    res = {f: res.get(f) for f in pythons}
    if any(w != "time99" for w in workloads):
        print(f"{'workload':<22}{'rmx':>10}{'PyTorch':>10}{'MXNet':>10}{'rmx/PyTorch':>13}{'rmx/MXNet':>11}")
    for name in workloads:
        for key, label in (("step_ms", "step ms"), ("infer_ms", "inference ms"), ("fit_samples_s", "fit samples/s")):
            vals = {f: (r or {}).get(name, {}).get(key) for f, r in res.items()}
            if vals["rmx"] is None:
                continue
            fmt = lambda v: f"{v:.1f}" if v is not None else "-"  # noqa: E731
            # a time ratio: rmx's time over the other's (samples/s inverted to match)
            ratio = lambda o: "-" if not o else f"{(vals['rmx'] / o if key.endswith('_ms') else o / vals['rmx']):.2f}x"  # noqa: E731
            print(f"{name + ' ' + label:<22}{fmt(vals['rmx']):>10}{fmt(vals['pytorch']):>10}{fmt(vals['mxnet']):>10}{ratio(vals['pytorch']):>13}{ratio(vals['mxnet']):>11}")
    if "time99" in workloads:
        print(f"\ntime to {T99_TARGET:.0%} test accuracy, MNIST LeNet (cap {a.max_epochs} epochs)")
        print(f"{'framework':<12}{'seconds':>9}{'epochs':>8}  test accuracy after each epoch")
        for f, r in res.items():
            t = (r or {}).get("time99")
            if t is None:
                continue
            secs = f"{t['seconds']:.0f}" if t["seconds"] is not None else f"> {t['elapsed']:.0f}"
            print(f"{f:<12}{secs:>9}{t['epochs'] or '-':>8}  {' '.join(f'{v:.4f}' for v in t['accuracy'])}")


if __name__ == "__main__":
    main()
