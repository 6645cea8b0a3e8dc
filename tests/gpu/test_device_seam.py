"""The GPU side of the device seam, run where a CUDA driver and a GPU exist (skipped elsewhere):
discovery, device buffers and host copies work; operators refuse the GPU with a clear
``DeviceError`` until the CUDA kernels land (the CUDA issue replaces these last tests)."""

import numpy as np
import pytest

import rmx as mx
from rmx.base import DeviceError

pytestmark = pytest.mark.skipif(mx.context.num_gpus() == 0, reason="needs a GPU and its driver")


def test_gpus_are_counted_and_their_memory_read():
    assert mx.context.num_gpus() >= 1
    free, total = mx.context.gpu_memory_info(0)
    assert 0 < free <= total


def test_arrays_live_on_the_gpu_and_copy_both_ways():
    z = mx.nd.zeros((2, 3), ctx=mx.gpu(0))
    assert z.context == mx.gpu(0)
    np.testing.assert_array_equal(z.asnumpy(), np.zeros((2, 3), np.float32))
    x = np.arange(12, dtype=np.float64).reshape(3, 4) / 7
    a = mx.nd.array(x, ctx=mx.gpu(0), dtype="float64")
    np.testing.assert_array_equal(a.asnumpy(), x)
    a[:] = x[::-1].copy()
    np.testing.assert_array_equal(a.asnumpy(), x[::-1])


def test_operators_refuse_the_gpu_clearly():
    a = mx.nd.array(np.ones(4, np.float32), ctx=mx.gpu(0))
    with pytest.raises(DeviceError, match="no kernel for gpu"):
        mx.nd.exp(a)


def test_a_gpu_past_the_count_is_refused():
    with pytest.raises(DeviceError, match="reports"):
        mx.nd.zeros((2,), ctx=mx.gpu(mx.context.num_gpus()))
