"""InstanceNorm, GroupNorm, L2Normalization, softmax_cross_entropy, smooth_l1, slice_like,
gather_nd, scatter_nd, contrib.arange_like and moments against MXNet 1.9.1.

``tests/fixtures/new_ops.npz`` was written by ``tests/fixtures/make_new_op_fixtures.py`` under
the real MXNet; the same functions of that script drive rmx here (outputs, input gradients for a
fixed head, what a gradient of a non-differentiable input gives, ``infer_shape`` of the symbols,
the errors of bad inputs). The gradients are also checked in float64 against central finite
differences of NumPy references, which is what the tests follow where MXNet's gradient is wrong
(GroupNorm's mean/std heads, gather_nd's negative indices).
"""

import importlib.util
import json
import os
import zlib

import numpy as np
import pytest

import rmx as mx

nd = mx.nd

HERE = os.path.dirname(os.path.abspath(__file__))

_spec = importlib.util.spec_from_file_location("make_new_op_fixtures",
                                               os.path.join(HERE, "fixtures", "make_new_op_fixtures.py"))
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)

with np.load(os.path.join(HERE, "fixtures", "new_ops.npz")) as _f:
    FIX = {k: _f[k] for k in _f.files}
META = json.loads(str(FIX.pop("meta.json")))


# ---------------------------------------------------------------------------------------------
# Helpers (the style of test_nd_norm_shape_ops.py, for several inputs and outputs).

def numeric_grad(f, x, eps=1e-6):
    """Central differences of scalar f at every element of NumPy array x."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        d = np.zeros_like(x)
        d[i] = eps
        g[i] = (f(x + d) - f(x - d)) / (2 * eps)
    return g


def _as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def autograd_grads(f, arrays, heads, diff, dtype="float64"):
    """Gradients of the inputs numbered in `diff` for heads on the first len(heads) outputs."""
    xs = [nd.array(a, dtype=dtype) for a in arrays]
    for i in diff:
        xs[i].attach_grad()
    with mx.autograd.record():
        ys = _as_list(f(*xs))
    mx.autograd.backward(ys[:len(heads)], [nd.array(h, dtype=dtype) for h in heads])
    return [xs[i].grad.asnumpy() for i in diff]


# ---------------------------------------------------------------------------------------------
# NumPy references (float64). Each returns the list of visible outputs.

def instance_norm_ref(x, gamma, beta, eps=1e-3):
    axes = tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    y = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)
    return [y * gamma.reshape(shape) + beta.reshape(shape)]


def group_norm_ref(x, gamma, beta, num_groups=1, eps=1e-5, output_mean_var=False):
    """gamma and beta have one entry per group (MXNet 1.9.1)."""
    n = x.shape[0]
    g = x.reshape((n, num_groups, -1))
    m = g.mean(axis=2, keepdims=True)
    s = np.sqrt(g.var(axis=2, keepdims=True) + eps)
    y = ((g - m) / s * gamma.reshape(1, -1, 1) + beta.reshape(1, -1, 1)).reshape(x.shape)
    return [y, m.reshape(n, num_groups), s.reshape(n, num_groups)] if output_mean_var else [y]


def l2_normalization_ref(x, eps=1e-10, mode="instance"):
    axes = {"instance": tuple(range(1, x.ndim)), "channel": (1,), "spatial": tuple(range(2, x.ndim))}[mode]
    return [x / np.sqrt((x * x).sum(axis=axes, keepdims=True) + eps)]


def softmax_cross_entropy_ref(data, label, clamp=True):
    """MXNet 1.9.1 sums -log(max(p, 1e-8)) over the rows: a row's loss stops at -log(1e-8) =
    18.42, while its gradient stays softmax - one_hot, the gradient of the unclamped loss
    (clamp=False), which is what the finite differences are taken of."""
    z = data - data.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    picked = logp[np.arange(data.shape[0]), label.astype(np.int64)]
    if clamp:
        picked = np.maximum(picked, np.log(float(np.float32(1e-8))))  # 1e-8f in double
    return [np.array([-picked.sum()])]


def smooth_l1_ref(x, scalar=1.0):
    s2 = scalar * scalar
    return [np.where(np.abs(x) < 1.0 / s2, 0.5 * s2 * x * x, np.abs(x) - 0.5 / s2)]


def slice_like_ref(data, shape_like, axes=()):
    axes = [a % data.ndim for a in axes] if axes else range(data.ndim)
    index = [slice(None)] * data.ndim
    for a in axes:
        index[a] = slice(0, shape_like.shape[a])
    return [data[tuple(index)]]


def gather_nd_ref(data, indices):
    """NumPy's advanced indexing, negative indices counting from the end."""
    return [data[tuple(indices.astype(np.int64))]]


def scatter_nd_ref(data, indices, shape):
    out = np.zeros(shape, dtype=data.dtype)
    out[tuple(indices.astype(np.int64))] = data
    return [out]


def moments_ref(x, axes, keepdims=False):
    return [x.mean(axis=tuple(axes), keepdims=keepdims), x.var(axis=tuple(axes), keepdims=keepdims)]


def arange_like_ref(x, start=0.0, step=1.0, repeat=1, axis=None):
    n = x.size if axis is None else x.shape[axis]
    values = start + step * (np.arange(n) // repeat)
    return [values.reshape(x.shape) if axis is None else values]


# ---------------------------------------------------------------------------------------------
# Replaying the MXNet fixture.

OP_IDS = [c[0] for c in gen.OP_CASES]

# The data gradient of the normalizations is a difference of terms of size |head| * |gamma| / std
# that cancel; MXNet's own float32 gradients are up to 5.5e-7 from the float64 values (measured
# when writing the fixture), so two correct float32 implementations may differ by ~1e-6 there.
NORM_OPS = {"InstanceNorm", "GroupNorm", "L2Normalization"}


def _tolerances(op, key):
    if op in NORM_OPS and key.startswith("grad/"):
        return 1e-5, 1e-5
    return 1e-5, 1e-6


def gather_nd_backward_ref(head, indices, shape):
    """The gradient of gather_nd's data: the head added at every (wrapped) index point."""
    g = np.zeros(shape, dtype=np.float64)
    np.add.at(g, tuple(indices.astype(np.int64)), head.astype(np.float64))
    return g


# MXNet 1.9.1's gather_nd gradient for negative indices is wrong: its forward wraps -1 to the
# last entry, but _backward_gather_nd adds the head at the unwrapped flat offset
# sum(stride * index) (here (2, -1) lands on (1, 3) instead of (2, 3), and (1, -2) on (0, 2)
# instead of (1, 2)). The test follows finite differences: the head added at the wrapped points.
FOLLOW_FD = {
    "gather_nd_negative/grad/data": lambda fx: gather_nd_backward_ref(
        fx["op/gather_nd_negative/head/0"], fx["op/gather_nd_negative/in/indices"],
        fx["op/gather_nd_negative/in/data"].shape),
}


@pytest.mark.parametrize("case", gen.OP_CASES, ids=OP_IDS)
def test_op_matches_mxnet(case):
    name, op = case[0], case[1]
    got, meta = gen.run_op(mx, case)
    want = {k[len("op/%s/" % name):]: v for k, v in FIX.items() if k.startswith("op/%s/" % name)}
    assert sorted(got) == sorted(want)
    assert meta["out_shapes"] == META["ops"][name]["out_shapes"]
    for k in sorted(want):
        assert got[k].shape == want[k].shape, k
        if k.startswith("in/"):
            np.testing.assert_array_equal(got[k], want[k], err_msg=k)
            assert got[k].dtype == want[k].dtype, k
            continue
        expected = want[k]
        if "%s/%s" % (name, k) in FOLLOW_FD:
            expected = FOLLOW_FD["%s/%s" % (name, k)](FIX)
        rtol, atol = _tolerances(op, k)
        np.testing.assert_allclose(got[k], expected, rtol=rtol, atol=atol, err_msg="%s %s" % (name, k))


def test_fixture_holds_mxnet_gather_nd_negative_index_gradient():
    """The MXNet result FOLLOW_FD replaces really is the misplaced one described above."""
    head = FIX["op/gather_nd_negative/head/0"]
    indices = FIX["op/gather_nd_negative/in/indices"]
    shape = FIX["op/gather_nd_negative/in/data"].shape
    mxnet_grad = FIX["op/gather_nd_negative/grad/data"]
    flat = np.zeros(int(np.prod(shape)))
    strides = np.array([shape[1], 1])
    np.add.at(flat, (strides[:, None] * indices.astype(np.int64)).sum(axis=0), head)
    np.testing.assert_allclose(mxnet_grad, flat.reshape(shape), rtol=1e-6)
    assert not np.allclose(mxnet_grad, gather_nd_backward_ref(head, indices, shape))


NOGRAD = [(c, n) for c in gen.OP_CASES for n in sorted(META["ops"][c[0]]["nograd"])]


@pytest.mark.parametrize("case,input_name", NOGRAD, ids=["%s-%s" % (c[0], n) for c, n in NOGRAD])
def test_non_differentiable_input(case, input_name):
    """Labels, indices, shape_like and arange_like's input get zero gradients. (MXNet refuses a
    gradient for a label, "Cannot take gradient wrt label"; rmx gives zeros, the derivative of a
    loss that is piecewise constant in its labels, so code that attaches one keeps running.)"""
    inputs, _ = gen.case_inputs(case)
    heads = {int(k.rsplit("/", 1)[1]): v for k, v in FIX.items() if k.startswith("op/%s/head/" % case[0])}
    k = [n for n, _ in inputs].index(input_name)
    assert META["ops"][case[0]]["nograd"][input_name] in ("error", "zeros")
    assert gen.nograd_probe(mx, case, k, inputs, heads, sorted(heads)) == "zeros"


# ---------------------------------------------------------------------------------------------
# float64 forward and gradients against NumPy references and central finite differences.

def _normal(*shape, scale=1.0):
    return lambda rng: rng.standard_normal(shape) * scale


def _fixed(values):
    return lambda rng: np.array(values, dtype=np.float64)


def _away_from_kinks(shape, scale, kink):
    def make(rng):
        x = rng.standard_normal(shape) * scale
        close = np.abs(np.abs(x) - kink) < 1e-2
        return np.where(close, x + np.sign(x) * 2e-2, x)
    return make


def _labels(n, classes):
    return lambda rng: rng.integers(0, classes, n).astype(np.float64)


# (case name, rmx function, NumPy reference, input makers, differentiable inputs, number of
# outputs given a head (None: all), dtype of the autograd run)
FD_CASES = [
    # MXNet 1.9.1's InstanceNorm accepts float32 only; the gradient runs in float32 and is compared
    # with float64 finite differences at rtol 1e-4 / atol 1e-5 (float32 rounding).
    ("instance_norm_3d", lambda a, g, b: nd.InstanceNorm(a, g, b, eps=1e-3),
     lambda a, g, b: instance_norm_ref(a, g, b, 1e-3), [_normal(2, 3, 4), _normal(3), _normal(3)], (0, 1, 2), None,
     "float32"),
    ("instance_norm_4d", lambda a, g, b: nd.InstanceNorm(a, g, b, eps=0.1),
     lambda a, g, b: instance_norm_ref(a, g, b, 0.1), [_normal(2, 2, 3, 2), _normal(2), _normal(2)], (0, 1, 2),
     None, "float32"),
    ("group_norm_g1", lambda a, g, b: nd.GroupNorm(a, g, b, eps=1e-3),
     lambda a, g, b: group_norm_ref(a, g, b, 1, 1e-3), [_normal(2, 3, 4), _normal(1), _normal(1)], (0, 1, 2), None,
     "float64"),
    ("group_norm_g2", lambda a, g, b: nd.GroupNorm(a, g, b, num_groups=2, eps=1e-3),
     lambda a, g, b: group_norm_ref(a, g, b, 2, 1e-3), [_normal(2, 4, 2, 2), _normal(2), _normal(2)], (0, 1, 2),
     None, "float64"),
    ("group_norm_g4_mean_var_out_head",
     lambda a, g, b: nd.GroupNorm(a, g, b, num_groups=4, eps=0.01, output_mean_var=True),
     lambda a, g, b: group_norm_ref(a, g, b, 4, 0.01, True), [_normal(2, 8, 3), _normal(4), _normal(4)], (0, 1, 2),
     1, "float64"),
    ("l2norm_instance", lambda a: nd.L2Normalization(a, eps=1e-3), lambda a: l2_normalization_ref(a, 1e-3),
     [_normal(3, 4)], (0,), None, "float64"),
    ("l2norm_instance_3d", lambda a: nd.L2Normalization(a), lambda a: l2_normalization_ref(a),
     [_normal(2, 3, 2)], (0,), None, "float64"),
    ("l2norm_channel", lambda a: nd.L2Normalization(a, mode="channel", eps=0.5),
     lambda a: l2_normalization_ref(a, 0.5, "channel"), [_normal(2, 3, 2, 2)], (0,), None, "float64"),
    ("l2norm_spatial", lambda a: nd.L2Normalization(a, mode="spatial", eps=0.01),
     lambda a: l2_normalization_ref(a, 0.01, "spatial"), [_normal(2, 3, 4)], (0,), None, "float64"),
    ("softmax_ce", lambda a, l: nd.softmax_cross_entropy(a, l), softmax_cross_entropy_ref,
     [_normal(4, 5, scale=2.0), _labels(4, 5)], (0,), None, "float64"),
    # rows 0 and 1 have a loss over -log(1e-8): the forward is clamped, the gradient is not
    ("softmax_ce_large", lambda a, l: nd.softmax_cross_entropy(a, l),
     (softmax_cross_entropy_ref, lambda a, l: softmax_cross_entropy_ref(a, l, clamp=False)),
     [_normal(3, 6, scale=30.0), _labels(3, 6)], (0,), None, "float64"),
    ("smooth_l1_default", lambda a: nd.smooth_l1(a), lambda a: smooth_l1_ref(a),
     [_away_from_kinks((3, 5), 1.5, 1.0)], (0,), None, "float64"),
    ("smooth_l1_s2.5", lambda a: nd.smooth_l1(a, scalar=2.5), lambda a: smooth_l1_ref(a, 2.5),
     [_away_from_kinks((4, 4), 0.3, 0.16)], (0,), None, "float64"),
    ("smooth_l1_s0.5", lambda a: nd.smooth_l1(a, scalar=0.5), lambda a: smooth_l1_ref(a, 0.5),
     [_away_from_kinks((12,), 5.0, 4.0)], (0,), None, "float64"),
    ("slice_like_all", lambda a, s: nd.slice_like(a, s), lambda a, s: slice_like_ref(a, s),
     [_normal(3, 4), _normal(2, 2)], (0,), None, "float64"),
    ("slice_like_neg_axes", lambda a, s: nd.slice_like(a, s, axes=(0, -1)),
     lambda a, s: slice_like_ref(a, s, (0, -1)), [_normal(3, 2, 4), _normal(1, 5, 3)], (0,), None, "float64"),
    ("gather_nd_m1", lambda a, i: nd.gather_nd(a, i), gather_nd_ref,
     [_normal(3, 2, 2), _fixed([[2, 0, 2]])], (0,), None, "float64"),
    ("gather_nd_m2_repeated", lambda a, i: nd.gather_nd(a, i), gather_nd_ref,
     [_normal(3, 4), _fixed([[1, 1, 0, 1], [2, 2, 3, 2]])], (0,), None, "float64"),
    ("gather_nd_m3_grid", lambda a, i: nd.gather_nd(a, i), gather_nd_ref,
     [_normal(2, 3, 2), _fixed([[[1, 0], [1, 1]], [[2, 0], [1, 2]], [[0, 1], [1, 0]]])], (0,), None, "float64"),
    # negative indices count from the end, in the gradient too (unlike MXNet 1.9.1, see FOLLOW_FD)
    ("gather_nd_negative", lambda a, i: nd.gather_nd(a, i), gather_nd_ref,
     [_normal(3, 4), _fixed([[-1, 2, -3], [-1, -4, 0]])], (0,), None, "float64"),
    ("scatter_nd_points", lambda a, i: nd.scatter_nd(a, i, shape=(3, 4)), lambda a, i: scatter_nd_ref(a, i, (3, 4)),
     [_normal(4), _fixed([[0, 2, 1, 2], [1, 3, 0, 0]])], (0,), None, "float64"),
    ("scatter_nd_rows", lambda a, i: nd.scatter_nd(a, i, shape=(4, 2, 3)),
     lambda a, i: scatter_nd_ref(a, i, (4, 2, 3)), [_normal(2, 3), _fixed([[3, 0], [1, 0]])], (0,), None, "float64"),
    ("moments_axis1", lambda a: nd.moments(a, axes=(1,)), lambda a: moments_ref(a, (1,)),
     [_normal(3, 4)], (0,), None, "float64"),
    ("moments_keepdims", lambda a: nd.moments(a, axes=(0, 2), keepdims=True),
     lambda a: moments_ref(a, (0, 2), True), [_normal(2, 3, 4)], (0,), None, "float64"),
    ("moments_neg_axis", lambda a: nd.moments(a, axes=(-1,)), lambda a: moments_ref(a, (-1,)),
     [_normal(2, 3, 2)], (0,), None, "float64"),
]


def _fd_inputs(name, makers):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    return [m(rng) for m in makers], rng


def _fd_loss(ref, arrays, heads):
    return float(sum((o * h).sum() for o, h in zip(ref(*arrays), heads)))


def _check_fd(name, f, ref, makers, diff, n_heads, dtype):
    """ref: the NumPy reference, or (forward reference, reference that is differentiated)."""
    ref, grad_ref = ref if isinstance(ref, tuple) else (ref, ref)
    arrays, rng = _fd_inputs(name, makers)
    want_out = ref(*arrays)
    n_heads = len(want_out) if n_heads is None else n_heads
    heads = [rng.standard_normal(o.shape) for o in want_out[:n_heads]]
    # the forward in float64 (eps parameters are float32 in MXNet, hence the 1e-9 slack)
    outs = _as_list(f(*[nd.array(a, dtype=dtype) for a in arrays]))
    assert len(outs) == len(want_out)
    f_rtol, f_atol = (1e-5, 1e-5) if dtype == "float32" else (1e-8, 1e-9)
    for o, w in zip(outs, want_out):
        assert o.shape == w.shape
        np.testing.assert_allclose(o.asnumpy(), w, rtol=f_rtol, atol=f_atol)
    got = autograd_grads(f, arrays, heads, diff, dtype)
    g_rtol, g_atol = (1e-4, 1e-5) if dtype == "float32" else (1e-5, 1e-7)
    for i, g in zip(diff, got):
        def loss_i(v, i=i):
            return _fd_loss(grad_ref, arrays[:i] + [v] + arrays[i + 1:], heads)
        np.testing.assert_allclose(g, numeric_grad(loss_i, arrays[i]), rtol=g_rtol, atol=g_atol,
                                   err_msg="%s input %d" % (name, i))


@pytest.mark.parametrize("case", FD_CASES, ids=[c[0] for c in FD_CASES])
def test_gradients_match_finite_differences(case):
    _check_fd(*case)


def test_group_norm_mean_and_std_heads_follow_finite_differences():
    # MXNet 1.9.1's GroupNorm backward uses only the head of output 0 (group_norm.cc passes
    # ograds[0]); heads given to the mean and std outputs are dropped, and its data gradient
    # then disagrees with finite differences (by up to 0.42 here, checked with MXNet 1.9.1).
    # The test follows finite differences: the mean and std outputs carry their gradients.
    _check_fd("group_norm_mean_std_heads",
              lambda a, g, b: nd.GroupNorm(a, g, b, num_groups=2, eps=0.01, output_mean_var=True),
              lambda a, g, b: group_norm_ref(a, g, b, 2, 0.01, True),
              [_normal(2, 4, 3), _normal(2), _normal(2)], (0, 1, 2), None, "float64")


@pytest.mark.parametrize("kwargs,shape", [({}, (2, 3)), ({"start": 2.0, "step": -0.5}, (3, 4)),
                                          ({"repeat": 3, "start": 1.0}, (2, 5)),
                                          ({"axis": 1, "step": 3.0}, (2, 5, 3)),
                                          ({"axis": -1, "repeat": 2, "step": 0.5}, (2, 7))])
def test_arange_like_float64_matches_reference(kwargs, shape):
    x = np.random.default_rng(3).standard_normal(shape)
    y = gen.resolve(nd, "contrib.arange_like")(nd.array(x, dtype="float64"), **kwargs)
    want = arange_like_ref(x, **kwargs)[0]
    assert y.shape == want.shape
    assert y.dtype == np.float64  # the input's dtype, as in MXNet
    np.testing.assert_array_equal(y.asnumpy(), want)


def test_finite_difference_check_on_layer_norm():
    """A control on an operator rmx already has: _check_fd passes for LayerNorm."""
    def ref(a, g, b):
        m, v = a.mean(axis=-1, keepdims=True), a.var(axis=-1, keepdims=True)
        return [(a - m) / np.sqrt(v + 1e-3) * g + b]
    _check_fd("layer_norm_control", lambda a, g, b: nd.LayerNorm(a, g, b, eps=1e-3), ref,
              [_normal(3, 5), _normal(5), _normal(5)], (0, 1, 2), None, "float64")


def test_numeric_grad_helpers_catch_a_wrong_gradient():
    """The finite-difference check fails for a reference that is not the operator's."""
    x = np.random.default_rng(4).standard_normal((3, 4))
    head = np.random.default_rng(5).standard_normal((3, 4))
    (g,) = autograd_grads(lambda a: nd.relu(a) * 2, [x], [head], (0,))
    wrong = numeric_grad(lambda v: float((np.maximum(v, 0) * 3 * head).sum()), x)
    assert not np.allclose(g, wrong, rtol=1e-5, atol=1e-7)
    right = numeric_grad(lambda v: float((np.maximum(v, 0) * 2 * head).sum()), x)
    np.testing.assert_allclose(g, right, rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------------------------------------
# Bad inputs.

def _message_has(message, words):
    for word in words:
        spellings = word if isinstance(word, tuple) else (word,)
        assert any(s.lower() in message.lower() for s in spellings), (words, message)


@pytest.mark.parametrize("case", gen.ERROR_CASES, ids=[c[0] for c in gen.ERROR_CASES])
def test_bad_input_raises_mxnet_error_naming_the_operator(case):
    name, fn, words = case
    assert META["errors"][name][0] == "MXNetError"  # MXNet refuses it too
    with pytest.raises(mx.base.MXNetError) as info:
        for o in _as_list(fn(mx)):
            o.asnumpy()
    _message_has(str(info.value), words)


@pytest.mark.parametrize("case", gen.INDEX_ERROR_CASES, ids=[c[0] for c in gen.INDEX_ERROR_CASES])
def test_index_out_of_range_raises_index_error(case):
    # MXNet 1.9.1 raises its IndexError (a builtins.IndexError); rmx's IndexError is both an
    # MXNetError and a builtins.IndexError.
    name, fn, words = case
    assert META["errors"][name][0] == "IndexError"
    with pytest.raises(IndexError) as info:
        for o in _as_list(fn(mx)):
            o.asnumpy()
    assert isinstance(info.value, mx.base.MXNetError)
    _message_has(str(info.value), words)


# ---------------------------------------------------------------------------------------------
# Symbols.

OPS = ["InstanceNorm", "GroupNorm", "L2Normalization", "softmax_cross_entropy", "smooth_l1", "slice_like",
       "gather_nd", "scatter_nd", "contrib.arange_like", "moments"]


@pytest.mark.parametrize("op", OPS)
def test_operator_is_reachable_where_mxnet_has_it(op):
    assert callable(gen.resolve(nd, op))
    assert callable(gen.resolve(mx.sym, op))


SYM_CASES = gen.all_sym_cases()


@pytest.mark.parametrize("case", SYM_CASES, ids=[c[0] for c in SYM_CASES])
def test_symbol_infer_shape_matches_mxnet(case):
    assert gen.run_sym(mx, case) == META["sym"][case[0]]


def test_group_norm_symbol_infers_per_group_gamma():
    y = mx.sym.GroupNorm(mx.sym.var("x"), mx.sym.var("g"), mx.sym.var("b"), num_groups=2)
    args, outs, aux = y.infer_shape(x=(2, 4, 3, 3))
    assert [tuple(s) for s in args] == [(2, 4, 3, 3), (2,), (2,)]
    assert [tuple(s) for s in outs] == [(2, 4, 3, 3)]
    assert list(aux) == []
