"""The linalg family: values against MXNet 1.9.1's (a fixture, float64), gradients against
float64 central differences. Operators that read a symmetric matrix are differentiated through
a symmetric input built in the graph (X + Xᵀ, or X Xᵀ + nI), since they read one triangle only."""

import os
import sys

import numpy as np
import pytest

import rmx as mx
from rmx.test_utils import check_numeric_gradient

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures"))
from make_linalg_fixtures import cases  # noqa: E402

REF = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "mxnet_linalg.npz"))
OURS = cases(mx)
RNG = np.random.default_rng(7)
A, B, C = mx.sym.var("A"), mx.sym.var("B"), mx.sym.var("C")
la = mx.sym.linalg


@pytest.mark.parametrize("name", sorted(REF.files))
def test_matches_mxnet(name):
    want, got = REF[name], OURS[name]
    assert got.shape == want.shape and got.dtype == want.dtype, (got.shape, got.dtype, want.shape, want.dtype)
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)


def _grad(sym, location, **kw):
    check_numeric_gradient(sym, location, numeric_eps=1e-6, rtol=1e-5, atol=1e-7, dtype=np.float64, **kw)


def _spd(x):
    """A symmetric positive-definite batch from any square x: x xᵀ + n I."""
    return la.syrk(x) + 3.0 * la.makediag(mx.sym.ones_like(la.extractdiag(x)))


def _sym(x):
    return x + mx.sym.transpose(x, axes=(0, 2, 1))


def _tri(n, batch=2):
    return np.tril(RNG.normal(size=(batch, n, n))) + 3 * np.eye(n)


def _both(outputs):
    """One output from two: each weighted by fixed random arrays (W0, W1) and summed."""
    return mx.sym.sum(outputs[0] * mx.sym.var("W0")) + mx.sym.sum(outputs[1] * mx.sym.var("W1"))


CASES = {
    "gemm": (la.gemm(A, B, C, transpose_a=True, alpha=0.7, beta=1.3), {"A": (2, 4, 3), "B": (2, 4, 2), "C": (2, 3, 2)}),
    "gemm2": (la.gemm2(A, B, transpose_b=True, alpha=2.0), {"A": (2, 3, 4), "B": (2, 5, 4)}),
    "potrf": (la.potrf(_spd(A)), {"A": (2, 3, 3)}),
    "potri": (la.potri(A), {"A": "tri"}),
    "trsm": (la.trsm(A, B, alpha=1.5), {"A": "tri", "B": (2, 3, 2)}),
    "trsm_t_right": (la.trsm(A, B, transpose=True, rightside=True), {"A": "tri", "B": (2, 2, 3)}),
    "trsm_upper": (la.trsm(A, B, lower=False), {"A": "triu", "B": (2, 3, 2)}),
    "trmm": (la.trmm(A, B, alpha=0.5), {"A": "tri", "B": (2, 3, 2)}),
    "trmm_t_right": (la.trmm(A, B, transpose=True, rightside=True, lower=False), {"A": "triu", "B": (2, 2, 3)}),
    "syrk": (la.syrk(A, alpha=0.5), {"A": (2, 3, 4)}),
    "syrk_t": (la.syrk(A, transpose=True), {"A": (2, 3, 4)}),
    "gelqf": (_both(la.gelqf(A)), {"A": (2, 3, 5), "W0": (2, 3, 5), "W1": (2, 3, 3)}),
    "syevd": (_both(la.syevd(_sym(A))), {"A": (2, 3, 3), "W0": (2, 3, 3), "W1": (2, 3)}),
    "inverse": (la.inverse(A), {"A": "well"}),
    "det": (la.det(A), {"A": "well"}),
    "slogdet": (la.slogdet(A)[1], {"A": "well"}),
    "sumlogdiag": (la.sumlogdiag(A), {"A": "posdiag"}),
    "extractdiag": (la.extractdiag(A, offset=-1), {"A": (2, 3, 3)}),
    "makediag": (la.makediag(A, offset=1), {"A": (2, 3)}),
    "extracttrian": (la.extracttrian(A, lower=False), {"A": (2, 3, 3)}),
    "maketrian": (la.maketrian(A, offset=-1), {"A": (2, 6)}),
}


def _value(kind):
    if kind == "tri":
        return _tri(3)
    if kind == "triu":
        return np.transpose(_tri(3), (0, 2, 1))
    if kind == "well":
        return RNG.normal(size=(2, 3, 3)) + 3 * np.eye(3)
    if kind == "posdiag":
        return RNG.normal(size=(2, 3, 3)) + 4 * np.eye(3)
    return RNG.normal(size=kind)


@pytest.mark.parametrize("name", sorted(CASES))
def test_gradient_against_finite_differences(name):
    sym, inputs = CASES[name]
    location = {k: _value(v) for k, v in inputs.items()}
    _grad(sym, location, grad_nodes=[k for k in inputs if not k.startswith("W")])


def test_bad_matrices_fail_at_the_wait_naming_the_operator():
    bad = mx.nd.linalg.potrf(mx.nd.array(-np.eye(3)))
    with pytest.raises(mx.base.InvalidArgumentError, match="_linalg_potrf.*positive definite"):
        bad.asnumpy()
    with pytest.raises(mx.base.MXNetError, match="_linalg_gemm2.*inner sizes"):
        mx.nd.linalg.gemm2(mx.nd.zeros((2, 3)), mx.nd.zeros((4, 2)))
    with pytest.raises(mx.base.MXNetError, match="_linalg_gelqf.*rows <= columns"):
        mx.nd.linalg.gelqf(mx.nd.zeros((3, 2)))
    with pytest.raises(mx.base.MXNetError, match="float32 or float64"):
        mx.nd.linalg.inverse(mx.nd.zeros((2, 2), dtype="int32"))


def test_float32_batches_match_numpy():
    x = RNG.normal(size=(4, 3, 3)).astype(np.float32) + 3 * np.eye(3, dtype=np.float32)
    got = mx.nd.linalg.inverse(mx.nd.array(x)).asnumpy()
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, np.linalg.inv(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(mx.nd.linalg.det(mx.nd.array(x)).asnumpy(), np.linalg.det(x), rtol=1e-5)
