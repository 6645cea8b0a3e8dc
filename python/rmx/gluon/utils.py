"""Gluon's helpers (``mx.gluon.utils``), as MXNet 1.9.1: splitting a batch over devices,
clipping gradients by their global norm, checking a file's SHA-1; and the small internals the
other Gluon files share (hook handles, shape checks, list printing).

    >>> import rmx as mx
    >>> parts = mx.gluon.utils.split_data(mx.nd.arange(6), 3)
    >>> [p.asnumpy().tolist() for p in parts]
    [[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]
"""

import collections
import hashlib
import warnings
import weakref

import numpy as np

from .. import ndarray

__all__ = ["split_data", "split_and_load", "clip_global_norm", "check_sha1"]


def split_data(data, num_slice, batch_axis=0, even_split=True):
    """Splits ``data`` into ``num_slice`` slices along ``batch_axis``; the first
    ``size % num_slice`` slices get one more element when the split is uneven (an error unless
    ``even_split=False``)."""
    size = data.shape[batch_axis]
    if even_split and size % num_slice != 0:
        raise ValueError(
            "data with shape %s cannot be evenly split into %d slices along axis %d. "
            "Use a batch size that's multiple of %d or set even_split=False to allow "
            "uneven partitioning of data." % (str(data.shape), num_slice, batch_axis, num_slice))
    n_each, extras = divmod(size, num_slice)
    sizes = [0] + extras * [n_each + 1] + (num_slice - extras) * [n_each]
    div = np.array(sizes).cumsum()
    if batch_axis != 0:
        return [ndarray.slice_axis(data, axis=batch_axis, begin=int(div[i]), end=int(div[i + 1]))
                for i in range(num_slice)]
    return [data[int(div[i]):int(div[i + 1])] if i < num_slice - 1 else data[int(div[i]):size]
            for i in range(num_slice)]


def split_and_load(data, ctx_list, batch_axis=0, even_split=True):
    """Splits ``data`` (an NDArray or anything ``mx.nd.array`` takes) into one slice per context
    of ``ctx_list`` and copies each slice there."""
    if not isinstance(data, ndarray.NDArray):
        data = ndarray.array(data, ctx=ctx_list[0])
    if len(ctx_list) == 1:
        return [data.as_in_context(ctx_list[0])]
    slices = split_data(data, len(ctx_list), batch_axis, even_split)
    return [s.as_in_context(ctx) for s, ctx in zip(slices, ctx_list)]


def clip_global_norm(arrays, max_norm, check_isfinite=True):
    """Rescales ``arrays`` in place so that the 2-norm of all of them together is at most
    ``max_norm``; returns that norm before clipping (a float, or an NDArray when
    ``check_isfinite=False``, which then never waits).

    >>> import rmx as mx
    >>> g = [mx.nd.array([3.0, 0.0]), mx.nd.array([0.0, 4.0])]
    >>> round(float(mx.gluon.utils.clip_global_norm(g, 1.0)), 4)
    5.0
    >>> [round(float(x), 4) for x in g[0].asnumpy()]
    [0.6, 0.0]
    """
    assert len(arrays) > 0
    ctx = arrays[0].context

    def _norm(array):
        x = array.reshape((-1,))
        return ndarray.dot(x, x)

    total_norm = ndarray.add_n(*[_norm(arr).as_in_context(ctx) for arr in arrays])
    total_norm = ndarray.sqrt(total_norm)
    if check_isfinite and not np.isfinite(total_norm.asscalar()):
        warnings.warn(UserWarning("nan or inf is detected. Clipping results will be undefined."),
                      stacklevel=2)
    scale = max_norm / (total_norm + 1e-8)
    scale = ndarray.min(ndarray.concat(scale, ndarray.ones(1, ctx=ctx), dim=0))
    for arr in arrays:
        arr *= scale.as_in_context(arr.context)
    if check_isfinite:
        return total_norm.asscalar()
    return total_norm


def check_sha1(filename, sha1_hash):
    """Whether the SHA-1 of the file's content is ``sha1_hash`` (hex)."""
    sha1 = hashlib.sha1()
    with open(filename, "rb") as f:
        while True:
            data = f.read(1048576)
            if not data:
                break
            sha1.update(data)
    return sha1.hexdigest() == sha1_hash


# --- internals shared by the Gluon files -------------------------------------------------------

def _indent(s_, num_spaces):
    """Indents every line of ``s_`` but the first by ``num_spaces``."""
    lines = s_.split("\n")
    if len(lines) == 1:
        return s_
    first = lines.pop(0)
    return "\n".join([first] + [num_spaces * " " + line for line in lines])


def _brief_print_list(lst, limit=7):
    """``'a', 'b', ..., 'z'``: at most ``limit`` quoted items."""
    lst = list(lst)
    if len(lst) > limit:
        return _brief_print_list(lst[:limit // 2], limit) + ", ..., " + \
            _brief_print_list(lst[-limit // 2:], limit)
    return ", ".join(["'%s'" % str(i) for i in lst])


def shape_is_known(shape):
    """Whether ``shape`` has no unknown (0) dimension."""
    if shape is None:
        return False
    if len(shape) == 0:
        return False
    for dim in shape:
        if dim == 0:
            return False
        assert dim > 0, "shape dimension size cannot be less than 0, while received %d" % dim
    return True


class HookHandle(object):
    """A handle to a forward (pre-)hook; ``detach()`` removes it (also on leaving a ``with``)."""

    def __init__(self):
        self._hooks_dict_ref = None
        self._id = None

    def attach(self, hooks_dict, hook):
        assert not self._hooks_dict_ref, "The same handle cannot be attached twice."
        self._id = id(hook)
        hooks_dict[self._id] = hook
        self._hooks_dict_ref = weakref.ref(hooks_dict)

    def detach(self):
        hooks_dict = self._hooks_dict_ref()
        if hooks_dict is not None and self._id in hooks_dict:
            del hooks_dict[self._id]

    def __getstate__(self):
        return (self._hooks_dict_ref(), self._id)

    def __setstate__(self, state):
        if state[0] is None:
            self._hooks_dict_ref = weakref.ref(collections.OrderedDict())
        else:
            self._hooks_dict_ref = weakref.ref(state[0])
        self._id = state[1]

    def __enter__(self):
        return self

    def __exit__(self, ptype, value, trace):
        self.detach()
