"""Moving gradients between processes: rmx's `dist_sync` beside MXNet 1.9.1's `dist_sync` and
`torch.distributed`'s gloo all-reduce, on loopback, same bytes, rounds interleaved.

    python benches/kvstore.py [--mb 64] [--workers 2,4] [--rounds 2] [--iters 5]

Each worker holds one float32 array of `--mb` MB. A kvstore round is `push` then `pull` of it
(waiting for the pulled values); a gloo round is one `all_reduce` of it. The figure is MB/s per
worker: the array's size over the round's time (median of `--iters` rounds after one warm-up),
the best over `--rounds`. Servers: as many as workers (the array is split across them, MXNet's
rule for big arrays). Threads: every process gets `OMP_NUM_THREADS=1`, `RMX_CPU_WORKERS=1` and
`torch.set_num_threads(1)`; all processes share this machine's cores.

MXNet runs under MXNET_PYTHON (default ~/.cache/mxnet-1.9.1/bin/python), PyTorch under
TORCH_PYTHON (default /tmp/torch-venv/bin/python); a framework whose interpreter is missing is
skipped.
"""

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHONS = {
    "rmx": sys.executable,
    "mxnet": os.environ.get("MXNET_PYTHON", os.path.expanduser("~/.cache/mxnet-1.9.1/bin/python")),
    "gloo": os.environ.get("TORCH_PYTHON", "/tmp/torch-venv/bin/python"),
}


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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(fw, mb, iters):
    """One worker: prints its median round time in seconds."""
    n = mb * (1 << 20) // 4
    if fw == "gloo":
        import torch
        import torch.distributed as dist
        torch.set_num_threads(1)
        dist.init_process_group("gloo", init_method=os.environ["INIT"], world_size=int(os.environ["WORLD"]), rank=int(os.environ["RANK"]))
        x = torch.ones(n)
        step = lambda: dist.all_reduce(x)  # noqa: E731
    else:
        mx = __import__("rmx" if fw == "rmx" else "mxnet")
        kv = mx.kv.create("dist_sync")
        g, out = mx.nd.ones((n,)), mx.nd.zeros((n,))
        kv.init(0, mx.nd.zeros((n,)))

        def step():
            kv.push(0, g)
            kv.pull(0, out=out)
            out.wait_to_read()
    times = []
    for i in range(iters + 1):
        t = time.perf_counter()
        step()
        if i:
            times.append(time.perf_counter() - t)
    print("TIME", statistics.median(times), flush=True)


def run(fw, nworkers, mb, iters):
    """MB/s per worker of one job (the slowest worker's median)."""
    py = PYTHONS[fw]
    base = dict(os.environ, OMP_NUM_THREADS="1", RMX_CPU_WORKERS="1", MXNET_CPU_WORKER_NTHREADS="1")
    cmd = [py, os.path.abspath(__file__), "--worker", fw, "--mb", str(mb), "--iters", str(iters)]
    port = free_port()
    procs = []
    if fw == "gloo":
        for r in range(nworkers):
            env = dict(base, INIT="tcp://127.0.0.1:%d" % port, WORLD=str(nworkers), RANK=str(r))
            procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True))
        services = []
    else:
        env = dict(base, DMLC_PS_ROOT_URI="127.0.0.1", DMLC_PS_ROOT_PORT=str(port), DMLC_NUM_WORKER=str(nworkers),
                   DMLC_NUM_SERVER=str(nworkers), DMLC_INTERFACE="lo", RMX_KVSTORE_TOKEN=secrets.token_hex(8))
        imp = "import rmx" if fw == "rmx" else "import mxnet"
        services = [subprocess.Popen([py, "-c", imp], env=dict(env, DMLC_ROLE=role), stdout=subprocess.DEVNULL)
                    for role in ["scheduler"] + ["server"] * nworkers]
        procs = [subprocess.Popen(cmd, env=dict(env, DMLC_ROLE="worker"), stdout=subprocess.PIPE, text=True)
                 for _ in range(nworkers)]
    times = []
    for p in procs:
        out, _ = p.communicate(timeout=600)
        times += [float(line.split()[1]) for line in out.splitlines() if line.startswith("TIME")]
    for s in services:
        try:
            s.wait(timeout=30)
        except subprocess.TimeoutExpired:
            s.kill()
    if len(times) != nworkers:
        return None
    return mb / max(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker")
    ap.add_argument("--mb", type=int, default=64)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--workers", default="2,4")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--frameworks", default="rmx,mxnet,gloo")
    a = ap.parse_args()
    if a.worker:
        return worker(a.worker, a.mb, a.iters)
    fws = [f for f in a.frameworks.split(",") if os.path.exists(PYTHONS[f])]
    print("# %s; %d MB per worker, loopback, 1 thread per process" % (cpu_header(), a.mb))
    best = {}
    for _ in range(a.rounds):
        for n in [int(x) for x in a.workers.split(",")]:
            for fw in fws:
                v = run(fw, n, a.mb, a.iters)
                print("  %s, %d workers: %s MB/s" % (fw, n, "failed" if v is None else "%.0f" % v), flush=True)
                if v is not None:
                    best[(fw, n)] = max(best.get((fw, n), 0), v)
    others = [f for f in fws if f != "rmx"]
    print("\n| workers | " + " | ".join("%s MB/s" % f for f in fws) + "".join(" | rmx / %s" % f for f in others) + " |")
    print("| --- " * (1 + len(fws) + len(others)) + "|")
    for n in [int(x) for x in a.workers.split(",")]:
        vals = [best.get((f, n)) for f in fws]
        r = best.get(("rmx", n))
        ratios = ["%.2f" % (r / best[(f, n)]) if r and best.get((f, n)) else "-" for f in fws if f != "rmx"]
        print("| %d | " % n + " | ".join("-" if v is None else "%.0f" % v for v in vals) + "".join(" | " + r for r in ratios) + " |")


if __name__ == "__main__":
    main()
