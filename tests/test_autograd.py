"""Behaviour tests for MXNet 1.9.1's imperative autograd API (``mx.autograd``).

Run against the reference:  MX_MODULE=mxnet python -m pytest -q test_autograd.py
Run against rmx (default):  python -m pytest -q test_autograd.py

Expected values come from NumPy formulas or float64 central finite differences
computed here, never from numbers copied out of MXNet.
"""
import os

mx = __import__(os.environ.get("MX_MODULE", "rmx"))

import numpy as np
import pytest

nd = mx.nd
# Looked up lazily so that the module still imports (and every test fails
# individually) when the package has no autograd yet.
ag = getattr(mx, "autograd", None)
MXNetError = mx.base.MXNetError

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


# ----------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------
def _np(a):
    return a.asnumpy()


def _close(actual, expected, rtol=1e-5, atol=1e-6):
    actual = _np(actual) if hasattr(actual, "asnumpy") else np.asarray(actual)
    np.testing.assert_allclose(actual, np.asarray(expected), rtol=rtol, atol=atol)


def _arr(a, dtype="float32"):
    return nd.array(np.asarray(a), dtype=dtype)


def _away_from_zero(a, margin=0.1):
    """Push values away from 0 so that kinks (relu/abs/...) are not probed."""
    return np.where(a >= 0, a + margin, a - margin)


def _numeric_grads(f, arrays, head, wrt, eps=1e-6):
    """Central differences of L = sum(f(arrays) * head) in float64."""

    def loss(arrs):
        out = f(*[_arr(a, "float64") for a in arrs])
        return float(np.sum(_np(out).astype(np.float64) * head))

    grads = []
    for i in wrt:
        a = arrays[i]
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            plus = [x.copy() for x in arrays]
            minus = [x.copy() for x in arrays]
            plus[i][idx] += eps
            minus[i][idx] -= eps
            g[idx] = (loss(plus) - loss(minus)) / (2 * eps)
        grads.append(g)
    return grads


def _check_grad(f, arrays, wrt=None, seed=0, rtol=1e-5, atol=1e-7):
    """Compare autograd gradients of f (float64) with finite differences.

    A random head gradient is used (so out_grad of backward is exercised and
    symmetric cancellations cannot hide errors)."""
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    if wrt is None:
        wrt = list(range(len(arrays)))
    xs = [_arr(a, "float64") for a in arrays]
    for i in wrt:
        xs[i].attach_grad()
    with ag.record():
        y = f(*xs)
    assert y.dtype == np.float64
    head = np.random.RandomState(seed + 1).uniform(0.5, 1.5, size=y.shape)
    y.backward(_arr(head, "float64"))
    expected = _numeric_grads(f, arrays, head, wrt)
    for i, g in zip(wrt, expected):
        got = xs[i].grad
        assert got.shape == arrays[i].shape
        assert got.dtype == np.float64
        np.testing.assert_allclose(_np(got), g, rtol=rtol, atol=atol,
                                   err_msg="gradient of input %d" % i)


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# ----------------------------------------------------------------------------
# recording / training state
# ----------------------------------------------------------------------------
def test_default_state_outside_any_scope():
    assert ag.is_recording() is False
    assert ag.is_training() is False


def test_record_sets_recording_and_training():
    with ag.record():
        assert ag.is_recording() is True
        assert ag.is_training() is True  # train_mode defaults to True
    assert ag.is_recording() is False
    assert ag.is_training() is False


def test_record_train_mode_false():
    with ag.record(train_mode=False):
        assert ag.is_recording() is True
        assert ag.is_training() is False
    assert not ag.is_recording() and not ag.is_training()


def test_pause_inside_record():
    with ag.record():
        with ag.pause():
            assert ag.is_recording() is False
            assert ag.is_training() is False  # pause() defaults train_mode=False
        assert ag.is_recording() and ag.is_training()
        with ag.pause(train_mode=True):
            assert ag.is_recording() is False
            assert ag.is_training() is True
        assert ag.is_recording() and ag.is_training()


def test_train_mode_and_predict_mode_outside_record():
    with ag.train_mode():
        assert ag.is_recording() is False
        assert ag.is_training() is True
    with ag.predict_mode():
        assert ag.is_recording() is False
        assert ag.is_training() is False
    assert not ag.is_recording() and not ag.is_training()


def test_nested_scopes_restore_previous_state():
    with ag.record(train_mode=False):
        assert (ag.is_recording(), ag.is_training()) == (True, False)
        with ag.train_mode():
            assert (ag.is_recording(), ag.is_training()) == (True, True)
            with ag.predict_mode():
                assert (ag.is_recording(), ag.is_training()) == (True, False)
                with ag.pause(train_mode=True):
                    assert (ag.is_recording(), ag.is_training()) == (False, True)
                    with ag.record():
                        assert (ag.is_recording(), ag.is_training()) == (True, True)
                    assert (ag.is_recording(), ag.is_training()) == (False, True)
                assert (ag.is_recording(), ag.is_training()) == (True, False)
            assert (ag.is_recording(), ag.is_training()) == (True, True)
        assert (ag.is_recording(), ag.is_training()) == (True, False)
    assert (ag.is_recording(), ag.is_training()) == (False, False)


def test_state_restored_after_exception():
    with pytest.raises(ValueError):
        with ag.record():
            with ag.train_mode():
                raise ValueError("boom")
    assert ag.is_recording() is False
    assert ag.is_training() is False


def test_set_recording_and_set_training_return_previous():
    try:
        assert ag.set_recording(True) is False
        assert ag.is_recording() is True
        assert ag.set_recording(False) is True
        assert ag.is_recording() is False
        assert ag.set_training(True) is False
        assert ag.is_training() is True
        assert ag.set_training(False) is True
        assert ag.is_training() is False
    finally:
        ag.set_recording(False)
        ag.set_training(False)


def test_set_recording_records_ops():
    x = _arr([1.0, 2.0, 3.0])
    x.attach_grad()
    prev = ag.set_recording(True)
    try:
        y = x * x
    finally:
        ag.set_recording(prev)
    y.backward()
    _close(x.grad, 2 * np.array([1.0, 2.0, 3.0]))


def test_ops_in_pause_are_not_recorded():
    xv = np.array([1.0, 2.0, 3.0])
    x = _arr(xv)
    x.attach_grad()
    with ag.record():
        with ag.pause():
            c = x * 10  # constant w.r.t. autograd
        y = c * x
    y.backward()
    _close(x.grad, 10 * xv)


# ----------------------------------------------------------------------------
# attach_grad and .grad
# ----------------------------------------------------------------------------
def test_grad_is_none_without_attach_grad():
    assert nd.ones((2, 3)).grad is None


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_attach_grad_initialises_zeros(dtype):
    x = nd.ones((2, 3), dtype=dtype) * 5
    x.attach_grad()
    g = x.grad
    assert g is not None
    assert g.shape == (2, 3)
    assert g.dtype == np.dtype(dtype)
    _close(g, np.zeros((2, 3)))


def test_grad_buffer_shares_memory_across_accesses():
    """A .grad handle taken before backward sees the values written by backward."""
    xv = np.array([1.0, 2.0, 3.0])
    x = _arr(xv)
    x.attach_grad()
    g_before = x.grad
    with ag.record():
        y = x * x
    y.backward()
    _close(g_before, 2 * xv)
    _close(x.grad, 2 * xv)


def test_reattach_grad_resets_to_zero():
    x = _arr([1.0, 2.0, 3.0])
    x.attach_grad()
    with ag.record():
        y = x * x
    y.backward()
    x.attach_grad()
    _close(x.grad, np.zeros(3))


def test_grad_req_write_overwrites_previous_gradient():
    x = _arr([1.0, 2.0, 3.0])
    x.attach_grad()  # default 'write'
    with ag.record():
        y = x * x
    y.backward()
    with ag.record():
        y = x * 3
    y.backward()
    _close(x.grad, [3.0, 3.0, 3.0])


def test_grad_req_add_accumulates_across_two_recorded_passes():
    xv = np.array([1.0, 2.0, 3.0])
    x = _arr(xv)
    x.attach_grad(grad_req="add")
    with ag.record():
        y = x * x
    y.backward()
    _close(x.grad, 2 * xv)
    with ag.record():
        y = nd.exp(x)
    y.backward()
    _close(x.grad, 2 * xv + np.exp(xv))


def test_grad_req_add_reset_by_writing_grad():
    xv = np.array([1.0, 2.0, 3.0])
    x = _arr(xv)
    x.attach_grad(grad_req="add")
    with ag.record():
        y = x * x
    y.backward()
    x.grad[:] = 0
    with ag.record():
        y = x * x
    y.backward()
    _close(x.grad, 2 * xv)


def test_grad_req_null_variable_gets_no_gradient():
    xv = np.array([1.0, 2.0, 3.0])
    wv = np.array([4.0, 5.0, 6.0])
    x = _arr(xv)
    w = _arr(wv)
    x.attach_grad(grad_req="null")
    w.attach_grad()
    with ag.record():
        y = x * w
    y.backward()
    _close(w.grad, xv)
    # MXNet 1.9.1 reports None for a 'null' variable after backward (zeros before).
    assert x.grad is None or np.all(_np(x.grad) == 0)


def test_backward_with_only_null_variables_raises():
    x = _arr([1.0, 2.0])
    x.attach_grad(grad_req="null")
    with ag.record():
        y = x * x
    with pytest.raises(MXNetError):
        y.backward()


def test_attach_grad_invalid_req_raises():
    with pytest.raises((KeyError, ValueError, MXNetError)):
        nd.ones(2).attach_grad(grad_req="bogus")


# ----------------------------------------------------------------------------
# backward
# ----------------------------------------------------------------------------
def test_backward_scalar_head():
    xv = np.array([[1.0, -2.0], [0.5, 3.0]])
    x = _arr(xv)
    x.attach_grad()
    with ag.record():
        y = nd.sum(x * x)
    y.backward()
    _close(x.grad, 2 * xv)


def test_backward_non_scalar_head_uses_ones():
    xv = np.array([[1.0, -2.0, 0.5], [0.25, 3.0, -1.0]])
    x = _arr(xv)
    x.attach_grad()
    with ag.record():
        y = x * x + 3 * x
    y.backward()
    _close(x.grad, 2 * xv + 3)


def test_backward_out_grad():
    xv = np.array([1.0, 2.0, 3.0])
    hv = np.array([1.0, 10.0, 100.0])
    x = _arr(xv)
    x.attach_grad()
    with ag.record():
        y = x * x
    y.backward(out_grad=_arr(hv))
    _close(x.grad, 2 * xv * hv)


def test_autograd_backward_multiple_heads_with_head_grads():
    xv = np.array([1.0, 2.0, 3.0])
    x = _arr(xv)
    x.attach_grad()
    with ag.record():
        y1 = x * x
        y2 = 3 * x
    ag.backward([y1, y2], head_grads=[_arr([1.0, 1.0, 1.0]), _arr([2.0, 2.0, 2.0])])
    _close(x.grad, 2 * xv + 6)


def test_autograd_backward_multiple_heads_default_ones():
    xv = np.array([1.0, 2.0, 3.0])
    x = _arr(xv)
    x.attach_grad()
    with ag.record():
        y1 = x * x
        y2 = 3 * x
    ag.backward([y1, y2])
    _close(x.grad, 2 * xv + 3)


def test_autograd_backward_head_grads_with_none_entry():
    xv = np.array([1.0, 2.0, 3.0])
    x = _arr(xv)
    x.attach_grad()
    with ag.record():
        y1 = x * x
        y2 = 3 * x
    ag.backward([y1, y2], head_grads=[None, _arr([2.0, 2.0, 2.0])])
    _close(x.grad, 2 * xv + 6)


def test_autograd_backward_single_ndarray_head():
    xv = np.array([1.0, 2.0, 3.0])
    x = _arr(xv)
    x.attach_grad()
    with ag.record():
        y = nd.exp(x)
    ag.backward(y)
    _close(x.grad, np.exp(xv))


def test_autograd_backward_head_grads_length_mismatch_raises():
    x = _arr([1.0, 2.0, 3.0])
    x.attach_grad()
    with ag.record():
        y = x * x
    with pytest.raises((AssertionError, ValueError, MXNetError)):
        ag.backward([y], head_grads=[nd.ones(3), nd.ones(3)])


def test_second_backward_without_retain_graph_raises():
    x = _arr([1.0, 2.0, 3.0])
    x.attach_grad()
    with ag.record():
        y = x * x
    y.backward()
    with pytest.raises(MXNetError) as info:
        y.backward()
    assert "retain_graph" in str(info.value)


def test_retain_graph_allows_second_backward_write():
    xv = np.array([1.0, 2.0, 3.0])
    x = _arr(xv)
    x.attach_grad()
    with ag.record():
        y = nd.sum(x * x)
    y.backward(retain_graph=True)
    _close(x.grad, 2 * xv)
    y.backward()
    _close(x.grad, 2 * xv)  # 'write' -> not doubled
    with pytest.raises(MXNetError):
        y.backward()  # the second call did not retain


def test_retain_graph_with_grad_req_add_doubles():
    xv = np.array([1.0, 2.0, 3.0])
    x = _arr(xv)
    x.attach_grad(grad_req="add")
    with ag.record():
        y = x * x
    y.backward(retain_graph=True)
    y.backward()
    _close(x.grad, 4 * xv)


def test_autograd_backward_retain_graph():
    xv = np.array([1.0, 2.0, 3.0])
    x = _arr(xv)
    x.attach_grad(grad_req="add")
    with ag.record():
        y = nd.exp(x)
    ag.backward([y], retain_graph=True)
    ag.backward([y])
    _close(x.grad, 2 * np.exp(xv))


def test_backward_on_result_computed_outside_record_raises():
    x = _arr([1.0, 2.0])
    x.attach_grad()
    y = x * 2  # not recorded
    with pytest.raises(MXNetError) as info:
        y.backward()
    assert "computational graph" in str(info.value)


def test_backward_on_plain_array_raises():
    with pytest.raises(MXNetError):
        _arr([1.0, 2.0]).backward()


def test_record_without_attached_inputs_builds_no_graph():
    a = _arr([1.0, 2.0])
    with ag.record():
        b = a * 2
    with pytest.raises(MXNetError):
        b.backward()


def test_backward_on_leaf_variable_gives_ones():
    z = _arr([1.0, 2.0])
    z.attach_grad()
    z.backward()
    _close(z.grad, [1.0, 1.0])


def test_backward_called_inside_record():
    xv = np.array([1.0, 2.0])
    x = _arr(xv)
    x.attach_grad()
    with ag.record():
        y = x * x
        y.backward()
    _close(x.grad, 2 * xv)


def test_variable_used_multiple_times_accumulates():
    xv = np.array([1.0, -2.0, 3.0])
    x = _arr(xv)
    x.attach_grad()
    with ag.record():
        a = x * x          # same input twice
        b = nd.exp(x)
        y = a + b * x + x  # several branches
    y.backward()
    _close(x.grad, 2 * xv + np.exp(xv) * (xv + 1) + 1, rtol=1e-5)


def test_ops_outside_record_are_constants():
    xv = np.array([1.0, 2.0, 3.0])
    x = _arr(xv)
    x.attach_grad()
    c = x * 5  # computed outside record -> constant
    with ag.record():
        y = x * c
    y.backward()
    _close(x.grad, 5 * xv)  # not 10 * x


def test_grad_dtype_float64():
    x = _arr([1.0, 2.0], "float64")
    x.attach_grad()
    assert x.grad.dtype == np.float64
    with ag.record():
        y = x * x
    y.backward()
    assert x.grad.dtype == np.float64
    _close(x.grad, [2.0, 4.0], rtol=1e-12, atol=0)


# ----------------------------------------------------------------------------
# autograd.grad
# ----------------------------------------------------------------------------
def test_grad_returns_list_and_leaves_attached_grad_untouched():
    xv = np.array([1.0, 2.0, 3.0])
    x = _arr(xv)
    x.attach_grad()
    with ag.record():
        y = x ** 3
    g = ag.grad(y, [x])
    assert isinstance(g, list) and len(g) == 1
    _close(g[0], 3 * xv ** 2)
    _close(x.grad, np.zeros(3))


def test_grad_with_single_variable_not_in_list():
    xv = np.array([0.5, 1.5])
    x = _arr(xv)
    x.attach_grad()
    with ag.record():
        y = nd.exp(x)
    g = ag.grad(y, x)
    assert isinstance(g, list) and len(g) == 1
    _close(g[0], np.exp(xv))


def test_grad_multiple_heads_and_variables_with_head_grads():
    xv = np.array([1.0, 2.0, 3.0])
    wv = np.array([2.0, -1.0, 0.5])
    x, w = _arr(xv), _arr(wv)
    x.attach_grad()
    w.attach_grad()
    with ag.record():
        y1 = x * w
        y2 = nd.exp(x)
    gx, gw = ag.grad([y1, y2], [x, w], head_grads=[nd.ones(3), nd.ones(3) * 2])
    _close(gx, wv + 2 * np.exp(xv))
    _close(gw, xv)


def test_grad_twice_without_retain_graph_raises():
    x = _arr([1.0, 2.0])
    x.attach_grad()
    with ag.record():
        y = x * x
    ag.grad(y, [x])
    with pytest.raises(MXNetError):
        ag.grad(y, [x])


def test_grad_retain_graph():
    xv = np.array([1.0, 2.0])
    x = _arr(xv)
    x.attach_grad()
    with ag.record():
        y = x * x
    g1 = ag.grad(y, [x], retain_graph=True)
    g2 = ag.grad(y, [x])
    _close(g1[0], 2 * xv)
    _close(g2[0], 2 * xv)


def test_grad_unreachable_variable_raises():
    x = _arr([1.0, 2.0])
    w = _arr([1.0, 2.0])
    x.attach_grad()
    w.attach_grad()
    with ag.record():
        y = x * x
    with pytest.raises(MXNetError):
        ag.grad(y, [x, w])


SECOND_ORDER = {
    # name: (fn, first derivative, second derivative)
    "square": (lambda x: nd.square(x), lambda v: 2 * v, lambda v: 2 + 0 * v),
    "exp": (lambda x: nd.exp(x), np.exp, np.exp),
    "log": (lambda x: nd.log(x), lambda v: 1 / v, lambda v: -1 / v ** 2),
    "sin": (lambda x: nd.sin(x), np.cos, lambda v: -np.sin(v)),
    "tanh": (lambda x: nd.tanh(x), lambda v: 1 - np.tanh(v) ** 2,
             lambda v: -2 * np.tanh(v) * (1 - np.tanh(v) ** 2)),
    "sigmoid": (lambda x: nd.sigmoid(x), lambda v: _sigmoid(v) * (1 - _sigmoid(v)),
                lambda v: _sigmoid(v) * (1 - _sigmoid(v)) * (1 - 2 * _sigmoid(v))),
    "relu": (lambda x: nd.relu(x), lambda v: (v > 0).astype(float), lambda v: 0 * v),
}


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_second_order_via_create_graph(name):
    fn, d1, d2 = SECOND_ORDER[name]
    xv = np.array([0.5, 1.0, 2.0])
    x = _arr(xv)
    x.attach_grad()
    with ag.record():
        y = fn(x)
        g = ag.grad(y, [x], create_graph=True)[0]
    _close(g, d1(xv), rtol=1e-5, atol=1e-6)
    g.backward()
    _close(x.grad, d2(xv), rtol=1e-4, atol=1e-6)


def test_create_graph_retains_graph_by_default():
    xv = np.array([0.5, 1.0])
    x = _arr(xv)
    x.attach_grad()
    with ag.record():
        y = nd.exp(x)
        ag.grad(y, [x], create_graph=True)
    y.backward()  # retain_graph defaults to create_graph
    _close(x.grad, np.exp(xv))


def test_create_graph_grad_backward_outside_record():
    xv = np.array([1.0, 2.0, 3.0])
    x = _arr(xv)
    x.attach_grad()
    with ag.record():
        y = nd.square(x)
    g = ag.grad(y, [x], create_graph=True)[0]  # called outside record
    _close(g, 2 * xv)
    g.backward()
    _close(x.grad, [2.0, 2.0, 2.0])


def test_second_order_of_loss_with_head_grads():
    xv = np.array([0.3, 0.7])
    x = _arr(xv)
    x.attach_grad()
    with ag.record():
        y = nd.log(x)
        g = ag.grad(y, [x], head_grads=_arr([2.0, 3.0]), create_graph=True)[0]
    _close(g, np.array([2.0, 3.0]) / xv)
    g.backward()
    _close(x.grad, -np.array([2.0, 3.0]) / xv ** 2, rtol=1e-4)


# ----------------------------------------------------------------------------
# mark_variables
# ----------------------------------------------------------------------------
def test_mark_variables_single_arrays():
    xv = np.array([1.0, 2.0, 3.0])
    x, gx = _arr(xv), nd.zeros(3)
    ag.mark_variables(x, gx)
    with ag.record():
        y = x * x
    y.backward()
    _close(gx, 2 * xv)
    _close(x.grad, 2 * xv)


def test_mark_variables_add_accumulates_into_given_buffer():
    xv = np.array([1.0, 2.0, 3.0])
    x, gx = _arr(xv), nd.ones(3)
    ag.mark_variables([x], [gx], grad_reqs="add")
    with ag.record():
        y = x * x
    y.backward()
    _close(gx, 1 + 2 * xv)


def test_mark_variables_list_of_reqs_with_null():
    xv = np.array([1.0, 2.0, 3.0])
    wv = np.array([4.0, 5.0, 6.0])
    x, gx = _arr(xv), nd.ones(3) * 7
    w, gw = _arr(wv), nd.zeros(3)
    ag.mark_variables([x, w], [gx, gw], grad_reqs=["null", "write"])
    with ag.record():
        y = x * w
    y.backward()
    _close(gx, [7.0, 7.0, 7.0])
    _close(gw, xv)


# ----------------------------------------------------------------------------
# detach / BlockGrad / stop_gradient / cutting the graph
# ----------------------------------------------------------------------------
def test_detach_stops_gradient():
    xv = np.array([1.0, 2.0, 3.0])
    x = _arr(xv)
    x.attach_grad()
    with ag.record():
        y = x * x
        z = y.detach() * x
    z.backward()
    _close(x.grad, xv ** 2)  # not 3 x^2


def test_detach_shares_memory_and_has_no_grad():
    x = _arr([1.0, 2.0])
    x.attach_grad()
    d = x.detach()
    assert d.grad is None
    d[:] = 5
    _close(x, [5.0, 5.0])


def test_blockgrad_and_stop_gradient():
    xv = np.array([1.0, 2.0, 3.0])
    x = _arr(xv)
    x.attach_grad()
    with ag.record():
        z = nd.BlockGrad(x * x) * x + nd.stop_gradient(x) + nd.exp(x)
    z.backward()
    _close(x.grad, xv ** 2 + np.exp(xv))
    _close(z, xv ** 3 + xv + np.exp(xv))  # forward is identity


def test_attach_grad_on_intermediate_cuts_graph():
    xv = np.array([1.0, 2.0])
    x = _arr(xv)
    x.attach_grad()
    with ag.record():
        y = x * 2
        y.attach_grad()  # y becomes a fresh leaf
        z = y * y
    z.backward()
    _close(y.grad, 2 * (2 * xv))
    _close(x.grad, [0.0, 0.0])


# ----------------------------------------------------------------------------
# in-place operations
# ----------------------------------------------------------------------------
def test_inplace_before_attach_grad():
    x = _arr([1.0, 2.0, 3.0])
    x += 1
    x.attach_grad()
    with ag.record():
        z = x * x
    z.backward()
    _close(x.grad, 2 * np.array([2.0, 3.0, 4.0]))


def test_inplace_after_attach_grad_outside_record():
    x = _arr([1.0, 2.0, 3.0])
    x.attach_grad()
    x += 1
    with ag.record():
        z = x * x
    z.backward()
    _close(x, [2.0, 3.0, 4.0])
    _close(x.grad, [4.0, 6.0, 8.0])
    x[:] = 5
    with ag.record():
        z = x * x
    z.backward()
    _close(x.grad, [10.0, 10.0, 10.0])


def _inplace_leaf(x):
    x += 1


def _inplace_intermediate(x):
    y = x * 2
    y += 1


def _setitem_intermediate(x):
    y = x * 2
    y[:] = 1


def _inplace_fresh_with_recorded_rhs(x):
    c = nd.zeros(3)
    c += x


@pytest.mark.parametrize("op", [_inplace_leaf, _inplace_intermediate,
                                _setitem_intermediate,
                                _inplace_fresh_with_recorded_rhs],
                         ids=["leaf+=", "intermediate+=", "intermediate[:]=",
                              "fresh+=recorded"])
def test_inplace_on_graph_arrays_inside_record_raises(op):
    x = _arr([1.0, 2.0, 3.0])
    x.attach_grad()
    with pytest.raises(MXNetError):
        with ag.record():
            op(x)


def test_inplace_on_unrelated_array_inside_record_ok():
    c = nd.zeros(3)
    with ag.record():
        c += 1
    _close(c, [1.0, 1.0, 1.0])


def test_out_argument_inside_record_is_recorded():
    xv = np.array([1.0, 2.0, 3.0])
    x = _arr(xv)
    x.attach_grad()
    out = nd.zeros(3)
    with ag.record():
        nd.exp(x, out=out)
    out.backward()
    _close(out, np.exp(xv))
    _close(x.grad, np.exp(xv))


# ----------------------------------------------------------------------------
# autograd.Function
# ----------------------------------------------------------------------------
def _sigmoid_function_class():
    class Sigmoid(ag.Function):
        def forward(self, x):
            y = 1 / (1 + nd.exp(-x))
            self.save_for_backward(y)
            return y

        def backward(self, dy):
            (y,) = self.saved_tensors
            return dy * y * (1 - y)

    return Sigmoid


def test_function_custom_sigmoid():
    Sigmoid = _sigmoid_function_class()
    xv = np.array([-1.0, 0.0, 2.0, 0.5])
    x = _arr(xv)
    x.attach_grad()
    with ag.record():
        y = Sigmoid()(x)
    _close(y, _sigmoid(xv))
    y.backward()
    _close(x.grad, _sigmoid(xv) * (1 - _sigmoid(xv)))


def test_function_composed_with_ops_and_out_grad():
    Sigmoid = _sigmoid_function_class()
    xv = np.array([-1.0, 0.0, 2.0])
    hv = np.array([1.0, 2.0, 3.0])
    x = _arr(xv)
    x.attach_grad()
    with ag.record():
        y = Sigmoid()(x * 2) * 3
    y.backward(_arr(hv))
    s = _sigmoid(2 * xv)
    _close(x.grad, hv * 3 * s * (1 - s) * 2)


def test_function_custom_backward_is_used():
    """The user backward is used, not a derivative of forward (deliberately 'wrong' backward)."""
    class Fake(ag.Function):
        def forward(self, x):
            return x * x

        def backward(self, dy):
            return dy * 7

    x = _arr([1.0, 2.0])
    x.attach_grad()
    with ag.record():
        y = Fake()(x)
    y.backward()
    _close(y, [1.0, 4.0])
    _close(x.grad, [7.0, 7.0])


def test_function_multiple_inputs_and_outputs():
    class MulAdd(ag.Function):
        def forward(self, a, b):
            self.save_for_backward(a, b)
            return a * b, a + b

        def backward(self, d1, d2):
            a, b = self.saved_tensors
            return d1 * b + d2, d1 * a + d2

    av, bv = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    a, b = _arr(av), _arr(bv)
    a.attach_grad()
    b.attach_grad()
    with ag.record():
        p, s = MulAdd()(a, b)
        loss = nd.sum(p * 2 + s)
    loss.backward()
    _close(a.grad, 2 * bv + 1)
    _close(b.grad, 2 * av + 1)


def test_function_outside_record_just_runs_forward():
    Sigmoid = _sigmoid_function_class()
    _close(Sigmoid()(_arr([0.0, 1.0])), _sigmoid(np.array([0.0, 1.0])))


def test_function_instance_can_only_be_called_once():
    Sigmoid = _sigmoid_function_class()
    f = Sigmoid()
    x = _arr([1.0, 2.0])
    x.attach_grad()
    with ag.record():
        f(x)
        with pytest.raises((AssertionError, RuntimeError, MXNetError)):
            f(x)


def test_function_forward_backward_run_with_recording_off():
    seen = {}

    class Probe(ag.Function):
        def forward(self, x):
            seen["fwd"] = (ag.is_recording(), ag.is_training())
            return x * 1

        def backward(self, dy):
            seen["bwd"] = (ag.is_recording(), ag.is_training())
            return dy

    x = _arr([1.0])
    x.attach_grad()
    with ag.record():
        y = Probe()(x)
    y.backward()
    x.grad.wait_to_read()  # MXNet runs Function.backward asynchronously
    nd.waitall()
    assert seen["fwd"] == (False, True)   # training flag kept, recording paused
    assert seen["bwd"] == (False, True)   # backward(train_mode=True) default

    seen.clear()
    with ag.record(train_mode=False):
        y = Probe()(x)
    y.backward(train_mode=False)
    x.grad.wait_to_read()
    nd.waitall()
    assert seen["fwd"] == (False, False)
    assert seen["bwd"] == (False, False)


# ----------------------------------------------------------------------------
# Dropout / BatchNorm in train vs predict mode
# ----------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0.5, 0.2])
def test_dropout_inside_record_is_active(p):
    x = nd.ones((100, 100)) * 3
    with ag.record():
        y = nd.Dropout(x, p=p)
    yv = _np(y)
    zero_frac = np.mean(yv == 0)
    assert abs(zero_frac - p) < 0.05
    kept = yv[yv != 0]
    np.testing.assert_allclose(kept, 3 / (1 - p), rtol=1e-6)


def test_dropout_record_train_mode_false_is_identity():
    xv = np.random.RandomState(0).randn(20, 20)
    x = _arr(xv)
    with ag.record(train_mode=False):
        y = nd.Dropout(x, p=0.5)
    _close(y, xv)


def test_dropout_predict_mode_and_outside_record_is_identity():
    xv = np.random.RandomState(1).randn(20, 20)
    x = _arr(xv)
    with ag.record():
        with ag.predict_mode():
            y1 = nd.Dropout(x, p=0.5)
    y2 = nd.Dropout(x, p=0.5)
    _close(y1, xv)
    _close(y2, xv)


def test_dropout_train_mode_without_record_is_active():
    x = nd.ones((50, 50))
    with ag.train_mode():
        y = nd.Dropout(x, p=0.5)
    vals = set(np.unique(_np(y)).tolist())
    assert vals == {0.0, 2.0}


def test_dropout_gradient_is_scaled_mask():
    x = nd.ones((20, 20)) * 2
    x.attach_grad()
    with ag.record():
        y = nd.Dropout(x, p=0.5)
    y.backward()
    yv = _np(y)
    expected = np.where(yv != 0, 2.0, 0.0)  # d(x*mask/(1-p))/dx
    _close(x.grad, expected)
    assert 0 < np.mean(expected == 0) < 1


def _bn_inputs(seed=0):
    rs = np.random.RandomState(seed)
    xv = rs.randn(4, 3, 2, 2)
    gv = rs.uniform(0.5, 1.5, 3)
    bv = rs.randn(3)
    mmv = rs.randn(3) * 0.1
    mvv = rs.uniform(0.5, 2.0, 3)
    return xv, gv, bv, mmv, mvv


def _bn_ref(xv, gv, bv, mean, var, eps=1e-3):
    sh = (1, -1, 1, 1)
    return (xv - mean.reshape(sh)) / np.sqrt(var.reshape(sh) + eps) * gv.reshape(sh) + bv.reshape(sh)


def test_batchnorm_under_record_uses_batch_statistics():
    xv, gv, bv, mmv, mvv = _bn_inputs()
    args = [_arr(a) for a in (xv, gv, bv, mmv, mvv)]
    args[0].attach_grad()
    with ag.record():
        y = nd.BatchNorm(*args, fix_gamma=False, eps=1e-3)
    ref = _bn_ref(xv, gv, bv, xv.mean(axis=(0, 2, 3)), xv.var(axis=(0, 2, 3)))
    _close(y, ref, rtol=1e-4, atol=1e-4)


def test_batchnorm_train_mode_without_record_uses_batch_statistics():
    xv, gv, bv, mmv, mvv = _bn_inputs(1)
    args = [_arr(a) for a in (xv, gv, bv, mmv, mvv)]
    with ag.train_mode():
        y = nd.BatchNorm(*args, fix_gamma=False, eps=1e-3)
    ref = _bn_ref(xv, gv, bv, xv.mean(axis=(0, 2, 3)), xv.var(axis=(0, 2, 3)))
    _close(y, ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("scope", ["outside", "record_predict", "predict_mode"])
def test_batchnorm_predict_uses_moving_statistics(scope):
    xv, gv, bv, mmv, mvv = _bn_inputs(2)
    args = [_arr(a) for a in (xv, gv, bv, mmv, mvv)]
    if scope == "outside":
        y = nd.BatchNorm(*args, fix_gamma=False, eps=1e-3)
    elif scope == "record_predict":
        with ag.record(train_mode=False):
            y = nd.BatchNorm(*args, fix_gamma=False, eps=1e-3)
    else:
        with ag.record():
            with ag.predict_mode():
                y = nd.BatchNorm(*args, fix_gamma=False, eps=1e-3)
    _close(y, _bn_ref(xv, gv, bv, mmv, mvv), rtol=1e-4, atol=1e-4)


def test_batchnorm_moving_stats_updated_after_backward():
    # MXNet 1.9.1 (CPU) updates moving_mean/var during the backward pass:
    # moving = momentum * moving + (1 - momentum) * batch_stat (biased variance).
    xv, gv, bv, mmv, mvv = _bn_inputs(3)
    x, g, b, mm, mv = [_arr(a) for a in (xv, gv, bv, mmv, mvv)]
    x.attach_grad()
    with ag.record():
        y = nd.BatchNorm(x, g, b, mm, mv, fix_gamma=False, momentum=0.9)
    y.backward()
    _close(mm, 0.9 * mmv + 0.1 * xv.mean(axis=(0, 2, 3)), rtol=1e-4, atol=1e-5)
    _close(mv, 0.9 * mvv + 0.1 * xv.var(axis=(0, 2, 3)), rtol=1e-4, atol=1e-5)


def test_batchnorm_moving_stats_not_updated_by_predict_forward():
    xv, gv, bv, mmv, mvv = _bn_inputs(4)
    x, g, b, mm, mv = [_arr(a) for a in (xv, gv, bv, mmv, mvv)]
    nd.BatchNorm(x, g, b, mm, mv, fix_gamma=False).wait_to_read()
    _close(mm, mmv)
    _close(mv, mvv)


def test_batchnorm_gradient_finite_difference():
    xv, gv, bv, mmv, mvv = _bn_inputs(5)
    mm, mv = _arr(mmv, "float64"), _arr(mvv, "float64")

    def f(x, g, b):
        return nd.BatchNorm(x, g, b, mm, mv, fix_gamma=False, eps=1e-3)

    with ag.train_mode():  # finite differences must also use batch statistics
        _check_grad(f, [xv, gv, bv], rtol=1e-4, atol=1e-6)


def test_batchnorm_fix_gamma_gives_zero_gamma_grad():
    xv, gv, bv, mmv, mvv = _bn_inputs(6)
    x, g, b, mm, mv = [_arr(a) for a in (xv, gv, bv, mmv, mvv)]
    for a in (x, g, b):
        a.attach_grad()
    with ag.record():
        y = nd.BatchNorm(x, g, b, mm, mv, fix_gamma=True)
    y.backward()
    _close(g.grad, np.zeros(3))
    _close(b.grad, np.full(3, 16.0))  # d sum / d beta = N*H*W


# ----------------------------------------------------------------------------
# get_symbol
# ----------------------------------------------------------------------------
def test_get_symbol_arguments():
    a = _arr([1.0, 2.0])
    b = _arr([3.0, 4.0])
    a.attach_grad()
    b.attach_grad()
    with ag.record():
        y = nd.exp(a * b) + a
    s = ag.get_symbol(y)
    assert isinstance(s, mx.sym.Symbol)
    assert len(s.list_arguments()) == 2
    assert len(s.list_outputs()) == 1

    with ag.record():
        z = a * a * nd.exp(a)
    assert len(ag.get_symbol(z).list_arguments()) == 1


# ----------------------------------------------------------------------------
# per-op gradients against float64 finite differences
# ----------------------------------------------------------------------------
_rs = np.random.RandomState(42)


def _r(*shape, positive=False, away=False):
    a = _rs.randn(*shape)
    if positive:
        a = np.abs(a) + 0.5
    if away:
        a = _away_from_zero(a, 0.2)
    return a


_idx = np.array([0.0, 2.0, 2.0, 1.0])

OP_CASES = {
    "add": (lambda a, b: a + b, [_r(2, 3), _r(2, 3)]),
    "sub": (lambda a, b: a - b, [_r(2, 3), _r(2, 3)]),
    "mul": (lambda a, b: a * b, [_r(2, 3), _r(2, 3)]),
    "div": (lambda a, b: a / b, [_r(2, 3), _r(2, 3, away=True)]),
    "scalar_ops": (lambda a: (a + 2) * 3 - 1 / (a * 0 + 4) + a / 5 - 2 * a, [_r(2, 3)]),
    "rsub_rdiv": (lambda a: 1 - a + 2 / a, [_r(2, 3, away=True)]),
    "neg": (lambda a: -a, [_r(3)]),
    "broadcast_add": (lambda a, b: nd.broadcast_add(a, b), [_r(2, 3), _r(1, 3)]),
    "broadcast_mul": (lambda a, b: nd.broadcast_mul(a, b), [_r(2, 3), _r(2, 1)]),
    "dot": (lambda a, b: nd.dot(a, b), [_r(2, 3), _r(3, 4)]),
    "dot_transpose_b": (lambda a, b: nd.dot(a, b, transpose_b=True), [_r(2, 3), _r(4, 3)]),
    "fully_connected": (lambda x, w, b: nd.FullyConnected(x, w, b, num_hidden=4),
                        [_r(2, 3), _r(4, 3), _r(4)]),
    "fully_connected_flatten": (lambda x, w: nd.FullyConnected(x, w, no_bias=True, num_hidden=2),
                                [_r(2, 2, 3), _r(2, 6)]),
    "relu": (lambda x: nd.Activation(x, act_type="relu"), [_r(3, 4, away=True)]),
    "sigmoid": (lambda x: nd.Activation(x, act_type="sigmoid"), [_r(3, 4)]),
    "tanh": (lambda x: nd.Activation(x, act_type="tanh"), [_r(3, 4)]),
    "exp": (lambda x: nd.exp(x), [_r(3, 4)]),
    "log": (lambda x: nd.log(x), [_r(3, 4, positive=True)]),
    "sqrt": (lambda x: nd.sqrt(x), [_r(3, 4, positive=True)]),
    "square": (lambda x: nd.square(x), [_r(3, 4)]),
    "sum_all": (lambda x: nd.sum(x), [_r(2, 3)]),
    "sum_axis": (lambda x: nd.sum(x, axis=1), [_r(2, 3, 2)]),
    "mean_all": (lambda x: nd.mean(x), [_r(2, 3)]),
    "mean_axis": (lambda x: nd.mean(x, axis=0), [_r(2, 3)]),
    "mean_axis_keepdims": (lambda x: nd.mean(x, axis=(0, 2), keepdims=True), [_r(2, 3, 2)]),
    "reshape": (lambda x: nd.reshape(x * x, shape=(3, 2)), [_r(2, 3)]),
    "transpose": (lambda x: nd.transpose(x, axes=(1, 2, 0)) * nd.arange(24, dtype="float64").reshape((3, 4, 2)),
                  [_r(2, 3, 4)]),
    "slice_axis": (lambda x: nd.slice_axis(x, axis=1, begin=1, end=3), [_r(2, 4)]),
    "concat": (lambda a, b: nd.concat(a, b, dim=1), [_r(2, 3), _r(2, 2)]),
    "convolution": (lambda x, w, b: nd.Convolution(x, w, b, kernel=(2, 2), num_filter=2),
                    [_r(1, 2, 4, 4), _r(2, 2, 2, 2), _r(2)]),
    "convolution_stride_pad": (lambda x, w: nd.Convolution(x, w, kernel=(3, 3), stride=(2, 2), pad=(1, 1),
                                                           num_filter=2, no_bias=True),
                               [_r(1, 1, 5, 5), _r(2, 1, 3, 3)]),
    "pooling_max": (lambda x: nd.Pooling(x, kernel=(2, 2), stride=(2, 2), pool_type="max"), [_r(1, 2, 4, 4)]),
    "pooling_avg": (lambda x: nd.Pooling(x, kernel=(2, 2), stride=(2, 2), pool_type="avg"), [_r(1, 2, 4, 4)]),
    "softmax": (lambda x: nd.softmax(x, axis=-1), [_r(2, 4)]),
    "softmax_axis0": (lambda x: nd.softmax(x, axis=0), [_r(3, 2)]),
    "log_softmax": (lambda x: nd.log_softmax(x, axis=-1), [_r(2, 4)]),
    "embedding": (lambda w: nd.Embedding(_arr(_idx, "float64"), w, input_dim=3, output_dim=2), [_r(3, 2)]),
    "take": (lambda w: nd.take(w, _arr(_idx, "float64")), [_r(3, 2)]),
    "broadcast_to": (lambda x: nd.broadcast_to(x, shape=(3, 4)), [_r(1, 4)]),
    "clip": (lambda x: nd.clip(x, -0.5, 0.5),
             [np.array([[-1.3, -0.2, 0.1], [0.4, 0.9, -0.7]])]),
    "maximum": (lambda a, b: nd.maximum(a, b), [_r(2, 3), _r(2, 3) + 0.05]),
    "minimum": (lambda a, b: nd.minimum(a, b), [_r(2, 3), _r(2, 3) + 0.05]),
    "maximum_scalar": (lambda a: nd.maximum(a, 0.0) + nd.minimum(a, 0.0) * 2, [_r(2, 3, away=True)]),
    "abs": (lambda x: nd.abs(x), [_r(2, 3, away=True)]),
    "power_scalar": (lambda x: x ** 3 + x ** 2.5, [_r(2, 3, positive=True)]),
    "pick": (lambda x: nd.pick(x, _arr([0.0, 2.0], "float64"), axis=-1), [_r(2, 3)]),
}


@pytest.mark.parametrize("name", sorted(OP_CASES))
def test_op_gradient_finite_difference(name):
    f, arrays = OP_CASES[name]
    _check_grad(f, arrays)


def test_softmax_output_gradient_ignores_head_grad():
    xv = np.array([[1.0, 2.0, 3.0], [1.0, 0.0, -1.0]])
    lv = np.array([2, 0])
    x = _arr(xv, "float64")
    x.attach_grad()
    with ag.record():
        y = nd.SoftmaxOutput(x, _arr(lv, "float64"))
    e = np.exp(xv - xv.max(axis=1, keepdims=True))
    sm = e / e.sum(axis=1, keepdims=True)
    _close(y, sm, rtol=1e-10, atol=1e-12)
    y.backward(out_grad=nd.ones((2, 3), dtype="float64") * 5)
    onehot = np.eye(3)[lv]
    _close(x.grad, sm - onehot, rtol=1e-10, atol=1e-12)


def test_embedding_gradient_accumulates_repeated_indices():
    wv = np.arange(8, dtype=np.float64).reshape(4, 2)
    w = _arr(wv)
    w.attach_grad()
    idx = _arr([1, 3, 1, 1])
    with ag.record():
        y = nd.Embedding(idx, w, input_dim=4, output_dim=2)
    y.backward()
    _close(w.grad, np.array([[0, 0], [3, 3], [0, 0], [1, 1]], dtype=np.float64))


def test_fully_connected_gradient_analytic():
    rs = np.random.RandomState(7)
    xv, wv, bv, hv = rs.randn(3, 4), rs.randn(5, 4), rs.randn(5), rs.randn(3, 5)
    x, w, b = _arr(xv), _arr(wv), _arr(bv)
    for a in (x, w, b):
        a.attach_grad()
    with ag.record():
        y = nd.FullyConnected(x, w, b, num_hidden=5)
    _close(y, xv.dot(wv.T) + bv, rtol=1e-5, atol=1e-5)
    y.backward(_arr(hv))
    _close(x.grad, hv.dot(wv), rtol=1e-5, atol=1e-5)
    _close(w.grad, hv.T.dot(xv), rtol=1e-5, atol=1e-5)
    _close(b.grad, hv.sum(axis=0), rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------
# small MLP end to end
# ----------------------------------------------------------------------------
def _mlp_loss(x, w1, b1, w2, b2, labels):
    h = nd.FullyConnected(x, w1, b1, num_hidden=5)
    h = nd.Activation(h, act_type="relu")
    o = nd.FullyConnected(h, w2, b2, num_hidden=3)
    ls = nd.log_softmax(o, axis=-1)
    return -nd.mean(nd.pick(ls, labels, axis=-1))


def test_mlp_gradient_finite_difference_float64():
    rs = np.random.RandomState(3)
    arrays = [rs.randn(4, 3), rs.randn(5, 3) * 0.8, rs.randn(5) * 0.5,
              rs.randn(3, 5) * 0.8, rs.randn(3) * 0.5]
    labels = _arr([0, 2, 1, 2], "float64")

    def f(*xs):
        return _mlp_loss(*xs, labels)

    _check_grad(f, arrays, rtol=1e-5, atol=1e-8)


def test_mlp_forward_and_weight_gradients_numpy():
    rs = np.random.RandomState(5)
    xv, w1v, b1v, w2v, b2v = (rs.randn(4, 3), rs.randn(5, 3), rs.randn(5),
                              rs.randn(3, 5), rs.randn(3))
    lv = np.array([0, 2, 1, 2])
    params = [_arr(a, "float64") for a in (w1v, b1v, w2v, b2v)]
    for p in params:
        p.attach_grad()
    with ag.record():
        loss = _mlp_loss(_arr(xv, "float64"), *params, _arr(lv, "float64"))
    loss.backward()
    # numpy reference
    pre = xv.dot(w1v.T) + b1v
    h = np.maximum(pre, 0)
    o = h.dot(w2v.T) + b2v
    e = np.exp(o - o.max(axis=1, keepdims=True))
    sm = e / e.sum(axis=1, keepdims=True)
    n = len(lv)
    ref_loss = -np.mean(np.log(sm[np.arange(n), lv]))
    _close(loss, [ref_loss] if loss.shape == (1,) else ref_loss, rtol=1e-10, atol=1e-12)
    do = (sm - np.eye(3)[lv]) / n
    dw2 = do.T.dot(h)
    db2 = do.sum(axis=0)
    dh = do.dot(w2v) * (pre > 0)
    dw1 = dh.T.dot(xv)
    db1 = dh.sum(axis=0)
    for p, ref in zip(params, (dw1, db1, dw2, db2)):
        _close(p.grad, ref, rtol=1e-10, atol=1e-12)


def test_training_loop_with_grad_req_write_decreases_loss():
    rs = np.random.RandomState(9)
    xv = rs.randn(8, 3)
    lv = (xv[:, 0] > 0).astype(np.float64) + (xv[:, 1] > 0)
    x, labels = _arr(xv), _arr(lv)
    params = [_arr(rs.randn(5, 3) * 0.5), nd.zeros(5), _arr(rs.randn(3, 5) * 0.5), nd.zeros(3)]
    for p in params:
        p.attach_grad()
    losses = []
    for _ in range(20):
        with ag.record():
            loss = _mlp_loss(x, *params, labels)
        loss.backward()
        losses.append(float(loss.asnumpy().reshape(-1)[0]))
        for p in params:
            p[:] = p - 0.5 * p.grad
    assert losses[-1] < losses[0] * 0.8
