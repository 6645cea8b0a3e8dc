"""Helpers of ``NDArrayIter``: putting its inputs in canonical form, shuffling, slicing."""

from collections import OrderedDict

import numpy as np

from ..base import InvalidArgumentError
from ..ndarray import NDArray, array


def _init_data(data, allow_empty, default_name):
    """``data`` as a sorted list of ``(name, NDArray)``.

    One array is named ``default_name``; a list of several is named ``_0_<default_name>``,
    ``_1_<default_name>``, ...; a dict keeps its keys. Anything not an NDArray goes through
    ``nd.array`` (so NumPy input becomes float32, as in MXNet).
    """
    assert (data is not None) or allow_empty
    if data is None:
        data = []
    if isinstance(data, (np.ndarray, NDArray)):
        data = [data]
    if isinstance(data, list):
        if not allow_empty:
            assert len(data) > 0
        if len(data) == 1:
            data = OrderedDict([(default_name, data[0])])
        else:
            data = OrderedDict([("_%d_%s" % (i, default_name), d) for i, d in enumerate(data)])
    if not isinstance(data, dict):
        raise TypeError("Input must be NDArray, numpy.ndarray, h5py.Dataset "
                        "a list of them or dict with them as values")
    data = dict(data)
    for k, v in data.items():
        if not isinstance(v, NDArray):
            try:
                data[k] = array(v)
            except Exception as err:
                raise TypeError(("Invalid type '%s' for %s, " % (type(v), k))
                                + "should be NDArray, numpy.ndarray or h5py.Dataset") from err
    return list(sorted(data.items()))


def _has_instance(data, dtype):
    """Whether one of the ``(name, array)`` pairs holds an instance of ``dtype``."""
    return any(isinstance(arr, dtype) for _, arr in data)


def _getdata_by_idx(data, idx):
    """The ``(name, array)`` pairs with their rows (first axis) taken in the order ``idx``.

    As in MXNet the rows go through NumPy and back with ``nd.array``, so the result is float32.
    """
    return [(k, array(v.asnumpy()[idx], ctx=v.context)) for k, v in data]


def _slice_along_batch_axis(data, s, batch_axis):
    """``data[begin:end]`` along ``batch_axis``; an end past the axis is an error, as in MXNet."""
    size = data.shape[batch_axis]
    begin = s.start if s.start is not None else 0
    end = s.stop if s.stop is not None else size
    if begin < 0:
        begin += size
    if end < 0:
        end += size
    if not 0 <= begin < end <= size:
        if end > size:
            raise InvalidArgumentError(
                "Check failed: *end <= axis_size: Invalid end for end=%d as axis_size is %d"
                % (end, size))
        raise InvalidArgumentError(
            "Invalid slice [%s, %s) along axis %d of size %d" % (s.start, s.stop, batch_axis, size))
    return data.slice_axis(axis=batch_axis, begin=begin, end=end)
