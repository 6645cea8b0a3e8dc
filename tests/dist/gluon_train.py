"""A worker of test_kvstore_dist: Gluon's Trainer with a dist_sync store; both workers end with
the same parameters (the servers hold one copy), and the loss falls."""
import os

import numpy as np
import rmx as mx
from rmx import autograd, gluon

kv = mx.kv.create("dist_sync")
rng = np.random.RandomState(kv.rank)
X = rng.rand(64, 10).astype(np.float32)
Y = (X.sum(axis=1, keepdims=True) > 5).astype(np.float32)
net = gluon.nn.Dense(1, in_units=10)
mx.random.seed(kv.rank)
net.initialize(mx.init.Normal(1.0))
trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1}, kvstore=kv)
loss_fn = gluon.loss.L2Loss()
losses = []
for _ in range(20):
    with autograd.record():
        loss = loss_fn(net(mx.nd.array(X)), mx.nd.array(Y))
    loss.backward()
    trainer.step(64)
    losses.append(float(loss.mean().asscalar()))
assert losses[-1] < losses[0], losses
w = net.weight.data().asnumpy()
np.save(os.path.join(os.environ["OUT_DIR"], "w-%d.npy" % kv.rank), w)
print("ok", kv.rank)
