"""Executor: bind/simple_bind, forward/backward with every grad_req, reshape, copy_params_from,
debug_str; results compared with NumPy."""

import numpy as np
import pytest

import rmx as mx


def fc_net():
    x = mx.sym.var("x")
    fc = mx.sym.FullyConnected(x, num_hidden=3, name="fc")
    return mx.sym.Activation(fc, act_type="tanh", name="t")


def numpy_fc(x, w, b):
    return np.tanh(x @ w.T + b)


def test_simple_bind_forward_backward_matches_numpy():
    net = fc_net()
    ex = net.simple_bind(mx.cpu(), x=(4, 5))
    rng = np.random.RandomState(0)
    x, w, b = rng.randn(4, 5), rng.randn(3, 5), rng.randn(3)
    ex.arg_dict["fc_weight"][:] = w
    ex.arg_dict["fc_bias"][:] = b
    out = ex.forward(is_train=True, x=x)[0].asnumpy()
    np.testing.assert_allclose(out, numpy_fc(x, w, b), rtol=1e-5, atol=1e-6)
    assert ex.output_dict["t_output"] is ex.outputs[0]
    g = rng.randn(4, 3)
    ex.backward(mx.nd.array(g))
    dz = g * (1 - np.tanh(x @ w.T + b) ** 2)
    np.testing.assert_allclose(ex.grad_dict["fc_weight"].asnumpy(), dz.T @ x, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ex.grad_dict["fc_bias"].asnumpy(), dz.sum(0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(ex.grad_dict["x"].asnumpy(), dz @ w, rtol=1e-4, atol=1e-5)


def test_grad_req_add_null_and_write():
    net = fc_net()
    rng = np.random.RandomState(1)
    args = {"x": mx.nd.array(rng.randn(2, 4)), "fc_weight": mx.nd.array(rng.randn(3, 4)), "fc_bias": mx.nd.array(rng.randn(3))}
    grads = {k: mx.nd.zeros(v.shape) for k, v in args.items()}
    ex = net.bind(mx.cpu(), args, args_grad=grads, grad_req={"x": "null", "fc_weight": "add", "fc_bias": "write"})
    og = mx.nd.array(rng.randn(2, 3))
    ex.forward(is_train=True)
    ex.backward(og)
    first_w = grads["fc_weight"].asnumpy().copy()
    first_b = grads["fc_bias"].asnumpy().copy()
    ex.forward(is_train=True)
    ex.backward(og)
    np.testing.assert_allclose(grads["fc_weight"].asnumpy(), 2 * first_w, rtol=1e-5)
    np.testing.assert_allclose(grads["fc_bias"].asnumpy(), first_b, rtol=1e-6)
    assert np.all(grads["x"].asnumpy() == 0)
    assert ex.grad_arrays[0] is None


def test_shared_input_gradients_are_summed():
    a = mx.sym.var("a")
    y = a * a + a  # a reaches the output three times
    ex = y.simple_bind(mx.cpu(), a=(5,))
    x = np.linspace(-1, 1, 5)
    ex.forward(is_train=True, a=x)
    ex.backward(mx.nd.ones((5,)))
    np.testing.assert_allclose(ex.grad_dict["a"].asnumpy(), 2 * x + 1, rtol=1e-6)


def test_loss_head_backward_without_out_grads():
    x = mx.sym.var("x")
    net = mx.sym.SoftmaxOutput(x, name="sm")
    ex = net.simple_bind(mx.cpu(), x=(3, 4))
    logits = np.random.RandomState(2).randn(3, 4)
    label = np.array([0, 3, 1])
    ex.forward(is_train=True, x=logits, sm_label=label)
    ex.backward()
    p = np.exp(logits - logits.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(ex.grad_dict["x"].asnumpy(), p - np.eye(4)[label], rtol=1e-5, atol=1e-6)


def test_bind_errors_are_specific():
    net = fc_net()
    with pytest.raises(mx.MXNetError, match="missing arrays"):
        net.bind(mx.cpu(), {"x": mx.nd.zeros((2, 4))})
    bad = {"x": mx.nd.zeros((2, 4)), "fc_weight": mx.nd.zeros((3, 5)), "fc_bias": mx.nd.zeros((3,))}
    with pytest.raises(mx.MXNetError, match="fc_weight"):
        net.bind(mx.cpu(), bad)
    ex = net.simple_bind(mx.cpu(), x=(2, 4))
    with pytest.raises(mx.MXNetError, match="unknown argument"):
        ex.forward(y=np.zeros((2, 4)))


def test_reshape_shares_parameters_and_copy_params_from():
    net = fc_net()
    ex = net.simple_bind(mx.cpu(), x=(4, 5))
    w = np.random.RandomState(3).randn(3, 5)
    ex.copy_params_from({"fc_weight": mx.nd.array(w), "fc_bias": mx.nd.zeros((3,))})
    small = ex.reshape(x=(2, 5))
    assert small.arg_dict["fc_weight"] is ex.arg_dict["fc_weight"]
    x = np.random.RandomState(4).randn(2, 5)
    np.testing.assert_allclose(small.forward(x=x)[0].asnumpy(), numpy_fc(x, w, 0), rtol=1e-5, atol=1e-6)
    with pytest.raises(mx.MXNetError):
        ex.reshape(x=(8, 5))
    big = ex.reshape(allow_up_sizing=True, x=(8, 5))
    assert big.outputs[0].shape == (8, 3)
    with pytest.raises(ValueError):
        ex.copy_params_from({"nope": mx.nd.zeros((1,))})


def test_debug_str_reports_memory():
    ex = fc_net().simple_bind(mx.cpu(), x=(1024, 512))
    text = ex.debug_str()
    assert "FullyConnected" in text and text.rstrip().endswith("MB allocated")


def test_forward_is_asynchronous_and_errors_surface_at_wait():
    x = mx.sym.var("x")
    y = mx.sym.take(mx.sym.var("a"), x, mode="raise")
    ex = y.bind(mx.cpu(), {"a": mx.nd.array([1.0, 2.0]), "x": mx.nd.array([5.0])}, grad_req="null")
    ex.forward()
    with pytest.raises(mx.MXNetError):
        ex.outputs[0].asnumpy()
