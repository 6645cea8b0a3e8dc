"""A worker of test_kvstore_dist: dist_async applies every push exactly once (SGD, lr 1: w -= g)."""
import sys
import time

import numpy as np
import rmx as mx

kv = mx.kv.create("dist_async")
r, n = kv.rank, kv.num_workers
kv.init(0, mx.nd.zeros((64,)))
kv.set_optimizer(mx.optimizer.SGD(learning_rate=1.0, rescale_grad=1.0))
K = 20
for _ in range(K):
    kv.push(0, mx.nd.ones((64,)) * (r + 1))
mx.nd.waitall()
kv.barrier()
want = -K * sum(w + 1 for w in range(n))
out = mx.nd.zeros((64,))
deadline = time.time() + 10
while True:
    kv.pull(0, out=out)
    got = out.asnumpy()
    if (got < want).any():
        sys.exit("applied more than once: %s < %s" % (got.min(), want))
    if (got == want).all():
        break
    if time.time() > deadline:
        sys.exit("missing pushes: %s != %s" % (got[0], want))
    time.sleep(0.05)
kv.barrier()
print("ok", r)
