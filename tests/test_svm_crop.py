"""SVMOutput and Crop against MXNet 1.9.1 (a fixture), Crop's gradient against differences."""

import os
import sys

import numpy as np
import pytest

import rmx as mx
from rmx.test_utils import check_numeric_gradient

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures"))
from make_svm_crop_fixtures import cases  # noqa: E402

REF = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "mxnet_svm_crop.npz"))
OURS = cases(mx)


@pytest.mark.parametrize("name", sorted(REF.files))
def test_matches_mxnet(name):
    np.testing.assert_allclose(OURS[name], REF[name], rtol=1e-6, atol=1e-7)


def test_svm_label_shape_is_inferred_and_checked():
    s = mx.sym.SVMOutput(mx.sym.var("data"), name="svm")
    args, _, _ = s.infer_shape(data=(5, 3))
    assert args == [(5, 3), (5,)]
    with pytest.raises(mx.base.MXNetError, match="SVMOutput.*one class per row"):
        mx.nd.SVMOutput(mx.nd.zeros((4, 3)), mx.nd.zeros((3,)))


def test_crop_gradient_and_errors():
    data = mx.sym.var("data")
    sym = mx.sym.Crop(data, num_args=1, h_w=(2, 3), offset=(1, 2))
    check_numeric_gradient(sym, [np.random.default_rng(1).normal(size=(1, 2, 4, 6))], numeric_eps=1e-6, rtol=1e-5, atol=1e-7, dtype=np.float64)
    with pytest.raises(mx.base.MXNetError, match="does not fit"):
        mx.nd.Crop(mx.nd.zeros((1, 1, 3, 3)), num_args=1, h_w=(2, 3), offset=(2, 0))
