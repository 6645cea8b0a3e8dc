"""Two builds of rmx side by side: the NDArray workloads (`ndarray.py --lib rmx`) and the
training steps (`train.py --worker rmx`), each build in its own interpreter, runs interleaved
(baseline, current, baseline, current, ...), the best of the rounds reported with the ratio
current / baseline. For refactors that must not cost speed (the device seam):

    python benches/compare_builds.py --baseline /path/to/old/checkout/python [--rounds 2]

`--baseline` is a directory holding an `rmx` package with its built extension (a checkout of an
older commit after `maturin develop`, or a wheel unpacked); the current build is this
repository's `python/`. Thread counts are the defaults of both builds (printed).
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
HIGHER_IS_BETTER = ("GFLOP/s", "GB/s")


def cpu_header():
    flags, model = set(), "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    ext = [e for e in ("avx2", "fma", "avx512f", "avx512bw", "avx512vl") if e in flags]
    threads = {k: os.environ.get(k, "unset") for k in ("RMX_CPU_WORKERS", "RAYON_NUM_THREADS")}
    return f"{model}, {os.cpu_count()} cores, {' '.join(ext)}; threads: {threads} (rayon: one per core when unset)"


def run(pythonpath, args):
    env = dict(os.environ, PYTHONPATH=pythonpath)
    r = subprocess.run([sys.executable, *args], stdout=subprocess.PIPE, text=True, env=env, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def measure(pythonpath, steps):
    out = dict(run(pythonpath, [os.path.join(HERE, "ndarray.py"), "--lib", "rmx"]))
    train = run(pythonpath, [os.path.join(HERE, "train.py"), "--worker", "rmx", "--workloads", "mlp,lenet,cifar", "--steps", str(steps)])
    for name, r in train.items():
        out[f"{name} step (ms)"] = r["step_ms"]
        if r.get("infer_ms") is not None:
            out[f"{name} inference (ms)"] = r["infer_ms"]
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--baseline", required=True)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--steps", type=int, default=5)
    a = p.parse_args()
    builds = {"baseline": os.path.abspath(a.baseline), "current": os.path.join(HERE, "..", "python")}
    rounds = {b: [] for b in builds}
    for i in range(a.rounds):
        for b, path in builds.items():
            print(f"round {i + 1}: {b}", file=sys.stderr, flush=True)
            rounds[b].append(measure(path, a.steps))
    print(cpu_header())
    print(f"{'workload':<26}{'baseline':>10}{'current':>10}{'current/baseline':>18}")
    for key in rounds["baseline"][0]:
        best = max if key.endswith(HIGHER_IS_BETTER[0] + ")") or key.endswith(HIGHER_IS_BETTER[1] + ")") else min
        base, cur = best(r[key] for r in rounds["baseline"]), best(r[key] for r in rounds["current"])
        print(f"{key:<26}{base:>10.2f}{cur:>10.2f}{cur / base:>17.2f}x")


if __name__ == "__main__":
    main()
