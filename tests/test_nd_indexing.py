"""Property tests for ``mx.nd`` indexing against NumPy: basic indexing (ints, slices with any step,
``...``, ``None``) giving views that share storage, ``__setitem__`` with scalars, NDArrays, NumPy
arrays and lists, integer-array indexing, take, pick, one_hot, and the index errors. Helpers
come from ``test_nd_ops.py``."""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import rmx as mx
from rmx.base import InvalidArgumentError, MXNetError
from test_nd_ops import ALL, FEW, NUMERIC, SETTINGS, arrays, check, elements, mx_shape, nd, shapes

any_array = st.sampled_from(ALL).flatmap(lambda d: arrays(d, lo=-100, hi=100))


@st.composite
def basic_index(draw, shape):
    """A basic index for ``shape``: ints, slices (any step), None and at most one Ellipsis."""
    n = len(shape)
    used = draw(st.integers(0, n))
    entries = []
    for d in shape[:used]:
        kind = draw(st.sampled_from(["int", "slice", "slice", "full"]))
        if kind == "int":
            entries.append(draw(st.integers(-d, d - 1)))
        elif kind == "full":
            entries.append(slice(None))
        else:
            step = draw(st.sampled_from([None, 1, 2, 3, -1, -2]))
            entries.append(slice(draw(st.none() | st.integers(-d - 1, d + 1)), draw(st.none() | st.integers(-d - 1, d + 1)), step))
    if used < n and draw(st.booleans()):
        entries.append(Ellipsis)
    for _ in range(draw(st.integers(0, 2))):
        entries.insert(draw(st.integers(0, len(entries))), None)
    if len(entries) == 1 and draw(st.booleans()):
        return entries[0]  # a bare int / slice / None / Ellipsis
    return tuple(entries)


@st.composite
def indexed(draw, arrays_strategy=any_array):
    a = draw(arrays_strategy)
    key = draw(basic_index(a.shape))
    assume(a[key].size > 0)
    return a, key


@SETTINGS
@given(indexed())
def test_basic_getitem(case):
    a, key = case
    want = np.asarray(a[key])
    check(nd(a)[key], want.reshape(mx_shape(want.shape)))


@SETTINGS
@given(indexed(), st.data())
def test_basic_index_is_a_view(case, data):
    a, key = case
    x = nd(a)
    v = x[key]
    value = data.draw(elements(a.dtype, -5, 5))
    v[:] = value
    want = a.copy()
    want[key] = value
    check(x, want)
    check(v, np.asarray(want[key]).reshape(v.shape))
    # writes through the base are seen by the view too
    x[:] = data.draw(elements(a.dtype, -5, 5)) if a.dtype != np.bool_ else True
    check(v, x.asnumpy()[key].reshape(v.shape))


@SETTINGS
@given(indexed(st.sampled_from(NUMERIC).flatmap(lambda d: arrays(d, shape=shapes(min_dims=2), lo=-100, hi=100))), st.data())
def test_view_of_a_view(case, data):
    a, key = case
    x = nd(a)
    v = x[key]
    sub = data.draw(basic_index(v.shape))
    vv = v[sub]
    expected_vv = np.asarray(a[key]).reshape(v.shape)[sub]
    assume(expected_vv.size > 0)
    check(vv, np.asarray(expected_vv).reshape(mx_shape(np.shape(expected_vv))))
    vv[:] = 1
    want = a.copy()
    inner = want[key] if np.ndim(want[key]) else None
    if inner is None or np.shape(want[key]) != v.shape:
        return  # a 0-d NumPy result is not a view; the (1,) MXNet one is checked above
    inner[sub] = 1
    check(x, want)


@st.composite
def setitem_case(draw):
    a, key = draw(indexed())
    target = np.asarray(a[key])
    tshape = mx_shape(target.shape)
    kind = draw(st.sampled_from(["scalar", "nd", "nd_bcast", "numpy", "list"]))
    if kind == "scalar":
        value = draw(elements(a.dtype, -5, 5))
        if a.dtype.kind in "iu" and draw(st.booleans()):
            value = float(value) + 0.5 if value >= 0 else float(value) - 0.5  # cast toward zero
        return a, key, kind, value
    if kind == "nd_bcast":
        # trailing dims of the target, some reduced to 1
        k = draw(st.integers(1, len(tshape)))
        vshape = tuple(1 if draw(st.booleans()) else d for d in tshape[-k:])
    else:
        vshape = tshape
    return a, key, kind, draw(arrays(a.dtype, shape=st.just(vshape), lo=-5, hi=5))


@SETTINGS
@given(setitem_case())
def test_basic_setitem(case):
    a, key, kind, value = case
    x = nd(a)
    want = a.copy()
    if kind == "scalar":
        v = np.trunc(value) if a.dtype.kind in "iu" else value
        want[key] = np.asarray(v).astype(a.dtype)
        x[key] = value
    else:
        want[key] = value.reshape(np.shape(want[key])) if kind != "nd_bcast" else np.broadcast_to(value, mx_shape(np.shape(want[key]))).reshape(np.shape(want[key]))
        x[key] = {"nd": nd, "nd_bcast": nd, "numpy": lambda v: v, "list": lambda v: v.tolist()}[kind](value)
    check(x, want)


@SETTINGS
@given(st.sampled_from(NUMERIC).flatmap(lambda d: arrays(d, shape=shapes(min_dims=2), lo=-100, hi=100)), st.data())
def test_setitem_with_broadcast_row(a, data):
    row = data.draw(arrays(a.dtype, shape=st.just(a.shape[1:])))
    x = nd(a)
    i = data.draw(st.integers(-a.shape[0], a.shape[0] - 1))
    x[i] = nd(row)
    x[:, ...] = x  # self-assignment is a no-op
    want = a.copy()
    want[i] = row
    check(x, want)
    col = data.draw(arrays(a.dtype, shape=st.just((a.shape[0],) + (1,) * (a.ndim - 2))))
    x[:, 0] = nd(col)
    want[:, 0] = col
    check(x, want)


@SETTINGS
@given(any_array, st.data())
def test_integer_array_index_takes_along_axis_0(a, data):
    n = a.shape[0]
    idx = data.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=5))
    want = a[np.array(idx)]
    check(nd(a)[idx], want)
    check(nd(a)[np.array(idx)], want)
    check(nd(a)[mx.nd.array(np.array(idx) % n)], a[np.array(idx) % n])
    idx2 = np.array(idx).reshape(-1, 1) if len(idx) > 1 else np.array(idx)
    check(nd(a)[idx2], a[idx2])


@SETTINGS
@given(st.sampled_from(NUMERIC).flatmap(lambda d: arrays(d, shape=shapes(min_dims=2), lo=-100, hi=100)), st.data())
def test_integer_array_setitem(a, data):
    n = a.shape[0]
    idx = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
    value = data.draw(arrays(a.dtype, shape=st.just((len(idx),) + a.shape[1:])))
    x = nd(a)
    x[idx] = value
    want = a.copy()
    want[idx] = value
    check(x, want)


@FEW
@given(st.sampled_from(NUMERIC).flatmap(lambda d: arrays(d, shape=shapes(min_dims=2, max_dims=2))), st.data())
def test_mixed_advanced_index(a, data):
    cols = data.draw(st.lists(st.integers(0, a.shape[1] - 1), min_size=1, max_size=4))
    r = data.draw(st.integers(0, a.shape[0] - 1))
    key = (slice(r, r + 1), cols)
    check(nd(a)[key], a[key])


@SETTINGS
@given(any_array)
def test_iteration_and_len(a):
    x = nd(a)
    assert len(x) == a.shape[0]
    rows = list(x)
    assert len(rows) == a.shape[0]
    for r, w in zip(rows, a):
        check(r, np.asarray(w).reshape(mx_shape(np.shape(w))))


def test_repeated_writes_through_views_keep_push_order():
    x = mx.nd.zeros((4, 5), dtype="int32")
    want = np.zeros((4, 5), np.int32)
    for i in range(4):
        v = x[i, ::-1]
        v += i + 1
        want[i, ::-1] += i + 1
        x[:, i] = x[:, i + 1] * 2
        want[:, i] = want[:, i + 1] * 2
    check(x, want)


# --- take, pick, one_hot --------------------------------------------------------------------------
@st.composite
def take_case(draw):
    a = draw(st.sampled_from(ALL).flatmap(lambda d: arrays(d, shape=shapes(max_dims=3), lo=-100, hi=100)))
    axis = draw(st.integers(-a.ndim, a.ndim - 1))
    n = a.shape[axis]
    mode = draw(st.sampled_from(["clip", "wrap"]))
    idtype = draw(st.sampled_from(["float32", "int32", "int64", "float64"]))
    ishape = draw(shapes(max_dims=2, max_side=4))
    idx = draw(arrays(idtype, shape=st.just(ishape), lo=-2 * n, hi=2 * n, integral=True))
    return a, idx, axis, mode


@SETTINGS
@given(take_case())
def test_take(case):
    a, idx, axis, mode = case
    want = np.take(a, idx.astype(np.int64), axis=axis, mode=mode)
    check(mx.nd.take(nd(a), nd(idx), axis=axis, mode=mode), want)
    if axis == 0 and mode == "clip":
        check(mx.nd.take(nd(a), nd(idx)), want)  # defaults: axis 0, clip


def test_take_truncates_float_indices():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    check(mx.nd.take(nd(a), mx.nd.array([1.7, 0.2, 2.9]), axis=1), a[:, [1, 0, 2]])


@st.composite
def pick_case(draw):
    a = draw(st.sampled_from(NUMERIC).flatmap(lambda d: arrays(d, shape=shapes(max_dims=3), lo=-100, hi=100)))
    axis = draw(st.integers(-a.ndim, a.ndim - 1))
    n = a.shape[axis]
    mode = draw(st.sampled_from(["clip", "wrap"]))
    ishape = tuple(d for i, d in enumerate(a.shape) if i != axis % a.ndim) or (1,)
    if a.ndim == 1:
        ishape = (1,)
    idx = draw(arrays(draw(st.sampled_from(["float32", "int32", "int64"])), shape=st.just(ishape), lo=-2 * n, hi=2 * n, integral=True))
    return a, idx, axis, mode, draw(st.booleans())


@SETTINGS
@given(pick_case())
def test_pick(case):
    a, idx, axis, mode, keepdims = case
    n = a.shape[axis]
    i = idx.astype(np.int64)
    i = np.clip(i, 0, n - 1) if mode == "clip" else np.mod(i, n)
    ax = axis % a.ndim
    i = i.reshape(tuple(d for k, d in enumerate(a.shape) if k != ax) or ())
    picked = np.take_along_axis(a, np.expand_dims(i, ax), axis=ax)
    want = picked if keepdims else np.squeeze(picked, axis=ax)
    want = want.reshape(mx_shape(want.shape))
    check(mx.nd.pick(nd(a), nd(idx), axis=axis, mode=mode, keepdims=keepdims), want)


@SETTINGS
@given(st.sampled_from(["float32", "int32", "int64"]), st.integers(1, 6), st.sampled_from(NUMERIC), st.integers(-3, 5), st.integers(-3, 5), st.data())
def test_one_hot(idtype, depth, dtype, on, off, data):
    idx = data.draw(arrays(idtype, shape=shapes(max_dims=3), lo=-2, hi=depth + 1, integral=True))
    if dtype == "uint8":
        on, off = abs(on), abs(off)
    hot = idx.astype(np.int64)[..., None] == np.arange(depth)
    want = np.where(hot, on, off).astype(dtype)
    check(mx.nd.one_hot(nd(idx), depth, on_value=on, off_value=off, dtype=dtype), want)
    check(mx.nd.one_hot(nd(idx), depth=depth), hot.astype(np.float32))


# --- errors ---------------------------------------------------------------------------------------
@FEW
@given(any_array, st.data())
def test_out_of_range_int_index_raises(a, data):
    d = a.shape[0]
    i = data.draw(st.integers(d, d + 3) | st.integers(-d - 3, -d - 1))
    with pytest.raises(IndexError):
        nd(a)[i]
    with pytest.raises(MXNetError):
        nd(a)[(0,) * (a.ndim + 1)]


def test_boolean_mask_index_is_rejected():
    x = mx.nd.ones((3, 2))
    with pytest.raises(InvalidArgumentError, match="boolean"):
        x[np.array([True, False, True])]


def test_setitem_shape_mismatch_raises():
    x = mx.nd.zeros((3, 4))
    with pytest.raises(ValueError):
        x[:, 1] = mx.nd.ones((2,))
    with pytest.raises(ValueError):
        x[:, 1] = np.ones(2)
    check(x, np.zeros((3, 4), np.float32))
