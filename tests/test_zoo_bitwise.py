"""Every model-zoo net computes bit for bit what the reference build computed: outputs,
gradients and updated auxiliary states after one seeded training step, as SHA-256 digests
(``fixtures/zoo_digests.json``, written by ``fixtures/make_zoo_digests.py``; its text says which
build, and why the bits last changed on purpose), one set per x86-64 vector tier (AVX2 or
AVX-512 products). Runs in a child process so the compute pool has the two threads the digests
were taken with."""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(__file__)
SCRIPT = os.path.join(HERE, "fixtures", "make_zoo_digests.py")


def test_zoo_nets_are_bitwise_the_reference():
    code = f"import json, runpy; m = runpy.run_path({SCRIPT!r}); print(json.dumps([m['tier'](), {{n: m['digests'](n) for n in m['ZOO']}}]))"
    env = dict(os.environ, RAYON_NUM_THREADS="2")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    tier, got = json.loads(run.stdout.strip().splitlines()[-1])
    with open(os.path.join(HERE, "fixtures", "zoo_digests.json")) as f:
        tiers = json.load(f)
    assert tier in tiers, f"no digests for {tier} machines: take them with a reference build (make_zoo_digests.py)"
    want = tiers[tier]
    assert sorted(got) == sorted(want)
    changed = [f"{net}/{k}" for net in want for k in want[net] if got[net].get(k) != want[net][k]]
    for net in want:
        assert sorted(got[net]) == sorted(want[net]), net
    assert not changed, f"{len(changed)} arrays differ from the reference bits: {changed[:20]}"
