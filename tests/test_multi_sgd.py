"""MXNet's aggregated SGD operators (``multi_sgd_update``, ``multi_sgd_mom_update`` and their
``mp_`` forms), which ``SGD`` issues for its weights in one engine push: each weight's result
must be bit for bit the single-weight computation with its own ``lrs``/``wds`` entry (MXNet's
rounding of ``multi_sgd_update`` is ``w - ((lr*wd)*w + lr*rescale*g)``, checked against MXNet
itself by ``test_optimizer.py``'s fixtures)."""

import numpy as np
import pytest

import rmx as mx

SHAPES = [(3, 4), (70000,), (1,)]
LRS, WDS = (0.1, 0.25, 0.03), (0.01, 0.0, 0.5)


def arrays(dtype="float32", seed=0):
    rng = np.random.RandomState(seed)
    return [mx.nd.array(rng.randn(*s), dtype=dtype) for s in SHAPES]


def bits(xs):
    return [x.asnumpy().copy() for x in xs]


@pytest.mark.parametrize("clip", [None, 0.3])
def test_multi_sgd_mom_update_is_sgd_mom_update_per_weight(clip):
    kw = {"momentum": 0.9, "rescale_grad": 0.5, **({"clip_gradient": clip} if clip else {})}
    ws, gs, ms = arrays(seed=0), arrays(seed=1), arrays(seed=2)
    rw, rm = [w.copy() for w in ws], [m.copy() for m in ms]
    for w, g, m, lr, wd in zip(rw, gs, rm, LRS, WDS):
        mx.nd.sgd_mom_update(w, g, m, out=w, lr=lr, wd=wd, **kw)
    data = [a for t in zip(ws, gs, ms) for a in t]
    mx.nd.multi_sgd_mom_update(*data, lrs=LRS, wds=WDS, num_weights=3, out=ws, **kw)
    for a, b in zip(bits(ws + ms), bits(rw + rm)):
        assert np.array_equal(a, b)


def test_multi_sgd_update_rounds_as_mxnet():
    ws, gs = arrays(seed=0), arrays(seed=1)
    want = []
    for w, g, lr, wd in zip(bits(ws), bits(gs), LRS, WDS):
        lr, wd, r = np.float32(lr), np.float32(wd), np.float32(0.5)
        want.append(w - ((lr * wd) * w + (lr * r) * g))
    data = [a for t in zip(ws, gs) for a in t]
    mx.nd.multi_sgd_update(*data, lrs=LRS, wds=WDS, rescale_grad=0.5, num_weights=3, out=ws)
    for a, b in zip(bits(ws), want):
        assert np.array_equal(a, b)


def test_mixed_precision_forms_update_the_master_weights():
    w32s, gs, ms = arrays(seed=0), arrays("float16", seed=1), arrays(seed=2)
    ws = [w.astype("float16") for w in w32s]
    rw32, rm, rw = [w.copy() for w in w32s], [m.copy() for m in ms], [w.copy() for w in ws]
    for w, g, m, w32, lr, wd in zip(rw, gs, rm, rw32, LRS, WDS):
        mx.nd.mp_sgd_mom_update(w, g, m, w32, out=w, lr=lr, wd=wd, momentum=0.9)
    data = [a for t in zip(ws, gs, ms, w32s) for a in t]
    mx.nd.multi_mp_sgd_mom_update(*data, lrs=LRS, wds=WDS, momentum=0.9, num_weights=3, out=ws)
    for a, b in zip(bits(ws + ms + w32s), bits(rw + rm + rw32)):
        assert np.array_equal(a, b)
    # Without momentum: the master weights move as multi_sgd_update's do in float32.
    w32s2, ws2 = arrays(seed=0), [w.astype("float16") for w in arrays(seed=0)]
    plain = arrays(seed=0)
    mx.nd.multi_sgd_update(*[a for t in zip(plain, [g.astype("float32") for g in gs]) for a in t], lrs=LRS, wds=WDS, num_weights=3, out=plain)
    mx.nd.multi_mp_sgd_update(*[a for t in zip(ws2, gs, w32s2) for a in t], lrs=LRS, wds=WDS, num_weights=3, out=ws2)
    for a, b, h in zip(bits(w32s2), bits(plain), bits(ws2)):
        assert np.array_equal(a, b) and np.array_equal(h, a.astype(np.float16))


def test_bad_calls_name_the_problem():
    ws, gs = arrays(seed=0), arrays(seed=1)
    with pytest.raises(mx.base.MXNetError, match="lrs.*2 values for num_weights=3"):
        mx.nd.multi_sgd_update(*[a for t in zip(ws, gs) for a in t], lrs=(0.1, 0.2), wds=WDS, num_weights=3, out=ws)
    with pytest.raises(mx.base.MXNetError, match="2 inputs per weight"):
        mx.nd.multi_sgd_update(ws[0], gs[0], ws[1], lrs=LRS[:2], wds=WDS[:2], num_weights=2, out=ws[:2])
    with pytest.raises(mx.base.MXNetError, match="weight 1's grad has shape"):
        mx.nd.multi_sgd_update(ws[0], gs[0], ws[1], gs[2], lrs=LRS[:2], wds=WDS[:2], num_weights=2, out=ws[:2])


def test_module_update_pushes_a_few_fused_updates():
    """Module.update hands the updater every weight at once (as MXNet's _update_params):
    SGD then updates MXNET_OPTIMIZER_AGGREGATION_SIZE (4) weights per operator call."""
    data = mx.sym.var("data")
    net = data
    for i in range(3):
        net = mx.sym.FullyConnected(net, num_hidden=4, name=f"fc{i}")
    net = mx.sym.SoftmaxOutput(net, name="softmax")
    mod = mx.mod.Module(net, context=mx.cpu())
    mod.bind(data_shapes=[("data", (2, 5))], label_shapes=[("softmax_label", (2,))])
    mod.init_params()
    mod.init_optimizer(optimizer="sgd", optimizer_params={"learning_rate": 0.1, "momentum": 0.9})
    batch = mx.io.DataBatch([mx.nd.ones((2, 5))], [mx.nd.zeros((2,))])
    calls = []
    real = mx.nd.multi_sgd_mom_update

    def spy(*data, **kw):
        calls.append(kw["num_weights"])
        return real(*data, **kw)

    mx.nd.multi_sgd_mom_update = spy
    try:
        mod.forward_backward(batch)
        mod.update()
    finally:
        mx.nd.multi_sgd_mom_update = real
    assert calls == [4, 2]
