"""A hybridized block runs its traced graph through the executor; it must train exactly as the
same block run imperatively (same kernels, so equal to the bit here), and reuse its binding."""

import numpy as np
import pytest

import rmx as mx
from rmx import autograd, gluon


def make_net():
    net = gluon.nn.HybridSequential(prefix="net_")
    with net.name_scope():
        net.add(gluon.nn.Conv2D(8, 3, activation="relu"), gluon.nn.BatchNorm(), gluon.nn.MaxPool2D(),
                gluon.nn.Flatten(), gluon.nn.Dense(32, activation="tanh"), gluon.nn.Dense(10))
    return net


def train(hybridize, steps=3):
    mx.random.seed(0)
    np.random.seed(0)
    x = mx.nd.array(np.random.randn(16, 1, 12, 12))
    y = mx.nd.array(np.random.randint(0, 10, 16))
    net = make_net()
    net.initialize(mx.init.Xavier())
    if hybridize:
        net.hybridize()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1, "momentum": 0.9})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    for _ in range(steps):
        with autograd.record():
            loss = loss_fn(net(x), y)
        loss.backward()
        trainer.step(16)
    params = {k[len("net_"):]: v.data().asnumpy() for k, v in net.collect_params().items()}
    return net, net(x).asnumpy(), params


def test_hybridized_training_equals_imperative():
    _, out_i, params_i = train(False)
    net, out_h, params_h = train(True)
    np.testing.assert_array_equal(out_h, out_i)
    assert params_h.keys() == params_i.keys()
    for k in params_i:
        # Weights, and BatchNorm's moving statistics, which the executor updates in place.
        np.testing.assert_array_equal(params_h[k], params_i[k], err_msg=k)
    # One binding for training (recorded) and one for prediction, reused across steps.
    assert len(net._cached_op.bindings) == 2


def test_hybridized_input_gradient_and_new_shapes():
    net = gluon.nn.HybridSequential()
    net.add(gluon.nn.Dense(4, activation="relu"), gluon.nn.Dense(1))
    net.initialize()
    net.hybridize()
    for batch in (3, 5):
        x = mx.nd.array(np.random.randn(batch, 6))
        x.attach_grad()
        with autograd.record():
            y = net(x)
        y.backward()
        w1, b1 = net[0].weight.data().asnumpy(), net[0].bias.data().asnumpy()
        w2 = net[1].weight.data().asnumpy()
        h = x.asnumpy() @ w1.T + b1
        want = ((h > 0) * w2[0]) @ w1
        np.testing.assert_allclose(x.grad.asnumpy(), want, rtol=1e-5, atol=1e-6)
        assert y.shape == (batch, 1)
