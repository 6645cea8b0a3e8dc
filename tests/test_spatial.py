"""ROIPooling, GridGenerator, BilinearSampler and SpatialTransformer: values and gradients
against MXNet 1.9.1 (a fixture), and gradients against float64 finite differences, at points
away from bilinear sampling's kinks (samples exactly on a pixel row or column), where the
one-sided derivatives differ and differences would average them."""

import os
import sys

import numpy as np
import pytest

import rmx as mx
from rmx.test_utils import check_numeric_gradient

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures"))
from make_spatial_fixtures import cases  # noqa: E402

REF = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "mxnet_spatial.npz"))
OURS = cases(mx)


@pytest.mark.parametrize("name", sorted(REF.files))
def test_matches_mxnet(name):
    want, got = REF[name], OURS[name]
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)


def _grad(sym, location, **kw):
    check_numeric_gradient(sym, location, numeric_eps=1e-6, rtol=1e-4, atol=1e-6, dtype=np.float64, **kw)


RNG = np.random.default_rng(9)
DATA, LOC, GRID = mx.sym.var("data"), mx.sym.var("loc"), mx.sym.var("grid")
# Some samples land beyond the image (zero padding), none exactly on a pixel row or column.
THETA = np.array([[0.91, 0.13, 0.047, -0.21, 1.07, 0.093], [1.23, 0.011, -0.31, 0.021, 0.83, 0.19]])


def test_spatial_transformer_gradient_including_points_beyond_the_edge():
    sym = mx.sym.SpatialTransformer(DATA, LOC, target_shape=(4, 5), transform_type="affine", sampler_type="bilinear")
    _grad(sym, {"data": RNG.normal(size=(2, 3, 6, 7)), "loc": THETA})


def test_grid_generator_gradients():
    _grad(mx.sym.GridGenerator(DATA, transform_type="affine", target_shape=(3, 4)), [THETA])
    _grad(mx.sym.GridGenerator(DATA, transform_type="warp"), [RNG.normal(size=(2, 2, 3, 4))])


def test_bilinear_sampler_gradients():
    grid = RNG.uniform(-1.1, 1.1, size=(2, 2, 3, 4))
    _grad(mx.sym.BilinearSampler(DATA, GRID), {"data": RNG.normal(size=(2, 2, 5, 6)), "grid": grid})


def test_roi_pooling_gradient_and_errors():
    x = RNG.permutation(2 * 2 * 6 * 7).reshape(2, 2, 6, 7).astype(np.float64)  # distinct values: one maximum per bin
    rois = np.array([[0, 1, 1, 5, 4], [1, 0, 0, 6, 5]], dtype=np.float64)
    _grad(mx.sym.ROIPooling(DATA, mx.sym.var("rois"), pooled_size=(2, 3), spatial_scale=1.0), {"data": x, "rois": rois}, grad_nodes=["data"])
    with pytest.raises(mx.base.MXNetError, match="ROIPooling.*\\(R, 5\\)"):
        mx.nd.ROIPooling(mx.nd.zeros((1, 1, 4, 4)), mx.nd.zeros((2, 4)), pooled_size=(2, 2), spatial_scale=1.0)
    with pytest.raises(mx.base.MXNetError, match="target_shape"):
        mx.nd.GridGenerator(mx.nd.zeros((1, 6)), transform_type="affine")


def test_roi_pooling_argmax_is_exact_in_float16():
    # Flat indices past 2048 round in float16; the argmax is int64, so the gradient lands right.
    x = np.zeros((1, 1, 64, 64), dtype=np.float16)
    x[0, 0, 63, 63] = 5.0
    data = mx.nd.array(x, dtype="float16")
    data.attach_grad()
    with mx.autograd.record():
        y = mx.nd.ROIPooling(data, mx.nd.array([[0, 0, 0, 63, 63]], dtype="float16"), pooled_size=(1, 1), spatial_scale=1.0)
    y.backward()
    g = data.grad.asnumpy()
    assert g[0, 0, 63, 63] == 1 and g.sum() == 1
