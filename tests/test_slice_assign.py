"""_slice_assign / _crop_assign and _slice_assign_scalar: values as MXNet 1.9.1 gives them
(recorded below from it), NumPy's slice assignment with steps and negative indices, and
gradients against float64 finite differences."""

import numpy as np

import rmx as mx
from rmx.test_utils import check_numeric_gradient


def test_values_match_mxnet():
    x = mx.nd.zeros((3, 4))
    # Recorded from MXNet 1.9.1: _internal._slice_assign(x, ones((2, 2)), begin=(0, 1), end=(2, 3)).
    got = mx.nd._slice_assign(x, mx.nd.ones((2, 2)), begin=(0, 1), end=(2, 3)).asnumpy()
    np.testing.assert_array_equal(got, [[0, 1, 1, 0], [0, 1, 1, 0], [0, 0, 0, 0]])
    got = mx.nd._slice_assign_scalar(x, scalar=3, begin=(1, 1), end=(2, 4)).asnumpy()
    np.testing.assert_array_equal(got, [[0, 0, 0, 0], [0, 3, 3, 3], [0, 0, 0, 0]])
    assert mx.nd._crop_assign(x, mx.nd.ones((2, 2)), begin=(0, 1), end=(2, 3)).shape == (3, 4)


def test_steps_and_negative_indices_follow_numpy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(5, 6)), rng.normal(size=(2, 3))
    want = a.copy()
    want[4:0:-2, -1:None:-2] = b
    got = mx.nd._slice_assign(mx.nd.array(a), mx.nd.array(b), begin=(4, -1), end=(0, None), step=(-2, -2)).asnumpy()
    np.testing.assert_allclose(got, want.astype(np.float32))


def test_gradients():
    rng = np.random.default_rng(1)
    lhs, rhs = mx.sym.var("lhs"), mx.sym.var("rhs")
    sym = mx.sym._internal._slice_assign(lhs, rhs, begin=(1, 0), end=(3, None), step=(1, 2))
    check_numeric_gradient(sym, {"lhs": rng.normal(size=(4, 5)), "rhs": rng.normal(size=(2, 3))}, numeric_eps=1e-6, rtol=1e-5, atol=1e-7, dtype=np.float64)
    sym = mx.sym._internal._slice_assign_scalar(lhs, scalar=2.0, begin=(0,), end=(2,))
    check_numeric_gradient(sym, {"lhs": rng.normal(size=(4, 5))}, numeric_eps=1e-6, rtol=1e-5, atol=1e-7, dtype=np.float64)


def test_a_huge_step_selects_one_element():
    got = mx.nd._slice_assign_scalar(mx.nd.zeros((6,)), scalar=1, begin=(0,), end=(5,), step=(2**63 - 1,)).asnumpy()
    assert got.tolist() == [1, 0, 0, 0, 0, 0]
