"""A worker of test_kvstore_dist: pushes known values and checks every pull against the exact sum."""
import os
import sys

import numpy as np
import rmx as mx

kv = mx.kv.create(os.environ.get("KV_TYPE", "dist_sync"))
r, n = kv.rank, kv.num_workers
shapes = [(3,), (17, 5), (250, 4), (1001,)]      # with MXNET_KVSTORE_BIGARRAY_BOUND=100, the last three split
keys = [3, 7, 11, 12] if os.environ.get("KV_KEYS") != "str" else ["a", "b", "c", "d"]
for k, s in zip(keys, shapes):
    kv.init(k, mx.nd.full(s, 100.0 + 0 * r))
for step in range(4):
    for i, (k, s) in enumerate(zip(keys, shapes)):
        vals = [mx.nd.array(np.arange(np.prod(s)).reshape(s) * (r + 1) + step + d, ctx=mx.cpu(d)) for d in range(2)]
        kv.push(k, vals)
        out = mx.nd.zeros(s)
        kv.pull(k, out=out)
        want = sum(np.arange(np.prod(s)).reshape(s) * (w + 1) * 2 + 2 * step + 1 for w in range(n))
        got = out.asnumpy()
        if not np.array_equal(got, want):
            sys.exit("worker %d key %s step %d: got %s want %s" % (r, k, step, got.ravel()[:4], want.ravel()[:4]))
kv.barrier()
print("ok", r, n)
