"""LayerNorm, erf, squeeze and reverse/flip: outputs against NumPy, gradients against float64
central differences through autograd."""

import math

import numpy as np
import pytest

import rmx as mx

nd = mx.nd


def numeric_grad(f, x, eps=1e-6):
    """Central differences of scalar f at every element of NumPy array x."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        g[i] = (f(x + d) - f(x - d)) / (2 * eps)
    return g


def autograd_grads(f, arrays, head):
    xs = [nd.array(a, dtype="float64") for a in arrays]
    for x in xs:
        x.attach_grad()
    with mx.autograd.record():
        y = f(*xs)
    y.backward(nd.array(head, dtype="float64"))
    return [x.grad.asnumpy() for x in xs]


def layer_norm_ref(x, gamma, beta, axis, eps):
    m = x.mean(axis=axis, keepdims=True)
    s = np.sqrt(x.var(axis=axis, keepdims=True) + eps)
    shape = [1] * x.ndim
    shape[axis] = -1
    return (x - m) / s * gamma.reshape(shape) + beta.reshape(shape), m, s


@pytest.mark.parametrize("shape,axis", [((4, 6), -1), ((2, 3, 5), 1), ((3, 4, 2), 0)])
def test_layer_norm_forward_and_stats(shape, axis):
    rng = np.random.default_rng(0)
    x, gamma, beta = rng.normal(size=shape), rng.normal(size=shape[axis]), rng.normal(size=shape[axis])
    out, mean, std = nd.LayerNorm(nd.array(x, dtype="float64"), nd.array(gamma, dtype="float64"), nd.array(beta, dtype="float64"),
                                  axis=axis, eps=1e-5, output_mean_var=True)
    want, m, s = layer_norm_ref(x, gamma, beta, axis, 1e-5)
    np.testing.assert_allclose(out.asnumpy(), want, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(mean.asnumpy(), m, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(std.asnumpy(), s, rtol=1e-10)
    y = nd.LayerNorm(nd.array(x, dtype="float32"), nd.array(gamma, dtype="float32"), nd.array(beta, dtype="float32"), axis=axis)
    assert isinstance(y, nd.NDArray)
    np.testing.assert_allclose(y.asnumpy(), want, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("shape,axis", [((3, 5), -1), ((2, 4, 3), 1)])
def test_layer_norm_gradients_match_finite_differences(shape, axis):
    rng = np.random.default_rng(1)
    x, gamma, beta = rng.normal(size=shape), rng.normal(size=shape[axis]), rng.normal(size=shape[axis])
    head = rng.normal(size=shape)
    got = autograd_grads(lambda a, g, b: nd.LayerNorm(a, g, b, axis=axis, eps=1e-3), [x, gamma, beta], head)
    loss = lambda a, g, b: float((layer_norm_ref(a, g, b, axis, 1e-3)[0] * head).sum())
    want = [numeric_grad(lambda v: loss(v, gamma, beta), x), numeric_grad(lambda v: loss(x, v, beta), gamma), numeric_grad(lambda v: loss(x, gamma, v), beta)]
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-7)


def test_layer_norm_symbol_infers_gamma_and_beta():
    y = mx.sym.LayerNorm(mx.sym.var("data"), name="ln")
    args, outs, _ = y.infer_shape(data=(2, 7))
    assert dict(zip(y.list_arguments(), args)) == {"data": (2, 7), "ln_gamma": (7,), "ln_beta": (7,)}
    assert outs == [(2, 7)]


def test_layer_norm_rejects_wrong_gamma():
    with pytest.raises(mx.base.MXNetError, match="gamma"):
        nd.LayerNorm(nd.ones((2, 3)), nd.ones(4), nd.ones(3))


def test_erf_values_and_gradient():
    x = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(nd.erf(nd.array(x, dtype="float64")).asnumpy(), [math.erf(v) for v in x], rtol=1e-15, atol=1e-16)
    np.testing.assert_allclose(nd.erf(nd.array(x)).asnumpy(), [math.erf(v) for v in x], rtol=1e-6, atol=1e-7)
    (g,) = autograd_grads(nd.erf, [x], np.ones_like(x))
    np.testing.assert_allclose(g, 2 / math.sqrt(math.pi) * np.exp(-x * x), rtol=1e-12)


@pytest.mark.parametrize("shape,axis,want", [((1, 3, 1, 2), None, (3, 2)), ((1, 3, 1, 2), 2, (1, 3, 2)), ((1, 3, 1, 2), (0, 2), (3, 2)), ((1, 1), None, (1,))])
def test_squeeze_shapes(shape, axis, want):
    x = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    y = nd.squeeze(nd.array(x), axis=axis)
    assert y.shape == want
    np.testing.assert_array_equal(y.asnumpy().reshape(-1), x.reshape(-1))


def test_squeeze_refuses_an_axis_that_is_not_one():
    with pytest.raises(mx.base.MXNetError, match="size 3"):
        nd.squeeze(nd.ones((1, 3)), axis=1)


@pytest.mark.parametrize("axis", [0, 1, (0, 2), -1])
def test_reverse_and_flip(axis):
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    np.testing.assert_array_equal(nd.reverse(nd.array(x), axis=axis).asnumpy(), np.flip(x, axis))
    np.testing.assert_array_equal(nd.flip(nd.array(x), axis=axis).asnumpy(), np.flip(x, axis))
    head = np.random.default_rng(2).normal(size=x.shape)
    (g,) = autograd_grads(lambda a: nd.flip(a, axis=axis), [x.astype(np.float64)], head)
    np.testing.assert_array_equal(g, np.flip(head, axis))


def test_squeeze_and_flip_of_a_strided_view():
    x = np.arange(24, dtype=np.float32).reshape(4, 6)
    v = nd.array(x)[1:3]
    np.testing.assert_array_equal(nd.flip(v, axis=1).asnumpy(), np.flip(x[1:3], 1))
