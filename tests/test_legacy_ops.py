"""Operators issue 18 added: values, shapes and dtypes against MXNet 1.9.1's (a fixture), and
gradients against float64 central differences."""

import os
import sys

import numpy as np
import pytest

import rmx as mx
from rmx.test_utils import check_numeric_gradient, check_symbolic_backward

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures"))
from make_legacy_op_fixtures import cases  # noqa: E402

REF = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "mxnet_legacy_ops.npz"))
OURS = cases(mx)


@pytest.mark.parametrize("name", sorted(REF.files))
def test_matches_mxnet(name):
    want, got = REF[name], OURS[name]
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype, want.shape, want.dtype)
    np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=1e-5, atol=1e-6, equal_nan=True)


def _grad(sym, location, **kw):
    check_numeric_gradient(sym, location, numeric_eps=1e-6, rtol=1e-5, atol=1e-7, dtype=np.float64, **kw)


RNG = np.random.default_rng(0)
DATA = mx.sym.var("data")


@pytest.mark.parametrize("op, low, high", [("gamma", 0.3, 4.0), ("gamma", -2.7, -2.2), ("gammaln", 0.2, 6.0), ("erfinv", -0.95, 0.95)])
def test_special_function_gradients(op, low, high):
    _grad(getattr(mx.sym, op)(DATA), [RNG.uniform(low, high, (3, 4))])


def test_special_functions_against_float64_references():
    import math

    x = np.array([0.1, 0.5, 1.0, 2.5, 7.0, -0.5, -1.5])
    got = mx.nd.gamma(mx.nd.array(x, dtype="float64")).asnumpy()
    np.testing.assert_allclose(got, [math.gamma(v) for v in x], rtol=1e-13)
    got = mx.nd.gammaln(mx.nd.array(x, dtype="float64")).asnumpy()
    np.testing.assert_allclose(got, [math.lgamma(v) for v in x], rtol=1e-13)
    y = np.linspace(-0.999, 0.999, 41)
    back = mx.nd.erf(mx.nd.erfinv(mx.nd.array(y, dtype="float64"))).asnumpy()
    np.testing.assert_allclose(back, y, rtol=0, atol=1e-15)


def test_hard_sigmoid_and_softmin_gradients():
    # Points away from hard_sigmoid's two kinks, where finite differences are exact.
    x = np.array([[-4.0, -1.2, 0.3], [1.1, 1.8, 6.0]])
    _grad(mx.sym.hard_sigmoid(DATA, alpha=0.3, beta=0.4), [x])
    _grad(mx.sym.softmin(DATA, axis=0), [RNG.normal(size=(3, 4))])
    _grad(mx.sym.softmin(DATA, temperature=2.0), [RNG.normal(size=(3, 4))])


@pytest.mark.parametrize("shape, kw", [((4,), {"k": 1}), ((3, 5), {"k": -1}), ((2, 3, 4), {"k": 1, "axis1": 2, "axis2": 0})])
def test_diag_gradient(shape, kw):
    _grad(mx.sym.diag(DATA, **kw), [RNG.normal(size=shape)])


def test_diag_matches_numpy():
    x = RNG.normal(size=(2, 3, 4))
    got = mx.nd.diag(mx.nd.array(x), k=-1, axis1=1, axis2=2).asnumpy()
    np.testing.assert_allclose(got, np.diagonal(x, -1, 1, 2), rtol=1e-6)
    v = RNG.normal(size=3)
    np.testing.assert_allclose(mx.nd.diag(mx.nd.array(v), k=2).asnumpy(), np.diag(v, 2), rtol=1e-6)


@pytest.mark.parametrize("op, shape", [("depth_to_space", (2, 8, 2, 3)), ("space_to_depth", (2, 2, 4, 6))])
def test_depth_space_round_trip_and_gradient(op, shape):
    x = RNG.normal(size=shape)
    other = "space_to_depth" if op == "depth_to_space" else "depth_to_space"
    y = getattr(mx.nd, op)(mx.nd.array(x), block_size=2)
    np.testing.assert_array_equal(getattr(mx.nd, other)(y, block_size=2).asnumpy(), x.astype(np.float32))
    _grad(getattr(mx.sym, op)(DATA, block_size=2), [x])


def test_fill_and_choose_element_gradients():
    lhs, mhs, rhs = mx.sym.var("lhs"), mx.sym.var("mhs"), mx.sym.var("rhs")
    idx = np.array([2.0, 0.0, 1.0])
    _grad(mx.sym.fill_element_0index(lhs, mhs, rhs), {"lhs": RNG.normal(size=(3, 4)), "mhs": RNG.normal(size=3), "rhs": idx}, grad_nodes=["lhs", "mhs"])
    _grad(mx.sym.choose_element_0index(lhs, rhs), {"lhs": RNG.normal(size=(3, 4)), "rhs": idx}, grad_nodes=["lhs"])


def test_split_v2_symbol_and_gradient():
    parts = mx.sym.split_v2(DATA, (1, 3), axis=1)
    assert len(parts.list_outputs()) == 3
    og = [np.ones((2, 1)), np.full((2, 2), 2.0), np.full((2, 2), 3.0)]
    expect = np.concatenate(og, axis=1)
    check_symbolic_backward(parts, [np.zeros((2, 5))], og, [expect])
    with pytest.raises(mx.base.MXNetError, match="past axis"):
        mx.nd.split_v2(mx.nd.zeros((2, 3)), (1, 5), axis=1)


def test_symbol_linspace_and_histogram_infer():
    _, out, _ = mx.sym.linspace(0, 1, 11).infer_shape()
    assert out == [(11,)]
    counts, edges = mx.sym.histogram(DATA, bins=4, range=(0, 1))
    _, out, _ = mx.sym.Group([counts, edges]).infer_shape(data=(7,))
    assert out == [(4,), (5,)]
    with pytest.raises(mx.base.MXNetError, match="range"):
        mx.sym.histogram(DATA, bins=4)


def test_histogram_without_range_uses_min_max_like_numpy():
    x = RNG.normal(size=50)
    counts, edges = mx.nd.histogram(mx.nd.array(x, dtype="float64"), bins=6)
    want_c, want_e = np.histogram(x, bins=6)
    np.testing.assert_array_equal(counts.asnumpy(), want_c)
    np.testing.assert_allclose(edges.asnumpy(), want_e, rtol=1e-12)


def test_bad_arguments_name_operator_and_argument():
    with pytest.raises(mx.base.MXNetError, match="depth_to_space.*block_size"):
        mx.nd.depth_to_space(mx.nd.zeros((1, 3, 2, 2)), block_size=2)
    with pytest.raises(mx.base.MXNetError, match="_unravel_index.*shape"):
        mx.nd.unravel_index(mx.nd.array([1]), shape=(3, -1))
    with pytest.raises(mx.base.MXNetError, match="fill_element_0index"):
        mx.nd.fill_element_0index(mx.nd.zeros((2, 3)), mx.nd.zeros(3), mx.nd.zeros(2))


def test_diag_of_a_vector_ignores_the_axes_as_mxnet():
    got = mx.nd.diag(mx.nd.array([1, 2]), k=1, axis1=1, axis2=0).asnumpy()
    np.testing.assert_array_equal(got, [[0, 1, 0], [0, 0, 2], [0, 0, 0]])


def test_block_size_overflow_is_an_error():
    with pytest.raises(mx.base.MXNetError, match="depth_to_space.*block_size"):
        mx.nd.depth_to_space(mx.nd.zeros((1, 4, 2, 2)), block_size=2**32)
