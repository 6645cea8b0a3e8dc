"""``mx.optimizer`` (rmx.optimizer).

- Every optimizer against a NumPy reference of MXNet 1.9.1's formulas, exactly (the kernels'
  float32 arithmetic in their order; learning-rate and weight-decay multipliers, the default
  no-decay rule for biases, rescaling, clipping, Adam's bias correction, a schedule), per step.
- Every optimizer against MXNet 1.9.1 itself, bit for bit: tests/fixtures/mxnet_optimizer_py.npz,
  written by tests/fixtures/make_optimizer_py_fixtures.py, whose ``run`` drives rmx here the
  same way it drove MXNet (``create`` + ``get_updater``, single/list/two-device calls).
- The base class, the registry, the Updater (states, pickling, devices).
"""

import importlib.util
import json
import os
import pickle
import warnings

import numpy as np
import pytest

import rmx as mx
import rmx.lr_scheduler
import rmx.optimizer as opt

HERE = os.path.dirname(os.path.abspath(__file__))
f32 = np.float32


# --------------------------------------------------------------------------------------------
# NumPy references (MXNet's formulas, float32 arithmetic in the kernels' order)
# --------------------------------------------------------------------------------------------
def clip(x, bound):
    return np.clip(x, -f32(bound), f32(bound)) if bound is not None else x


class Ref:
    """The learning rate and weight decay MXNet's base Optimizer gives each update."""

    def __init__(self, lr, wd=0.0, idx2name=None, lr_mult=None, wd_mult=None, schedule=None):
        self.lr, self.wd = lr, wd
        self.idx2name = idx2name or {}
        self.lr_mult = dict(lr_mult or {})
        self.wd_mult = {n: 0.0 for n in self.idx2name.values()
                        if not (n.endswith("_weight") or n.endswith("_gamma"))}
        self.wd_mult.update(wd_mult or {})
        self.schedule = schedule
        self.counts = {}
        self.num_update = 0

    def step(self, index):
        """Counts the update; returns (t, lr, wd) for it."""
        self.counts[index] = self.counts.get(index, 0) + 1
        self.num_update = max(self.num_update, self.counts[index])
        lr = self.schedule(self.num_update) if self.schedule else self.lr
        name = self.idx2name.get(index)
        lr *= self.lr_mult.get(index, self.lr_mult.get(name, 1.0))
        wd = self.wd * self.wd_mult.get(index, self.wd_mult.get(name, 1.0))
        return self.counts[index], lr, wd


def ref_sgd(p, w, g, s, t, lr, wd):
    lr, wd, rs = f32(lr), f32(wd), f32(p.get("rescale_grad", 1.0))
    cg = p.get("clip_gradient")
    step = lr * clip(rs * g, cg) if cg else (lr * rs) * g
    m = p.get("momentum", 0.0)
    if m > 0:
        s[0] = f32(m) * s[0] - (lr * wd) * w - step
        return w + s[0]
    return w - ((lr * wd) * w + step)  # MXNet's multi_sgd_update rounding


def ref_nag(p, w, g, s, t, lr, wd):
    lr, wd, rs, m = f32(lr), f32(wd), f32(p.get("rescale_grad", 1.0)), f32(p.get("momentum", 0.0))
    g = clip(rs * g, p.get("clip_gradient"))
    if m == 0:
        return (f32(1) - lr * wd) * w - lr * g
    m1 = m * s[0]
    new_w = w - m1 + (m + f32(1)) * (m1 - lr * (g + wd * w))
    s[0] = m1 - lr * (g + wd * new_w)  # out=weight: the weight is read again after it is written
    return new_w


def ref_adam(p, w, g, s, t, lr, wd):
    b1, b2 = p.get("beta1", 0.9), p.get("beta2", 0.999)
    lr = f32(lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t))
    g = clip(g * f32(p.get("rescale_grad", 1.0)) + w * f32(wd), p.get("clip_gradient"))
    s[0] = f32(b1) * s[0] + (f32(1) - f32(b1)) * g
    s[1] = f32(b2) * s[1] + (f32(1) - f32(b2)) * g * g
    return w - lr * s[0] / (np.sqrt(s[1]) + f32(p.get("epsilon", 1e-8)))


def ref_adagrad(p, w, g, s, t, lr, wd):
    g = clip(g * f32(p.get("rescale_grad", 1.0)), p.get("clip_gradient"))
    s[0] = s[0] + np.square(g)
    div = g / np.sqrt(s[0] + f32(p.get("eps", 1e-7)))
    return w + (div + w * f32(wd)) * f32(-lr)


def ref_rmsprop(p, w, g, s, t, lr, wd):
    g = clip(f32(p.get("rescale_grad", 1.0)) * g + f32(wd) * w, p.get("clip_gradient"))
    g1, eps, lr = f32(p.get("gamma1", 0.9)), f32(p.get("epsilon", 1e-8)), f32(lr)
    if p.get("centered"):
        s[0] = (f32(1) - g1) * g * g + g1 * s[0]
        s[1] = (f32(1) - g1) * g + g1 * s[1]
        s[2] = f32(p.get("gamma2", 0.9)) * s[2] - lr * g / np.sqrt(s[0] - s[1] * s[1] + eps)
        w = w + s[2]
    else:
        s[0] = (f32(1) - g1) * (g * g) + g1 * s[0]
        w = w - lr * (g / np.sqrt(s[0] + eps))
    return clip(w, p.get("clip_weights"))


def ref_adadelta(p, w, g, s, t, lr, wd):
    rho, eps = p.get("rho", 0.9), f32(p.get("epsilon", 1e-5))
    g = clip(g * f32(p.get("rescale_grad", 1.0)), p.get("clip_gradient"))
    s[0] = s[0] * f32(rho) + f32(1 - rho) * g * g
    delta = np.sqrt(s[1] + eps) / np.sqrt(s[0] + eps) * g
    s[1] = s[1] * f32(rho) + f32(1 - rho) * delta * delta
    return w - (delta + f32(wd) * w)


def ref_ftrl(p, w, g, s, t, lr, wd):
    lr, l1, beta = f32(lr), f32(p.get("lamda1", 0.01)), f32(p.get("beta", 1))
    g = clip(g * f32(p.get("rescale_grad", 1.0)), p.get("clip_gradient"))
    s[0] = s[0] + (g - (np.sqrt(s[1] + g * g) - np.sqrt(s[1])) * w / lr)
    s[1] = s[1] + g * g
    active = (np.abs(s[0]) > l1).astype(f32)
    return (np.sign(s[0]) * l1 - s[0]) / ((beta + np.sqrt(s[1])) / lr + f32(wd)) * active


def ref_signum(p, w, g, s, t, lr, wd):
    lr, wd, m = f32(lr), f32(wd), f32(p.get("momentum", 0.9))
    if m == 0:  # signsgd_update: no rescaling, no clipping
        return (f32(1) - lr * wd) * w - lr * np.sign(g)
    one = f32(1)
    rs, cg = f32(p.get("rescale_grad", 1.0)), p.get("clip_gradient")
    step = (one - m) * clip(rs * g, cg) if cg else (one - m) * rs * g
    s[0] = m * s[0] - (one - m) * wd * w - step
    return (one - lr * f32(p.get("wd_lh", 0.0))) * w + lr * np.sign(s[0])


def ref_ftml(p, w, g, s, t, lr, wd):
    b1, b2, one = f32(p.get("beta1", 0.6)), f32(p.get("beta2", 0.999)), f32(1)
    g = clip(f32(p.get("rescale_grad", 1.0)) * g + f32(wd) * w, p.get("clip_gradient"))
    s[1] = b2 * s[1] + (one - b2) * (g * g)
    d_t = (one - b1 ** f32(t)) / f32(lr) * (np.sqrt(s[1] / (one - b2 ** f32(t))) + f32(p.get("epsilon", 1e-8)))
    s[2] = b1 * s[2] + (one - b1) * g - (d_t - b1 * s[0]) * w
    s[0] = d_t
    return -s[2] / d_t


def ref_adamax(p, w, g, s, t, lr, wd):
    b1, b2 = p.get("beta1", 0.9), p.get("beta2", 0.999)
    lr = lr / (1 - b1 ** t)
    g = clip(g * f32(p.get("rescale_grad", 1.0)) + f32(wd) * w, p.get("clip_gradient"))
    s[0] = s[0] * f32(b1) + f32(1 - b1) * g
    s[1] = np.maximum(f32(b2) * s[1], np.abs(g))
    return w - f32(lr) * s[0] / s[1]


REFS = {"sgd": (ref_sgd, 1), "nag": (ref_nag, 1), "adam": (ref_adam, 2), "adagrad": (ref_adagrad, 1),
        "rmsprop": (ref_rmsprop, 3), "adadelta": (ref_adadelta, 2), "ftrl": (ref_ftrl, 2),
        "signum": (ref_signum, 1), "ftml": (ref_ftml, 3), "adamax": (ref_adamax, 2)}

DEFAULT_LR = {"sgd": 0.01, "nag": 0.01, "adam": 0.001, "adagrad": 0.01, "rmsprop": 0.001,
              "adadelta": 0.01, "ftrl": 0.1, "signum": 0.01, "ftml": 0.01, "adamax": 0.002}

NAMES = {0: "fc_weight", 1: "fc_bias"}
REFERENCE_CASES = [
    ("sgd", {}),
    ("sgd", {"learning_rate": 0.1, "wd": 0.01, "rescale_grad": 0.7}),
    ("sgd", {"learning_rate": 0.1, "wd": 0.01, "rescale_grad": 0.7, "clip_gradient": 0.3}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9, "wd": 0.01, "rescale_grad": 0.7}),
    ("sgd", {"learning_rate": 0.1, "momentum": 0.9, "wd": 0.01, "clip_gradient": 0.3}),
    ("nag", {"learning_rate": 0.1, "wd": 0.01}),
    ("nag", {"learning_rate": 0.1, "momentum": 0.9, "wd": 0.01, "rescale_grad": 0.7, "clip_gradient": 0.3}),
    ("adam", {}),
    ("adam", {"learning_rate": 0.05, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-6, "wd": 0.01,
              "rescale_grad": 0.7, "clip_gradient": 0.3}),
    ("adagrad", {"learning_rate": 0.1, "wd": 0.01}),
    ("adagrad", {"learning_rate": 0.1, "eps": 1e-5, "wd": 0.01, "rescale_grad": 0.7, "clip_gradient": 0.3}),
    ("rmsprop", {"wd": 0.01, "rescale_grad": 0.7}),
    ("rmsprop", {"learning_rate": 0.05, "gamma1": 0.8, "clip_weights": 0.9, "clip_gradient": 0.3, "wd": 0.01}),
    ("rmsprop", {"learning_rate": 0.05, "centered": True, "wd": 0.01}),
    ("rmsprop", {"learning_rate": 0.05, "centered": True, "gamma1": 0.8, "gamma2": 0.7, "epsilon": 1e-6,
                 "clip_weights": 0.9, "clip_gradient": 0.3, "rescale_grad": 0.7}),
    ("adadelta", {"wd": 0.01}),
    ("adadelta", {"rho": 0.8, "epsilon": 1e-4, "wd": 0.01, "rescale_grad": 0.7, "clip_gradient": 0.3}),
    ("ftrl", {"wd": 0.01}),
    ("ftrl", {"learning_rate": 0.05, "lamda1": 0.05, "beta": 0.5, "wd": 0.01, "rescale_grad": 0.7,
              "clip_gradient": 0.3}),
    ("signum", {"wd": 0.01}),
    ("signum", {"learning_rate": 0.05, "momentum": 0.8, "wd_lh": 0.02, "wd": 0.01, "rescale_grad": 0.7,
                "clip_gradient": 0.3}),
    ("signum", {"learning_rate": 0.05, "momentum": 0.0, "wd": 0.01, "rescale_grad": 0.7}),
    ("ftml", {"wd": 0.01}),
    ("ftml", {"learning_rate": 0.05, "beta1": 0.5, "beta2": 0.99, "epsilon": 1e-6, "wd": 0.01,
              "rescale_grad": 0.7, "clip_gradient": 0.3}),
    ("adamax", {"wd": 0.01, "clip_gradient": 0.3}),
]


def _draw(seed, steps=4, n=7):
    rng = np.random.RandomState(seed)
    w0 = [rng.randn(n).astype(f32) for _ in range(2)]
    grads = [[(rng.randn(n) * 2).astype(f32) for _ in range(2)] for _ in range(steps)]
    for s, gs in enumerate(grads):
        for g in gs:
            g[s] = 0
    return w0, grads


def _run_reference(name, kwargs, w0, grads, ref):
    fn, nstates = REFS[name]
    ws = [w.copy() for w in w0]
    states = [[np.zeros_like(w) for _ in range(nstates)] for w in w0]
    out = []
    for gs in grads:
        for i in range(2):
            t, lr, wd = ref.step(i)
            ws[i] = np.asarray(fn(kwargs, ws[i], gs[i].copy(), states[i], t, lr, wd), dtype=f32)
        out.append([w.copy() for w in ws])
    return out


def _run_rmx(optimizer, w0, grads):
    updater = opt.get_updater(optimizer)
    ws = [mx.nd.array(w) for w in w0]
    out = []
    for gs in grads:
        for i in range(2):
            updater(i, mx.nd.array(gs[i]), ws[i])
        out.append([w.asnumpy() for w in ws])
    return out


def _compare(got, expected):
    """Exact: the references compute in float32 in the kernels' order."""
    for step, (g_step, e_step) in enumerate(zip(got, expected)):
        for g, e in zip(g_step, e_step):
            np.testing.assert_array_equal(g, e, err_msg="step %d" % step)


@pytest.mark.parametrize("name,kwargs", REFERENCE_CASES,
                         ids=["%s-%s" % (n, json.dumps(k, sort_keys=True)) for n, k in REFERENCE_CASES])
def test_matches_numpy_reference(name, kwargs):
    w0, grads = _draw(7)
    lr = kwargs.get("learning_rate", DEFAULT_LR[name])
    expected = _run_reference(name, kwargs, w0, grads, Ref(lr, kwargs.get("wd", 0.0)))
    got = _run_rmx(opt.create(name, **kwargs), w0, grads)
    _compare(got, expected)


@pytest.mark.parametrize("name", ["sgd", "adam", "rmsprop", "ftml", "adagrad", "signum"])
def test_reference_with_names_multipliers_and_schedule(name):
    """Bias gets no weight decay (param_idx2name), lr_mult on the weight by name, wd_mult on the
    bias by index (overrides the default 0), and a FactorScheduler driving the rate."""
    kwargs = {"wd": 0.05, "rescale_grad": 0.5, "momentum": 0.9} if name == "sgd" else {"wd": 0.05, "rescale_grad": 0.5}
    w0, grads = _draw(11, steps=5)

    def schedule(n):  # FactorScheduler(step=2, factor=0.5, base_lr=0.04)
        return 0.04 * 0.5 ** ((n - 1) // 2)

    for with_index_wd in (False, True):
        ref = Ref(0.04, kwargs["wd"], idx2name=NAMES, lr_mult={"fc_weight": 3.0},
                  wd_mult={1: 0.5} if with_index_wd else None, schedule=schedule)
        expected = _run_reference(name, kwargs, w0, grads, ref)
        o = opt.create(name, param_idx2name=NAMES,
                       lr_scheduler=rmx.lr_scheduler.FactorScheduler(step=2, factor=0.5, base_lr=0.04),
                       learning_rate=0.04, **kwargs)
        o.set_lr_mult({"fc_weight": 3.0})
        if with_index_wd:
            o.set_wd_mult({1: 0.5})
        got = _run_rmx(o, w0, grads)
        _compare(got, expected)
        assert o.num_update == 5
        assert o.learning_rate == pytest.approx(schedule(5))


@pytest.mark.parametrize("momentum", [0.0, 0.9])
@pytest.mark.parametrize("name", ["sgd", "nag"])
def test_float16_multi_precision_reference(name, momentum):
    """float16 weights with multi_precision: a float32 master copy is updated from the float16
    gradient widened to float32; the weight is the master rounded to float16."""
    kwargs = {"learning_rate": 0.1, "momentum": momentum, "wd": 0.01, "rescale_grad": 0.7,
              "clip_gradient": 0.5}
    w0, grads = _draw(5)
    w0 = [w.astype(np.float16) for w in w0]
    grads = [[g.astype(np.float16) for g in gs] for gs in grads]
    fn = REFS[name][0]
    masters = [w.astype(f32) for w in w0]
    states = [[np.zeros(w.shape, f32)] for w in w0]
    ref = Ref(0.1, 0.01)
    o = opt.create(name, multi_precision=True, **kwargs)
    updater = opt.get_updater(o)
    ws = [mx.nd.array(w, dtype="float16") for w in w0]
    for gs in grads:
        for i in range(2):
            t, lr, wd = ref.step(i)
            masters[i] = fn(kwargs, masters[i], gs[i].astype(f32), states[i], t, lr, wd)
            updater(i, mx.nd.array(gs[i], dtype="float16"), ws[i])
        for i in range(2):
            assert ws[i].dtype == np.float16
            np.testing.assert_array_equal(updater.states[i][1].asnumpy(), masters[i])
            np.testing.assert_array_equal(ws[i].asnumpy(), masters[i].astype(np.float16))
    if momentum == 0:
        assert all(updater.states[i][0] is None for i in range(2))


def test_nadam_reference():
    kwargs = {"learning_rate": 0.01, "wd": 0.01, "rescale_grad": 0.7, "clip_gradient": 0.3}
    w0, grads = _draw(3)
    ws = [w.copy() for w in w0]
    st = [[np.zeros_like(w), np.zeros_like(w)] for w in w0]
    b1, b2, eps, decay = 0.9, 0.999, 1e-8, 0.004
    m_schedule = 1.0
    ref = Ref(0.01, 0.01)
    expected = []
    for gs in grads:
        for i in range(2):
            t, lr, wd = ref.step(i)
            g = clip(gs[i] * f32(0.7) + f32(wd) * ws[i], 0.3)
            mom_t = b1 * (1. - 0.5 * 0.96 ** (t * decay))
            mom_t1 = b1 * (1. - 0.5 * 0.96 ** ((t + 1) * decay))
            m_schedule *= mom_t
            m_next = m_schedule * mom_t1
            st[i][0] = st[i][0] * f32(b1) + f32(1 - b1) * g
            st[i][1] = st[i][1] * f32(b2) + f32(1 - b2) * g * g
            m_bar = f32(1 - mom_t) * (g / f32(1 - m_schedule)) + f32(mom_t1) * (st[i][0] / f32(1 - m_next))
            v_prime = st[i][1] / f32(1 - b2 ** t)
            ws[i] = ws[i] - f32(lr) * m_bar / (np.sqrt(v_prime) + f32(eps))
        expected.append([w.copy() for w in ws])
    _compare(_run_rmx(opt.create("nadam", **kwargs), w0, grads), expected)


# --------------------------------------------------------------------------------------------
# MXNet 1.9.1 fixture: bit-for-bit
# --------------------------------------------------------------------------------------------
_spec = importlib.util.spec_from_file_location(
    "make_optimizer_py_fixtures", os.path.join(HERE, "fixtures", "make_optimizer_py_fixtures.py"))
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)
FIXTURE = np.load(os.path.join(HERE, "fixtures", "mxnet_optimizer_py.npz"))
META = json.loads(bytes(FIXTURE["meta"]).decode())


def test_fixture_covers_every_case_of_the_generator():
    assert [[m["name"], m["kwargs"], m["dtype"], m["mode"], m["extras"]] for m in META] == \
        json.loads(json.dumps([list(c) for c in gen.CASES]))


@pytest.mark.parametrize("k", range(len(META)),
                         ids=["%d-%s-%s-%s" % (k, m["name"], m["dtype"], m["mode"]) for k, m in enumerate(META)])
def test_matches_mxnet_exactly(k, capsys):
    m = META[k]
    case = (m["name"], m["kwargs"], m["dtype"], m["mode"], m["extras"])
    weights, states, info = gen.run(mx, case, FIXTURE["%d/init" % k], FIXTURE["%d/grads" % k])
    expected = FIXTURE["%d/weights" % k]
    for step in range(expected.shape[0]):
        np.testing.assert_array_equal(weights[step], expected[step], err_msg="step %d" % step)
    np.testing.assert_array_equal(states, FIXTURE["%d/states" % k])
    np.testing.assert_array_equal(info, FIXTURE["%d/info" % k])


# --------------------------------------------------------------------------------------------
# The base class
# --------------------------------------------------------------------------------------------
def test_defaults():
    assert opt.Optimizer().lr == 0.01
    assert opt.Optimizer().learning_rate == 0.01
    assert opt.SGD().momentum == 0.0 and opt.SGD().lazy_update is True
    adam = opt.Adam()
    assert (adam.lr, adam.beta1, adam.beta2, adam.epsilon) == (0.001, 0.9, 0.999, 1e-8)
    assert opt.AdaGrad().float_stable_eps == 1e-7
    rms = opt.RMSProp()
    assert (rms.lr, rms.gamma1, rms.gamma2, rms.epsilon, rms.centered, rms.clip_weights) == \
        (0.001, 0.9, 0.9, 1e-8, False, None)
    assert (opt.AdaDelta().rho, opt.AdaDelta().epsilon) == (0.9, 1e-5)
    assert (opt.Ftrl().lamda1, opt.Ftrl().lr, opt.Ftrl().beta) == (0.01, 0.1, 1)
    assert (opt.Adamax().lr, opt.Nadam().schedule_decay) == (0.002, 0.004)
    assert (opt.Signum().lr, opt.Signum().momentum, opt.Signum().wd_lh) == (0.01, 0.9, 0.0)
    assert (opt.FTML().beta1, opt.FTML().beta2, opt.FTML().epsilon) == (0.6, 0.999, 1e-8)
    assert (opt.DCASGD().momentum, opt.DCASGD().lamda) == (0.0, 0.04)
    o = opt.Optimizer()
    assert (o.rescale_grad, o.wd, o.clip_gradient, o.num_update, o.begin_num_update,
            o.multi_precision, o.idx2name, o.param_dict, o.aggregate_num) == \
        (1.0, 0.0, None, 0, 0, False, {}, {}, 0)
    assert opt.SGD().aggregate_num == 4


def test_learning_rate_and_scheduler(capsys):
    o = opt.SGD(learning_rate=0.5)
    o.set_learning_rate(0.25)
    assert o.learning_rate == 0.25
    sched = rmx.lr_scheduler.FactorScheduler(step=1, factor=0.5, base_lr=0.2)
    o = opt.SGD(lr_scheduler=sched)
    assert o.lr is None and o.learning_rate == 0.2
    with pytest.raises(UserWarning):
        o.set_learning_rate(0.1)
    o.num_update = 3
    assert o.learning_rate == pytest.approx(0.05)
    # Both given: the optimizer's rate overwrites the scheduler's base (and says so).
    sched = rmx.lr_scheduler.FactorScheduler(step=1, base_lr=0.2)
    opt.SGD(learning_rate=0.3, lr_scheduler=sched)
    assert sched.base_lr == 0.3
    assert "overwritten" in capsys.readouterr().out
    # Adam passes its own default rate: a scheduler's base_lr is replaced by 0.001.
    sched = rmx.lr_scheduler.FactorScheduler(step=1, base_lr=0.2)
    opt.Adam(lr_scheduler=sched)
    assert sched.base_lr == 0.001


def test_wd_mult_default_rule_and_symbol_attributes():
    names = {0: "fc_weight", 1: "fc_bias", 2: "bn_gamma", 3: "bn_beta", 4: "bn_moving_mean", 5: "emb"}
    o = opt.SGD(wd=0.1, param_idx2name=names)
    assert o.wd_mult == {"fc_bias": 0.0, "bn_beta": 0.0, "bn_moving_mean": 0.0, "emb": 0.0}
    assert [o._get_wd(i) for i in range(6)] == [0.1, 0.0, 0.1, 0.0, 0.0, 0.0]
    assert o._get_wd(99) == 0.1  # unnamed index: the base decay
    o.set_wd_mult({"emb": 2.0, 0: 3.0})
    assert o._get_wd(5) == pytest.approx(0.2) and o._get_wd(0) == pytest.approx(0.3)
    assert o.wd_mult["fc_bias"] == 0.0  # the default rule is applied again
    o.set_lr_mult({"fc_bias": 10.0})
    assert o._get_lr(1) == pytest.approx(0.1) and o._get_lr(0) == 0.01

    w = mx.sym.Variable("fc_weight", lr_mult=0.5, wd_mult=3.0)
    b = mx.sym.Variable("fc_bias", wd_mult=2.0)
    net = mx.sym.FullyConnected(mx.sym.Variable("data"), weight=w, bias=b, num_hidden=2, name="fc")
    o = opt.SGD(wd=0.1, learning_rate=1.0, sym=net, param_idx2name={0: "fc_weight", 1: "fc_bias"})
    assert o.lr_mult == {"fc_weight": 0.5}
    assert o.wd_mult == {"fc_bias": 2.0, "fc_weight": 3.0}  # the attribute overrides the rule
    assert (o._get_lr(0), o._get_lr(1)) == (0.5, 1.0)
    assert (o._get_wd(0), o._get_wd(1)) == (pytest.approx(0.3), pytest.approx(0.2))
    o.set_lr_mult({"fc_weight": 4.0})
    assert o._get_lr(0) == 4.0


def test_param_dict_multipliers_come_first():
    class Param:
        lr_mult, wd_mult = 2.0, 0.5

    o = opt.SGD(learning_rate=0.1, wd=0.2, param_dict={0: Param()})
    o.set_lr_mult({0: 100.0})
    assert (o._get_lr(0), o._get_wd(0)) == (pytest.approx(0.2), pytest.approx(0.1))
    state = pickle.loads(pickle.dumps(o))
    assert state.param_dict == {} and state._get_lr(0) == pytest.approx(10.0)


def test_update_counts_per_device():
    o = opt.SGD(begin_num_update=5)
    o._update_count(0)
    o._update_count([0, 1])
    assert o._index_update_count == {0: 7, 1: 6} and o.num_update == 7
    o._set_current_context(1)
    o._update_count(0)
    assert o._index_update_count == {0: 6} and o.num_update == 7
    o._set_current_context(0)
    assert o._index_update_count == {0: 7, 1: 6}
    assert set(o._all_index_update_counts) == {0, 1}


def test_registry_and_create():
    assert isinstance(opt.create("SGD", momentum=0.5), opt.SGD)
    assert isinstance(opt.create("sgd"), opt.SGD)
    assert isinstance(opt.Optimizer.create_optimizer("AdaDelta"), opt.AdaDelta)
    for name in ["sgd", "nag", "adam", "adagrad", "rmsprop", "adadelta", "ftrl", "signum", "ftml",
                 "adamax", "nadam", "dcasgd", "sgld", "ccsgd", "test"]:
        assert name in opt.Optimizer.opt_registry
    with pytest.raises(ValueError):
        opt.create("no_such_optimizer")

    @opt.register
    class MyOpt(opt.Optimizer):
        def update(self, index, weight, grad, state):
            weight[:] -= grad

    assert isinstance(opt.create("myopt"), MyOpt)
    assert opt.Optimizer.opt_registry["myopt"] is MyOpt
    with pytest.warns(UserWarning):
        opt.Optimizer.register(type("MyOpt", (opt.Optimizer,), {}))
    assert mx.optimizer is opt
    assert opt.create(opt.create("sgd")).__class__ is opt.SGD


def test_float16_without_multi_precision_warns():
    w = mx.nd.ones((3,), dtype="float16")
    for o in (opt.SGD(momentum=0.9), opt.NAG(momentum=0.9), opt.Adam()):
        with pytest.warns(UserWarning, match="multi_precision"):
            o.create_state_multi_precision(0, w)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        state = opt.Adam(multi_precision=True).create_state_multi_precision(0, w)
    assert state[0].dtype == np.float32 and state[1][0].dtype == np.float32
    mom, master = opt.SGD(momentum=0.9, multi_precision=True).create_state_multi_precision(0, w)
    assert mom.dtype == np.float32 and master.dtype == np.float32


def test_state_dtypes_and_contexts():
    w = mx.nd.ones((2, 3), ctx=mx.cpu(1), dtype="float64")
    mom = opt.SGD(momentum=0.9).create_state(0, w)
    assert mom.dtype == np.float64 and mom.context == mx.cpu(1) and mom.shape == (2, 3)
    assert opt.SGD().create_state(0, w) is None
    assert all(s.dtype == np.float64 for s in opt.Adam().create_state(0, w))
    # AdaGrad, RMSProp, AdaDelta and Ftrl states are float32 whatever the weight, as MXNet's.
    assert opt.AdaGrad().create_state(0, w).dtype == np.float32
    assert len(opt.RMSProp().create_state(0, w)) == 1 and len(opt.RMSProp(centered=True).create_state(0, w)) == 3
    assert opt.Signum(momentum=0).create_state(0, w) is None


def test_adadelta_rescales_the_gradient_in_place():
    g = mx.nd.ones((3,))
    opt.get_updater(opt.AdaDelta(rescale_grad=0.5))(0, g, mx.nd.ones((3,)))
    np.testing.assert_array_equal(g.asnumpy(), [0.5, 0.5, 0.5])


def test_sgld_and_test_optimizer():
    mx.random.seed(3)
    w = mx.nd.zeros((1000,))
    opt.get_updater(opt.SGLD(learning_rate=0.04))(0, mx.nd.zeros((1000,)), w)
    assert abs(float(w.asnumpy().std()) - 0.2) < 0.02
    o = opt.create("test", rescale_grad=2.0)
    u = opt.get_updater(o)
    w = mx.nd.ones((2,))
    u(0, mx.nd.ones((2,)), w)
    np.testing.assert_array_equal(u.states[0].asnumpy(), [3, 3])


def test_dcasgd_with_momentum():
    o = opt.DCASGD(learning_rate=0.1, momentum=0.5, lamda=0.1)
    u = opt.get_updater(o)
    w = mx.nd.array([1.0, 2.0])
    g = mx.nd.array([0.5, -1.0])
    u(0, g, w)
    # first step: previous weight == weight, so the delay term vanishes: mom = -lr * g
    np.testing.assert_allclose(w.asnumpy(), [0.95, 2.1], rtol=1e-6)
    u(0, g, w)
    prev, wv, gv = np.array([1.0, 2.0]), np.array([0.95, 2.1]), np.array([0.5, -1.0])
    # second step: the delay term uses the weight before the first step
    step = -0.1 * (gv + 0.1 * gv * gv * (wv - prev))
    expected = wv + (0.5 * -0.1 * gv + step)
    np.testing.assert_allclose(w.asnumpy(), expected, rtol=1e-6)


# --------------------------------------------------------------------------------------------
# The Updater
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("dump", [False, True])
def test_updater_states_roundtrip(dump):
    """Two steps, states saved and loaded into a new Updater, two more steps: the same weights as
    four steps in one go. With ``dump_optimizer`` the optimizer (its counts) travels too."""
    rng = np.random.RandomState(0)
    shapes = [(3,), (2, 2)]
    grads = [[rng.randn(*s) for s in shapes] for _ in range(4)]

    def steps(updater, ws, gs):
        for g_step in gs:
            for i, (w, g) in enumerate(zip(ws, g_step)):
                updater(i, mx.nd.array(g), w)

    ws_a = [mx.nd.ones(s) for s in shapes]
    steps(opt.get_updater(opt.create("adam", learning_rate=0.01, wd=0.001)), ws_a, grads)

    ws_b = [mx.nd.ones(s) for s in shapes]
    ub = opt.get_updater(opt.create("adam", learning_rate=0.01, wd=0.001))
    steps(ub, ws_b, grads[:2])
    blob = ub.get_states(dump_optimizer=dump)
    uc = opt.get_updater(opt.SGD() if dump else ub.optimizer)
    uc.set_states(blob)
    assert uc.states_synced == {0: False, 1: False}
    assert isinstance(uc.optimizer, opt.Adam) and uc.optimizer.num_update == 2
    assert (uc.optimizer is ub.optimizer) is (not dump)
    steps(uc, ws_b, grads[2:])
    assert uc.states_synced == {0: True, 1: True}
    for a, b in zip(ws_a, ws_b):
        np.testing.assert_array_equal(a.asnumpy(), b.asnumpy())


def test_updater_moves_loaded_states_to_the_weights_device():
    u = opt.get_updater(opt.SGD(momentum=0.9))
    w = mx.nd.ones((2,), ctx=mx.cpu(1))
    u(0, mx.nd.ones((2,), ctx=mx.cpu(1)), w)
    v = opt.get_updater(opt.SGD(momentum=0.9))
    v.set_states(u.get_states())
    assert v.states[0].context == mx.cpu(0)  # unpickled onto the default device
    v(0, mx.nd.ones((2,), ctx=mx.cpu(1)), w)
    assert v.states[0].context == mx.cpu(1)
    np.testing.assert_allclose(w.asnumpy(), [1 - 0.01 - 0.019] * 2, rtol=1e-6)


def test_updater_string_and_bytes_indices_and_lists():
    o = opt.SGD(learning_rate=1.0, param_idx2name={})
    u = opt.get_updater(o)
    w = mx.nd.ones((2,))
    u(b"fc_weight", mx.nd.ones((2,)), w)
    u("fc_weight", mx.nd.ones((2,)), w)
    assert list(u.states) == ["fc_weight"]
    np.testing.assert_array_equal(w.asnumpy(), [-1, -1])
    # A list call groups by dtype and hands the optimizer up to aggregate_num weights at once.
    calls = []

    class Spy(opt.SGD):
        def update_multi_precision(self, index, weight, grad, state):
            calls.append((tuple(index), len(weight)))
            super().update_multi_precision(index, weight, grad, state)

    u = opt.get_updater(Spy(learning_rate=0.5))
    ws = [mx.nd.ones((2,), dtype="float64" if i % 2 else "float32") for i in range(7)]
    u(list(range(7)), [mx.nd.ones((2,), dtype=w.dtype) for w in ws], ws)
    assert calls == [((0, 2, 4, 6), 4), ((1, 3, 5), 3)]
    assert all(np.all(w.asnumpy() == 0.5) for w in ws)
    # Optimizers that do not aggregate are called once per index.
    calls.clear()
    o = opt.Adam()
    assert not opt.get_updater(o).aggregate_updates


def test_updater_on_two_devices_counts_each_device():
    """Module's layout: index 2*i + device; each device's update counts are its own, so Adam's
    bias correction follows each copy's own step."""
    o = opt.create("adam", learning_rate=0.1)
    u = opt.get_updater(o)
    w0 = mx.nd.ones((3,), ctx=mx.cpu(0))
    w1 = mx.nd.ones((3,), ctx=mx.cpu(1))
    u([0], [mx.nd.ones((3,), ctx=mx.cpu(0))], [w0])
    u([0], [mx.nd.ones((3,), ctx=mx.cpu(0))], [w0])
    u([1], [mx.nd.ones((3,), ctx=mx.cpu(1))], [w1])
    assert o._all_index_update_counts == {0: {0: 2}, 1: {1: 1}}
    assert u.states[1][0].context == mx.cpu(1)
    # The first Adam step moves each element by lr (sign of the gradient) whatever the count.
    np.testing.assert_allclose(w1.asnumpy(), [0.9] * 3, rtol=1e-5)


def test_updates_are_asynchronous_and_in_place():
    """The update is queued and the weight and states are written in place: the arrays the
    caller holds change, no new arrays replace them."""
    o = opt.create("sgd", learning_rate=0.1, momentum=0.9)
    u = opt.get_updater(o)
    w = mx.nd.ones((1000,))
    handle = w.handle
    for _ in range(50):
        u(0, mx.nd.ones((1000,)), w)
    mom = u.states[0]
    assert w.handle is handle
    mx.nd.waitall()
    m = np.float32(0)
    x = np.float32(1)
    for _ in range(50):
        m = f32(0.9) * m - f32(0.1) * f32(1)
        x = x + m
    np.testing.assert_allclose(w.asnumpy(), np.full(1000, x), rtol=1e-6)
    np.testing.assert_allclose(mom.asnumpy(), np.full(1000, m), rtol=1e-6)
