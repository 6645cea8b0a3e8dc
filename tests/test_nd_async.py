"""NDArray's asynchronous contract: calls return before computing, shape and dtype errors raise at
the call, failures found while computing raise at the next sync point on what depends on them,
and in-place updates and views order correctly through the engine."""

import numpy as np
import pytest

import rmx as mx
from rmx.base import DeviceError, DTypeError, IndexError as MXIndexError, MXNetError, ParameterError, ShapeError


@pytest.fixture(params=["ThreadedEnginePerDevice", "NaiveEngine"])
def engine(request):
    mx.engine.set_engine_type(request.param)
    yield request.param
    mx.engine.set_engine_type("ThreadedEnginePerDevice")


def test_shape_dtype_and_parameter_errors_raise_at_the_call(engine):
    a, b = mx.nd.ones((2, 3)), mx.nd.ones((3, 2))
    with pytest.raises(ShapeError, match=r"broadcast_add.*\[2, 3\].*\[3, 2\]"):
        a + b
    with pytest.raises(ShapeError, match="dot"):
        mx.nd.dot(a, a)
    with pytest.raises(ShapeError, match="elemwise_add"):
        mx.nd.elemwise_add(a, b)
    with pytest.raises(DTypeError, match="different dtypes"):
        a + a.astype("float64")
    with pytest.raises(ParameterError, match="sum: parameter 'axs'"):
        mx.nd.sum(a, axs=1)
    with pytest.raises(DeviceError, match="gpu"):
        mx.nd.zeros((2,), ctx=mx.gpu(0))
    assert issubclass(ShapeError, ValueError) and issubclass(ShapeError, MXNetError)


def test_a_kernel_failure_surfaces_at_the_next_sync_and_only_on_dependents(engine):
    a = mx.nd.arange(4)
    bad = mx.nd.take(a, mx.nd.array([7]), mode="raise")  # the index is only known when it runs
    downstream = bad * 2 + 1
    independent = a * 3
    np.testing.assert_array_equal(independent.asnumpy(), [0, 3, 6, 9])
    with pytest.raises(MXIndexError, match="index 7 is out of bounds"):
        downstream.asnumpy()
    with pytest.raises(IndexError):
        bad.wait_to_read()
    mx.nd.waitall()  # already reported at the waits above


def test_waitall_reports_an_unobserved_failure_once(engine):
    a = mx.nd.arange(3)
    mx.nd.take(a, mx.nd.array([-9]), mode="raise")
    with pytest.raises(MXIndexError):
        mx.nd.waitall()
    mx.nd.waitall()


def test_in_place_updates_and_views_keep_program_order(engine):
    x = mx.nd.zeros((4, 4))
    row = x[1]
    col = x[:, 2]
    for i in range(50):
        x += 1
        row[:] = row * 2
        col[:] = 0.5
    want = np.zeros((4, 4), dtype="float32")
    for i in range(50):
        want += 1
        want[1] = want[1] * 2
        want[:, 2] = 0.5
    np.testing.assert_allclose(x.asnumpy(), want)


def test_random_seed_fixes_draws_whatever_the_engine(engine):
    mx.random.seed(42)
    first = [mx.random.uniform(shape=(3,)).asnumpy(), mx.random.normal(shape=(2, 2)).asnumpy()]
    mx.random.seed(42)
    again = [mx.random.uniform(shape=(3,)).asnumpy(), mx.random.normal(shape=(2, 2)).asnumpy()]
    for f, a in zip(first, again):
        np.testing.assert_array_equal(f, a)
    r = mx.random.randint(0, 5, shape=(1000,)).asnumpy()
    assert r.dtype == np.int32 and r.min() == 0 and r.max() == 4
    s = mx.nd.shuffle(mx.nd.arange(20)).asnumpy()
    np.testing.assert_array_equal(np.sort(s), np.arange(20))


def test_contexts_are_distinct_devices_and_copies_cross_them():
    a = mx.nd.arange(6, ctx=mx.cpu(1)).reshape((2, 3))
    assert a.context == mx.cpu(1)
    b = a.copyto(mx.cpu(2))
    assert b.context == mx.cpu(2)
    np.testing.assert_array_equal(b.asnumpy(), a.asnumpy())
    assert a.as_in_context(mx.cpu(1)) is a
    with mx.cpu(3):
        assert mx.nd.ones((1,)).context == mx.cpu(3)
    with pytest.raises(Exception, match="different devices"):
        a + mx.nd.ones((2, 3))


def test_repr_and_conversions_follow_mxnet():
    a = mx.nd.array([[1, 2, 3], [4, 5, 6]])
    assert repr(a).endswith("<NDArray 2x3 @cpu(0)>")
    assert a.dtype == np.float32  # float32 by default, as MXNet
    assert mx.nd.array(np.arange(3)).dtype == np.float32
    assert mx.nd.array(a.astype("int32")).dtype == np.int32  # an NDArray source keeps its dtype
    assert mx.nd.array([5]).asscalar() == 5
    with pytest.raises(Exception, match="not"):
        a.asscalar()
    assert len(a) == 2 and [r.shape for r in a] == [(3,), (3,)]
    with pytest.raises(ValueError):
        bool(a)
    assert bool(mx.nd.array([1]))
    assert a[1].shape == (3,) and a[1, 2].shape == (1,)
    np.testing.assert_array_equal(np.asarray(a), a.asnumpy())


def test_empty_arrays_flow_through_operators():
    z = mx.nd.zeros((3, 0))
    assert (z + mx.nd.zeros((1, 0))).shape == (3, 0)
    np.testing.assert_array_equal(mx.nd.sum(z, axis=1).asnumpy(), np.zeros(3))
    assert mx.nd.dot(mx.nd.zeros((0, 3)), mx.nd.zeros((3, 2))).shape == (0, 2)
    assert mx.nd.concat(mx.nd.zeros((2, 0)), mx.nd.ones((2, 3))).shape == (2, 3)
    with pytest.raises(ShapeError, match="argmax"):
        mx.nd.argmax(z, axis=1)
