"""``mx.kv`` (rmx.kvstore): the single-machine ``local`` and ``device`` stores.

- One program of init/push/pull/pushpull/broadcast calls against MXNet 1.9.1, bit for bit
  (tests/fixtures/mxnet_kvstore.npz, written by tests/fixtures/make_kvstore_fixtures.py, whose
  ``program`` drives rmx here): sums over up to ten devices in MXNet's order, the custom updater's
  calls (keys, order), SGD and Adam through ``set_optimizer``, str keys, float64/float16 keys.
- MXNet's semantics and errors: assignment without an updater, aliasing of a single pushed
  value, key checks, types; everything queued, nothing waited for inside push/pull.
"""

import importlib.util
import json
import os
import types

import numpy as np
import pytest

import rmx as mx
import rmx.kvstore as kvs
import rmx.optimizer as opt
from rmx.base import MXNetError

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPE = (2, 3)

_spec = importlib.util.spec_from_file_location(
    "make_kvstore_fixtures", os.path.join(HERE, "fixtures", "make_kvstore_fixtures.py"))
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)
FIXTURE = np.load(os.path.join(HERE, "fixtures", "mxnet_kvstore.npz"))

# ``mx.kv`` is not in rmx/__init__.py yet: the program gets the names it uses from here.
MX = types.SimpleNamespace(kv=kvs, nd=mx.nd, cpu=mx.cpu, optimizer=opt)


@pytest.mark.parametrize("kv_type", gen.TYPES)
def test_program_matches_mxnet_exactly(kv_type):
    pulled, log = gen.program(MX, kv_type)
    assert log == json.loads(bytes(FIXTURE[kv_type + "/log"]).decode())
    count = int(FIXTURE[kv_type + "/count"][0])
    assert len(pulled) == count
    for i in range(count):
        expected = FIXTURE["%s/%d" % (kv_type, i)]
        assert pulled[i].dtype == expected.dtype, i
        np.testing.assert_array_equal(pulled[i], expected, err_msg="pull %d" % i)


def test_sum_orders_differ_between_local_and_device():
    """The fixture does tell the two reductions apart (local: v0 + (v1 + v2 + ...) four at a
    time; device: left to right)."""
    count = int(FIXTURE["local/count"][0])
    assert any(not np.array_equal(FIXTURE["local/%d" % i], FIXTURE["device/%d" % i]) for i in range(count))
    for kv_type, expected in (("local", 1.0), ("device", 0.0)):
        kv = kvs.create(kv_type)
        kv.init(0, mx.nd.zeros((1,)))
        kv.push(0, [mx.nd.array([v], ctx=mx.cpu(i)) for i, v in enumerate([1.0, 1e8, -1e8])])
        out = mx.nd.zeros((1,))
        kv.pull(0, out=out)
        assert out.asnumpy()[0] == expected, kv_type


# --------------------------------------------------------------------------------------------
# create, properties
# --------------------------------------------------------------------------------------------
def test_create_and_properties():
    kv = kvs.create()
    assert isinstance(kv, kvs.KVStore) and isinstance(kv, kvs.KVStoreBase)
    assert (kv.type, kv.rank, kv.num_workers) == ("local", 0, 1)
    assert kvs.create("Device").type == "device"
    for name in ["local_allreduce_cpu", "local_update_cpu", "local_allreduce_device"]:
        assert kvs.create(name).type == name
    assert kvs.create("local_allreduce_device")._device_comm
    assert not kvs.create("local_update_cpu")._device_comm
    assert kv.is_capable("optimizer") and kv.is_capable(kvs.KVStoreBase.OPTIMIZER)
    with pytest.raises(ValueError):
        kv.is_capable("magic")
    with pytest.raises(TypeError):
        kvs.create(3)
    kv._barrier()


@pytest.mark.parametrize("name", ["dist_sync", "dist_async", "dist_device_sync", "dist"])
def test_a_distributed_store_outside_a_job_says_what_is_missing(name, monkeypatch):
    for var in ["DMLC_PS_ROOT_URI", "DMLC_PS_ROOT_PORT", "DMLC_NUM_SERVER", "DMLC_NUM_WORKER", "DMLC_ROLE"]:
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(MXNetError, match="DMLC_PS_ROOT_URI is not set.*rmx.launch") as e:
        kvs.create(name)
    assert type(e.value).__name__ == "KVStoreError"


def test_other_unsupported_stores():
    for name in ["nccl", "horovod", "byteps"]:
        with pytest.raises(kvs.UnsupportedKVStoreError):
            kvs.create(name)


def test_registered_python_store():
    @kvs.KVStoreBase.register
    class MyStore(kvs.KVStoreBase):
        pass

    assert isinstance(kvs.create("mystore"), MyStore)
    del kvs.KVStoreBase.kv_registry["mystore"]


# --------------------------------------------------------------------------------------------
# push / pull semantics
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kv_type", ["local", "device"])
def test_push_sums_and_pull_broadcasts(kv_type):
    """MXNet's test_kvstore basics: push four ones, pull gives 4 everywhere; lists of keys."""
    kv = kvs.create(kv_type)
    kv.init(3, mx.nd.zeros(SHAPE))
    kv.init([5, 7, 9], [mx.nd.ones(SHAPE)] * 3)
    kv.push(3, [mx.nd.ones(SHAPE, ctx=mx.cpu(i)) for i in range(4)])
    outs = [mx.nd.zeros(SHAPE, ctx=mx.cpu(i)) for i in range(4)]
    kv.pull(3, out=outs)
    for i, o in enumerate(outs):
        assert o.context == mx.cpu(i)
        np.testing.assert_array_equal(o.asnumpy(), np.full(SHAPE, 4.0))
    kv.push([5, 7, 9], [[mx.nd.ones(SHAPE, ctx=mx.cpu(i)) * (k + 1) for i in range(2)] for k in range(3)])
    outs = [[mx.nd.zeros(SHAPE, ctx=mx.cpu(i)) for i in range(2)] for _ in range(3)]
    kv.pull([5, 7, 9], out=outs)
    for k, row in enumerate(outs):
        for o in row:
            np.testing.assert_array_equal(o.asnumpy(), np.full(SHAPE, 2.0 * (k + 1)))


def test_pull_casts_into_the_output_dtype():
    kv = kvs.create()
    kv.init("x", mx.nd.array([1.5, 2.5]))
    out = mx.nd.zeros((2,), dtype="float64")
    kv.pull("x", out=out)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out.asnumpy(), [1.5, 2.5])


def test_init_copies_the_value():
    kv = kvs.create()
    a = mx.nd.ones((3,))
    kv.init(0, a)
    a[:] = 5
    out = mx.nd.zeros((3,))
    kv.pull(0, out=out)
    np.testing.assert_array_equal(out.asnumpy(), [1, 1, 1])


def test_single_pushed_value_is_kept_not_copied():
    """As MXNet (its reduction returns a lone value as is): without an updater the store keeps
    the pushed array itself, so changing it later changes what pull gives."""
    kv = kvs.create()
    kv.init(5, mx.nd.zeros((3,)))
    a = mx.nd.ones((3,))
    kv.push(5, a)
    a[:] = 7
    out = mx.nd.zeros((3,))
    kv.pull(5, out=out)
    np.testing.assert_array_equal(out.asnumpy(), [7, 7, 7])
    b = [mx.nd.ones((3,)), mx.nd.ones((3,), ctx=mx.cpu(1))]
    kv.push(5, b)
    b[0][:] = 9
    kv.pull(5, out=out)
    np.testing.assert_array_equal(out.asnumpy(), [2, 2, 2])


def test_pushpull():
    kv = kvs.create()
    kv.init(0, mx.nd.zeros(SHAPE))
    vals = [mx.nd.ones(SHAPE) * 2, mx.nd.ones(SHAPE, ctx=mx.cpu(1)) * 3]
    kv.pushpull(0, vals)
    for v in vals:
        np.testing.assert_array_equal(v.asnumpy(), np.full(SHAPE, 5.0))
    out = mx.nd.zeros(SHAPE)
    kv.pushpull(0, mx.nd.ones(SHAPE), out=out)
    np.testing.assert_array_equal(out.asnumpy(), np.ones(SHAPE))


def test_broadcast_inits_once():
    kv = kvs.create()
    out = [mx.nd.zeros(SHAPE), mx.nd.zeros(SHAPE, ctx=mx.cpu(1))]
    kv.broadcast("3", mx.nd.ones(SHAPE) * 2, out=out)
    for o in out:
        np.testing.assert_array_equal(o.asnumpy(), np.full(SHAPE, 2.0))
    with pytest.raises(MXNetError, match="duplicate init"):
        kv.broadcast("3", mx.nd.ones(SHAPE), out=out)


def test_key_errors():
    kv = kvs.create()
    kv.init(3, mx.nd.zeros(SHAPE))
    with pytest.raises(MXNetError, match="duplicate init of key 3"):
        kv.init(3, mx.nd.zeros(SHAPE))
    with pytest.raises(MXNetError, match="duplicate init of key 4"):
        kv.init(4, [mx.nd.zeros(SHAPE), mx.nd.zeros(SHAPE)])
    with pytest.raises(MXNetError, match="Mixed key types are not allowed"):
        kv.init("a", mx.nd.zeros(SHAPE))
    with pytest.raises(MXNetError, match="key 11 has not been inited"):
        kv.pull(11, out=mx.nd.zeros(SHAPE))
    with pytest.raises(MXNetError, match="key 12 has not been inited"):
        kv.push(12, mx.nd.zeros(SHAPE))
    with pytest.raises(AssertionError):
        kv.pull(3)
    with pytest.raises(AssertionError):
        kv.push([3, 4], [mx.nd.zeros(SHAPE)])
    with pytest.raises(AssertionError):
        kv.push(3, [mx.nd.zeros(SHAPE), np.zeros(SHAPE)])
    with pytest.raises(AssertionError):
        kv.push(3.0, mx.nd.zeros(SHAPE))

    kv = kvs.create()
    kv.init("s", mx.nd.zeros(SHAPE))
    with pytest.raises(MXNetError, match="duplicate init of key s"):
        kv.init("s", mx.nd.zeros(SHAPE))
    with pytest.raises(MXNetError, match="key t doesn't exist. Did you init?"):
        kv.pull("t", out=mx.nd.zeros(SHAPE))
    with pytest.raises(AssertionError, match="inconsistent types of keys"):
        kv.push(["s", 1], [mx.nd.zeros(SHAPE)] * 2)
    with pytest.raises(MXNetError, match="Mixed key types"):
        kv.pull(0, out=mx.nd.zeros(SHAPE))


# --------------------------------------------------------------------------------------------
# updaters and optimizers
# --------------------------------------------------------------------------------------------
def test_custom_updater_keys_and_order():
    """The updater runs once per key, keys in increasing order (str keys in init order), with
    the merged value, the store's array, and str keys as bytes, as MXNet's callback gives them."""
    calls = []

    def update(key, grad, stored):
        calls.append((key, grad.shape, grad.context, stored.context))
        stored += grad * 2

    kv = kvs.create()
    kv.init([9, 2], [mx.nd.zeros((1,)), mx.nd.zeros((2,))])
    kv._set_updater(update)
    kv.push([9, 2, 9], [mx.nd.ones((1,)), mx.nd.ones((2,), ctx=mx.cpu(1)), mx.nd.ones((1,), ctx=mx.cpu(2))])
    assert [c[:2] for c in calls] == [(2, (2,)), (9, (1,))]
    assert all(c[2] == c[3] for c in calls)  # the gradient is brought to the stored array
    out = mx.nd.zeros((1,))
    kv.pull(9, out=out)
    assert out.asnumpy()[0] == 4.0

    calls.clear()
    kv = kvs.create("device")
    kv.init(["b", "a"], [mx.nd.zeros((1,)), mx.nd.zeros((1,))])
    kv.set_updater(update)
    kv.push(["a", "b"], [mx.nd.ones((1,)), mx.nd.ones((1,))])
    assert [c[0] for c in calls] == [b"b", b"a"]


@pytest.mark.parametrize("kv_type", ["local", "device"])
def test_set_optimizer_is_the_updater_on_the_summed_gradient(kv_type):
    """Pushing per-device gradients through SGD in the store gives what the optimizer's Updater
    gives on their sum, step for step (the store's index is the key)."""
    rng = np.random.RandomState(0)
    kv = kvs.create(kv_type)
    w0 = rng.randn(*SHAPE).astype(np.float32)
    kv.init("fc_weight", mx.nd.array(w0))
    kv.set_optimizer(opt.create("sgd", learning_rate=0.1, momentum=0.9, wd=0.01))
    ref = opt.get_updater(opt.create("sgd", learning_rate=0.1, momentum=0.9, wd=0.01))
    w = mx.nd.array(w0)
    for _ in range(3):
        grads = [rng.randn(*SHAPE).astype(np.float32) for _ in range(2)]
        kv.push("fc_weight", [mx.nd.array(g, ctx=mx.cpu(i)) for i, g in enumerate(grads)])
        ref("fc_weight", mx.nd.array(grads[0]) + mx.nd.array(grads[1]), w)
        out = [mx.nd.zeros(SHAPE, ctx=mx.cpu(i)) for i in range(2)]
        kv.pull("fc_weight", out=out)
        for o in out:
            np.testing.assert_array_equal(o.asnumpy(), w.asnumpy())
    assert isinstance(kv._updater, opt.Updater)
    assert list(kv._updater.states) == ["fc_weight"]
    assert kv._updater.optimizer.num_update == 3


def test_save_and_load_optimizer_states(tmp_path):
    """Four Adam steps in one store equal two steps, states (and optimizer) saved, and two more
    steps in a new store holding the saved weight."""
    def store(weight):
        kv = kvs.create()
        kv.init(0, weight)
        kv.set_optimizer(opt.create("adam", learning_rate=0.1))
        return kv

    grads = [mx.nd.array(np.random.RandomState(i).randn(*SHAPE)) for i in range(4)]
    a = store(mx.nd.ones(SHAPE))
    for g in grads:
        a.push(0, g)
    b = store(mx.nd.ones(SHAPE))
    for g in grads[:2]:
        b.push(0, g)
    path = str(tmp_path / "kv.states")
    b.save_optimizer_states(path, dump_optimizer=True)
    weight = mx.nd.zeros(SHAPE)
    b.pull(0, out=weight)
    c = store(weight)
    c.load_optimizer_states(path)
    assert c._updater.optimizer.num_update == 2 and c._updater.states_synced == {0: False}
    for g in grads[2:]:
        c.push(0, g)
    ra, rc = mx.nd.zeros(SHAPE), mx.nd.zeros(SHAPE)
    a.pull(0, out=ra)
    c.pull(0, out=rc)
    np.testing.assert_array_equal(ra.asnumpy(), rc.asnumpy())

    with pytest.raises(AssertionError):
        kvs.create().save_optimizer_states(path)
    with pytest.raises(AssertionError):
        kvs.create().load_optimizer_states(path)


def test_gradient_compression_is_not_supported():
    with pytest.raises(MXNetError, match="Gradient compression is not supported for this type of kvstore"):
        kvs.create("local").set_gradient_compression({"type": "2bit", "threshold": 0.5})
    with pytest.raises(kvs.UnsupportedKVStoreError):
        kvs.create("device").set_gradient_compression({"type": "2bit"})


def test_row_sparse_pull_is_not_supported():
    kv = kvs.create()
    kv.init(0, mx.nd.zeros(SHAPE))
    with pytest.raises(kvs.UnsupportedKVStoreError):
        kv.row_sparse_pull(0, out=mx.nd.zeros(SHAPE), row_ids=mx.nd.array([0]))


# --------------------------------------------------------------------------------------------
# asynchrony
# --------------------------------------------------------------------------------------------
def _busy_program(kv_type):
    """push/pull/pushpull with and without optimizers over several devices; the outputs."""
    kv = kvs.create(kv_type)
    kv.init([0, 1], [mx.nd.ones((50, 40)), mx.nd.ones((7,))])
    grads = [[mx.nd.ones((50, 40), ctx=mx.cpu(i)) * (i + 1) for i in range(3)], [mx.nd.ones((7,), ctx=mx.cpu(1))]]
    outs = [[mx.nd.zeros((50, 40), ctx=mx.cpu(i)) for i in range(2)], [mx.nd.zeros((7,))]]
    kv.push([0, 1], grads)
    kv.pull([0, 1], out=outs)
    kv.init(2, mx.nd.ones((5,)))
    kv.set_optimizer(opt.create("sgd", learning_rate=0.5, momentum=0.5))
    kv.pushpull([1, 2], [mx.nd.ones((7,)), [mx.nd.ones((5,), ctx=mx.cpu(i)) for i in range(2)]],
                out=[outs[1][0], mx.nd.zeros((5,))])
    kv.set_optimizer(opt.create("adam"))
    kv.push([0, 1], grads)
    kv.pull([0, 1], out=outs)
    return [o for row in outs for o in row]


@pytest.mark.parametrize("kv_type", ["local", "device"])
def test_push_and_pull_never_wait(kv_type, monkeypatch):
    """push, pull and pushpull (with optimizers too) only queue NDArray operations: reading or
    waiting for any array inside them fails; the results are those of an unpatched run."""
    def forbidden(*args, **kwargs):
        raise AssertionError("push/pull waited for an array")

    with monkeypatch.context() as m:
        for name in ("asnumpy", "wait_to_read", "wait_to_write", "asscalar", "__bool__"):
            m.setattr(mx.nd.NDArray, name, forbidden)
        m.setattr(mx.nd, "waitall", forbidden)
        got = _busy_program(kv_type)
    expected = _busy_program(kv_type)
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g.asnumpy(), e.asnumpy())
    assert not np.array_equal(got[0].asnumpy(), np.ones((50, 40)))
