"""Gluon's stale-gradient check: a parameter whose gradient no backward wrote since the last
``Trainer.step`` is refused (MXNet raises a ``UserWarning``), or skipped with
``ignore_stale_grad=True``; ``NDArray._fresh_grad`` is the flag behind it.

Run against the reference:  MX_MODULE=mxnet python -m pytest -q tests/test_gluon_stale_grad.py
"""

import os

import numpy as np
import pytest

mx = __import__(os.environ.get("MX_MODULE", "rmx"))
nn = mx.gluon.nn


def two_branches(hybridize):
    """`a` and `b` share nothing; a forward through `a` alone leaves `b`'s gradients stale."""
    a, b = nn.Dense(2, in_units=3, prefix="a_"), nn.Dense(2, in_units=3, prefix="b_")
    params = mx.gluon.ParameterDict()
    for blk in (a, b):
        blk.initialize(mx.init.One())
        if hybridize:
            blk.hybridize()
        params.update(blk.collect_params())
    return a, b, mx.gluon.Trainer(params, "sgd", {"learning_rate": 0.1})


def backward_through(block):
    with mx.autograd.record():
        loss = block(mx.nd.ones((4, 3))).sum()
    loss.backward()


def test_fresh_grad_flag_follows_backward():
    x = mx.nd.ones((2, 2))
    x.attach_grad()
    assert not x._fresh_grad
    with mx.autograd.record():
        y = (x * 2).sum()
    y.backward()
    assert x._fresh_grad
    x._fresh_grad = False
    assert not x._fresh_grad


@pytest.mark.parametrize("hybridize", [False, True])
def test_step_refuses_a_stale_gradient(hybridize):
    a, b, trainer = two_branches(hybridize)
    backward_through(a)
    with pytest.raises(UserWarning, match="Parameter `b_(bias|weight)`"):
        trainer.step(4)


@pytest.mark.parametrize("hybridize", [False, True])
def test_ignore_stale_grad_updates_only_fresh_parameters(hybridize):
    a, b, trainer = two_branches(hybridize)
    backward_through(a)
    trainer.step(4, ignore_stale_grad=True)
    assert not np.allclose(a.weight.data().asnumpy(), 1)
    np.testing.assert_array_equal(b.weight.data().asnumpy(), np.ones((2, 3)))
    # The update cleared a's flags: a second step without a backward finds a stale too.
    with pytest.raises(UserWarning, match="Parameter `a_(bias|weight)`"):
        trainer.step(4)


@pytest.mark.parametrize("hybridize", [False, True])
def test_each_backward_makes_the_gradients_fresh_again(hybridize):
    a, b, trainer = two_branches(hybridize)
    for _ in range(3):
        backward_through(a)
        backward_through(b)
        trainer.step(4)
    np.testing.assert_allclose(a.weight.data().asnumpy(), 1 - 3 * 0.1 * 4 / 4, rtol=1e-6)
