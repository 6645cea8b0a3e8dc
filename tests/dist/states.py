"""A worker of test_kvstore_dist: save_optimizer_states and load_optimizer_states on dist_sync,
checked against a local store fed the summed gradients. Adam, so that the states (two arrays per
key) and the update counts (its bias correction) both show; key 0 is split across the servers."""
import os
import sys

import numpy as np
import rmx as mx

kv = mx.kv.create("dist_sync")
rank, n = kv.rank, kv.num_workers
shapes = {0: (30, 10), 1: (7,)}  # with MXNET_KVSTORE_BIGARRAY_BOUND=100, key 0 is split
keys = sorted(shapes)
w0 = [np.random.RandomState(k).randn(*shapes[k]).astype(np.float32) for k in keys]
dump = os.environ.get("DUMP_OPTIMIZER", "1") == "1"


def grad(step, k, r):
    return np.random.RandomState(1000 * step + 10 * k + r).randn(*shapes[k]).astype(np.float32)


def adam():
    return mx.optimizer.Adam(learning_rate=0.01, wd=1e-3)


def step(s):
    """One round on both stores; the weights each ends with."""
    dist, ref = [], []
    for k in keys:
        kv.push(k, mx.nd.array(grad(s, k, rank)))
        local.push(k, mx.nd.array(sum(grad(s, k, r) for r in range(n))))
        dist.append(mx.nd.zeros(shapes[k]))
        ref.append(mx.nd.zeros(shapes[k]))
        kv.pull(k, out=dist[-1])
        local.pull(k, out=ref[-1])
    return [a.asnumpy() for a in dist], [a.asnumpy() for a in ref]


def check(what, got, want):
    for k, g, w in zip(keys, got, want):
        if not np.allclose(g, w, rtol=1e-5, atol=1e-6):
            sys.exit("worker %d, %s, key %d: %s against %s" % (rank, what, k, g.ravel()[:3], w.ravel()[:3]))


kv.init(keys, [mx.nd.array(w) for w in w0])
try:
    kv.save_optimizer_states(os.path.join(os.environ["OUT_DIR"], "none"))
    sys.exit("saved states before set_optimizer")
except mx.base.MXNetError as e:
    assert "call set_optimizer first" in str(e), e
kv.set_optimizer(adam())
local = mx.kv.create("local")
local.init(keys, [mx.nd.array(w) for w in w0])
local.set_optimizer(adam())
for s in range(3):
    check("step %d" % s, *step(s))

# Rank 0 saves both stores' states; they must hold the same arrays and update counts.
out = os.environ["OUT_DIR"]
dist_file, local_file = os.path.join(out, "dist.states"), os.path.join(out, "local.states")
if rank == 0:
    kv.save_optimizer_states(dist_file, dump_optimizer=dump)
    local.save_optimizer_states(local_file, dump_optimizer=dump)
    got, want = mx.optimizer.get_updater(adam()), mx.optimizer.get_updater(adam())
    got.set_states(open(dist_file, "rb").read())
    want.set_states(open(local_file, "rb").read())
    assert sorted(got.states) == keys, sorted(got.states)
    for k in keys:
        check("saved state", [s.asnumpy() for s in got.states[k]], [s.asnumpy() for s in want.states[k]])
    if dump:
        assert got.optimizer._index_update_count == {0: 3, 1: 3}, got.optimizer._index_update_count
        assert got.optimizer.num_update == 3, got.optimizer.num_update
        assert (type(got.optimizer).__name__, got.optimizer.beta1, got.optimizer.lr) == ("Adam", 0.9, 0.01)
kv.barrier()

# More rounds move the states on; loading the file takes them back to round 3's (and with the
# optimizer, the update counts too: Adam's bias correction shows it).
for s in range(3, 6):
    check("step %d" % s, *step(s))
kv.load_optimizer_states(dist_file)
local.load_optimizer_states(local_file)
check("after loading", *step(6))
kv.barrier()
print("ok", rank)
