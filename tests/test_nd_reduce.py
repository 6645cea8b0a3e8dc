"""Property tests for ``mx.nd``'s reductions and contractions against NumPy: sum, mean, prod,
max, min, nansum, nanprod (axis / keepdims / exclude), norm, argmax/argmin, dot, batch_dot,
softmax/log_softmax, sort, argsort and topk. Helpers come from ``test_nd_ops.py``."""

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rmx as mx
from test_nd_ops import FEW, FLOATS, NUMERIC, RTOL, SETTINGS, arrays, check, elements, nd, shapes

PER_OP = settings(max_examples=20, deadline=None)

# --- axis / keepdims / exclude ------------------------------------------------------------------


@st.composite
def reduce_args(draw, ndim, allow_exclude=True):
    """(axis, keepdims, exclude) as MXNet takes them: None, an int or a tuple (negatives too)."""
    kind = draw(st.sampled_from(["none", "int", "tuple"]))
    keepdims = draw(st.booleans())
    exclude = allow_exclude and kind != "none" and draw(st.booleans())
    if kind == "none":
        return None, keepdims, False
    if kind == "int":
        return draw(st.integers(-ndim, ndim - 1)), keepdims, exclude
    axes = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    axes = tuple(a - ndim if draw(st.booleans()) else a for a in axes)
    return axes, keepdims, exclude


def reduced_axes(ndim, axis, exclude):
    if axis is None:
        return tuple(range(ndim))
    axes = {a % ndim for a in ((axis,) if isinstance(axis, int) else axis)}
    if exclude:
        axes = set(range(ndim)) - axes
    return tuple(sorted(axes))


def reduced_shape(shape, axes, keepdims):
    """MXNet's output shape: as NumPy's, except that reducing every axis gives (1,)."""
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    out = tuple(d for i, d in enumerate(shape) if i not in axes)
    return out or (1,)


def kwargs_for(axis, keepdims, exclude):
    kw = {"keepdims": keepdims}
    if axis is not None:
        kw["axis"] = axis
    if exclude:
        kw["exclude"] = True
    return kw


# Values and shapes per dtype so that sums and products stay in range (wrapping is tested apart).
def sum_case(dtype):
    if dtype == "int8":
        return arrays(dtype, shape=shapes(max_side=3), lo=-1, hi=1)  # |sum| <= 81
    if dtype == "uint8":
        return arrays(dtype, shape=shapes(max_side=3), lo=0, hi=3)  # sum <= 243
    return arrays(dtype)


def prod_case(dtype):
    if dtype in ("int8", "uint8"):
        return arrays(dtype, shape=shapes(max_dims=2, max_side=2), lo=-3, hi=3)  # |prod| <= 81
    if dtype in ("int32", "int64"):
        return arrays(dtype, shape=shapes(max_dims=3, max_side=3), lo=-2, hi=2)  # |prod| <= 2**27
    if dtype == "float16":
        return arrays(dtype, shape=shapes(max_dims=3, max_side=4), lo=-1.1, hi=1.1)
    return arrays(dtype, shape=shapes(max_dims=3, max_side=4), lo=-2, hi=2)


def with_nans(dtype):
    width = np.dtype(dtype).itemsize * 8
    el = st.floats(-10, 10, width=width) | st.just(np.nan)
    return hnp.arrays(np.dtype(dtype), shapes(), elements=el)


def ref_reduce(name, a, axes):
    f64 = a.astype(np.float64)
    if name in ("sum", "nansum"):
        return (np.nansum if name == "nansum" else np.sum)(f64, axis=axes)
    if name in ("prod", "nanprod"):
        return (np.nanprod if name == "nanprod" else np.prod)(f64, axis=axes)
    if name == "mean":
        s = np.sum(f64, axis=axes)
        n = int(np.prod([a.shape[i] for i in axes]))
        return np.trunc(s / n) if a.dtype.kind in "iu" else s / n
    return (np.max if name == "max" else np.min)(a, axis=axes)


REDUCERS = ["sum", "mean", "prod", "max", "min", "nansum", "nanprod"]


@pytest.mark.parametrize("name", REDUCERS)
@PER_OP
@given(st.sampled_from(NUMERIC), st.data())
def test_reductions(name, dtype, data):
    if name in ("max", "min"):
        # int64 beyond 2**53 is covered by test_int64_reductions_are_exact_above_2_pow_53
        a = data.draw(arrays(dtype, lo=-(2**53), hi=2**53), label="a")
    elif name in ("prod", "nanprod"):
        a = data.draw(prod_case(dtype), label="a")
    else:
        a = data.draw(sum_case(dtype), label="a")
    axis, keepdims, exclude = data.draw(reduce_args(a.ndim), label="args")
    axes = reduced_axes(a.ndim, axis, exclude)
    want = np.asarray(ref_reduce(name, a, axes)).astype(dtype).reshape(reduced_shape(a.shape, axes, keepdims))
    scale = np.abs(a.astype(np.float64)).sum() if name in ("sum", "nansum", "mean") else 0.0
    rtol = 3e-2 if dtype == "float16" and name in ("prod", "nanprod") else None
    atol = RTOL.get(dtype, 0) * scale + (1e-3 if dtype == "float16" else 1e-6)
    kw = kwargs_for(axis, keepdims, exclude)
    check(getattr(mx.nd, name)(nd(a), **kw), want, rtol=rtol, atol=atol)
    check(getattr(nd(a), name)(**kw), want, rtol=rtol, atol=atol)


@PER_OP
@given(st.sampled_from(REDUCERS), st.sampled_from(["float32", "int32"]), st.data())
def test_reductions_of_strided_views(name, dtype, data):
    a = data.draw(prod_case(dtype) if "prod" in name else arrays(dtype, shape=shapes(min_dims=2)))
    assume(a.ndim >= 2)
    a = a.repeat(2, axis=0)
    axis, keepdims, exclude = data.draw(reduce_args(a.ndim))
    key = (slice(None, None, -2),) + (slice(None, None, -1),) * (a.ndim - 1)
    view = a[key]
    axes = reduced_axes(a.ndim, axis, exclude)
    want = np.asarray(ref_reduce(name, view, axes)).astype(dtype).reshape(reduced_shape(view.shape, axes, keepdims))
    check(getattr(mx.nd, name)(nd(a)[key], **kwargs_for(axis, keepdims, exclude)), want, atol=1e-4)


@pytest.mark.parametrize("name", ["nansum", "nanprod", "sum", "max", "min"])
@FEW
@given(st.sampled_from(FLOATS), st.data())
def test_reductions_with_nan(name, dtype, data):
    a = data.draw(with_nans(dtype) if name != "nanprod" else hnp.arrays(np.dtype(dtype), shapes(max_dims=2, max_side=4), elements=st.floats(-1.5, 1.5, width=np.dtype(dtype).itemsize * 8) | st.just(np.nan)))
    axis, keepdims, _ = data.draw(reduce_args(a.ndim, allow_exclude=False))
    axes = reduced_axes(a.ndim, axis, False)
    with np.errstate(all="ignore"):
        want = np.asarray(ref_reduce(name, a, axes)).astype(dtype).reshape(reduced_shape(a.shape, axes, keepdims))
    atol = 1e-2 * (np.nansum(np.abs(a.astype(np.float64))) + 1)
    check(getattr(mx.nd, name)(nd(a), **kwargs_for(axis, keepdims, False)), want, atol=atol)


def test_reduce_all_gives_shape_1_not_0d():
    x = mx.nd.array(np.arange(6).reshape(2, 3))
    for name in REDUCERS:
        check(getattr(mx.nd, name)(x), np.asarray([ref_reduce(name, np.arange(6.0).reshape(2, 3), (0, 1))], np.float32))
        assert getattr(mx.nd, name)(x, axis=(0, 1)).shape == (1,)
        assert getattr(mx.nd, name)(x, keepdims=True).shape == (1, 1)


def test_reduce_empty_axis_tuple_reduces_everything():
    x = mx.nd.array(np.arange(6).reshape(2, 3))
    check(mx.nd.sum(x, axis=()), np.array([15], np.float32))


def test_reduce_empty_axis_tuple_with_exclude():
    x = mx.nd.array(np.arange(6).reshape(2, 3))
    check(mx.nd.sum(x, axis=(), exclude=True), np.array([15], np.float32))


@pytest.mark.parametrize("dtype,values,name", [("int8", [100, 100], "sum"), ("uint8", [200, 100], "sum"), ("int8", [64, 4], "prod"), ("int32", [2**31 - 1, 1], "sum"), ("int64", [2**62, 2**62], "sum")])
def test_integer_reductions_wrap_on_overflow(dtype, values, name):
    a = np.array(values, dtype)
    check(getattr(mx.nd, name)(nd(a)), np.array([getattr(np, name)(a, dtype=dtype)], dtype))


@pytest.mark.parametrize("name", ["sum", "max", "min", "prod", "mean"])
def test_int64_reductions_are_exact_above_2_pow_53(name):
    a = np.array([[2**53 + 1, 2**53 + 3], [1, 1]], np.int64)
    want = {"sum": a.sum(0), "max": a.max(0), "min": np.array([1, 1]), "prod": a.prod(0), "mean": a.sum(0) // 2}[name]
    if name == "min":
        a = -a
        want = a.min(0)
    check(getattr(mx.nd, name)(nd(a), axis=0), want.astype(np.int64))


# --- norm -----------------------------------------------------------------------------------------
@st.composite
def norm_case(draw):
    a = draw(arrays(draw(st.sampled_from(FLOATS))), label="a")
    kind = draw(st.sampled_from(["none", "int", "pair"]))
    keepdims = draw(st.booleans())
    if kind == "none" or (kind == "pair" and a.ndim < 2):
        return a, None, keepdims
    if kind == "int":
        return a, draw(st.integers(-a.ndim, a.ndim - 1)), keepdims
    return a, tuple(draw(st.lists(st.integers(0, a.ndim - 1), min_size=2, max_size=2, unique=True))), keepdims


def _check_norm(ord, case):
    a, axis, keepdims = case
    axes = tuple(range(a.ndim)) if axis is None else (axis % a.ndim,) if isinstance(axis, int) else tuple(sorted(axis))
    f64 = a.astype(np.float64)
    r = np.sqrt(np.sum(f64 * f64, axis=axes)) if ord == 2 else np.sum(np.abs(f64), axis=axes)
    want = np.asarray(r).astype(a.dtype).reshape(reduced_shape(a.shape, axes, keepdims))
    kw = {"ord": ord, "keepdims": keepdims}
    if axis is not None:
        kw["axis"] = axis
    check(mx.nd.norm(nd(a), **kw), want)


@PER_OP
@given(norm_case())
def test_norm_l1(case):
    _check_norm(1, case)


@PER_OP
@example(case=(np.arange(8, dtype=np.float32), None, False))
@given(norm_case())
def test_norm_l2(case):
    _check_norm(2, case)


def test_norm_l2_of_fewer_than_8_elements():
    a = np.array([[3.0, 4.0, 1.0], [2.0, -2.0, 0.5]], np.float32)
    check(mx.nd.norm(nd(a)), np.array([np.linalg.norm(a)], np.float32))
    check(mx.nd.norm(nd(a), axis=1), np.linalg.norm(a, axis=1).astype(np.float32))


def test_norm_out_dtype():
    check(mx.nd.norm(mx.nd.array([3.0, 4.0]), out_dtype="float64"), np.array([5.0]))


# --- argmax / argmin ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["argmax", "argmin"])
@PER_OP
@given(st.sampled_from(NUMERIC), st.data())
def test_argmax_argmin_first_occurrence(name, dtype, data):
    # small value ranges make ties: the first occurrence wins, as in NumPy
    a = data.draw(arrays(dtype, shape=shapes(max_dims=3, max_side=4), lo=-3, hi=3, integral=data.draw(st.booleans())), label="a")
    axis = data.draw(st.none() | st.integers(-a.ndim, a.ndim - 1), label="axis")
    keepdims = data.draw(st.booleans(), label="keepdims")
    f = np.argmax if name == "argmax" else np.argmin
    if axis is None:
        want = np.array([f(a)])
    else:
        want = f(a, axis=axis)
        want = np.expand_dims(want, axis) if keepdims else want.reshape(want.shape or (1,))
    kw = {"keepdims": keepdims}
    if axis is not None:
        kw["axis"] = axis
    check(getattr(mx.nd, name)(nd(a), **kw), want.astype(dtype))


# --- dot, batch_dot -------------------------------------------------------------------------------
def ref_dot(a, b, ta, tb):
    """MXNet's dot: contracts lhs's last (first if transpose_a) axis with rhs's first (last)."""
    A = a.reshape(a.shape[0], -1).T if ta else a.reshape(-1, a.shape[-1])
    B = b.reshape(-1, b.shape[-1]).T if tb else b.reshape(b.shape[0], -1)
    out = (a.shape[1:] if ta else a.shape[:-1]) if a.ndim > 1 else ()
    out += (b.shape[:-1] if tb else b.shape[1:]) if b.ndim > 1 else ()
    return (A @ B).reshape(out or (1,))


@st.composite
def dot_case(draw):
    dtype = draw(st.sampled_from(NUMERIC))
    k = draw(st.integers(1, 5))
    lo_rest = draw(st.lists(st.integers(1, 4), min_size=0, max_size=2))
    ro_rest = draw(st.lists(st.integers(1, 4), min_size=0, max_size=2))
    ta = bool(lo_rest) and draw(st.booleans())
    tb = bool(ro_rest) and draw(st.booleans())
    ashape = (k, *lo_rest) if ta else (*lo_rest, k)
    bshape = (*ro_rest, k) if tb else (k, *ro_rest)
    lo, hi = (-3, 3) if dtype in ("int8", "uint8") else (-10, 10)
    a = draw(arrays(dtype, shape=st.just(ashape), lo=lo, hi=hi))
    b = draw(arrays(dtype, shape=st.just(bshape), lo=lo, hi=hi))
    return a, b, ta, tb


def _dot_tol(a, b, ta, tb):
    scale = ref_dot(np.abs(a.astype(np.float64)), np.abs(b.astype(np.float64)), ta, tb)
    return {"float32": 1e-5, "float64": 1e-12, "float16": 2e-3}.get(a.dtype.name, 0) * scale.max() + 1e-6


@SETTINGS
@given(dot_case())
def test_dot(case):
    a, b, ta, tb = case
    with np.errstate(all="ignore"):
        want = ref_dot(a.astype(np.float64) if a.dtype.kind == "f" else a.astype(np.int64), b.astype(np.float64) if b.dtype.kind == "f" else b.astype(np.int64), ta, tb).astype(a.dtype)
    check(mx.nd.dot(nd(a), nd(b), transpose_a=ta, transpose_b=tb), want, atol=_dot_tol(a, b, ta, tb))


@SETTINGS
@given(st.sampled_from(NUMERIC), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.booleans(), st.booleans(), st.data())
def test_batch_dot(dtype, batch, m, k, n, ta, tb, data):
    lo, hi = (-3, 3) if dtype in ("int8", "uint8") else (-10, 10)
    a = data.draw(arrays(dtype, shape=st.just((batch, k, m) if ta else (batch, m, k)), lo=lo, hi=hi))
    b = data.draw(arrays(dtype, shape=st.just((batch, n, k) if tb else (batch, k, n)), lo=lo, hi=hi))
    acc = np.float64 if a.dtype.kind == "f" else np.int64
    A = a.astype(acc).transpose(0, 2, 1) if ta else a.astype(acc)
    B = b.astype(acc).transpose(0, 2, 1) if tb else b.astype(acc)
    want = np.matmul(A, B).astype(dtype)
    scale = np.matmul(np.abs(A), np.abs(B)).max()
    atol = {"float32": 1e-5, "float64": 1e-12, "float16": 2e-3}.get(dtype, 0) * scale + 1e-6
    check(mx.nd.batch_dot(nd(a), nd(b), transpose_a=ta, transpose_b=tb), want, atol=atol)


@FEW
@given(st.sampled_from(["float32", "float64"]), st.data())
def test_dot_of_transposed_views(dtype, data):
    a = data.draw(arrays(dtype, shape=shapes(min_dims=2, max_dims=2)))
    b = data.draw(arrays(dtype, shape=st.just((a.shape[0], data.draw(st.integers(1, 5))))))
    # a.T through a view (transpose of the storage order) and a reversed-step slice
    want = ref_dot(a.T.astype(np.float64), b[::-1].astype(np.float64), False, False).astype(dtype)
    check(mx.nd.dot(nd(a).T, nd(b)[::-1]), want, atol=_dot_tol(a.T, b, False, False))


# --- softmax --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@PER_OP
@given(st.sampled_from(FLOATS), st.data())
def test_softmax(name, dtype, data):
    a = data.draw(arrays(dtype), label="a")
    axis = data.draw(st.integers(-a.ndim, a.ndim - 1), label="axis")
    temperature = data.draw(st.none() | st.floats(0.5, 3), label="temperature")
    z = a.astype(np.float64) / (1.0 if temperature is None else temperature)
    z = z - z.max(axis=axis, keepdims=True)
    lse = np.log(np.exp(z).sum(axis=axis, keepdims=True))
    want = (np.exp(z - lse) if name == "softmax" else z - lse).astype(dtype)
    kw = {"axis": axis}
    if temperature is not None:
        kw["temperature"] = temperature
    atol = {"float16": 2e-3, "float32": 1e-5, "float64": 1e-12}[dtype] * (1 if name == "softmax" else 20)
    check(getattr(mx.nd, name)(nd(a), **kw), want, atol=atol)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_dtype_parameter(name):
    x = mx.nd.array([[1.0, 2.0, 3.0]])
    assert getattr(mx.nd, name)(x, dtype="float64").dtype == np.float64


# --- sort, argsort, topk --------------------------------------------------------------------------
def unique_arrays(dtype):
    """Arrays without ties (argsort/topk indices are then unambiguous)."""
    return hnp.arrays(np.dtype(dtype), shapes(max_dims=3, max_side=4), elements=elements(dtype, -100, 100), unique=True)


def _sort_axis(draw, a):
    return draw(st.none() | st.integers(-a.ndim, a.ndim - 1))


@SETTINGS
@given(st.sampled_from(NUMERIC), st.booleans(), st.data())
def test_sort_values(dtype, ascend, data):
    a = data.draw(arrays(dtype, lo=-5, hi=5, integral=data.draw(st.booleans())))  # with ties
    axis = _sort_axis(data.draw, a)
    src, ax = (a.reshape(-1), 0) if axis is None else (a, axis)
    want = np.sort(src, axis=ax)
    if not ascend:
        want = np.flip(want, axis=ax)
    check(mx.nd.sort(nd(a), axis=axis, is_ascend=ascend), want, rtol=0, atol=0)


@SETTINGS
@given(st.sampled_from(NUMERIC), st.booleans(), st.sampled_from(["float32", "float64", "int32", "int64"]), st.data())
def test_argsort_without_ties(dtype, ascend, out_dtype, data):
    a = data.draw(unique_arrays(dtype))
    axis = _sort_axis(data.draw, a)
    src, ax = (a.reshape(-1), 0) if axis is None else (a, axis)
    want = np.argsort(src, axis=ax, kind="stable")
    if not ascend:
        want = np.flip(want, axis=ax)
    check(mx.nd.argsort(nd(a), axis=axis, is_ascend=ascend, dtype=out_dtype), want.astype(out_dtype))
    check(mx.nd.argsort(nd(a), axis=axis, is_ascend=ascend), want.astype(np.float32))


@FEW
@given(st.sampled_from(NUMERIC), st.data())
def test_argsort_with_ties_is_stable_ascending(dtype, data):
    a = data.draw(arrays(dtype, shape=shapes(max_dims=2), lo=0, hi=2, integral=True))
    want = np.argsort(a, axis=-1, kind="stable")
    check(mx.nd.argsort(nd(a), dtype="int64"), want.astype(np.int64))


@SETTINGS
@given(st.sampled_from(NUMERIC), st.sampled_from(["indices", "value", "both", "mask"]), st.booleans(), st.data())
def test_topk(dtype, ret_typ, ascend, data):
    a = data.draw(unique_arrays(dtype))
    axis = _sort_axis(data.draw, a)
    src, ax = (a.reshape(-1), 0) if axis is None else (a, axis)
    n = src.shape[ax]
    k = data.draw(st.integers(1, n))
    order = np.argsort(src, axis=ax, kind="stable")
    if not ascend:
        order = np.flip(order, axis=ax)
    idx = np.take(order, np.arange(k), axis=ax)
    vals = np.take_along_axis(src, idx, axis=ax)
    kw = {"axis": axis, "k": k, "ret_typ": ret_typ, "is_ascend": ascend}
    got = mx.nd.topk(nd(a), **kw)
    if ret_typ == "indices":
        check(got, idx.astype(np.float32))
        check(mx.nd.topk(nd(a), dtype="int32", **kw), idx.astype(np.int32))
    elif ret_typ == "value":
        check(got, vals)
    elif ret_typ == "both":
        assert isinstance(got, list) and len(got) == 2
        check(got[0], vals)
        check(got[1], idx.astype(np.float32))
    else:
        mask = np.zeros(src.shape, dtype)
        np.put_along_axis(mask, idx, 1, axis=ax)
        check(got, mask.reshape(a.shape) if axis is None else mask)


@pytest.mark.parametrize("op", ["sort", "argsort", "topk", "argmax", "argmin"])
def test_ordering_int64_above_2_pow_53(op):
    a = np.array([2**53 + 1, 2**53, 2**53 + 3], np.int64)
    x = nd(a)
    if op == "sort":
        check(mx.nd.sort(x), np.sort(a))
    elif op == "argsort":
        check(mx.nd.argsort(x, dtype="int64"), np.argsort(a))
    elif op == "topk":
        check(mx.nd.topk(x, k=2, ret_typ="value"), np.array([2**53 + 3, 2**53 + 1], np.int64))
    elif op == "argmax":
        check(mx.nd.argmax(nd(a[:2][::-1]), axis=0), np.array([1], np.int64))  # [2**53, 2**53 + 1]
    else:
        check(mx.nd.argmin(x, axis=0), np.array([1], np.int64))
