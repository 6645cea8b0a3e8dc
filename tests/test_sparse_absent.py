"""rmx has no sparse storage (ARCHITECTURE.md, "Deliberately absent"): every entry point of MXNet
1.9.1 that asks for 'csr' or 'row_sparse' storage raises ``SparseStorageError`` (an
``MXNetError`` and a ``NotImplementedError``) naming the function and the storage type, and
``stype='default'`` (or None) keeps working."""

import numpy as np
import pytest

import rmx as mx
from rmx import gluon
from rmx.base import InvalidArgumentError, MXNetError, SparseStorageError

SPARSE = ["csr", "row_sparse"]

# Public names of MXNet 1.9.1's mxnet.ndarray.sparse and mxnet.symbol.sparse (dir(), recorded
# with MXNet 1.9.1), less the modules and helpers it imports (np, ctypes, ...; present too).
ND_SPARSE_FUNCTIONS = """ElementWiseSum Embedding FullyConnected LinearRegressionOutput LogisticRegressionOutput
MAERegressionOutput abs adagrad_update adam_update add add_n arccos arccosh arcsin arcsinh arctan arctanh
broadcast_add broadcast_div broadcast_minus broadcast_mul broadcast_plus broadcast_sub cbrt ceil clip concat cos
cosh degrees divide dot elemwise_add elemwise_div elemwise_mul elemwise_sub exp expm1 fix floor ftrl_update gamma
gammaln log log10 log1p log2 make_loss mean multiply negative norm radians relu retain rint round rsqrt
sgd_mom_update sgd_update sigmoid sign sin sinh slice sqrt square stop_gradient subtract sum tan tanh trunc where
zeros_like _contrib_round_ste _contrib_sign_ste""".split()
ND_SPARSE_OTHER = """BaseSparseNDArray CSRNDArray Context NDArray NDArrayHandle NotSupportedForSparseNDArray
RowSparseNDArray array c_array_buf cast_storage check_call csr_matrix ctypes current_context empty integer_types
mx_real_t native_array np numeric_types op operator py_slice py_sum row_sparse_array spsp warnings
zeros""".split()
SYM_SPARSE_FUNCTIONS = [n for n in ND_SPARSE_FUNCTIONS if n not in ("add", "subtract", "multiply", "divide")]


def _raises(call, function, stype):
    with pytest.raises(SparseStorageError) as info:
        call()
    msg = str(info.value)
    assert function in msg, msg
    assert repr(stype) in msg, msg
    assert "densely" in msg and "'default'" in msg, msg
    return msg


def test_the_error_is_an_mxnet_error_and_not_implemented():
    assert issubclass(SparseStorageError, MXNetError)
    assert issubclass(SparseStorageError, NotImplementedError)
    assert "SparseStorageError" in mx.base.__all__


@pytest.mark.parametrize("stype", SPARSE)
def test_creation_raises_for_sparse(stype):
    _raises(lambda: mx.nd.zeros((2, 3), stype=stype), "mx.nd.zeros", stype)
    _raises(lambda: mx.nd.empty((2, 3), stype=stype), "mx.nd.empty", stype)
    _raises(lambda: mx.nd.ones((2, 3), stype=stype), "mx.nd.ones", stype)


@pytest.mark.parametrize("stype", ["default", None])
def test_creation_default_is_dense(stype):
    for a in (mx.nd.zeros((2, 3), stype=stype), mx.nd.empty((2, 3), stype=stype), mx.nd.ones((2, 3), stype=stype)):
        assert a.shape == (2, 3) and a.stype == "default"
    assert mx.nd.zeros((2,), stype=stype).asnumpy().tolist() == [0, 0]


def test_unknown_storage_type_is_invalid_argument():
    with pytest.raises(InvalidArgumentError, match="'dense'"):
        mx.nd.zeros((2,), stype="dense")
    with pytest.raises(InvalidArgumentError):
        mx.nd.ones((2,)).tostype("sparse")


@pytest.mark.parametrize("stype", SPARSE)
def test_tostype_and_cast_storage_raise(stype):
    x = mx.nd.ones((2, 2))
    _raises(lambda: x.tostype(stype), "NDArray.tostype", stype)
    _raises(lambda: mx.nd.cast_storage(x, stype=stype), "mx.nd.cast_storage", stype)
    _raises(lambda: mx.nd.sparse.cast_storage(x, stype), "mx.nd.sparse.cast_storage", stype)
    _raises(lambda: mx.sym.cast_storage(mx.sym.var("x"), stype=stype), "mx.sym.cast_storage", stype)
    _raises(lambda: mx.sym.sparse.cast_storage(mx.sym.var("x"), stype=stype), "mx.sym.sparse.cast_storage", stype)


def test_tostype_and_cast_storage_default_copy():
    x = mx.nd.array([[1, 2], [3, 4]])
    assert x.stype == "default"
    for y in (x.tostype("default"), mx.nd.cast_storage(x, stype="default"), mx.nd.sparse.cast_storage(x, "default")):
        assert y is not x and y.stype == "default"
        np.testing.assert_array_equal(y.asnumpy(), x.asnumpy())
        y[:] = 0
        assert x.asnumpy().sum() == 10
    out = mx.nd.zeros((2, 2))
    assert mx.nd.cast_storage(x, stype="default", out=out) is out
    np.testing.assert_array_equal(out.asnumpy(), x.asnumpy())
    s = mx.sym.cast_storage(mx.sym.var("x"), stype="default")
    np.testing.assert_array_equal(s.eval(x=x)[0].asnumpy(), x.asnumpy())


@pytest.mark.parametrize("stype", SPARSE)
def test_attach_grad_raises_for_sparse(stype):
    x = mx.nd.ones((3,))
    _raises(lambda: x.attach_grad(stype=stype), "NDArray.attach_grad", stype)
    assert x.grad is None


def test_attach_grad_default():
    x = mx.nd.array([1.0, 2.0])
    x.attach_grad(stype="default")
    with mx.autograd.record():
        y = (x * x).sum()
    y.backward()
    np.testing.assert_allclose(x.grad.asnumpy(), [2, 4])


@pytest.mark.parametrize("stype", SPARSE)
def test_symbol_variables_raise_for_sparse(stype):
    _raises(lambda: mx.sym.var("w", stype=stype), "mx.sym.var('w')", stype)
    _raises(lambda: mx.sym.Variable("w", stype=stype), "mx.sym.var('w')", stype)
    x = mx.sym.var("x")
    _raises(lambda: x.simple_bind(mx.cpu(), x=(2,), stype_dict={"x": stype}), "Symbol.simple_bind", stype)


def test_symbol_default_storage():
    for stype in ("default", None):
        v = mx.sym.var("w", stype=stype)
        assert v.attr("__storage_type__") == ("0" if stype else None)
    ex = mx.sym.var("x").simple_bind(mx.cpu(), x=(2,), stype_dict={"x": "default"})
    assert ex.arg_dict["x"].stype == "default"


@pytest.mark.parametrize("code,stype", [("1", "row_sparse"), ("2", "csr")])
def test_graphs_with_sparse_variables_do_not_bind(code, stype):
    """A graph written by MXNet with var(..., stype=...) carries __storage_type__."""
    data = mx.sym.var("data", __storage_type__=code)
    net = mx.sym.load_json(mx.sym.FullyConnected(data, num_hidden=2, name="fc").tojson())
    _raises(lambda: net.simple_bind(mx.cpu(), data=(4, 3)), "Symbol.simple_bind", stype)
    mod = mx.mod.Module(mx.sym.SoftmaxOutput(net, name="softmax"), data_names=["data"], label_names=["softmax_label"])
    msg = _raises(lambda: mod.bind(data_shapes=[("data", (4, 3))], label_shapes=[("softmax_label", (4,))]),
                  "Module.bind", stype)
    assert "'data'" in msg


def test_module_binds_dense_storage():
    data = mx.sym.var("data", stype="default")
    net = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(data, num_hidden=2, name="fc"), name="softmax")
    mod = mx.mod.Module(net, data_names=["data"], label_names=["softmax_label"])
    mod.bind(data_shapes=[("data", (4, 3))], label_shapes=[("softmax_label", (4,))])
    assert mod.binded


@pytest.mark.parametrize("stype", SPARSE)
def test_gluon_parameters_raise_for_sparse(stype):
    _raises(lambda: gluon.Parameter("w", shape=(2,), stype=stype), "gluon.Parameter('w')", stype)
    msg = _raises(lambda: gluon.Parameter("w", shape=(2,), grad_stype=stype), "gluon.Parameter('w')", stype)
    assert "grad_stype" in msg
    _raises(lambda: gluon.ParameterDict("p_").get("w", shape=(2,), stype=stype), "ParameterDict.get('p_w')", stype)
    _raises(lambda: gluon.ParameterDict("p_").get("w", shape=(2,), grad_stype=stype), "ParameterDict.get('p_w')", stype)
    params = gluon.ParameterDict("p_")
    params.get("w", shape=(2,))
    _raises(lambda: params.get("w", stype=stype), "ParameterDict.get('p_w')", stype)


def test_gluon_parameters_default_storage():
    p = gluon.Parameter("w", shape=(2,), stype="default", grad_stype="default")
    p.initialize(ctx=mx.cpu())
    assert p.data().stype == "default" and p.grad().stype == "default"
    assert gluon.ParameterDict("p_").get("v", shape=(2,), stype="default").name == "p_v"
    _raises(lambda: p.row_sparse_data(mx.nd.array([0])), "Parameter.row_sparse_data", "row_sparse")
    _raises(lambda: p.list_row_sparse_data(mx.nd.array([0])), "Parameter.list_row_sparse_data", "row_sparse")


def test_embedding_sparse_grad_raises():
    _raises(lambda: gluon.nn.Embedding(10, 4, sparse_grad=True), "gluon.nn.Embedding", "row_sparse")
    emb = gluon.nn.Embedding(10, 4, sparse_grad=False)
    emb.initialize()
    assert emb(mx.nd.array([1, 2])).shape == (2, 4)


def test_nd_sparse_has_mxnet_names():
    missing = [n for n in ND_SPARSE_FUNCTIONS + ND_SPARSE_OTHER if not hasattr(mx.nd.sparse, n)]
    assert not missing
    missing = [n for n in SYM_SPARSE_FUNCTIONS + ["cast_storage"] if not hasattr(mx.sym.sparse, n)]
    assert not missing
    assert mx.nd.sparse.NDArray is mx.nd.NDArray


@pytest.mark.parametrize("name", ND_SPARSE_FUNCTIONS)
def test_nd_sparse_operators_raise(name):
    x = mx.nd.ones((2, 2))
    msg = _raises(lambda: getattr(mx.nd.sparse, name)(x, x), f"mx.nd.sparse.{name}", "csr")
    if hasattr(mx.nd, name):
        assert f"mx.nd.{name} computes it" in msg


@pytest.mark.parametrize("name", SYM_SPARSE_FUNCTIONS)
def test_sym_sparse_operators_raise(name):
    _raises(lambda: getattr(mx.sym.sparse, name)(mx.sym.var("a")), f"mx.sym.sparse.{name}", "row_sparse")


def test_nd_sparse_constructors_raise():
    _raises(lambda: mx.nd.sparse.csr_matrix(([1.0], [0], [0, 1]), shape=(1, 1)), "mx.nd.sparse.csr_matrix", "csr")
    _raises(lambda: mx.nd.sparse.row_sparse_array(([[1.0]], [0]), shape=(2, 1)), "mx.nd.sparse.row_sparse_array",
            "row_sparse")
    _raises(lambda: mx.nd.sparse.CSRNDArray(None), "mx.nd.sparse.CSRNDArray", "csr")
    _raises(lambda: mx.nd.sparse.RowSparseNDArray(None), "mx.nd.sparse.RowSparseNDArray", "row_sparse")
    with pytest.raises(SparseStorageError, match="mx.nd.sparse.array"):
        mx.nd.sparse.array(np.ones((2, 2)))
    for stype in SPARSE:
        _raises(lambda: mx.nd.sparse.zeros(stype, (2, 2)), "mx.nd.sparse.zeros", stype)
        _raises(lambda: mx.nd.sparse.empty(stype, (2, 2)), "mx.nd.sparse.empty", stype)
    assert issubclass(mx.nd.sparse.CSRNDArray, mx.nd.sparse.BaseSparseNDArray)
    assert issubclass(mx.nd.sparse.BaseSparseNDArray, mx.nd.NDArray)
    assert not isinstance(mx.nd.ones((2,)), mx.nd.sparse.BaseSparseNDArray)


def test_nd_sparse_default_storage_is_dense():
    z = mx.nd.sparse.zeros("default", (2, 3), dtype="int32")
    assert type(z) is mx.nd.NDArray and z.dtype == np.int32 and z.asnumpy().sum() == 0
    assert mx.nd.sparse.empty("default", (2,)).shape == (2,)
