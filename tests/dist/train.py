"""A worker of test_kvstore_dist (or, with SINGLE=1, the one-process reference): an MLP of
MNIST's shape trained by Module; each worker takes its half of every batch. Saves the final
parameters to $OUT_DIR/params-<rank>.npz."""
import os

import numpy as np
import rmx as mx

single = os.environ.get("SINGLE") == "1"
rng = np.random.RandomState(0)
X = rng.rand(8 * 64, 784).astype(np.float32)
Y = rng.randint(0, 10, 8 * 64).astype(np.float32)
kv = None if single else mx.kv.create("dist_sync")
rank, n = (0, 1) if single else (kv.rank, kv.num_workers)
batch = 64 if single else 64 // n
idx = np.arange(len(X)).reshape(-1, 64)[:, rank * batch:(rank + 1) * batch].ravel()
it = mx.io.NDArrayIter(X[idx], Y[idx], batch_size=batch)
data = mx.sym.Variable("data")
net = mx.sym.FullyConnected(data, num_hidden=64, name="fc1")
net = mx.sym.Activation(net, act_type="relu")
net = mx.sym.FullyConnected(net, num_hidden=10, name="fc2")
net = mx.sym.SoftmaxOutput(net, name="softmax")
mod = mx.mod.Module(net, context=mx.cpu())
mx.random.seed(42 + rank)  # different seeds: rank 0's initial values must win
mod.fit(it, num_epoch=2, kvstore=kv if kv is not None else "local", optimizer="sgd",
        optimizer_params={"learning_rate": 0.5, "momentum": 0.9, "wd": 1e-2},
        initializer=mx.init.Xavier())
args, _ = mod.get_params()
np.savez(os.path.join(os.environ["OUT_DIR"], "params-%d.npz" % rank), **{k: v.asnumpy() for k, v in args.items()})
