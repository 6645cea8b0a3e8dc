"""Where a `Module` training step's time goes: each operator of the step, in order, from rmx's
profiler, as `benches/train.py` runs the step (`forward_backward`, `update`, wait).

    python benches/step_ops.py [--workload mlp|lenet|cifar] [--steps 100] [--threads N]
                               [--python-load 0,100,200]

Prints the wall time per step, the time operators ran (the sum of their spans) and what is
left (the engine between operators, Python pushing the next step), then every operator of the
step in the order the engine ran it with the median and minimum of its duration over the
steps, and its share of the step. Operators the engine runs one after another (one engine
worker, as in `train.py`), so their spans add up. Threads as `train.py` sets them: `--threads`
compute threads (default: the CPU count), one engine worker.

It also prints how long the step's Python calls take (`forward_backward` and `update` return
as soon as their operators are pushed; the kernels run beside them). `--python-load` then
times the step (without the profiler) with that many microseconds of extra Python work spun
after the pushes, interleaved, to show what Python running beside the kernels costs a step
when every core computes.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvstore import cpu_header  # noqa: E402
from train import BATCH, SHAPE, bound_module  # noqa: E402


def spans(trace_path):
    """(start, end, name) of every operator in a profiler dump, in start order (microseconds)."""
    with open(trace_path) as f:
        events = json.load(f)
    events = events["traceEvents"] if isinstance(events, dict) else events
    begun, out = {}, []
    for e in events:
        if e.get("cat") != "operator":
            continue
        key = (e["tid"], e["name"])
        if e["ph"] == "B":
            begun[key] = e["ts"]
        elif e["ph"] == "E" and key in begun:
            out.append((begun.pop(key), e["ts"], e["name"]))
    return sorted(out)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workload", default="mlp", choices=sorted(BATCH))
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--python-load", default="", help="comma-separated microseconds of extra Python work per step")
    a = p.parse_args()
    os.environ.update(RAYON_NUM_THREADS=str(a.threads), RMX_CPU_WORKERS="1", RMX_PROGRESS="0")
    import rmx as mx

    batch = BATCH[a.workload]
    mod = bound_module(mx, a.workload)
    rng = np.random.RandomState(0)
    one = mx.io.DataBatch([mx.nd.array(rng.uniform(-1, 1, size=(batch, *SHAPE[a.workload])).astype(np.float32))],
                          [mx.nd.array(rng.randint(0, 10, size=batch).astype(np.float32))])

    calls = {"forward_backward": [], "update": []}

    def step(load_us=0):
        t0 = time.perf_counter()
        mod.forward_backward(one)
        t1 = time.perf_counter()
        mod.update()
        t2 = time.perf_counter()
        calls["forward_backward"].append(t1 - t0)
        calls["update"].append(t2 - t1)
        end = t2 + load_us * 1e-6
        while time.perf_counter() < end:
            pass
        mx.nd.waitall()

    for _ in range(10):
        step()
    for c in calls.values():
        c.clear()
    path = os.path.join(tempfile.mkdtemp(), "step_ops.json")
    mx.profiler.set_config(profile_all=True, aggregate_stats=False, filename=path)
    mx.profiler.set_state("run")
    t = time.perf_counter()
    for _ in range(a.steps):
        step()
    wall = (time.perf_counter() - t) / a.steps * 1e6
    mx.profiler.set_state("stop")
    mx.profiler.dump()
    ops = spans(path)
    per_step, rem = divmod(len(ops), a.steps)
    if per_step == 0 or rem:
        sys.exit(f"{len(ops)} operator spans for {a.steps} steps: not a whole number of operators per step")
    busy = sum(e - s for s, e, _ in ops) / a.steps
    print(f"# {cpu_header()}; {a.threads} compute threads, 1 engine worker; {a.workload}, {a.steps} steps under the profiler")
    print(f"wall {wall / 1e3:.3f} ms/step; operators {busy / 1e3:.3f} ms; between them {(wall - busy) / 1e3:.3f} ms")
    print(f"{'#':>3} {'operator':<28} {'median us':>10} {'min us':>8} {'share':>6}")
    for i in range(per_step):
        durs = [e - s for s, e, _ in ops[i::per_step]]
        med = statistics.median(durs)
        print(f"{i:>3} {ops[i][2]:<28} {med:>10.1f} {min(durs):>8.1f} {med / wall:>6.1%}")
    py = ", ".join(f"{name}() {statistics.median(c) * 1e6:.1f}" for name, c in calls.items())
    print(f"Python per step, median us (the calls return once their operators are pushed): {py}")
    if a.python_load:
        python_load(step, [int(v) for v in a.python_load.split(",")])


def python_load(step, loads, rounds=10, steps=30):
    """Step wall times with `loads` microseconds of extra Python work per step, interleaved."""
    times = {u: [] for u in loads}
    for _ in range(rounds):
        for u in loads:
            t = time.perf_counter()
            for _ in range(steps):
                step(u)
            times[u].append((time.perf_counter() - t) / steps * 1e3)
    print(f"extra Python work per step (us) -> step ms, median / min of {rounds} interleaved rounds of {steps} steps:")
    for u, v in times.items():
        print(f"  {u:>5} -> {statistics.median(v):.3f} / {min(v):.3f}")


if __name__ == "__main__":
    main()
