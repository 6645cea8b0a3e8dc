"""``NDArray.__getitem__`` and ``__setitem__`` with MXNet 1.x's rules.

Basic indexing (ints, slices with any step, ``...``, ``None``) gives a view that shares storage:
writes through it are seen by the base, in push order. An integer index that would give a 0-d
result gives shape (1,), as MXNet has no 0-d arrays. A single integer array (list, NumPy array
or NDArray) indexes the first axis through ``take``; other advanced forms are computed through
NumPy on the host (synchronously), as they are rare and MXNet itself copies for them.
"""

import numbers

import numpy as np

from .. import _rmx
from ..base import IndexError as MXIndexError
from ..base import InvalidArgumentError, MXNetError
from .ndarray import NDArray, _scalar_str, _wrap, array, dtype_name, invoke


def _is_basic(k):
    return k is None or k is Ellipsis or isinstance(k, (slice, numbers.Integral)) and not isinstance(k, bool)


def _expand(key, ndim):
    key = key if isinstance(key, tuple) else (key,)
    if sum(k is Ellipsis for k in key) > 1:
        raise MXIndexError("an index can only have a single ellipsis ('...')")
    used = sum(1 for k in key if k is not None and k is not Ellipsis)
    if used > ndim:
        raise MXIndexError(f"too many indices ({used}) for a {ndim}-d array")
    out = []
    for k in key:
        if k is Ellipsis:
            out.extend([slice(None)] * (ndim - used))
        else:
            out.append(k)
    return out


def basic_view(x, key):
    """The view of ``x`` that basic index ``key`` selects."""
    if _rmx.is_recording() and _rmx.is_tracked(x.handle):
        return _recorded_basic(x, key)
    shape, strides, offset = x.shape, x.handle.strides, x.handle.offset
    new_shape, new_strides, dim = [], [], 0
    for k in _expand(key, x.ndim):
        if k is None:
            new_shape.append(1)
            new_strides.append(0)
            continue
        n = shape[dim]
        if isinstance(k, numbers.Integral):
            i = int(k) + n if k < 0 else int(k)
            if not 0 <= i < n:
                raise MXIndexError(f"index {int(k)} is out of bounds for axis {dim} with size {n}")
            offset += i * strides[dim]
        else:
            r = range(*k.indices(n))
            if len(r):
                offset += r.start * strides[dim]
            new_shape.append(len(r))
            new_strides.append(strides[dim] * r.step)
        dim += 1
    new_shape += list(shape[dim:])
    new_strides += list(strides[dim:])
    if not new_shape:
        new_shape, new_strides = [1], [1]
    return _wrap(x.handle.view(new_shape, new_strides, offset))


def _recorded_basic(x, key):
    """Basic indexing as recorded operators (``slice``, then ``Reshape`` for integer indices
    and new axes), so that gradients flow back to ``x``."""
    begin, end, step, new_shape, dim = [], [], [], [], 0
    for k in _expand(key, x.ndim):
        if k is None:
            new_shape.append(1)
            continue
        n = x.shape[dim]
        if isinstance(k, numbers.Integral):
            i = int(k) + n if k < 0 else int(k)
            if not 0 <= i < n:
                raise MXIndexError(f"index {int(k)} is out of bounds for axis {dim} with size {n}")
            begin.append(i), end.append(i + 1), step.append(1)
        else:
            r = range(*k.indices(n))
            begin.append(r.start), step.append(r.step)
            end.append(None if r.stop < 0 else r.stop)
            new_shape.append(len(r))
        dim += 1
    new_shape += list(x.shape[dim:])
    fmt = lambda v: "(" + ", ".join("None" if e is None else str(e) for e in v) + ("," if len(v) == 1 else "") + ")"
    y = x
    if begin:
        y = invoke("slice", [x], [("begin", fmt(begin)), ("end", fmt(end)), ("step", fmt(step))])[0]
    if list(y.shape) != new_shape:
        y = invoke("Reshape", [y], [("shape", str(tuple(new_shape or [1])))])[0]
    return y


def _index_array(k):
    if isinstance(k, NDArray):
        return k
    return array(np.asarray(k), dtype="int64")


def getitem(x, key):
    if isinstance(key, tuple) and all(_is_basic(k) for k in key) or _is_basic(key):
        return basic_view(x, key)
    if isinstance(key, (NDArray, np.ndarray, list)) and not (isinstance(key, np.ndarray) and key.dtype == bool):
        return invoke("take", [x, _index_array(key)], [("axis", "0"), ("mode", "raise")])[0]
    if isinstance(key, np.ndarray) and key.dtype == bool or isinstance(key, NDArray) and key.dtype == np.bool_:
        raise InvalidArgumentError("boolean mask indexing is not supported (as in MXNet 1.x)")
    np_key = tuple(k.asnumpy() if isinstance(k, NDArray) else k for k in key)
    return array(x.asnumpy()[np_key], ctx=x.context, dtype=x.dtype)


def setitem(x, key, value):
    if _rmx.is_recording() and _rmx.is_tracked(x.handle):
        raise MXNetError("Inplace operations (+=, -=, x[:]=, etc) are not supported when recording with autograd.")
    basic = isinstance(key, tuple) and all(_is_basic(k) for k in key) or _is_basic(key)
    if not basic:
        # Advanced assignment: through the host, synchronously, as documented above.
        data = x.asnumpy()
        np_key = key.asnumpy() if isinstance(key, NDArray) else tuple(k.asnumpy() if isinstance(k, NDArray) else k for k in key) if isinstance(key, tuple) else key
        data[np_key] = value.asnumpy() if isinstance(value, NDArray) else value
        x.handle.write_from(np.ascontiguousarray(data).reshape(-1).view(np.uint8))
        return
    view = basic_view(x, key)
    if isinstance(value, numbers.Number) or isinstance(value, np.generic):
        attrs = [("shape", str(view.shape)), ("dtype", view.handle.dtype), ("value", _scalar_str(value))]
        invoke("_full", [], attrs, out=view)
    elif isinstance(value, NDArray):
        src = value
        if src.shape != view.shape:
            src = invoke("broadcast_to", [src.reshape(_right_align(src.shape, view.shape))], [("shape", str(view.shape))])[0]
        src.copyto(view)
    else:
        data = np.broadcast_to(np.asarray(value, dtype=dtype_name(view.dtype)), view.shape)
        view.handle.write_from(np.ascontiguousarray(data).reshape(-1).view(np.uint8))


def _right_align(shape, target):
    """``shape`` without leading 1s beyond ``target``'s rank, so it can broadcast to it."""
    shape = tuple(shape)
    while len(shape) > len(target) and shape[0] == 1:
        shape = shape[1:]
    return shape or (1,)
