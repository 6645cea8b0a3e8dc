"""Gluon's nn.InstanceNorm, nn.GroupNorm and the global pooling layers against MXNet 1.9.1.

``tests/fixtures/new_ops.npz`` (``layer/...`` keys) was written by
``tests/fixtures/make_new_op_fixtures.py`` under the real MXNet; its ``run_layer`` drives rmx here,
imperatively and hybridized: outputs in predict and record mode, the input gradient and the
parameter gradients for a fixed head, with gamma = 1 + 0.1 * arange and beta = 0.05 * arange;
and the names, shapes, grad_req and repr of the blocks.
"""

import importlib.util
import json
import os

import numpy as np
import pytest

import rmx as mx

HERE = os.path.dirname(os.path.abspath(__file__))

_spec = importlib.util.spec_from_file_location("make_new_op_fixtures",
                                               os.path.join(HERE, "fixtures", "make_new_op_fixtures.py"))
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)

with np.load(os.path.join(HERE, "fixtures", "new_ops.npz")) as _f:
    FIX = {k: _f[k] for k in _f.files}
META = json.loads(str(FIX.pop("meta.json")))

def _cases():
    # The channels-last pools (NWC, NHWC, NDHWC) included: Gluon transposes around rmx's
    # channels-first Pooling.
    return [pytest.param(c, id=c[0]) for c in gen.LAYERS]



def _compare(name, got):
    prefix = "layer/%s/" % name
    want = {k[len(prefix):]: v for k, v in FIX.items() if k.startswith(prefix)}
    assert sorted(got) == sorted(want)
    for k in sorted(want):
        assert got[k].shape == want[k].shape, k
        # normalization gradients are differences of nearly cancelling float32 terms (see
        # test_nd_new_ops.py); everything else at the usual float32 tolerance
        norm = not name.startswith("global_")
        atol = 1e-5 if norm and (k == "dx" or k.startswith("grad/")) else 1e-6
        np.testing.assert_allclose(got[k], want[k], rtol=1e-5, atol=atol, err_msg="%s %s" % (name, k))


@pytest.mark.parametrize("case", _cases())
def test_layer_matches_mxnet(case):
    got, meta = gen.run_layer(mx, case)
    assert meta == META["layers"][case[0]]
    _compare(case[0], got)


@pytest.mark.parametrize("case", _cases())
def test_hybridized_layer_matches_mxnet(case):
    got, _ = gen.run_layer(mx, case, hybridize=True)
    _compare(case[0], got)


def _instance_norm_ref(x, gamma, beta, eps, axis=1):
    x = np.swapaxes(x.astype(np.float64), 1, axis)
    axes = tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    y = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    return np.swapaxes(y * gamma.reshape(shape) + beta.reshape(shape), 1, axis)


@pytest.mark.parametrize("name,eps,axis", [("instance_norm_default", 1e-5, 1), ("instance_norm_frozen", 1e-5, 1),
                                           ("instance_norm_axis2_3d", 0.1, 2)])
def test_instance_norm_without_scale_still_applies_gamma(name, eps, axis):
    # In MXNet 1.9.1 scale=False / center=False only freeze gamma / beta (grad_req 'null'); the
    # layer still multiplies by gamma and adds beta, whatever their values (unlike BatchNorm,
    # whose scale=False is fix_gamma). The fixture shows it with gamma = 1 + 0.1 * arange.
    x = FIX["layer/%s/x" % name]
    c = x.shape[axis]
    gamma, beta = gen.param_value("gamma", c), gen.param_value("beta", c)
    want = _instance_norm_ref(x, gamma, beta, eps, axis)
    np.testing.assert_allclose(FIX["layer/%s/infer" % name], want, rtol=1e-5, atol=1e-5)
    with mx.name.NameManager():
        block = [c for c in gen.LAYERS if c[0] == name][0][1](mx.gluon.nn)
    block.initialize()
    xs = mx.nd.array(x)
    block(xs)
    gen.set_params(mx, block)
    np.testing.assert_allclose(block(xs).asnumpy(), want, rtol=1e-5, atol=1e-5)
    assert block.gamma.grad_req == "null"


def test_group_norm_parameters_have_one_entry_per_group():
    with mx.name.NameManager():
        block = mx.gluon.nn.GroupNorm(num_groups=2)
    block.initialize()
    block(mx.nd.ones((2, 6, 3)))
    assert block.gamma.shape == (2,) and block.beta.shape == (2,)
    np.testing.assert_array_equal(block.gamma.data().asnumpy(), [1, 1])
    np.testing.assert_array_equal(block.beta.data().asnumpy(), [0, 0])


def test_group_norm_layer_refuses_channels_not_divisible_by_groups():
    block = mx.gluon.nn.GroupNorm(num_groups=4)
    block.initialize()
    with pytest.raises(mx.base.MXNetError, match="GroupNorm"):
        block(mx.nd.ones((2, 6, 3))).asnumpy()


@pytest.mark.parametrize("layer,layout,shape,reduce_axes", [
    ("GlobalAvgPool1D", "NCW", (2, 3, 5), (2,)), ("GlobalMaxPool1D", "NCW", (2, 3, 5), (2,)),
    ("GlobalAvgPool2D", "NCHW", (2, 3, 4, 3), (2, 3)), ("GlobalMaxPool2D", "NCHW", (2, 3, 4, 3), (2, 3)),
    ("GlobalAvgPool3D", "NCDHW", (1, 2, 3, 2, 4), (2, 3, 4)), ("GlobalMaxPool3D", "NCDHW", (1, 2, 3, 2, 4), (2, 3, 4)),
    pytest.param("GlobalMaxPool1D", "NWC", (2, 5, 3), (1,)),
    pytest.param("GlobalAvgPool2D", "NHWC", (2, 4, 3, 3), (1, 2)),
    pytest.param("GlobalMaxPool3D", "NDHWC", (1, 3, 2, 2, 2), (1, 2, 3))])
def test_global_pool_reduces_the_spatial_axes(layer, layout, shape, reduce_axes):
    x = np.random.default_rng(7).standard_normal(shape).astype(np.float32)
    block = getattr(mx.gluon.nn, layer)(layout=layout)
    block.initialize()
    y = block(mx.nd.array(x)).asnumpy()
    want = (x.mean if "Avg" in layer else x.max)(axis=reduce_axes, keepdims=True)
    assert y.shape == want.shape
    np.testing.assert_allclose(y, want, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("layer,layout,shape", [("MaxPool2D", "NHWC", (2, 6, 5, 3)), ("AvgPool1D", "NWC", (2, 7, 4)),
                                                ("MaxPool3D", "NDHWC", (1, 4, 4, 4, 2))])
def test_channels_last_pools_equal_channels_first_transposed(layer, layout, shape):
    x = np.random.default_rng(8).standard_normal(shape).astype(np.float32)
    n = len(shape)
    first = (0, n - 1) + tuple(range(1, n - 1))
    nd = mx.nd
    want = getattr(mx.gluon.nn, layer)()(nd.array(x.transpose(first))).asnumpy()
    xs = nd.array(x)
    xs.attach_grad()
    with mx.autograd.record():
        y = getattr(mx.gluon.nn, layer)(layout=layout)(xs)
    y.backward()
    np.testing.assert_array_equal(y.asnumpy(), want.transpose((0,) + tuple(range(2, n)) + (1,)))
    assert xs.grad.shape == x.shape
