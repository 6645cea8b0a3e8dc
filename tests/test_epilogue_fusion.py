"""Epilogue fusion (on by default; ``RMX_FUSE_EPILOGUE=0`` turns it off): a FullyConnected whose
output one activation alone reads runs as one ``FullyConnected+Activation`` node. The fused
graph must give the unfused numbers bit for bit, forward and backward, and leave the pair
alone wherever something else reads the layer's output."""

import numpy as np
import pytest

import rmx as mx


def bound(sym, monkeypatch, switch, grad_req="write", **shapes):
    monkeypatch.setenv("RMX_FUSE_EPILOGUE", switch)
    ex = sym.simple_bind(mx.cpu(), grad_req=grad_req, **shapes)
    rng = np.random.RandomState(0)
    for name, arr in ex.arg_dict.items():
        if name.endswith("label"):
            arr[:] = rng.randint(0, 4, size=arr.shape)
        else:
            arr[:] = rng.uniform(-1, 1, size=arr.shape)
    return ex


def results(ex, train=True):
    ex.forward(is_train=train)
    out = {f"out{i}": o.asnumpy() for i, o in enumerate(ex.outputs)}
    if train:
        ex.backward()
        out.update({f"grad:{n}": g.asnumpy() for n, g in ex.grad_dict.items() if g is not None})
    return out


def fused_nodes(ex):
    return ex.debug_str().count("Op:FullyConnected+Activation")


def both(sym, monkeypatch, grad_req="write", **shapes):
    on = bound(sym, monkeypatch, "1", grad_req, **shapes)
    off = bound(sym, monkeypatch, "0", grad_req, **shapes)
    assert fused_nodes(off) == 0
    return on, off


def assert_same(a, b):
    assert sorted(a) == sorted(b)
    for k in a:
        assert a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]), k


def mlp(acts, batch_first=True):
    x = mx.sym.var("data")
    for i, act in enumerate(acts):
        x = mx.sym.Activation(mx.sym.FullyConnected(x, num_hidden=(300, 70, 9)[i % 3], name=f"fc{i}"), act_type=act)
    return mx.sym.SoftmaxOutput(mx.sym.FullyConnected(x, num_hidden=4, name="out"), name="softmax")


@pytest.mark.parametrize("batch", [5, 200])  # wide layers (transposed products) and narrow ones
def test_fused_layers_train_to_the_unfused_bits(monkeypatch, batch):
    sym = mlp(["relu", "tanh", "sigmoid", "softrelu"])
    on, off = both(sym, monkeypatch, data=(batch, 33))
    assert fused_nodes(on) == 4
    for _ in range(2):
        assert_same(results(on), results(off))
        assert_same(results(on, train=False), results(off, train=False))


def train_with_ones(ex):
    ex.forward(is_train=True)
    ex.backward([mx.nd.ones(o.shape) for o in ex.outputs])
    out = {f"out{i}": o.asnumpy() for i, o in enumerate(ex.outputs)}
    out.update({f"grad:{n}": g.asnumpy() for n, g in ex.grad_dict.items()})
    return out


def test_a_layer_output_read_elsewhere_is_not_fused(monkeypatch):
    data = mx.sym.var("data")
    fc = mx.sym.FullyConnected(data, num_hidden=8, name="fc")
    # The layer's output is also a graph output; softsign's gradient reads its input; a second
    # reader; only the last pair is fusable.
    shown = mx.sym.Activation(fc, act_type="relu")
    soft = mx.sym.Activation(mx.sym.FullyConnected(data, num_hidden=8, name="fc2"), act_type="softsign")
    twice = mx.sym.FullyConnected(data, num_hidden=8, name="fc3")
    fused = mx.sym.Activation(mx.sym.FullyConnected(data, num_hidden=8, name="fc4"), act_type="relu", name="act4")
    sym = mx.sym.Group([fc, shown, soft, mx.sym.Activation(twice, act_type="tanh") + twice, fused])
    on, off = both(sym, monkeypatch, data=(6, 5))
    assert fused_nodes(on) == 1
    assert "Op:FullyConnected+Activation, Name=act4" in on.debug_str()
    assert_same(train_with_ones(on), train_with_ones(off))


def test_other_elementwise_operators_fuse_and_chains_continue(monkeypatch):
    # A scalar operator after the layer (named after it), 3-d data without flattening, and
    # elementwise fusion of what follows (RMX_FUSE_ELEMWISE=1 as well).
    x = mx.sym.var("data")
    h = mx.sym.FullyConnected(x, num_hidden=12, flatten=False, name="fc1") * 2
    y = mx.sym.Activation(mx.sym.FullyConnected(h, num_hidden=5, flatten=False, name="fc2"), act_type="relu") + 1
    monkeypatch.setenv("RMX_FUSE_ELEMWISE", "1")
    on, off = both(y, monkeypatch, data=(3, 4, 7))
    text = on.debug_str()
    assert "Op:FullyConnected+_mul_scalar" in text and "Op:FullyConnected+Activation" in text, text
    assert_same(train_with_ones(on), train_with_ones(off))


def test_fusion_needs_no_buffer_for_the_pre_activation(monkeypatch):
    sym = mlp(["relu", "relu"])
    plans = {}
    for switch in ("1", "0"):
        monkeypatch.setenv("RMX_FUSE_EPILOGUE", switch)
        plans[switch] = sym.plan_memory(grad_req="null", strategy="none", data=(64, 100))
    assert plans["1"]["forward_nodes"] == plans["0"]["forward_nodes"] - 2
    # The two pre-activation arrays (64x300 and 64x70 float32) are gone.
    assert plans["0"]["internal_bytes"] - plans["1"]["internal_bytes"] == 64 * (300 + 70) * 4


def test_float64_layers_fuse_too(monkeypatch):
    sym = mlp(["tanh", "relu"])
    on, off = both(sym, monkeypatch, type_dict={"data": "float64"}, data=(40, 7))
    assert fused_nodes(on) == 2
    got = results(on)
    assert got["out0"].dtype == np.float64
    assert_same(got, results(off))
