"""DLPack: rmx arrays and NumPy (or PyTorch) arrays sharing memory without a copy, both ways,
in every dtype; views keep their strides; the memory outlives whichever side drops first; a
capsule is consumed once."""

import gc

import numpy as np
import pytest

import rmx as mx
from rmx.base import InvalidArgumentError

DTYPES = ["float16", "float32", "float64", "uint8", "int8", "int32", "int64", "bool"]


def _values(dtype, shape=(3, 4)):
    v = np.arange(np.prod(shape)).reshape(shape)
    return (v % 2 == 0) if dtype == "bool" else v.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_numpy_reads_an_rmx_array_without_a_copy(dtype):
    x = mx.nd.array(_values(dtype), dtype=dtype)
    a = np.from_dlpack(x)
    assert a.dtype == np.dtype(dtype) and a.shape == (3, 4)
    np.testing.assert_array_equal(a, _values(dtype))
    # The same memory: a write through rmx shows in the NumPy array once done.
    x[:] = 0
    x.wait_to_read()
    np.testing.assert_array_equal(a, np.zeros((3, 4), dtype))


@pytest.mark.parametrize("dtype", DTYPES)
def test_rmx_wraps_a_numpy_array_without_a_copy(dtype):
    a = _values(dtype)
    x = mx.nd.from_dlpack(a)
    assert x.dtype == np.dtype(dtype).type and x.shape == (3, 4) and x.context == mx.cpu()
    np.testing.assert_array_equal(x.asnumpy(), a)
    a[0, 0] = 1
    assert x.asnumpy()[0, 0] == a[0, 0]
    # rmx writes land in NumPy's memory.
    x[1] = 0
    x.wait_to_read()
    np.testing.assert_array_equal(a[1], np.zeros(4, dtype))


def test_results_computed_from_shared_memory_are_right():
    a = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    x = mx.nd.from_dlpack(a)
    np.testing.assert_allclose((mx.nd.exp(x) * 2).asnumpy(), np.exp(a) * 2, rtol=1e-6)


def test_strided_views_keep_their_strides_both_ways():
    base = np.arange(24, dtype=np.float64).reshape(4, 6)
    view = base[::2, 1::2]  # strides (12, 2) elements
    x = mx.nd.from_dlpack(view)
    np.testing.assert_array_equal(x.asnumpy(), view)
    back = np.from_dlpack(x)
    np.testing.assert_array_equal(back, view)
    assert np.shares_memory(back, base)
    reversed_view = base[::-1]
    np.testing.assert_array_equal(mx.nd.from_dlpack(reversed_view).asnumpy(), reversed_view)


def test_a_view_of_an_rmx_array_exports_its_window():
    x = mx.nd.array(np.arange(12, dtype=np.float32).reshape(3, 4))
    row = x[1]
    np.testing.assert_array_equal(np.from_dlpack(row), [4, 5, 6, 7])


def test_memory_outlives_the_side_that_drops_first():
    x = mx.nd.array(np.arange(6, dtype=np.float32))
    a = np.from_dlpack(x)
    del x
    gc.collect()
    np.testing.assert_array_equal(a, np.arange(6))
    b = np.arange(5, dtype=np.int64)
    y = mx.nd.from_dlpack(b)
    del b
    gc.collect()
    np.testing.assert_array_equal(y.asnumpy(), np.arange(5))


def test_capsules_in_mxnet_names_are_consumed_once():
    x = mx.nd.array([1.0, 2.0])
    cap = mx.nd.to_dlpack_for_read(x)
    y = mx.nd.from_dlpack(cap)
    np.testing.assert_array_equal(y.asnumpy(), [1, 2])
    with pytest.raises(InvalidArgumentError, match="unconsumed DLPack capsule"):
        mx.nd.from_dlpack(cap)
    # An unconsumed capsule frees what it holds with itself.
    del cap
    w = mx.nd.to_dlpack_for_write(x)
    del w
    gc.collect()
    with pytest.raises(InvalidArgumentError, match="DLPack capsule"):
        mx.nd.from_dlpack(object())


def test_pending_work_finishes_before_the_export():
    x = mx.nd.zeros((256, 256))
    y = mx.nd.dot(x + 1, x + 1)  # pushed, maybe still running
    np.testing.assert_array_equal(np.from_dlpack(y), np.full((256, 256), 256, np.float32))


def test_dlpack_device_names_the_host():
    assert mx.nd.zeros((2,)).__dlpack_device__() == (1, 0)


def test_torch_shares_memory_both_ways():
    torch = pytest.importorskip("torch")
    x = mx.nd.array(np.arange(6, dtype=np.float32))
    t = torch.from_dlpack(x)
    t[0] = 42
    assert x.asnumpy()[0] == 42
    y = mx.nd.from_dlpack(torch.arange(4, dtype=torch.int64))
    np.testing.assert_array_equal(y.asnumpy(), [0, 1, 2, 3])


def _raw_capsule(shape, strides, code=2, bits=32, device_type=1, byte_offset=0, null=False):
    """A hand-made DLPack capsule (no deleter) over a small buffer, describing `shape` and
    `strides`, as a hostile or buggy producer could make one; returns it with what it points to."""
    import ctypes

    class DLTensor(ctypes.Structure):
        _fields_ = [("data", ctypes.c_void_p), ("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32),
                    ("ndim", ctypes.c_int32), ("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16),
                    ("shape", ctypes.POINTER(ctypes.c_int64)), ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]

    class DLManagedTensor(ctypes.Structure):
        _fields_ = [("dl_tensor", DLTensor), ("manager_ctx", ctypes.c_void_p), ("deleter", ctypes.c_void_p)]

    buf = (ctypes.c_float * 16)()
    dims = (ctypes.c_int64 * len(shape))(*shape)
    steps = (ctypes.c_int64 * len(strides))(*strides)
    data = None if null else ctypes.addressof(buf)
    t = DLManagedTensor(DLTensor(data, device_type, 0, len(shape), code, bits, 1, dims, steps, byte_offset), None, None)
    new = ctypes.pythonapi.PyCapsule_New
    new.restype, new.argtypes = ctypes.py_object, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
    return new(ctypes.addressof(t), b"dltensor", None), (buf, dims, steps, t)


@pytest.mark.parametrize("shape, strides, match", [
    ((2 ** 62, 4), (4, 1), "more elements"),
    ((2 ** 40, 2 ** 40), (2 ** 40, 1), "more elements"),
    ((2, 2), (2 ** 62, 1), "spans more memory"),
    ((2, 2, 2), (2 ** 62, 2 ** 62, -(2 ** 62)), "spans more memory"),
    ((-1, 4), (4, 1), "negative extent"),
])
def test_a_capsule_describing_too_much_memory_is_refused(shape, strides, match):
    capsule, keep = _raw_capsule(shape, strides)
    with pytest.raises(InvalidArgumentError, match=match):
        mx.nd.from_dlpack(capsule)


def test_a_capsule_of_an_unknown_dtype_or_device_is_refused():
    capsule, keep = _raw_capsule((2,), (1,), code=5, bits=64)
    with pytest.raises(InvalidArgumentError, match="unsupported DLPack dtype"):
        mx.nd.from_dlpack(capsule)
    capsule, keep = _raw_capsule((2,), (1,), device_type=7)
    with pytest.raises(InvalidArgumentError, match="unsupported DLPack device type 7"):
        mx.nd.from_dlpack(capsule)


def test_the_producer_gets_its_memory_back_when_rmx_is_done():
    import weakref

    a = np.arange(6, dtype=np.float32)
    alive = weakref.ref(a)
    x = mx.nd.from_dlpack(a)
    y = x * 2
    del a
    gc.collect()
    assert alive() is not None, "rmx still holds the memory"
    del x
    y.wait_to_read()
    gc.collect()
    assert alive() is None, "the producer's deleter did not run"
    np.testing.assert_array_equal(y.asnumpy(), np.arange(6, dtype=np.float32) * 2)


def test_repeated_or_misaligned_elements_are_refused_with_a_way_out():
    stretched = np.broadcast_to(np.arange(3, dtype=np.float32), (4, 3))
    capsule, keep = _raw_capsule((4, 3), (0, 1))
    with pytest.raises(InvalidArgumentError, match="stride of 0"):
        mx.nd.from_dlpack(capsule)
    capsule, keep = _raw_capsule((3,), (1,), byte_offset=1)
    with pytest.raises(InvalidArgumentError, match="not aligned"):
        mx.nd.from_dlpack(capsule)
    # A copy is accepted.
    np.testing.assert_array_equal(mx.nd.from_dlpack(np.ascontiguousarray(stretched)).asnumpy(), stretched)


def test_an_empty_tensor_with_a_null_pointer_is_an_empty_array():
    capsule, keep = _raw_capsule((0, 3), (3, 1), null=True)
    x = mx.nd.from_dlpack(capsule)
    assert x.shape == (0, 3) and x.asnumpy().shape == (0, 3)
