"""A worker of test_kvstore_dist: 2-bit compression with error feedback, checked element by element."""
import sys

import numpy as np
import rmx as mx

kv = mx.kv.create("dist_sync")
kv.set_gradient_compression({"type": "2bit", "threshold": 0.5})
r, n = kv.rank, kv.num_workers
kv.init(0, mx.nd.zeros((7,)))
grads = [np.array([0.3, -0.7, 1.2, 0.0, -0.2, 0.5, -0.5], np.float32) * (w + 1) for w in range(n)]
residual = [np.zeros(7, np.float32) for _ in range(n)]
for step in range(3):
    kv.push(0, mx.nd.array(grads[r]))
    out = mx.nd.zeros((7,))
    kv.pull(0, out=out)
    want = np.zeros(7, np.float32)
    for w in range(n):
        v = residual[w] + grads[w]
        q = np.where(v >= 0.5, 0.5, np.where(v <= -0.5, -0.5, 0.0)).astype(np.float32)
        residual[w] = v - q
        want += q
    if not np.array_equal(out.asnumpy(), want):
        sys.exit("step %d: got %s want %s" % (step, out.asnumpy(), want))
print("ok", r)
