"""Convnets on one GPU beside PyTorch: the CUDA issue's benchmark.

For each network and batch size, interleaved in one process: rmx's ``Module`` forward
(inference) and forward+backward (training) time per batch, and PyTorch's (torchvision's same
architecture, ``cudnn.benchmark=True``, TF32 as rmx's default); then the GPU memory each holds
beyond the parameters (rmx: the memory pool's live bytes after binding, less the parameters;
PyTorch: the peak allocated during a step, less the parameters). Last, VGG-16 batch-1
inference memory, whose goal is 26 MiB. Prints a Markdown table for ``benches/RESULTS.md``.

    python benches/convnet_gpu.py                       # the issue's rows, on gpu(0)
    python benches/convnet_gpu.py --ctx cpu --models alexnet --batches 2 --iters 1   # a smoke run

Run on the GPU machine by ``benches/gpu_check.sh``. Where torchvision is missing the PyTorch
columns say so and rmx's rows still print.
"""

import argparse
import os
import platform
import time

import numpy as np

import rmx as mx
from rmx import models

MIB = 1 << 20
# name: (rmx.models name and keywords, torchvision constructor and keywords, image side)
NETS = {
    "alexnet": (("alexnet", {}), ("alexnet", {}), 224),
    "vgg16": (("vgg", {"num_layers": 16}), ("vgg16", {}), 224),
    "googlenet": (("googlenet", {}), ("googlenet", {"aux_logits": False, "init_weights": False}), 224),
    "resnet50": (("resnet", {"num_layers": 50}), ("resnet50", {}), 224),
}


def rmx_runner(name, batch, ctx, train):
    (model, kwargs), _, side = NETS[name]
    sym = models.get_model(model, num_classes=1000, **kwargs)
    mod = mx.mod.Module(sym, context=ctx)
    mod.bind(data_shapes=[("data", (batch, 3, side, side))], label_shapes=[("softmax_label", (batch,))], for_training=train)
    mod.init_params(mx.init.Xavier(magnitude=2.0))
    rng = np.random.default_rng(0)
    data = mx.nd.array(rng.standard_normal((batch, 3, side, side), dtype=np.float32), ctx=ctx)
    label = mx.nd.array(rng.integers(0, 1000, batch), ctx=ctx)
    batch_ = mx.io.DataBatch([data], [label])
    arg_params, aux_params = mod.get_params()
    param_bytes = sum(a.size * 4 for a in list(arg_params.values()) + list(aux_params.values()))

    def step():
        if train:
            mod.forward_backward(batch_)
        else:
            mod.forward(batch_, is_train=False)
        mx.nd.waitall()

    return step, param_bytes


def rmx_memory(ctx, param_bytes):
    if ctx.device_type != "gpu":
        return None
    return (mx.context.gpu_memory_pool_stats(ctx.device_id)["in_use"] - param_bytes) / MIB


def torch_runner(name, batch, device, train):
    import torch
    import torchvision

    _, (ctor, kwargs), side = NETS[name]
    net = getattr(torchvision.models, ctor)(weights=None, **kwargs).to(device)
    net.train(train)
    x = torch.randn(batch, 3, side, side, device=device)
    y = torch.randint(0, 1000, (batch,), device=device)
    loss_fn = torch.nn.CrossEntropyLoss()
    params = sum(p.numel() * p.element_size() for p in net.parameters())
    params += sum(b.numel() * b.element_size() for b in net.buffers())

    def step():
        if train:
            net.zero_grad(set_to_none=False)
            loss_fn(net(x), y).backward()
        else:
            with torch.no_grad():
                net(x)
        if device.type == "cuda":
            torch.cuda.synchronize()

    return step, params


def timed(step, iters, warmup=2):
    for _ in range(warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(iters):
        step()
    return (time.perf_counter() - t0) / iters * 1e3


def torch_memory(step, device, param_bytes):
    import torch

    if device.type != "cuda":
        return None
    torch.cuda.reset_peak_memory_stats(device)
    step()
    return (torch.cuda.max_memory_allocated(device) - param_bytes) / MIB


def torch_setup(on_gpu):
    try:
        import torch
        import torchvision  # noqa: F401
    except ImportError as e:
        return None, f"PyTorch columns skipped: {e}"
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    device = torch.device("cuda:0" if on_gpu else "cpu")
    return device, f"torch {torch.__version__}, threads {torch.get_num_threads()}"


def fmt(v, spec="{:.1f}"):
    return "n/a" if v is None else spec.format(v)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default=",".join(NETS))
    ap.add_argument("--batches", default="32,128")
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--ctx", default="gpu", choices=["gpu", "cpu"])
    args = ap.parse_args()
    ctx = mx.gpu(0) if args.ctx == "gpu" else mx.cpu(0)
    device, torch_note = torch_setup(args.ctx == "gpu")
    gpu = ""
    if args.ctx == "gpu":
        free, total = mx.context.gpu_memory_info(0)
        gpu = f", GPU 0 with {total / 2**30:.0f} GiB"
    print(f"# convnet_gpu: {platform.node()}{gpu}, {ctx}, float32; {torch_note}; "
          f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print("\n| network | batch | mode | rmx ms | torch ms | time ratio | rmx MiB | torch MiB | memory ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in args.models.split(","):
        for batch in (int(b) for b in args.batches.split(",")):
            for train in (False, True):
                step, pbytes = rmx_runner(name, batch, ctx, train)
                ours = timed(step, args.iters)
                ours_mib = rmx_memory(ctx, pbytes)
                del step
                theirs = theirs_mib = None
                if device is not None:
                    tstep, tbytes = torch_runner(name, batch, device, train)
                    theirs = timed(tstep, args.iters)
                    theirs_mib = torch_memory(tstep, device, tbytes)
                    del tstep
                ratio = None if theirs is None else ours / theirs
                mratio = None if None in (ours_mib, theirs_mib) or not theirs_mib else ours_mib / theirs_mib
                mode = "fwd+bwd" if train else "fwd"
                print(f"| {name} | {batch} | {mode} | {ours:.1f} | {fmt(theirs)} | {fmt(ratio, '{:.2f}')} | "
                      f"{fmt(ours_mib)} | {fmt(theirs_mib)} | {fmt(mratio, '{:.2f}')} |", flush=True)
                if ctx.device_type == "gpu":
                    ctx.empty_cache()
    if args.ctx == "gpu":
        step, pbytes = rmx_runner("vgg16", 1, ctx, False)
        step()
        print(f"\nVGG-16 batch-1 inference, beyond the parameters: {rmx_memory(ctx, pbytes):.1f} MiB (goal: 26 MiB)")


if __name__ == "__main__":
    main()
