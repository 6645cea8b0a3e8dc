"""A worker of test_kvstore_dist's fault tests: pushes and pulls until something breaks."""
import sys
import time

import rmx as mx

kv = mx.kv.create("dist_sync")
kv.init(0, mx.nd.zeros((1000,)))
out = mx.nd.zeros((1000,))
print("started", kv.rank, flush=True)
end = time.time() + 120
while time.time() < end:
    kv.push(0, mx.nd.ones((1000,)))
    kv.pull(0, out=out)
    out.wait_to_read()
    time.sleep(0.01)
sys.exit("the loop ended without a failure")
