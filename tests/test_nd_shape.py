"""Property tests for ``mx.nd``'s shape operators against NumPy: reshape (MXNet's special values
0, -1, -2, -3, -4 and reverse), flatten, expand_dims, squeeze, transpose, swapaxes, tile, repeat,
split, concat, stack, broadcast_to/axis/like, slice and slice_axis, for every dtype including
bool. Helpers come from ``test_nd_ops.py``."""

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import rmx as mx
from test_nd_ops import ALL, FEW, SETTINGS, arrays, check, nd, shapes

any_array = st.sampled_from(ALL).flatmap(lambda d: arrays(d))


def _divisors(n):
    return [d for d in range(1, n + 1) if n % d == 0]


@st.composite
def reshape_case(draw, allow_reverse=True):
    """(array, MXNet shape parameter, reverse, expected shape), built token by token."""
    a = draw(any_array)
    reverse = allow_reverse and draw(st.booleans())
    ps = a.shape[::-1] if reverse else a.shape  # the order MXNet processes dims in
    tokens, out, single = [], [], []  # single: tokens taking one input dim to one output dim
    i = 0
    while i < len(ps):
        # (-4 under reverse is tested apart: rmx and MXNet read its operands differently)
        choices = ["keep", "zero", "rest"] + ([] if reverse else ["split"]) + (["merge"] if i + 1 < len(ps) else [])
        c = draw(st.sampled_from(choices))
        d = ps[i]
        if c in ("keep", "zero"):
            single.append((len(tokens), len(out)))
            tokens.append(d if c == "keep" else 0)
            out.append(d)
            i += 1
        elif c == "merge":
            tokens.append(-3)
            out.append(d * ps[i + 1])
            i += 2
        elif c == "split":
            d1 = draw(st.sampled_from(_divisors(d)))
            d2 = d // d1
            infer = draw(st.sampled_from(["none", "left", "right"]))
            tokens += [-4, -1 if infer == "left" else d1, -1 if infer == "right" else d2]
            out += [d1, d2]
            i += 1
        else:
            tokens.append(-2)
            out.extend(ps[i:])
            i = len(ps)
    # One -1 may replace a single-dim token before any -4 or -2 (MXNet infers it by token index).
    firsts = [k for k, t in enumerate(tokens) if t in (-4, -2)]
    limit = firsts[0] if firsts else len(tokens)
    usable = [s for s in single if s[0] < limit and s[0] == s[1]]
    if usable and -1 not in tokens and draw(st.booleans()):
        tokens[draw(st.sampled_from(usable))[0]] = -1
    if reverse:
        tokens, out = tokens[::-1], out[::-1]
    return a, tuple(tokens), reverse, tuple(out)


@SETTINGS
@given(reshape_case())
def test_reshape_special_values(case):
    a, param, reverse, out = case
    want = a.reshape(out)
    check(nd(a).reshape(param, reverse=reverse), want)
    check(mx.nd.reshape(nd(a), shape=param, reverse=reverse), want)
    check(mx.nd.Reshape(nd(a), shape=param, reverse=reverse), want)
    if not reverse:
        check(nd(a).reshape(*param), want)


def test_reshape_reverse_with_minus_4_as_mxnet():
    # MXNet: dshape (1, 2, 1, 1) reversed is (1, 1, 2, 1); spec (1, 1, -4, 2, 1, 1) reversed is
    # (1, 1, 2, -4, 1, 1): 1, 1, 2, then -4 splits the last 1 into 1 x 1 -> (1, 1, 2, 1, 1).
    # rmx takes (2, 1) after the -4 as its operands and fails ("-4 splits 1 into 1 x 2").
    x = mx.nd.zeros((1, 2, 1, 1))
    assert x.reshape((1, 1, -4, 2, 1, 1), reverse=True).shape == (1, 1, 2, 1, 1)


@SETTINGS
@given(any_array, st.data())
def test_reshape_plain_and_minus_one(a, data):
    shape = list(data.draw(st.permutations(list(a.shape))))
    if data.draw(st.booleans()):
        shape[data.draw(st.integers(0, len(shape) - 1))] = -1
    check(nd(a).reshape(shape), a.reshape(shape))
    check(nd(a).reshape(-1), a.reshape(-1))


@SETTINGS
@given(st.sampled_from(ALL).flatmap(lambda d: arrays(d, lo=0, hi=5)), st.data())
def test_reshape_is_a_view(a, data):
    x = nd(a)
    r = x.reshape(-1)
    i = data.draw(st.integers(0, a.size - 1))
    r[i] = 1
    want = a.copy().reshape(-1)
    want[i] = 1
    check(x, want.reshape(a.shape))
    e = x.expand_dims(0)
    e[:] = 0
    check(x, np.zeros_like(a))


@SETTINGS
@given(any_array)
def test_flatten(a):
    want = a.reshape(a.shape[0], -1) if a.ndim > 1 else a.reshape(-1, 1)
    check(mx.nd.flatten(nd(a)), want)
    check(mx.nd.Flatten(nd(a)), want)
    check(nd(a).flatten(), want)


@SETTINGS
@given(any_array, st.data())
def test_expand_dims_and_squeeze(a, data):
    axis = data.draw(st.integers(-a.ndim - 1, a.ndim))
    want = np.expand_dims(a, axis)
    check(mx.nd.expand_dims(nd(a), axis=axis), want)
    check(nd(a).expand_dims(axis), want)
    sq = np.squeeze(a)
    check(nd(a).squeeze(), sq.reshape(sq.shape or (1,)))
    check(mx.nd.expand_dims(nd(a), axis=axis).squeeze(axis=axis), a)


@SETTINGS
@given(any_array, st.data())
def test_transpose(a, data):
    check(mx.nd.transpose(nd(a)), a.T)
    perm = data.draw(st.permutations(range(a.ndim)))
    if data.draw(st.booleans()):
        perm = [p - a.ndim if data.draw(st.booleans()) else p for p in perm]
    want = np.transpose(a, perm)
    check(mx.nd.transpose(nd(a), axes=tuple(perm)), want)
    check(nd(a).transpose(axes=tuple(perm)), want)
    if a.ndim <= 2:
        check(nd(a).T, a.T)


@SETTINGS
@given(any_array, st.data())
def test_swapaxes(a, data):
    d1 = data.draw(st.integers(-a.ndim, a.ndim - 1))
    d2 = data.draw(st.integers(-a.ndim, a.ndim - 1))
    want = np.swapaxes(a, d1, d2)
    check(mx.nd.swapaxes(nd(a), d1, d2), want)
    check(mx.nd.SwapAxis(nd(a), dim1=d1, dim2=d2), want)


@SETTINGS
@given(st.sampled_from(ALL).flatmap(lambda d: arrays(d, shape=shapes(max_dims=3, max_side=4))), st.lists(st.integers(1, 3), min_size=1, max_size=4))
def test_tile(a, reps):
    check(mx.nd.tile(nd(a), reps=tuple(reps)), np.tile(a, reps))


@SETTINGS
@given(any_array, st.integers(1, 3), st.data())
def test_repeat(a, repeats, data):
    axis = data.draw(st.none() | st.integers(-a.ndim, a.ndim - 1))
    want = np.repeat(a, repeats, axis=axis)
    kw = {} if axis is None else {"axis": axis}
    check(mx.nd.repeat(nd(a), repeats=repeats, **kw), want)


@SETTINGS
@given(any_array, st.data())
def test_split(a, data):
    axis = data.draw(st.integers(-a.ndim, a.ndim - 1))
    n = a.shape[axis]
    num = data.draw(st.sampled_from(_divisors(n)))
    squeeze = num == n and data.draw(st.booleans())
    wants = np.split(a, num, axis=axis)
    if squeeze:
        wants = [np.squeeze(w, axis=axis) for w in wants]
        wants = [w.reshape(w.shape or (1,)) for w in wants]
    got = mx.nd.split(nd(a), num_outputs=num, axis=axis, squeeze_axis=squeeze)
    got = got if isinstance(got, list) else [got]  # one output comes back as an NDArray
    assert len(got) == num
    for g, w in zip(got, wants):
        check(g, w)
    got2 = mx.nd.SliceChannel(nd(a), num, axis)
    for g, w in zip(got2 if isinstance(got2, list) else [got2], np.split(a, num, axis=axis)):
        check(g, w)


@st.composite
def joined_arrays(draw, same_shape):
    dtype = draw(st.sampled_from(ALL))
    base = list(draw(shapes()))
    axis = draw(st.integers(-len(base), len(base) - 1))
    count = draw(st.integers(1, 4))
    out = []
    for _ in range(count):
        shape = list(base)
        if not same_shape:
            shape[axis] = draw(st.integers(1, 4))
        out.append(draw(arrays(dtype, shape=st.just(tuple(shape)))))
    return out, axis


@SETTINGS
@given(joined_arrays(same_shape=False))
def test_concat(case):
    arrs, axis = case
    want = np.concatenate(arrs, axis=axis)
    check(mx.nd.concat(*[nd(x) for x in arrs], dim=axis), want)
    check(mx.nd.Concat(*[nd(x) for x in arrs], dim=axis), want)
    check(mx.nd.concatenate([nd(x) for x in arrs], axis=axis), want)
    if arrs[0].ndim >= 2 and axis in (1, 1 - arrs[0].ndim):
        check(mx.nd.concat(*[nd(x) for x in arrs]), want)  # MXNet's default dim is 1


@SETTINGS
@given(joined_arrays(same_shape=True), st.data())
def test_stack(case, data):
    arrs, _ = case
    axis = data.draw(st.integers(-arrs[0].ndim - 1, arrs[0].ndim))
    check(mx.nd.stack(*[nd(x) for x in arrs], axis=axis), np.stack(arrs, axis=axis))
    check(mx.nd.stack(*[nd(x) for x in arrs]), np.stack(arrs))


@st.composite
def broadcastable(draw):
    """(array with some size-1 dims, target shape)."""
    a = draw(any_array)
    shape = list(a.shape)
    for i in range(len(shape)):
        if draw(st.booleans()):
            shape[i] = 1
    a = a[tuple(slice(0, s) for s in shape)]
    target = [draw(st.integers(1, 4)) if s == 1 else s for s in shape]
    return np.ascontiguousarray(a), tuple(target)


@SETTINGS
@given(broadcastable(), st.data())
def test_broadcast_to_axis_like(case, data):
    a, target = case
    want = np.broadcast_to(a, target)
    check(mx.nd.broadcast_to(nd(a), shape=target), want)
    # 0 keeps the input's size (MXNet)
    zeroed = tuple(0 if (s == t and data.draw(st.booleans())) else t for s, t in zip(a.shape, target))
    check(mx.nd.broadcast_to(nd(a), shape=zeroed), want)
    axes = tuple(i for i, (s, t) in enumerate(zip(a.shape, target)) if s == 1 and t != 1)
    if axes:
        check(mx.nd.broadcast_axis(nd(a), axis=axes, size=tuple(target[i] for i in axes)), want)
        check(mx.nd.broadcast_axes(nd(a), axis=axes, size=tuple(target[i] for i in axes)), want)
    like = nd(np.zeros(target, np.float32))
    check(mx.nd.broadcast_like(nd(a), like), want)
    check(nd(a).broadcast_like(like), want)


@FEW
@example(a=np.zeros((3, 2), np.float32), size=4, axis=-1, rhs_axis=0)
@given(st.sampled_from(ALL).flatmap(lambda d: arrays(d, shape=shapes(min_dims=2, max_dims=3))), st.integers(1, 4), st.integers(-3, 2), st.sampled_from([0, -2]))
def test_broadcast_like_with_axes(a, size, axis, rhs_axis):
    # MXNet: out = lhs.shape with out[lhs_axes[i]] = rhs.shape[rhs_axes[i]] (lhs size 1 there)
    axis = max(-a.ndim, min(axis, a.ndim - 1))
    one = np.take(a, [0], axis=axis)
    other = np.zeros((size, 2), np.float32)
    want = np.repeat(one, size, axis=axis)
    check(mx.nd.broadcast_like(nd(one), nd(other), lhs_axes=(axis,), rhs_axes=(rhs_axis,)), want)


def _slice_entry(draw, d):
    step = draw(st.sampled_from([None, 1, 2, 3, -1, -2]))
    begin = draw(st.none() | st.integers(-d, d - 1))
    end = draw(st.none() | st.integers(-d, d))
    return begin, end, step


@SETTINGS
@given(any_array, st.data())
def test_slice(a, data):
    k = data.draw(st.integers(1, a.ndim))
    entries = [_slice_entry(data.draw, a.shape[i]) for i in range(k)]
    key = tuple(slice(b, e, s) for b, e, s in entries)
    want = a[key]
    if want.size == 0:
        return  # MXNet 1.x rejects empty slices
    begin = tuple(b for b, _, _ in entries)
    end = tuple(e for _, e, _ in entries)
    if all(s is None for _, _, s in entries):
        check(mx.nd.slice(nd(a), begin=begin, end=end), want)
    step = tuple(s for _, _, s in entries)
    check(mx.nd.slice(nd(a), begin=begin, end=end, step=step), want)
    check(mx.nd.crop(nd(a), begin=begin, end=end, step=step), want)


@SETTINGS
@given(any_array, st.data())
def test_slice_axis(a, data):
    axis = data.draw(st.integers(-a.ndim, a.ndim - 1))
    d = a.shape[axis]
    begin = data.draw(st.integers(-d, d - 1))
    end = data.draw(st.none() | st.integers(-d, d))
    key = [slice(None)] * a.ndim
    key[axis] = slice(begin, end)
    want = a[tuple(key)]
    if want.size == 0:
        return
    check(mx.nd.slice_axis(nd(a), axis=axis, begin=begin, end=end), want)


@FEW
@given(st.sampled_from(ALL).flatmap(lambda d: arrays(d, shape=shapes(min_dims=2))))
def test_shape_ops_on_strided_views(a):
    x = nd(a)[::-1, ::2]
    v = a[::-1, ::2]
    check(mx.nd.transpose(x), v.T)
    check(mx.nd.flatten(x), v.reshape(v.shape[0], -1))
    check(x.reshape(-1), v.reshape(-1))
    check(mx.nd.tile(x, reps=(2,)), np.tile(v, 2))
    check(mx.nd.concat(x, x, dim=0), np.concatenate([v, v]))
    check(mx.nd.stack(x, x, axis=1), np.stack([v, v], axis=1))
    check(mx.nd.repeat(x, repeats=2, axis=0), np.repeat(v, 2, axis=0))


@pytest.mark.parametrize("dtype", ALL)
def test_shape_ops_keep_dtype(dtype):
    a = (np.arange(24).reshape(2, 3, 4) % 7).astype(dtype)
    x = nd(a)
    for got, want in [
        (mx.nd.transpose(x), a.T),
        (mx.nd.swapaxes(x, 0, 1), a.swapaxes(0, 1)),
        (mx.nd.expand_dims(x, 1), a[:, None]),
        (mx.nd.tile(x, reps=(1, 2)), np.tile(a, (1, 2))),
        (mx.nd.repeat(x, 2, axis=2), a.repeat(2, axis=2)),
        (mx.nd.slice_axis(x, axis=2, begin=1, end=3), a[:, :, 1:3]),
        (mx.nd.broadcast_to(x[:, :1], shape=(2, 5, 4)), np.broadcast_to(a[:, :1], (2, 5, 4))),
    ]:
        check(got, want)
