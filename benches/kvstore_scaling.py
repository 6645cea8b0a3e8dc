"""Scaling of data-parallel training under `dist_sync`: N = 1, 2, 4 hosts, each a network
namespace behind a shaped link (`tc netem`, or `tbf` where the kernel lacks netem; 10 Gbit/s
by default), each running one worker and
one server (host 0 also the scheduler), as MXNet's launchers place them. Needs root (it makes
the namespaces, a bridge and veth links, and removes them).

    python benches/kvstore_scaling.py [--hosts 1,2,4] [--rate 10gbit] [--delay 0.05ms]
                                       [--steps 40] [--batch 64] [--frameworks rmx,mxnet]

The model is a small convnet (two 3x3 convolutions of 32 and 64 channels with pooling, a 128-unit
layer, 10 classes) on 28x28 synthetic images, trained with `Module` (`forward_backward`, `update`:
the gradients pushed and the weights pulled through the store, SGD on the servers) with
`--batch` images per worker per step. A worker's rate is its images over the wall time of
`--steps` steps after 5 warm-up steps; the job's rate is the sum. Against the one-worker rate of
the same framework with the same layout (N = 1, one worker and one server), efficiency is
rate(N) / (N x rate(1)). Every process gets 1 thread (`OMP_NUM_THREADS`, `RAYON_NUM_THREADS`,
`RMX_CPU_WORKERS`, `MXNET_CPU_WORKER_NTHREADS`); all of them share this machine's cores, so once
the workers outnumber the cores the rate is bound by the cores, not the network. MXNet 1.9.1
runs under MXNET_PYTHON (default ~/.cache/mxnet-1.9.1/bin/python) when it exists.
"""

import argparse
import os
import secrets
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from kvstore import cpu_header  # noqa: E402

PYTHONS = {
    "rmx": sys.executable,
    "mxnet": os.environ.get("MXNET_PYTHON", os.path.expanduser("~/.cache/mxnet-1.9.1/bin/python")),
}
THREADS = {"OMP_NUM_THREADS": "1", "RAYON_NUM_THREADS": "1", "RMX_CPU_WORKERS": "1",
           "MXNET_CPU_WORKER_NTHREADS": "1", "MKL_NUM_THREADS": "1"}


def worker(fw, steps, batch):
    """One worker: trains and prints its images/s."""
    mx = __import__(fw)
    import numpy as np
    data = mx.sym.Variable("data")
    net = mx.sym.Convolution(data, num_filter=32, kernel=(3, 3), pad=(1, 1), name="c1")
    net = mx.sym.Pooling(mx.sym.Activation(net, act_type="relu"), kernel=(2, 2), stride=(2, 2), pool_type="max")
    net = mx.sym.Convolution(net, num_filter=64, kernel=(3, 3), pad=(1, 1), name="c2")
    net = mx.sym.Pooling(mx.sym.Activation(net, act_type="relu"), kernel=(2, 2), stride=(2, 2), pool_type="max")
    net = mx.sym.Activation(mx.sym.FullyConnected(mx.sym.Flatten(net), num_hidden=128, name="f1"), act_type="relu")
    net = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(net, num_hidden=10, name="f2"), name="softmax")
    kv = mx.kv.create("dist_sync")
    mod = mx.mod.Module(net, context=mx.cpu())
    mod.bind(data_shapes=[("data", (batch, 1, 28, 28))], label_shapes=[("softmax_label", (batch,))])
    mod.init_params(mx.init.Xavier())
    mod.init_optimizer(kvstore=kv, optimizer="sgd", optimizer_params={"learning_rate": 0.05, "momentum": 0.9})
    rng = np.random.RandomState(kv.rank)
    batches = [mx.io.DataBatch([mx.nd.array(rng.rand(batch, 1, 28, 28))], [mx.nd.array(rng.randint(0, 10, batch))])
               for _ in range(4)]
    t0 = None
    for i in range(steps + 5):
        if i == 5:
            mx.nd.waitall()
            t0 = time.perf_counter()
        mod.forward_backward(batches[i % 4])
        mod.update()
    for p in mod.get_params()[0].values():
        p.wait_to_read()
    mx.nd.waitall()
    print("RATE", steps * batch / (time.perf_counter() - t0), flush=True)


def sh(*cmd, check=True):
    r = subprocess.run(list(cmd), capture_output=True, text=True)
    if check and r.returncode != 0:
        raise SystemExit("%s: %s" % (" ".join(cmd), r.stderr.strip()))
    return r


class Hosts:
    """`n` namespaces on one bridge, 10.215.<x>.<i+1>/24, each link shaped both ways."""

    def __init__(self, n, rate, delay):
        self.tag = secrets.token_hex(2)
        self.bridge = "rmxbr" + self.tag
        self.names, self.ifaces, self.ips = [], [], []
        net = "10.215.%d" % (int(self.tag, 16) % 250)
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        sh("ip", "link", "set", self.bridge, "up")
        self.shaper = None
        for i in range(n):
            ns, inner, outer = "rmxh%s%d" % (self.tag, i), "eth%s%d" % (self.tag, i), "rmxv%s%d" % (self.tag, i)
            self.names.append(ns)
            sh("ip", "netns", "add", ns)
            sh("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
            sh("ip", "link", "set", inner, "netns", ns)
            sh("ip", "link", "set", outer, "master", self.bridge)
            sh("ip", "link", "set", outer, "up")
            sh("ip", "-n", ns, "addr", "add", "%s.%d/24" % (net, i + 1), "dev", inner)
            sh("ip", "-n", ns, "link", "set", inner, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            self.shape(outer, None, rate, delay)  # into the host
            self.shape(inner, ns, rate, delay)    # out of it
            self.ifaces.append(inner)
            self.ips.append("%s.%d" % (net, i + 1))

    def shape(self, dev, ns, rate, delay):
        """`netem` (rate and delay) where the kernel has it, else a token bucket (`tbf`: the rate
        alone, with a burst of 2 MB, which 10 Gbit/s needs at a 1 ms timer)."""
        pre = ["ip", "netns", "exec", ns] if ns else []
        kinds = [["netem", "rate", rate] + (["delay", delay] if delay else []),
                 ["tbf", "rate", rate, "burst", "2mb", "latency", "5ms"]]
        for kind in kinds if self.shaper is None else [self.shaper]:
            if sh(*(pre + ["tc", "qdisc", "add", "dev", dev, "root"] + kind), check=False).returncode == 0:
                self.shaper = kind
                return
        raise SystemExit("tc: neither netem nor tbf can shape %s here" % dev)

    def close(self):
        for ns in self.names:
            sh("ip", "netns", "del", ns, check=False)
        sh("ip", "link", "del", self.bridge, check=False)


def run(fw, hosts, n, steps, batch):
    """Images/s of a job on the first `n` hosts (the sum over workers), or None if it failed."""
    py = PYTHONS[fw]
    imp = [py, "-c", "import %s" % fw]
    env = dict(os.environ, **THREADS)
    env.update(DMLC_PS_ROOT_URI=hosts.ips[0], DMLC_PS_ROOT_PORT="9300", DMLC_NUM_WORKER=str(n),
               DMLC_NUM_SERVER=str(n), RMX_KVSTORE_TOKEN=secrets.token_hex(8), PS_VERBOSE="0")

    def start(i, role, cmd, out=subprocess.DEVNULL):
        e = dict(env, DMLC_ROLE=role, DMLC_INTERFACE=hosts.ifaces[i], DMLC_NODE_HOST=hosts.ips[i])
        return subprocess.Popen(["ip", "netns", "exec", hosts.names[i]] + cmd, env=e, stdout=out, stderr=subprocess.PIPE, text=True)

    services = [start(0, "scheduler", imp)] + [start(i, "server", imp) for i in range(n)]
    wcmd = [py, os.path.abspath(__file__), "--worker", fw, "--steps", str(steps), "--batch", str(batch)]
    workers = [start(i, "worker", wcmd, subprocess.PIPE) for i in range(n)]
    rates = []
    for p in workers:
        try:
            out, err = p.communicate(timeout=900)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
        rates += [float(line.split()[1]) for line in out.splitlines() if line.startswith("RATE")]
        if p.returncode:
            print("    worker failed: %s" % err.strip()[-500:], file=sys.stderr)
    for s in services:
        try:
            s.wait(timeout=60)
        except subprocess.TimeoutExpired:
            s.kill()
    return sum(rates) if len(rates) == n else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker")
    ap.add_argument("--hosts", default="1,2,4")
    ap.add_argument("--rate", default="10gbit")
    ap.add_argument("--delay", default="0.05ms")
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--frameworks", default="rmx,mxnet")
    a = ap.parse_args()
    if a.worker:
        return worker(a.worker, a.steps, a.batch)
    fws = [f for f in a.frameworks.split(",") if os.path.exists(PYTHONS[f])]
    counts = [int(x) for x in a.hosts.split(",")]
    hosts = Hosts(max(counts), a.rate, a.delay)
    print("# %s; links shaped by tc %s; %d images per worker per step; 1 thread per process"
          % (cpu_header(), " ".join(hosts.shaper), a.batch), flush=True)
    best = {}
    try:
        for _ in range(a.rounds):
            for n in counts:
                for fw in fws:
                    v = run(fw, hosts, n, a.steps, a.batch)
                    print("  %s, %d hosts: %s images/s" % (fw, n, "failed" if v is None else "%.0f" % v), flush=True)
                    if v is not None:
                        best[(fw, n)] = max(best.get((fw, n), 0), v)
    finally:
        hosts.close()
    print("\n| hosts (workers) | " + " | ".join("%s images/s | %s efficiency" % (f, f) for f in fws) + " |")
    print("| --- " * (1 + 2 * len(fws)) + "|")
    for n in counts:
        cells = []
        for f in fws:
            v, one = best.get((f, n)), best.get((f, 1))
            cells += ["-" if v is None else "%.0f" % v, "%.2f" % (v / (n * one)) if v and one else "-"]
        print("| %d | " % n + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
