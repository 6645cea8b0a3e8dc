"""The GPU memory pool on a real device (skipped without one): freed buffers are reused by
rounded size, ``Context.empty_cache()`` gives them back, and running out of memory is an
``OutOfMemoryError`` after the pool was emptied, with nothing lost. The pool's rules themselves
are checked without a GPU in ``crates/kernels/src/pool.rs``."""

import numpy as np
import pytest

import rmx as mx
from rmx.base import MXNetError, OutOfMemoryError

pytestmark = pytest.mark.skipif(mx.context.num_gpus() == 0, reason="needs a GPU and its driver")

MIB = 1 << 20


def stats():
    return mx.context.gpu_memory_pool_stats(0)


def test_a_freed_buffer_is_reused_for_the_same_rounded_size():
    a = mx.nd.zeros((MIB // 4,), ctx=mx.gpu(0))  # 1 MiB of float32
    a.wait_to_read()
    del a
    before = stats()
    assert before["pooled"] >= MIB
    b = mx.nd.zeros((MIB // 4 - 7,), ctx=mx.gpu(0))  # rounds to the same page multiple
    b.wait_to_read()
    after = stats()
    assert after["reuses"] == before["reuses"] + 1
    assert after["device_allocations"] == before["device_allocations"]
    np.testing.assert_array_equal(b.asnumpy(), 0)  # a reused buffer is zeroed again


def test_empty_cache_gives_kept_buffers_back():
    a = mx.nd.zeros((8 * MIB,), ctx=mx.gpu(0))
    del a
    assert stats()["pooled"] >= 32 * MIB
    mx.gpu(0).empty_cache()
    assert stats()["pooled"] == 0


def test_out_of_memory_is_an_error_after_the_pool_is_emptied_and_nothing_is_lost():
    keep = mx.nd.array(np.arange(6, dtype=np.float32), ctx=mx.gpu(0))
    spare = mx.nd.zeros((16 * MIB,), ctx=mx.gpu(0))
    del spare  # kept in the pool, to be emptied by the failed request
    free, total = mx.context.gpu_memory_info(0)
    releases = stats()["releases"]
    with pytest.raises(OutOfMemoryError, match="after emptying the memory pool") as e:
        mx.nd.zeros((total // 2,), ctx=mx.gpu(0))  # twice the device's memory in float32
    assert isinstance(e.value, MXNetError)
    assert stats()["releases"] > releases and stats()["pooled"] == 0
    np.testing.assert_array_equal(keep.asnumpy(), np.arange(6))
    np.testing.assert_array_equal(mx.nd.array(np.ones(3), ctx=mx.gpu(0)).asnumpy(), 1)
