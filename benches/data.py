"""The image data path: rmx's ImageRecordIter beside MXNet 1.9.1's ImageRecordIter on the same
`.rec` file and PyTorch's DataLoader on the same JPEG files, in one run, rounds interleaved.

    python benches/data.py [--images 1024] [--rounds 2] [--frameworks rmx,mxnet,pytorch]

The script makes `--images` JPEG photos-like images of 320x240 (textured gradients with noise,
quality 90, about 35 KB each) in class folders under `--dir` (default /tmp/rmx-bench-data),
lists them and packs them with rmx's im2rec (`--pass-through`: the `.rec` holds the very bytes
PyTorch reads). Each framework, in its own interpreter, reads one warm-up epoch and then times
two epochs of batches of 128: decode, random 224x224 crop, random mirror, per-channel
mean/std normalization into float32 (NCHW). rmx and MXNet get `preprocess_threads` = the core
count (MXNet with ctx='cpu', which uses them all); PyTorch's DataLoader gets one worker process
per core with PIL decoding and torchvision transforms. Images/s, best over rounds.

Also printed: the limit, zune-jpeg's single-core decode rate of these files times the cores;
and the end-to-end case, a Module training a small convnet on rmx's batches, with the share of
its step time spent waiting for the next batch.

MXNet runs under MXNET_PYTHON (default ~/.cache/mxnet-1.9.1/bin/python), PyTorch under
TORCH_PYTHON (default /work/torch-venv/bin/python); a framework whose interpreter is missing is
skipped.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

BATCH = 128
MEAN = (123.68, 116.28, 103.53)
STD = (58.395, 57.12, 57.375)


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


def make_data(root, n):
    """JPEG files in 4 class folders, an im2rec list and a pass-through .rec; returns the prefix."""
    import rmx as mx
    from rmx import _rmx
    prefix = os.path.join(root, "bench")
    if os.path.exists(prefix + ".rec") and len(open(prefix + ".lst").readlines()) == n:
        return prefix
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:240, 0:320].astype(np.float32)
    for i in range(n):
        d = os.path.join(root, "images", "class%d" % (i % 4))
        os.makedirs(d, exist_ok=True)
        fx, fy, ph = rng.uniform(3, 20), rng.uniform(3, 20), rng.uniform(0, 6)
        base = np.sin(xx / fx + ph) * 60 + np.cos(yy / fy) * 60 + 128
        img = np.stack([base, np.roll(base, i % 50, 1), 255 - base], -1) + rng.normal(0, 12, (240, 320, 3))
        img = np.ascontiguousarray(np.clip(img, 0, 255).astype(np.uint8))
        with open(os.path.join(d, "%05d.jpg" % i), "wb") as f:
            f.write(_rmx.imencode(img.tobytes(), img.shape, ".jpg", 90))
    from rmx.tools import im2rec
    im2rec.main(["--list", "--recursive", prefix, os.path.join(root, "images")])
    im2rec.main(["--pass-through", "--num-thread", str(os.cpu_count()), prefix, os.path.join(root, "images")])
    del mx
    return prefix


def epochs(it_factory, reset, n_epochs=2):
    """Images/s over `n_epochs` after one warm-up epoch."""
    it = it_factory()
    for _ in it:
        pass
    start, n = time.perf_counter(), 0
    for _ in range(n_epochs):
        reset(it)
        for batch in it:
            n += batch
    return n / (time.perf_counter() - start)


def run_record_iter(mx, prefix, threads, extra):
    def factory():
        it = mx.io.ImageRecordIter(path_imgrec=prefix + ".rec", path_imgidx=prefix + ".idx", data_shape=(3, 224, 224),
                                   batch_size=BATCH, shuffle=True, rand_crop=True, rand_mirror=True,
                                   mean_r=MEAN[0], mean_g=MEAN[1], mean_b=MEAN[2], std_r=STD[0], std_g=STD[1], std_b=STD[2],
                                   preprocess_threads=threads, **extra)

        class Counting:
            def __iter__(self):
                for b in it:
                    b.data[0].wait_to_read()
                    yield b.data[0].shape[0] - b.pad
        c = Counting()
        c.it = it
        return c
    return epochs(factory, lambda c: c.it.reset())


def run_torch(root, threads):
    import torch
    import torchvision.transforms as T
    from torchvision.datasets import ImageFolder
    torch.set_num_threads(1)
    tf = T.Compose([T.RandomCrop(224), T.RandomHorizontalFlip(), T.ToTensor(),
                    T.Normalize([m / 255 for m in MEAN], [s / 255 for s in STD])])
    ds = ImageFolder(os.path.join(root, "images"), transform=tf)
    loader = torch.utils.data.DataLoader(ds, batch_size=BATCH, shuffle=True, num_workers=threads,
                                         persistent_workers=True)

    class Counting:
        def __iter__(self):
            for x, _ in loader:
                yield x.shape[0]
    return epochs(lambda: Counting(), lambda c: None)


def decode_rate(root):
    """zune-jpeg's single-core decode rate of the benchmark files (images/s)."""
    from rmx import _rmx
    files = []
    for d, _, names in os.walk(os.path.join(root, "images")):
        files += [os.path.join(d, n) for n in names]
    data = [open(f, "rb").read() for f in sorted(files)[:256]]
    for b in data[:16]:
        _rmx.imdecode(b, 3)
    start = time.perf_counter()
    for b in data:
        _rmx.imdecode(b, 3)
    return len(data) / (time.perf_counter() - start)


def end_to_end(prefix, threads):
    """Module steps of a small convnet fed by rmx's iterator: share of time waiting for data."""
    import rmx as mx
    data = mx.sym.Variable("data")
    net = mx.sym.Convolution(data, num_filter=16, kernel=(7, 7), stride=(4, 4), name="c1")
    net = mx.sym.Activation(net, act_type="relu")
    net = mx.sym.Pooling(net, kernel=(4, 4), stride=(4, 4), pool_type="max")
    net = mx.sym.Convolution(net, num_filter=32, kernel=(3, 3), stride=(2, 2), name="c2")
    net = mx.sym.Activation(net, act_type="relu")
    net = mx.sym.FullyConnected(mx.sym.flatten(net), num_hidden=4, name="fc")
    net = mx.sym.SoftmaxOutput(net, name="softmax")
    it = mx.io.ImageRecordIter(path_imgrec=prefix + ".rec", path_imgidx=prefix + ".idx", data_shape=(3, 224, 224),
                               batch_size=BATCH, shuffle=True, rand_crop=True, rand_mirror=True,
                               mean_r=MEAN[0], mean_g=MEAN[1], mean_b=MEAN[2], std_r=STD[0], std_g=STD[1], std_b=STD[2],
                               preprocess_threads=threads)
    mod = mx.mod.Module(net, context=mx.cpu())
    mod.bind(it.provide_data, it.provide_label)
    mod.init_params(mx.init.Xavier())
    mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.01})
    waited = total = 0.0
    steps = 0
    for epoch in range(3):
        it.reset()
        start = time.perf_counter()
        while True:
            t = time.perf_counter()
            try:
                batch = it.next()
            except StopIteration:
                break
            w = time.perf_counter() - t
            mod.forward_backward(batch)
            mod.update()
            mx.nd.waitall()
            if epoch > 0:  # the first epoch warms up
                waited += w
                steps += 1
        if epoch > 0:
            total += time.perf_counter() - start
    return {"wait_share": waited / total, "step_ms": 1e3 * total / steps}


def worker(framework, prefix, threads):
    root = os.path.dirname(prefix)
    if framework == "rmx":
        import rmx as mx
        return {"rate": run_record_iter(mx, prefix, threads, {})}
    if framework == "mxnet":
        import mxnet as mx
        return {"rate": run_record_iter(mx, prefix, threads, {"ctx": "cpu"})}
    if framework == "pytorch":
        return {"rate": run_torch(root, threads)}
    if framework == "decode":
        return {"rate": decode_rate(root)}
    if framework == "end_to_end":
        return end_to_end(prefix, threads)
    raise ValueError(framework)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--images", type=int, default=1024)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--dir", default="/tmp/rmx-bench-data")
    p.add_argument("--frameworks", default="rmx,mxnet,pytorch")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--worker")
    p.add_argument("--prefix")
    a = p.parse_args()
    if a.worker:
        print(json.dumps(worker(a.worker, a.prefix, a.threads)))
        return
    os.makedirs(a.dir, exist_ok=True)
    prefix = make_data(a.dir, a.images)
    pythons = {
        "rmx": sys.executable,
        "mxnet": os.environ.get("MXNET_PYTHON", os.path.expanduser("~/.cache/mxnet-1.9.1/bin/python")),
        "pytorch": os.environ.get("TORCH_PYTHON", "/work/torch-venv/bin/python"),
    }
    chosen = [f for f in a.frameworks.split(",") if os.path.exists(pythons[f])]

    def run(f, python):
        cmd = [python, os.path.abspath(__file__), "--worker", f, "--prefix", prefix, "--threads", str(a.threads)]
        env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), MXNET_CPU_WORKER_NTHREADS=str(a.threads))
        return json.loads(subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True, env=env).stdout.strip().splitlines()[-1])

    print(cpu_header())
    print(f"{a.images} JPEGs 320x240 (q90, {os.path.getsize(prefix + '.rec') / a.images / 1e3:.0f} KB avg), "
          f"batches of {BATCH}: decode, random crop 224, mirror, normalize; {a.threads} threads/workers each")
    best = {}
    for _ in range(a.rounds):
        for f in chosen:
            best[f] = max(best.get(f, 0.0), run(f, pythons[f])["rate"])
    decode = run("decode", sys.executable)["rate"]
    print(f"| framework | images/s | rmx / framework |")
    print(f"| --- | --- | --- |")
    for f in chosen:
        ratio = best["rmx"] / best[f] if "rmx" in best else float("nan")
        print(f"| {f} | {best[f]:.0f} | {ratio:.2f} |")
    print(f"limit: zune-jpeg decodes {decode:.0f} images/s on one core; x {a.threads} cores = {decode * a.threads:.0f} images/s")
    e2e = run("end_to_end", sys.executable)
    print(f"end to end: small convnet Module step {e2e['step_ms']:.0f} ms per batch of {BATCH}, "
          f"{100 * e2e['wait_share']:.1f}% of it waiting for the iterator")


if __name__ == "__main__":
    main()
