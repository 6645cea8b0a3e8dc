"""Property tests for ``mx.nd`` against NumPy: shared helpers, creation, casts, copies and errors.

The operator families live in ``test_nd_elemwise.py``, ``test_nd_reduce.py``, ``test_nd_shape.py``
and ``test_nd_indexing.py``, which import the helpers below. Every check compares values, shapes
and dtypes; integer results are compared exactly, floats with a per-dtype tolerance.
"""

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rmx as mx
from rmx.base import DTypeError, MXNetError, ParameterError, ShapeError

# --- helpers shared by the test_nd_* files -----------------------------------------------------
FLOATS = ["float32", "float64", "float16"]
INTS = ["int32", "int64", "int8", "uint8"]
SIGNED_INTS = ["int32", "int64", "int8"]
NUMERIC = FLOATS + INTS
ALL = NUMERIC + ["bool"]

RTOL = {"float32": 1e-5, "float64": 1e-12, "float16": 1e-2}
ATOL = {"float32": 1e-6, "float64": 1e-12, "float16": 1e-3}

SETTINGS = settings(max_examples=40, deadline=None)
FEW = settings(max_examples=25, deadline=None)


def shapes(min_dims=1, max_dims=4, min_side=1, max_side=6):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side, max_side=max_side)


def _float_bound(v, width, up):
    """``v`` moved inward to the nearest float of ``width`` bits (hypothesis wants exact bounds)."""
    t = {16: np.float16, 32: np.float32, 64: np.float64}[width]
    big = float(np.finfo(t).max)
    b = t(min(max(v, -big), big))
    if up and float(b) < v:
        b = np.nextafter(b, t(np.inf))
    if not up and float(b) > v:
        b = np.nextafter(b, t(-np.inf))
    return float(b)


def elements(dtype, lo=-10, hi=10, integral=False):
    """Element values of ``dtype`` in [lo, hi] (clipped to the dtype's range)."""
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return st.booleans()
    if dt.kind in "iu":
        info = np.iinfo(dt)
        return st.integers(max(int(np.ceil(lo)), int(info.min)), min(int(np.floor(hi)), int(info.max)))
    if integral:
        return st.integers(int(np.ceil(lo)), int(np.floor(hi))).map(float)
    width = dt.itemsize * 8
    return st.floats(_float_bound(lo, width, True), _float_bound(hi, width, False), width=width, allow_nan=False, allow_infinity=False)


def arrays(dtype, shape=None, lo=-10, hi=10, integral=False, unique=False):
    """NumPy arrays of ``dtype`` (default shapes: 1 to 4 dims of 1 to 6)."""
    return hnp.arrays(np.dtype(dtype), shapes() if shape is None else shape, elements=elements(dtype, lo, hi, integral), unique=unique)


def nd(a, dtype=None):
    """The NDArray of NumPy array ``a`` in ``a``'s own dtype (not MXNet's float32 default)."""
    a = np.asarray(a)
    return mx.nd.array(a, dtype=a.dtype if dtype is None else dtype)


def check(got, want, dtype=None, rtol=None, atol=None, equal_nan=True):
    """``got`` (an NDArray) has ``want``'s shape, dtype and values (exact for ints and bools)."""
    want = np.asarray(want)
    if dtype is not None:
        want = want.astype(dtype)
    assert isinstance(got, mx.nd.NDArray), f"expected an NDArray, got {type(got).__name__}"
    assert got.shape == want.shape, f"shape {got.shape} != expected {want.shape}"
    assert np.dtype(got.dtype) == want.dtype, f"dtype {np.dtype(got.dtype)} != expected {want.dtype}"
    g = got.asnumpy()
    assert g.shape == want.shape and g.dtype == want.dtype
    if want.dtype.kind in "biu":
        np.testing.assert_array_equal(g, want)
    else:
        name = want.dtype.name
        np.testing.assert_allclose(
            g.astype(np.float64),
            want.astype(np.float64),
            rtol=RTOL[name] if rtol is None else rtol,
            atol=ATOL[name] if atol is None else atol,
            equal_nan=equal_nan,
        )


def mx_shape(shape):
    """MXNet has no 0-d arrays: a () result is (1,)."""
    return tuple(shape) if len(shape) else (1,)


# --- creation -----------------------------------------------------------------------------------
@SETTINGS
@given(st.sampled_from(ALL).flatmap(lambda d: arrays(d)))
def test_array_roundtrip_keeps_values_shape_and_dtype(a):
    check(nd(a), a)
    check(mx.nd.array(a.tolist(), dtype=a.dtype), a)


@FEW
@given(st.sampled_from(["int32", "int64", "int8", "uint8", "float64", "float16"]).flatmap(lambda d: arrays(d)))
def test_array_default_dtype_is_float32(a):
    x = mx.nd.array(a)
    check(x, a.astype(np.float32))
    # An NDArray source keeps its own dtype.
    check(mx.nd.array(nd(a)), a)


def test_array_of_scalar_has_shape_1():
    check(mx.nd.array(3), np.array([3], dtype=np.float32))
    check(mx.nd.array(np.int8(-3), dtype="int8"), np.array([-3], dtype=np.int8))


@SETTINGS
@given(shapes(max_dims=4), st.sampled_from(ALL), st.integers(-5, 5))
def test_zeros_ones_full_empty(shape, dtype, value):
    check(mx.nd.zeros(shape, dtype=dtype), np.zeros(shape, dtype))
    check(mx.nd.ones(shape, dtype=dtype), np.ones(shape, dtype))
    check(mx.nd.empty(shape, dtype=dtype), np.zeros(shape, dtype))  # rmx zero-fills
    if dtype == "uint8":
        value = abs(value)
    check(mx.nd.full(shape, value, dtype=dtype), np.full(shape, value, dtype))
    check(mx.nd.zeros(shape), np.zeros(shape, np.float32))


@FEW
@given(shapes(), st.sampled_from(NUMERIC), st.floats(-4, 4))
def test_full_with_float_value_casts_like_c(shape, dtype, value):
    if dtype == "uint8":
        value = abs(value)
    want = np.full(shape, np.trunc(value) if np.dtype(dtype).kind in "iu" else value).astype(dtype)
    check(mx.nd.full(shape, value, dtype=dtype), want)


@SETTINGS
@given(
    st.integers(-6, 6),
    st.integers(-6, 12),
    st.sampled_from([1, 2, 3, -1, -2, 0.5, -0.5, 1.5]),
    st.integers(1, 3),
    st.sampled_from(["float32", "float64", "int32", "int64"]),
)
def test_arange(start, stop, step, repeat, dtype):
    n = int(np.ceil((stop - start) / step))
    if n <= 0:
        return  # empty ranges are not in MXNet's domain
    if np.dtype(dtype).kind == "i" and step != int(step):
        vals = np.trunc(start + np.arange(n) * step)
    else:
        vals = np.arange(start, stop, step, dtype=np.float64)
    want = np.repeat(vals, repeat).astype(dtype)
    check(mx.nd.arange(start, stop, step, repeat=repeat, dtype=dtype), want)


@FEW
@given(st.integers(0, 12), st.sampled_from(NUMERIC))
def test_arange_stop_only(stop, dtype):
    if stop == 0:
        return
    check(mx.nd.arange(stop, dtype=dtype), np.arange(stop).astype(dtype))


@SETTINGS
@given(st.integers(1, 6), st.integers(0, 6), st.integers(-6, 6), st.sampled_from(NUMERIC))
def test_eye(n, m, k, dtype):
    check(mx.nd.eye(n, m, k, dtype=dtype), np.eye(n, m if m else n, k, dtype=dtype))


# --- casts and copies ---------------------------------------------------------------------------
_RANGE = {"float32": (-1000, 1000), "float64": (-1000, 1000), "float16": (-1000, 1000), "int32": (-1000, 1000), "int64": (-1000, 1000), "int8": (-128, 127), "uint8": (0, 255), "bool": (0, 1)}


@st.composite
def cast_case(draw):
    src = draw(st.sampled_from(ALL))
    dst = draw(st.sampled_from(ALL))
    lo = max(_RANGE[src][0], _RANGE[dst][0])
    hi = min(_RANGE[src][1], _RANGE[dst][1])
    if np.dtype(src).kind == "f" and np.dtype(dst).kind in "iu":
        # float -> int truncates toward zero; stay where the truncated value fits
        lo, hi = lo - (0.99 if lo < 0 else 0), hi + 0.99
    if dst == "bool" and src != "bool":
        lo, hi = -3, 3
    a = draw(arrays(src, lo=lo, hi=hi))
    return a, dst


@SETTINGS
@given(cast_case())
def test_astype_and_cast_match_numpy(case):
    a, dst = case
    want = a.astype(dst)
    x = nd(a)
    check(x.astype(dst), want, rtol=0, atol=0)
    check(mx.nd.cast(x, dtype=dst), want, rtol=0, atol=0)
    check(mx.nd.Cast(x, dst), want, rtol=0, atol=0)


@FEW
@given(st.sampled_from(ALL).flatmap(lambda d: arrays(d)))
def test_astype_same_dtype_without_copy_is_self(a):
    x = nd(a)
    assert x.astype(a.dtype, copy=False) is x
    y = x.astype(a.dtype)
    assert y is not x
    check(y, a)


@SETTINGS
@given(st.sampled_from(NUMERIC).flatmap(lambda d: arrays(d, lo=0, hi=10)))
def test_copy_is_independent(a):
    x = nd(a)
    y = x.copy()
    y[:] = 1
    check(x, a)
    check(y, np.ones_like(a))
    z = mx.nd.identity(x)
    z += 1
    check(x, a)
    check(z, a + np.ones((), a.dtype))


@SETTINGS
@given(cast_case())
def test_copyto_converts_dtype_and_writes_in_place(case):
    a, dst = case
    x = nd(a)
    target = mx.nd.zeros(a.shape, dtype=dst)
    out = x.copyto(target)
    assert out is target
    check(target, a.astype(dst), rtol=0, atol=0)


@FEW
@given(st.sampled_from(ALL).flatmap(lambda d: arrays(d, shape=shapes(min_dims=2))))
def test_copyto_into_a_view_writes_the_base(a):
    base = mx.nd.zeros(a.shape[:-1] + (a.shape[-1] * 2,), dtype=a.dtype)
    nd(a).copyto(base[..., ::2])
    want = np.zeros(base.shape, a.dtype)
    want[..., ::2] = a
    check(base, want)


@FEW
@given(st.sampled_from(ALL).flatmap(lambda d: arrays(d)))
def test_zeros_like_ones_like(a):
    x = nd(a)
    check(mx.nd.zeros_like(x), np.zeros_like(a))
    check(mx.nd.ones_like(x), np.ones_like(a))
    check(x.zeros_like(), np.zeros_like(a))


@FEW
@given(st.sampled_from(ALL).flatmap(lambda d: arrays(d)))
def test_pickle_roundtrip(a):
    x = nd(a)
    check(pickle.loads(pickle.dumps(x)), a)
    check(nd(a[..., ::-1])[..., ::2], a[..., ::-1][..., ::2])


# --- errors raise at the call and name the operator -------------------------------------------
A23 = lambda: mx.nd.ones((2, 3))  # noqa: E731
A32 = lambda: mx.nd.ones((3, 2))  # noqa: E731

ERROR_CASES = [
    ("a + b", lambda: A23() + A32(), ShapeError, "broadcast_add"),
    ("a - b", lambda: A23() - A32(), ShapeError, "broadcast_sub"),
    ("a * b", lambda: A23() * A32(), ShapeError, "broadcast_mul"),
    ("a == b", lambda: A23() == A32(), ShapeError, "broadcast_equal"),
    ("elemwise_add", lambda: mx.nd.elemwise_add(A23(), A32()), ShapeError, "elemwise_add"),
    ("elemwise_add bcast", lambda: mx.nd.elemwise_add(A23(), mx.nd.ones((1, 3))), ShapeError, "elemwise_add"),
    ("elemwise_mul", lambda: mx.nd.elemwise_mul(A23(), A32()), ShapeError, "elemwise_mul"),
    ("broadcast_maximum", lambda: mx.nd.broadcast_maximum(A23(), A32()), ShapeError, "broadcast_maximum"),
    ("dot", lambda: mx.nd.dot(A23(), A23()), ShapeError, "dot"),
    ("batch_dot", lambda: mx.nd.batch_dot(A23(), A23()), ShapeError, "batch_dot"),
    ("concat", lambda: mx.nd.concat(A23(), A32(), dim=0), ShapeError, "Concat"),
    ("stack", lambda: mx.nd.stack(A23(), A32()), ShapeError, "stack"),
    ("reshape", lambda: A23().reshape(4, 2), ShapeError, "reshape"),
    ("Reshape two -1", lambda: mx.nd.reshape(A23(), shape=(-1, -1)), ShapeError, "Reshape"),
    ("split", lambda: mx.nd.split(A23(), 4, axis=1), ShapeError, "SliceChannel"),
    ("broadcast_to", lambda: mx.nd.broadcast_to(A23(), shape=(3, 3)), ShapeError, "broadcast_to"),
    ("where", lambda: mx.nd.where(A23(), A23(), A32()), ShapeError, "where"),
    ("sum axis", lambda: mx.nd.sum(A23(), axis=5), ParameterError, "sum"),
    ("sum unknown", lambda: mx.nd.sum(A23(), foo=1), ParameterError, "foo"),
    ("transpose axes", lambda: mx.nd.transpose(A23(), axes=(0, 0)), ParameterError, "transpose"),
    ("topk ret_typ", lambda: mx.nd.topk(A23(), ret_typ="x"), ParameterError, "topk"),
    ("one_hot depth", lambda: mx.nd.one_hot(A23(), depth="x"), ParameterError, "one_hot"),
    ("clip missing", lambda: mx.nd.clip(A23()), ParameterError, "clip"),
    ("repeat negative", lambda: mx.nd.repeat(A23(), repeats=-1), ParameterError, "repeat"),
    ("swapaxes", lambda: mx.nd.swapaxes(A23(), 0, 4), ParameterError, "SwapAxis"),
    ("argmax axis", lambda: mx.nd.argmax(A23(), axis=3), ParameterError, "argmax"),
    ("array complex", lambda: mx.nd.array([1], dtype="complex64"), DTypeError, "complex64"),
    ("zeros uint16", lambda: mx.nd.zeros((2,), dtype=np.uint16), DTypeError, "uint16"),
    ("astype int16", lambda: A23().astype("int16"), DTypeError, "int16"),
    ("bool arithmetic", lambda: mx.nd.ones((2,), dtype=bool) + mx.nd.ones((2,), dtype=bool), DTypeError, "elemwise_add"),
    ("bool reduce", lambda: mx.nd.sum(mx.nd.ones((2,), dtype=bool)), DTypeError, "sum"),
    ("softmax int", lambda: mx.nd.softmax(mx.nd.ones((2,), dtype="int32")), DTypeError, "softmax"),
]


@pytest.mark.parametrize("fn,exc,needle", [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES])
def test_errors_raise_at_the_call_and_name_the_operator(fn, exc, needle):
    with pytest.raises(exc, match=needle) as info:
        fn()
    assert isinstance(info.value, MXNetError)


def test_error_classes_derive_from_builtins():
    assert issubclass(ShapeError, MXNetError) and issubclass(ShapeError, ValueError)
    assert issubclass(ParameterError, MXNetError) and issubclass(ParameterError, ValueError)
    assert issubclass(DTypeError, MXNetError) and issubclass(DTypeError, TypeError)
    with pytest.raises(ValueError):
        A23() + A32()


def test_inplace_shape_error_leaves_target_untouched():
    a = mx.nd.ones((2, 3))
    with pytest.raises(ShapeError):
        a += mx.nd.ones((3, 2))
    check(a, np.ones((2, 3), np.float32))


def test_take_raise_mode_fails_and_engine_keeps_working():
    x = mx.nd.array(np.arange(6).reshape(3, 2))
    with pytest.raises(MXNetError, match="take"):
        mx.nd.take(x, mx.nd.array([5]), mode="raise").asnumpy()
    check(x + 1, np.arange(6).reshape(3, 2).astype(np.float32) + 1)


def test_out_names_the_visible_outputs_only():
    # MXNet's out= takes what the call returns; Pooling's and BatchNorm's hidden outputs are
    # made by the call (rmx once refused: "out= has 1 arrays, the operator has 2 outputs").
    x = mx.nd.array(np.arange(32, dtype=np.float32).reshape(1, 2, 4, 4))
    o = mx.nd.zeros((1, 2, 2, 2))
    r = mx.nd.Pooling(x, kernel=(2, 2), stride=(2, 2), pool_type="max", out=o)
    assert r is o or np.array_equal(r.asnumpy(), o.asnumpy())
    np.testing.assert_array_equal(o.asnumpy(), mx.nd.Pooling(x, kernel=(2, 2), stride=(2, 2), pool_type="max").asnumpy())
    with pytest.raises(mx.base.MXNetError, match=r"out= has 3 arrays, the operator has 1 output \(1 more hidden\)"):
        mx.nd.Pooling(x, kernel=(2, 2), stride=(2, 2), out=[o, o, o])
