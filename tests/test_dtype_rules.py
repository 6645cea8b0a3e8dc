"""Issue 18: MXNet 1.9.1's dtype and shape rules where rmx was stricter. Expected values were
recorded from MXNet 1.9.1 (CPU build) running the same calls."""

import warnings

import numpy as np
import pytest

import rmx as mx
from rmx.base import MXNetError


def f32(values):
    return mx.nd.array(values, dtype="float32")


# --- out= and copies into another dtype ---------------------------------------------------
# MXNet casts where data is copied (copyto, x[:] = y, full(out=)); an operator's out= of
# another dtype fails type inference there ("Incompatible attr ... expected float32, got
# float64"), and rmx refuses it the same way.
@pytest.mark.parametrize(
    "call",
    [
        lambda a, b: mx.nd.elemwise_add(a, b, out=mx.nd.zeros((3,), dtype="float64")),
        lambda a, b: mx.nd.broadcast_add(a, b, out=mx.nd.zeros((3,), dtype="float64")),
        lambda a, b: mx.nd.exp(a, out=mx.nd.zeros((3,), dtype="float16")),
        lambda a, b: mx.nd.relu(a, out=mx.nd.zeros((3,), dtype="int32")),
        lambda a, b: mx.nd.one_hot(mx.nd.array([0, 1]), 2, out=mx.nd.zeros((2, 2), dtype="float64")),
    ],
    ids=["elemwise_add", "broadcast_add", "exp", "relu", "one_hot"],
)
def test_operator_out_of_another_dtype_is_refused_as_in_mxnet(call):
    with pytest.raises(MXNetError):
        call(f32([1.5, 2.5, -3.7]), f32([1, 1, 1])).wait_to_read()


def test_copyto_casts_into_another_dtype():
    a = f32([1.5, 2.5, -3.7])
    c = mx.nd.zeros((3,), dtype="int32")
    assert a.copyto(c) is c
    assert c.dtype == np.int32 and c.asnumpy().tolist() == [1, 2, -3]
    h = a.copyto(mx.nd.zeros((3,), dtype="float16"))
    np.testing.assert_array_equal(h.asnumpy(), np.array([1.5, 2.5, -3.7], dtype=np.float16))


def test_copyto_a_view_of_another_dtype_reaches_the_base():
    base = mx.nd.zeros((2, 3), dtype="int64")
    f32([1.5, 2.5, -3.7]).copyto(base[1])
    assert base.asnumpy().tolist() == [[0, 0, 0], [1, 2, -3]]


def test_setitem_casts_and_broadcasts_into_another_dtype():
    y = mx.nd.zeros((2, 3), dtype="int32")
    y[:] = f32([1.7, 2.2, 3.9])
    assert y.dtype == np.int32 and y.asnumpy().tolist() == [[1, 2, 3], [1, 2, 3]]
    x = mx.nd.zeros((2, 3), dtype="float64")
    x[0] = np.array([1.5, 2, 3], dtype="float32")
    assert x.asnumpy().tolist() == [[1.5, 2.0, 3.0], [0.0, 0.0, 0.0]]
    z = mx.nd.zeros((3,), dtype="float16")
    z[:] = mx.nd.array([1, 2, 3], dtype="int64")
    assert z.dtype == np.float16 and z.asnumpy().tolist() == [1.0, 2.0, 3.0]


def test_full_with_out_fills_out_in_its_own_dtype():
    # MXNet's full(out=) is ``out[:] = val``: out keeps its dtype, even when dtype= is given.
    o = mx.nd.zeros((3,), dtype="int32")
    assert mx.nd.full((3,), 2.7, out=o) is o
    assert o.dtype == np.int32 and o.asnumpy().tolist() == [2, 2, 2]
    d = mx.nd.zeros((3,), dtype="float64")
    mx.nd.full((3,), 2.7, dtype="float16", out=d)
    assert d.dtype == np.float64 and d.asnumpy().tolist() == [2.7, 2.7, 2.7]


@pytest.mark.parametrize("fn, value", [(mx.nd.zeros, 0.0), (mx.nd.ones, 1.0)])
def test_zeros_and_ones_write_into_out(fn, value):
    o = mx.nd.full((3,), 5.0)
    assert fn((3,), out=o) is o
    assert o.asnumpy().tolist() == [value] * 3
    # Another dtype than dtype= (float32 by default) fails, as MXNet's _zeros/_ones do.
    with pytest.raises(MXNetError):
        fn((3,), out=mx.nd.full((3,), 5, dtype="int32"))


# --- shapes in every spelling ---------------------------------------------------------------
SHAPE_SPELLINGS = ["(2,3)", "(2, 3)", "[2,3]", "[2, 3]", (2, 3), [2, 3], (np.int64(2), 3)]


@pytest.mark.parametrize("shape", SHAPE_SPELLINGS)
def test_nd_shape_parameter_spellings(shape):
    x = f32([[1, 2, 3]])
    np.testing.assert_array_equal(mx.nd.broadcast_to(x, shape=shape).asnumpy(), np.broadcast_to(x.asnumpy(), (2, 3)))
    np.testing.assert_array_equal(mx.nd.reshape(mx.nd.arange(6), shape=shape).asnumpy(), np.arange(6, dtype=np.float32).reshape(2, 3))
    np.testing.assert_array_equal(mx.nd.tile(x, reps=shape).asnumpy(), np.tile(x.asnumpy(), (2, 3)))
    for fn, want in [(mx.nd.zeros, 0), (mx.nd.ones, 1), (lambda s: mx.nd.full(s, 7), 7)]:
        y = fn(shape)
        assert y.shape == (2, 3) and (y.asnumpy() == want).all()
    assert mx.nd.empty(shape).shape == (2, 3)
    assert mx.nd.random.uniform(shape=shape).shape == (2, 3)
    assert mx.nd.random.normal(shape=shape).shape == (2, 3)


@pytest.mark.parametrize("shape", [3, "3", "(3,)", [3], np.int64(3)])
def test_nd_one_dim_shape_spellings(shape):
    assert mx.nd.zeros(shape).shape == (3,)
    assert mx.nd.ones(shape).shape == (3,)
    assert mx.nd.reshape(f32([[1, 2, 3]]), shape=shape).shape == (3,)
    assert mx.nd.tile(f32([[1, 2, 3]]), reps=shape).shape == (1, 9)


def test_numpy_array_parameters_stringify_as_tuples():
    assert mx.nd.attr_str(np.array([2, 3])) == "(2, 3)"
    assert mx.nd.broadcast_to(f32([[1, 2, 3]]), shape=np.array([2, 3])).shape == (2, 3)


@pytest.mark.parametrize("shape", SHAPE_SPELLINGS)
def test_sym_shape_parameter_spellings(shape):
    x = mx.sym.var("x")

    def out_shape(s, **known):
        return s.infer_shape(**known)[1][0]

    assert out_shape(mx.sym.broadcast_to(x, shape=shape), x=(1, 3)) == (2, 3)
    assert out_shape(mx.sym.reshape(x, shape=shape), x=(1, 6)) == (2, 3)
    assert out_shape(x.reshape(shape=shape), x=(1, 6)) == (2, 3)
    assert out_shape(mx.sym.tile(x, reps=shape), x=(1, 3)) == (2, 9)
    assert out_shape(mx.sym.zeros(shape=shape)) == (2, 3)
    assert out_shape(mx.sym.ones(shape)) == (2, 3)
    assert out_shape(mx.sym.full(shape, 2)) == (2, 3)
    assert out_shape(mx.sym.var("v", shape=shape) + 0) == (2, 3)


@pytest.mark.parametrize("shape", [3, "3"])
def test_sym_var_one_dim_shape(shape):
    assert (mx.sym.var("v", shape=shape) + 0).infer_shape()[1] == [(3,)]


# --- inplace= on flatten, expand_dims, squeeze ------------------------------------------------
@pytest.mark.parametrize(
    "method, base_shape, want_shape",
    [
        (lambda x, ip: x.flatten(inplace=ip), (2, 3, 4), (2, 12)),
        (lambda x, ip: x.flatten(inplace=ip), (3,), (3, 1)),
        (lambda x, ip: x.expand_dims(1, inplace=ip), (2, 3), (2, 1, 3)),
        (lambda x, ip: x.expand_dims(-1, inplace=ip), (2, 3), (2, 3, 1)),
        (lambda x, ip: x.squeeze(inplace=ip), (1, 2, 1, 3), (2, 3)),
        (lambda x, ip: x.squeeze(axis=2, inplace=ip), (1, 2, 1, 3), (1, 2, 3)),
        (lambda x, ip: x.squeeze(axis=(0, 2), inplace=ip), (1, 2, 1, 3), (2, 3)),
        (lambda x, ip: x.squeeze(inplace=ip), (1, 1), (1,)),
    ],
)
@pytest.mark.parametrize("inplace", [False, True])
def test_shape_methods_take_inplace(method, base_shape, want_shape, inplace):
    a = np.arange(int(np.prod(base_shape)), dtype=np.float32).reshape(base_shape)
    x = mx.nd.array(a)
    y = method(x, inplace)
    assert y.shape == want_shape
    np.testing.assert_array_equal(y.asnumpy(), a.reshape(want_shape))
    if inplace:
        # MXNet's inplace=True result shares the base's memory: writes reach the base.
        y[:] = -1
        np.testing.assert_array_equal(x.asnumpy(), np.full(base_shape, -1, dtype=np.float32))


def test_squeeze_of_an_axis_not_of_size_one_is_an_error():
    # MXNet: "Squeeze target axis 0 must be size 1, got 2." (inplace) / the operator's check.
    for inplace in (False, True):
        with pytest.raises(MXNetError):
            mx.nd.ones((2, 3)).squeeze(axis=0, inplace=inplace)


def test_inplace_expand_dims_is_differentiable():
    x = mx.nd.ones((2, 3))
    x.attach_grad()
    with mx.autograd.record():
        y = (x.expand_dims(0, inplace=True) * 2).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad.asnumpy(), np.full((2, 3), 2, dtype=np.float32))


# --- infer_shape of a partially known graph ---------------------------------------------------
def test_infer_shape_partial_with_unknown_dimensions():
    fc = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=4, name="fc")
    # MXNet 1.9.1: ([(0, 5), (4, 5), (4,)], [(0, 4)], [])
    assert fc.infer_shape_partial(data=(0, 5)) == ([(0, 5), (4, 5), (4,)], [(0, 4)], [])
    assert mx.sym.concat(mx.sym.var("a"), mx.sym.var("b"), dim=1).infer_shape_partial(a=(0, 3), b=(0, 2)) == ([(0, 3), (0, 2)], [(0, 5)], [])
    d = mx.sym.var("data")
    assert mx.sym.reshape(d, shape=(0, -1)).infer_shape_partial(data=(0, 3, 4)) == ([(0, 3, 4)], [(0, 12)], [])
    conv = mx.sym.Convolution(d, kernel=(3, 3), num_filter=4, name="conv")
    arg, out, aux = conv.infer_shape_partial(data=(0, 3, 8, 8))
    assert arg == [(0, 3, 8, 8), (4, 3, 3, 3), (4,)] and out == [(0, 4, 6, 6)] and aux == []


def test_infer_shape_partial_takes_variable_shapes_with_unknown_dimensions():
    # MXNet 1.9.1: ([(0, 3)], [(0, 3)], [])
    assert (mx.sym.var("v", shape=(0, 3)) + 0).infer_shape_partial() == ([(0, 3)], [(0, 3)], [])


def test_infer_shape_partial_whose_stand_ins_do_not_fit_leaves_shapes_unknown():
    # A fixed reshape target cannot take the unknown dimension's stand-ins.
    assert mx.sym.reshape(mx.sym.var("data"), shape=(4, 6)).infer_shape_partial(data=(0, 3, 4)) == ([()], [()], [])


def _infer_shape_warns(sym, **known):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = sym.infer_shape(**known)
    assert any("Cannot decide shape for the following arguments (0s in shape means unknown dimensions)" in str(w.message) for w in caught)
    return result


def test_infer_shape_of_an_incomplete_graph_is_none_with_a_warning():
    a, b, c = mx.sym.var("a"), mx.sym.var("b"), mx.sym.var("c")
    fc = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=4, name="fc")
    # MXNet 1.9.1 returns (None, None, None) and warns in each case.
    assert _infer_shape_warns(mx.sym.Group([a + b, mx.sym.exp(c)]), a=(2, 3)) == (None, None, None)
    assert _infer_shape_warns(fc) == (None, None, None)
    assert _infer_shape_warns(fc, data=(0, 5)) == (None, None, None)
    assert _infer_shape_warns(mx.sym.var("v", shape=(0, 3)) + 0) == (None, None, None)


def test_infer_shape_partial_of_nothing_known():
    fc = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=4, name="fc")
    assert fc.infer_shape_partial() == ([(), (), ()], [()], [])
    bn = mx.sym.BatchNorm(mx.sym.var("x"), name="bn")
    assert bn.infer_shape_partial() == ([(), (), ()], [()], [(), ()])


def test_infer_type_of_an_incomplete_graph_warns():
    s = mx.sym.Group([mx.sym.var("a") + mx.sym.var("b"), mx.sym.exp(mx.sym.var("c"))])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert s.infer_type(a="float32") == (None, None, None)
    assert any("Cannot decide type" in str(w.message) for w in caught)
    # simple_bind defaults undecided dtypes to float32 quietly.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (mx.sym.var("a") + mx.sym.var("b")).simple_bind(mx.cpu(), a=(2,), b=(2,))


@pytest.mark.xfail(strict=True, reason="issue 18: elementwise operators do not infer one input's shape from the other's (Rust complete_inputs)")
def test_infer_shape_completes_elementwise_inputs():
    a, b, c = mx.sym.var("a"), mx.sym.var("b"), mx.sym.var("c")
    # MXNet 1.9.1 values.
    assert (a + b).infer_shape(a=(2, 3)) == ([(2, 3), (2, 3)], [(2, 3)], [])
    assert mx.sym.Group([a + b, mx.sym.exp(c)]).infer_shape_partial(a=(2, 3)) == ([(2, 3), (2, 3), ()], [(2, 3), ()], [])


# --- float16 through NN operators -------------------------------------------------------------
# Operators MXNet 1.9.1 CPU computes in float16 and rmx refuses ("computes in float32 or
# float64, got float16"). Each reference is computed in float32 from the float16 inputs.
def h16(shape, lo=-1.0, hi=1.0, seed=0):
    return np.random.RandomState(seed).uniform(lo, hi, shape).astype(np.float16)


def _softmax(z, axis=-1):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _pool(x, op):
    n, c, hh, ww = x.shape
    return op(x[:, :, : hh // 2 * 2, : ww // 2 * 2].reshape(n, c, hh // 2, 2, ww // 2, 2), axis=(3, 5))


X2, X4 = h16((2, 4)), h16((1, 2, 5, 5), seed=1)
GAMMA = h16((2,), seed=2)
FLOAT16_GAPS = [
    ("Pooling max", lambda nd: nd.Pooling(nd.array(X4, dtype="float16"), kernel=(2, 2), stride=(2, 2), pool_type="max"), lambda: _pool(X4.astype(np.float32), np.max)),
    ("Pooling avg", lambda nd: nd.Pooling(nd.array(X4, dtype="float16"), kernel=(2, 2), stride=(2, 2), pool_type="avg"), lambda: _pool(X4.astype(np.float32), np.mean)),
    ("Pooling global", lambda nd: nd.Pooling(nd.array(X4, dtype="float16"), kernel=(1, 1), global_pool=True, pool_type="avg"), lambda: X4.astype(np.float32).mean(axis=(2, 3), keepdims=True)),
    ("Activation relu", lambda nd: nd.Activation(nd.array(X2, dtype="float16"), act_type="relu"), lambda: np.maximum(X2.astype(np.float32), 0)),
    ("Activation sigmoid", lambda nd: nd.Activation(nd.array(X2, dtype="float16"), act_type="sigmoid"), lambda: 1 / (1 + np.exp(-X2.astype(np.float32)))),
    ("Activation tanh", lambda nd: nd.Activation(nd.array(X2, dtype="float16"), act_type="tanh"), lambda: np.tanh(X2.astype(np.float32))),
    ("Activation softrelu", lambda nd: nd.Activation(nd.array(X2, dtype="float16"), act_type="softrelu"), lambda: np.log1p(np.exp(X2.astype(np.float32)))),
    ("LeakyReLU leaky", lambda nd: nd.LeakyReLU(nd.array(X2, dtype="float16"), act_type="leaky", slope=0.1), lambda: np.where(X2 > 0, X2, 0.1 * X2).astype(np.float32)),
    ("LeakyReLU elu", lambda nd: nd.LeakyReLU(nd.array(X2, dtype="float16"), act_type="elu", slope=0.25), lambda: np.where(X2 > 0, X2, 0.25 * np.expm1(X2.astype(np.float32)))),
    ("LeakyReLU prelu", lambda nd: nd.LeakyReLU(nd.array(X4, dtype="float16"), nd.array(GAMMA, dtype="float16"), act_type="prelu"), lambda: np.where(X4 > 0, X4, GAMMA.reshape(1, 2, 1, 1) * X4).astype(np.float32)),
    # Data in float16, gamma/beta/moving stats in float32: what MXNet's BatchNorm takes.
    ("BatchNorm", lambda nd: nd.BatchNorm(nd.array(X4, dtype="float16"), nd.ones((2,)), nd.zeros((2,)), nd.zeros((2,)), nd.ones((2,))), lambda: X4.astype(np.float32) / np.sqrt(1 + 1e-3)),
    ("SoftmaxOutput", lambda nd: nd.SoftmaxOutput(nd.array(X2, dtype="float16"), nd.array([0, 1], dtype="float16")), lambda: _softmax(X2.astype(np.float32))),
    ("Dropout", lambda nd: nd.Dropout(nd.array(X2, dtype="float16"), p=0.5), lambda: X2.astype(np.float32)),
    ("LayerNorm", lambda nd: nd.LayerNorm(nd.array(X2, dtype="float16"), nd.ones((4,), dtype="float16"), nd.zeros((4,), dtype="float16")),
     lambda: (X2.astype(np.float32) - X2.astype(np.float32).mean(-1, keepdims=True)) / np.sqrt(X2.astype(np.float32).var(-1, keepdims=True) + 1e-5)),
    ("L2Normalization", lambda nd: nd.L2Normalization(nd.array(X2, dtype="float16")), lambda: X2.astype(np.float32) / np.sqrt((X2.astype(np.float32) ** 2).sum(-1, keepdims=True) + 1e-10)),
]


@pytest.mark.parametrize("name, call, reference", FLOAT16_GAPS, ids=[g[0] for g in FLOAT16_GAPS])
def test_float16_through_nn_operators(name, call, reference):
    # rmx computes these in float32 on converted copies (operators' float16 adapter).
    y = call(mx.nd)
    assert y.dtype == np.float16
    np.testing.assert_allclose(y.asnumpy().astype(np.float32), reference(), rtol=1e-2, atol=2e-3)


def test_float16_gradients_and_mixed_batch_norm():
    x = mx.nd.array(X4, dtype="float16")
    x.attach_grad()
    with mx.autograd.record():
        y = mx.nd.Pooling(mx.nd.Activation(x, act_type="tanh"), kernel=(2, 2), pool_type="avg")
    y.backward()
    x32 = mx.nd.array(X4)
    x32.attach_grad()
    with mx.autograd.record():
        y32 = mx.nd.Pooling(mx.nd.Activation(x32, act_type="tanh"), kernel=(2, 2), pool_type="avg")
    y32.backward()
    assert x.grad.dtype == np.float16
    np.testing.assert_allclose(x.grad.asnumpy().astype(np.float32), x32.grad.asnumpy(), rtol=1e-2, atol=1e-3)
    # float16 data, float32 parameters and statistics: the output follows the data, as MXNet's.
    data = mx.sym.var("data")
    bn = mx.sym.BatchNorm(data, name="bn")
    exe = bn.simple_bind(mx.cpu(), data=X4.shape, type_dict={"data": "float16"})
    assert exe.arg_dict["bn_gamma"].dtype == np.float32 and exe.aux_dict["bn_moving_mean"].dtype == np.float32
    exe.arg_dict["data"][:] = X4
    exe.arg_dict["bn_gamma"][:] = 1
    out = exe.forward(is_train=True)[0]
    assert out.dtype == np.float16
    exe.backward(mx.nd.ones(X4.shape, dtype="float16"))
    assert exe.grad_dict["data"].dtype == np.float16 and exe.grad_dict["bn_gamma"].dtype == np.float32
    assert np.abs(exe.aux_dict["bn_moving_mean"].asnumpy()).sum() > 0


@pytest.mark.parametrize(
    "call",
    [
        lambda nd: nd.FullyConnected(nd.array(X2, dtype="float16"), nd.array(h16((3, 4)), dtype="float16"), num_hidden=3, no_bias=True),
        lambda nd: nd.Convolution(nd.array(X4, dtype="float16"), nd.array(h16((3, 2, 3, 3)), dtype="float16"), kernel=(3, 3), num_filter=3, no_bias=True),
        lambda nd: nd.Deconvolution(nd.array(X4, dtype="float16"), nd.array(h16((2, 3, 3, 3)), dtype="float16"), kernel=(3, 3), num_filter=3, no_bias=True),
        lambda nd: nd.LRN(nd.array(X4, dtype="float16"), nsize=3),
        lambda nd: nd.InstanceNorm(nd.array(X4, dtype="float16"), nd.ones((2,), dtype="float16"), nd.zeros((2,), dtype="float16")),
        lambda nd: nd.SoftmaxActivation(nd.array(X2, dtype="float16")),
    ],
    ids=["FullyConnected", "Convolution", "Deconvolution", "LRN", "InstanceNorm", "SoftmaxActivation"],
)
def test_float16_refused_as_mxnet_cpu_refuses(call):
    # MXNet 1.9.1 CPU fails these too ("FP16 gemm on cpu not implemented!" and such).
    with pytest.raises(MXNetError):
        call(mx.nd).wait_to_read()


@pytest.mark.parametrize(
    "call, reference",
    [
        (lambda nd: nd.softmax(nd.array(X2, dtype="float16")), lambda: _softmax(X2.astype(np.float32))),
        (lambda nd: nd.Embedding(nd.array([0, 2]), nd.array(h16((4, 3)), dtype="float16"), input_dim=4, output_dim=3), lambda: h16((4, 3))[[0, 2]].astype(np.float32)),
    ],
    ids=["softmax", "Embedding"],
)
def test_float16_through_operators_that_take_it(call, reference):
    y = call(mx.nd)
    assert y.dtype == np.float16
    np.testing.assert_allclose(y.asnumpy().astype(np.float32), reference(), rtol=1e-2, atol=2e-3)
