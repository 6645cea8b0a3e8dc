"""Correlation against MXNet 1.9.1 (a fixture: outputs and both gradients in three settings) and
its gradient against float64 finite differences."""

import os
import sys

import numpy as np
import pytest

import rmx as mx
from rmx.test_utils import check_numeric_gradient

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures"))
from make_correlation_fixtures import cases  # noqa: E402

REF = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "mxnet_correlation.npz"))
OURS = cases(mx)


@pytest.mark.parametrize("name", sorted(REF.files))
def test_matches_mxnet(name):
    assert OURS[name].shape == REF[name].shape
    np.testing.assert_allclose(OURS[name], REF[name], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kw", [dict(kernel_size=3, max_displacement=1, pad_size=1), dict(max_displacement=2, stride2=2, pad_size=2, is_multiply=False)])
def test_gradient_against_finite_differences(kw):
    rng = np.random.default_rng(3)
    sym = mx.sym.Correlation(mx.sym.var("a"), mx.sym.var("b"), **kw)
    loc = {"a": rng.normal(size=(1, 2, 5, 6)), "b": rng.normal(size=(1, 2, 5, 6))}
    check_numeric_gradient(sym, loc, numeric_eps=1e-6, rtol=1e-4, atol=1e-6, dtype=np.float64)


def test_small_maps_are_refused():
    with pytest.raises(mx.base.MXNetError, match="Correlation.*too small"):
        mx.nd.Correlation(mx.nd.zeros((1, 1, 2, 2)), mx.nd.zeros((1, 1, 2, 2)), max_displacement=2)
