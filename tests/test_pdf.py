"""The _random_pdf_* densities: values and every gradient against MXNet 1.9.1 (a fixture,
float64, to 1e-6: MXNet's float64 constants and digamma are a little less exact than rmx's,
and the gamma and Dirichlet parameter gradients, which need digamma, compare to 1e-5), and gradients against finite differences."""

import os
import sys

import numpy as np
import pytest

import rmx as mx
from rmx.test_utils import check_numeric_gradient

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures"))
from make_pdf_fixtures import cases  # noqa: E402

REF = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "mxnet_pdf.npz"))
OURS = cases(mx)


@pytest.mark.parametrize("name", sorted(REF.files))
def test_matches_mxnet(name):
    assert OURS[name].shape == REF[name].shape
    loose = name.startswith(("gamma", "dirichlet")) and "_dp" in name
    np.testing.assert_allclose(OURS[name], REF[name], rtol=1e-5 if loose else 1e-6, atol=1e-6 if loose else 1e-10)


@pytest.mark.parametrize("name, params", [
    ("normal", {"mu": (2,), "sigma": (2,)}),
    ("gamma", {"alpha": (2,), "beta": (2,)}),
    ("generalized_negative_binomial", {"mu": (2,), "alpha": (2,)}),
])
@pytest.mark.parametrize("is_log", [False, True])
def test_parameter_gradients_against_finite_differences(name, params, is_log):
    rng = np.random.default_rng(1)
    sample = rng.integers(0, 4, size=(2, 3)).astype(np.float64) + (0.5 if name != "generalized_negative_binomial" else 0.0)
    loc = {"sample": sample, **{k: rng.uniform(0.7, 2.0, size=s) for k, s in params.items()}}
    sym = getattr(mx.sym, "random_pdf_" + name)(*[mx.sym.var(k) for k in loc], is_log=is_log)
    nodes = list(params) if name == "generalized_negative_binomial" else list(loc)
    check_numeric_gradient(sym, loc, numeric_eps=1e-6, rtol=1e-4, atol=1e-7, dtype=np.float64, grad_nodes=nodes)


def test_shapes_are_checked():
    with pytest.raises(mx.base.MXNetError, match="must start with the parameters"):
        mx.nd.random_pdf_normal(mx.nd.zeros((3, 4)), mx.nd.zeros((2,)), mx.nd.ones((2,)))
    with pytest.raises(mx.base.MXNetError, match="components"):
        mx.nd.random_pdf_dirichlet(mx.nd.ones((2, 4)), mx.nd.ones((2, 3)))
