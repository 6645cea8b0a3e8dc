"""NDArray benchmark: rmx beside NumPy (and MXNet 1.9.1 and PyTorch when available) in one run.

    python benches/ndarray.py            # prints a table with ratios

Workloads (../shared/BENCHMARKS.md): sgemm n=1024 and 2048 (GFLOP/s), elementwise add and sum over
16M float32 (GB/s moved), and `tiny-op`: 1,000 dependent additions of a scalar to a 4-element
array, then one read (µs per op). Median of several repetitions after a warm-up.

MXNet 1.9.1 runs in its own interpreter (MXNET_PYTHON, default ~/.cache/mxnet-1.9.1/bin/python,
made by ../shared/tools/mxnet-reference-env) as a subprocess of this run; PyTorch if importable.
"""

import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

REPS = 7
N16M = 16 * 1024 * 1024


def median_time(fn, reps=REPS):
    # Let worker pools that spin after heavy work (rayon, OpenBLAS, engines) go idle first, so
    # each workload is timed on a quiet machine.
    time.sleep(0.2)
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def workloads(lib):
    """name -> (seconds, unit value function) for one library."""
    out = {}
    if lib == "numpy":
        for n in (1024, 2048):
            a, b = np.random.rand(n, n).astype("float32"), np.random.rand(n, n).astype("float32")
            out[f"sgemm {n} (GFLOP/s)"] = 2 * n**3 / median_time(lambda: a @ b) / 1e9
        x, y = np.random.rand(N16M).astype("float32"), np.random.rand(N16M).astype("float32")
        z = np.empty_like(x)
        out["add 16M (GB/s)"] = 3 * 4 * N16M / median_time(lambda: np.add(x, y, out=z)) / 1e9
        out["sum 16M (GB/s)"] = 4 * N16M / median_time(lambda: x.sum()) / 1e9
        v = np.ones(4, dtype="float32")

        def tiny():
            w = v
            for _ in range(1000):
                w = w + 1
            return w[0]

        out["tiny-op (us/op)"] = median_time(tiny) / 1000 * 1e6
        return out
    if lib in ("rmx", "mxnet"):
        if lib == "rmx":
            import rmx as mx
        else:
            import mxnet as mx
        for n in (1024, 2048):
            a, b = mx.nd.random.uniform(shape=(n, n)), mx.nd.random.uniform(shape=(n, n))
            out[f"sgemm {n} (GFLOP/s)"] = 2 * n**3 / median_time(lambda: mx.nd.dot(a, b).wait_to_read()) / 1e9
        x, y = mx.nd.random.uniform(shape=(N16M,)), mx.nd.random.uniform(shape=(N16M,))
        z = mx.nd.zeros((N16M,))
        out["add 16M (GB/s)"] = 3 * 4 * N16M / median_time(lambda: mx.nd.elemwise_add(x, y, out=z).wait_to_read()) / 1e9
        out["sum 16M (GB/s)"] = 4 * N16M / median_time(lambda: mx.nd.sum(x).wait_to_read()) / 1e9
        v = mx.nd.ones((4,))

        def tiny():
            w = v
            for _ in range(1000):
                w = w + 1
            return w.asnumpy()

        out["tiny-op (us/op)"] = median_time(tiny) / 1000 * 1e6
        return out
    if lib == "torch":
        import torch

        for n in (1024, 2048):
            a, b = torch.rand(n, n), torch.rand(n, n)
            out[f"sgemm {n} (GFLOP/s)"] = 2 * n**3 / median_time(lambda: a @ b) / 1e9
        x, y, z = torch.rand(N16M), torch.rand(N16M), torch.empty(N16M)
        out["add 16M (GB/s)"] = 3 * 4 * N16M / median_time(lambda: torch.add(x, y, out=z)) / 1e9
        out["sum 16M (GB/s)"] = 4 * N16M / median_time(lambda: x.sum()) / 1e9
        v = torch.ones(4)

        def tiny():
            w = v
            for _ in range(1000):
                w = w + 1
            return w[0].item()

        out["tiny-op (us/op)"] = median_time(tiny) / 1000 * 1e6
        return out
    raise ValueError(lib)


def run_mxnet():
    py = os.environ.get("MXNET_PYTHON", os.path.expanduser("~/.cache/mxnet-1.9.1/bin/python"))
    if not os.path.exists(py):
        return None
    env = dict(os.environ, MXNET_SUBGRAPH_BACKEND="NONE")
    res = subprocess.run([py, __file__, "--lib", "mxnet"], capture_output=True, text=True, env=env, timeout=900)
    if res.returncode != 0:
        print("MXNet run failed:", res.stderr[-500:], file=sys.stderr)
        return None
    return json.loads(res.stdout.strip().splitlines()[-1])


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--lib":
        print(json.dumps(workloads(sys.argv[2])))
        return
    results = {"rmx": workloads("rmx"), "numpy": workloads("numpy")}
    try:
        import torch  # noqa: F401

        results["torch"] = workloads("torch")
    except ImportError:
        pass
    mx_res = run_mxnet()
    if mx_res:
        results["mxnet 1.9.1"] = mx_res
    libs = list(results)
    rows = list(results["rmx"])
    header = f"{'workload':<22}" + "".join(f"{lib:>14}" for lib in libs) + "".join(f"{'rmx/' + lib:>16}" for lib in libs[1:])
    print(header)
    for r in rows:
        vals = [results[lib][r] for lib in libs]
        line = f"{r:<22}" + "".join(f"{v:>14.2f}" for v in vals)
        for v in vals[1:]:
            line += f"{vals[0] / v:>16.2f}"
        print(line)
    print("(ratios are rmx / other: above 1 is better for rmx except for tiny-op, where below 1 is better)")


if __name__ == "__main__":
    main()
