"""``mx.gluon`` on its own terms, against NumPy and finite differences: parameters (deferred
initialization, grad_req, contexts, casting, sharing), blocks (hooks, containers, attribute
rules, hybridize), Trainer (multi-context sums, states, learning rate), utils, and a small
model that must learn."""

import time

import numpy as np
import pytest

import rmx as mx
from rmx import autograd, gluon
from rmx.gluon import nn


def _dense(units, in_units=0, **kwargs):
    with mx.name.NameManager():
        return nn.Dense(units, in_units=in_units, **kwargs)


# --- parameters ------------------------------------------------------------------------------

def test_deferred_initialization_completes_on_first_forward():
    net = _dense(4)
    assert net.weight.shape == (4, 0)
    net.initialize()
    with pytest.raises(gluon.DeferredInitializationError):
        net.weight.data()
    assert net.weight.list_ctx() == [mx.cpu()]
    y = net(mx.nd.ones((2, 3, 5)))
    assert y.shape == (2, 4)
    assert net.weight.shape == (4, 15)
    assert net.weight.data().shape == (4, 15)
    np.testing.assert_array_equal(net.bias.data().asnumpy(), np.zeros(4))


def test_deferred_shapes_of_nested_blocks():
    with mx.name.NameManager():
        net = nn.HybridSequential()
        with net.name_scope():
            net.add(nn.Conv2D(4, 3), nn.BatchNorm(), nn.PReLU(), nn.Dense(3, flatten=False), nn.Embedding(5, 2))
    net.initialize()
    net(mx.nd.ones((2, 3, 6, 6)))
    shapes = {k: v.shape for k, v in net._collect_params_with_prefix().items()}
    assert shapes["0.weight"] == (4, 3, 3, 3)
    assert shapes["1.gamma"] == (4,) and shapes["1.running_var"] == (4,)
    assert shapes["3.weight"] == (3, 4)
    assert shapes["4.weight"] == (5, 2)


def test_parameter_without_shape_cannot_initialize():
    p = gluon.Parameter("w", shape=(2, 0))
    with pytest.raises(ValueError):
        p.initialize()


def test_grad_req_add_accumulates_and_zero_grad_resets():
    net = _dense(2, in_units=3)
    net.initialize(mx.init.One())
    net.collect_params().setattr("grad_req", "add")
    x = mx.nd.ones((1, 3))
    for _ in range(2):
        with autograd.record():
            y = net(x).sum()
        y.backward()
    np.testing.assert_allclose(net.weight.grad().asnumpy(), 2 * np.ones((2, 3)))
    net.collect_params().zero_grad()
    np.testing.assert_array_equal(net.weight.grad().asnumpy(), np.zeros((2, 3)))


def test_grad_req_null_has_no_gradient():
    net = _dense(2, in_units=3)
    net.initialize()
    net.weight.grad_req = "null"
    with pytest.raises(RuntimeError):
        net.weight.grad()
    x = mx.nd.ones((1, 3))
    with autograd.record():
        y = net(x).sum()
    y.backward()
    np.testing.assert_array_equal(net.bias.grad().asnumpy(), np.ones(2))


def test_dense_gradient_matches_finite_differences():
    net = _dense(3, in_units=4, dtype="float64", activation="tanh")
    net.initialize(mx.init.Uniform(0.5))
    rng = np.random.RandomState(0)
    x = mx.nd.array(rng.uniform(-1, 1, (2, 4)), dtype="float64")
    head = rng.uniform(-1, 1, (2, 3))
    with autograd.record():
        y = net(x)
    y.backward(mx.nd.array(head, dtype="float64"))
    w = net.weight.data().asnumpy().copy()
    analytic = net.weight.grad().asnumpy()
    numeric = np.zeros_like(w)
    eps = 1e-6
    for idx in np.ndindex(*w.shape):
        for sign in (1, -1):
            w2 = w.copy()
            w2[idx] += sign * eps
            net.weight.set_data(mx.nd.array(w2, dtype="float64"))
            numeric[idx] += sign * float((net(x).asnumpy() * head).sum()) / (2 * eps)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


def test_selu_gradient_is_the_derivative():
    x = mx.nd.array(np.linspace(-2, 2, 9), dtype="float64")
    x.attach_grad()
    with autograd.record():
        y = nn.SELU()(x)
    y.backward()
    lam, alpha = 1.0507009873554804934193349852946, 1.6732632423543772848170429916717
    xs = x.asnumpy()
    want = np.where(xs > 0, lam, lam * alpha * np.exp(xs))
    np.testing.assert_allclose(x.grad.asnumpy(), want, rtol=1e-12)


def test_cast_and_dtype():
    net = _dense(2, in_units=3)
    net.initialize()
    net.cast("float64")
    assert net.weight.data().dtype == np.float64
    assert net.weight.grad().dtype == np.float64
    with autograd.record():
        y = net(mx.nd.ones((1, 3), dtype="float64"))
    assert y.dtype == np.float64
    y.backward()
    np.testing.assert_array_equal(net.weight.grad().asnumpy(), np.ones((2, 3)))


def test_constant_is_not_trained():
    class Scale(gluon.HybridBlock):
        def __init__(self, **kwargs):
            super(Scale, self).__init__(**kwargs)
            self.w = self.params.get("w", shape=(2,), init=mx.init.One())
            self.c = self.params.get_constant("c", [2.0, 3.0])

        def hybrid_forward(self, F, x, w, c):
            return F.broadcast_mul(F.broadcast_mul(x, w), c)

    with mx.name.NameManager():
        block = Scale()
    block.initialize()
    trainer = gluon.Trainer(block.collect_params(), "sgd", {"learning_rate": 1.0})
    with autograd.record():
        y = block(mx.nd.ones((1, 2))).sum()
    y.backward()
    trainer.step(1)
    np.testing.assert_array_equal(block.c.data().asnumpy(), [2.0, 3.0])
    np.testing.assert_allclose(block.w.data().asnumpy(), [-1.0, -2.0])
    assert block.c.grad_req == "null"


def test_parameter_dict_get_checks_attributes_and_shares():
    params = gluon.ParameterDict("p_")
    w = params.get("w", shape=(2, 0))
    assert params.get("w", shape=(0, 3)) is w and w.shape == (2, 3)
    with pytest.raises(AssertionError):
        params.get("w", shape=(4, 3))
    shared = gluon.ParameterDict("p_", shared=params)
    assert shared.get("w") is w
    assert len(shared) == 1 and "p_w" in shared


def test_data_on_several_contexts_and_reset_ctx():
    net = _dense(2, in_units=3)
    ctxs = [mx.cpu(0), mx.cpu(1)]
    net.initialize(ctx=ctxs)
    assert net.weight.list_ctx() == ctxs
    a, b = net.weight.list_data()
    np.testing.assert_array_equal(a.asnumpy(), b.asnumpy())
    assert net.weight.data(mx.cpu(1)).context == mx.cpu(1)
    with pytest.raises(RuntimeError):
        net.weight.data(mx.cpu(2))
    net.collect_params().reset_ctx(mx.cpu(2))
    assert net.weight.data().context == mx.cpu(2)


def _seq(*units):
    with mx.name.NameManager():
        net = nn.HybridSequential()
        with net.name_scope():
            for u in units:
                net.add(nn.Dense(u, in_units=2))
    net.initialize()
    return net


def test_load_parameters_missing_and_extra(tmp_path):
    small, big = _seq(2), _seq(2, 2)
    small.save_parameters(str(tmp_path / "small.params"))
    big.save_parameters(str(tmp_path / "big.params"))
    with pytest.raises(AssertionError, match="missing"):
        big.load_parameters(str(tmp_path / "small.params"))
    with pytest.raises(ValueError, match="not present"):
        small.load_parameters(str(tmp_path / "big.params"))
    big_second = big[1].weight.data().asnumpy().copy()
    big.load_parameters(str(tmp_path / "small.params"), allow_missing=True)
    saved = mx.nd.load(str(tmp_path / "small.params"))["0.weight"].asnumpy()
    np.testing.assert_array_equal(big[0].weight.data().asnumpy(), saved)
    np.testing.assert_array_equal(big[1].weight.data().asnumpy(), big_second)
    small.load_parameters(str(tmp_path / "big.params"), ignore_extra=True)
    np.testing.assert_array_equal(small[0].weight.data().asnumpy(), mx.nd.load(str(tmp_path / "big.params"))["0.weight"].asnumpy())


# --- blocks ----------------------------------------------------------------------------------

def test_hooks_run_and_detach():
    net = _dense(2, in_units=3)
    net.initialize()
    calls = []
    pre = net.register_forward_pre_hook(lambda blk, inputs: calls.append(("pre", len(inputs))))
    post = net.register_forward_hook(lambda blk, inputs, out: calls.append(("post", out.shape)))
    net(mx.nd.ones((4, 3)))
    assert calls == [("pre", 1), ("post", (4, 2))]
    pre.detach()
    post.detach()
    net(mx.nd.ones((4, 3)))
    assert len(calls) == 2


def test_attribute_rules_and_children():
    class Net(gluon.Block):
        def __init__(self, **kwargs):
            super(Net, self).__init__(**kwargs)
            with self.name_scope():
                self.body = nn.Dense(2, in_units=2)

        def forward(self, x):
            return self.body(x)

    with mx.name.NameManager():
        net = Net()
    with pytest.raises(TypeError):
        net.body = gluon.Parameter("x", shape=(1,))
    with pytest.raises(ValueError):
        nn.HybridSequential().add(net)
    seen = []
    net.apply(lambda b: seen.append(type(b).__name__))
    assert seen == ["Dense", "Net"]


def test_sequential_indexing_and_len():
    with mx.name.NameManager():
        net = nn.Sequential()
        with net.name_scope():
            net.add(nn.Dense(3, in_units=2), nn.Dense(4, in_units=3), nn.Dense(1, in_units=4))
    assert len(net) == 3
    head = net[:2]
    assert isinstance(head, nn.Sequential) and len(head) == 2
    assert head[1] is net[1]
    net.initialize()
    assert head(mx.nd.ones((5, 2))).shape == (5, 4)


def test_hybridize_records_flags_and_keeps_results():
    with mx.name.NameManager():
        net = nn.HybridSequential()
        with net.name_scope():
            net.add(nn.Dense(3, activation="relu"), nn.Dense(2))
    net.initialize()
    x = mx.nd.array(np.random.RandomState(1).uniform(size=(4, 5)))
    before = net(x).asnumpy()
    net.hybridize(static_alloc=True)
    assert net._active and net[0]._active
    assert ("static_alloc", True) in net._flags
    np.testing.assert_array_equal(net(x).asnumpy(), before)


def test_hybrid_block_on_symbols():
    with mx.name.NameManager():
        net = nn.HybridSequential()
        with net.name_scope():
            net.add(nn.Dense(3, activation="relu"), nn.Dense(2))
        out = net(mx.sym.var("data"))
    assert out.list_arguments() == ["data", "hybridsequential0_dense0_weight", "hybridsequential0_dense0_bias",
                                    "hybridsequential0_dense1_weight", "hybridsequential0_dense1_bias"]
    loss = gluon.loss.L2Loss()(mx.sym.var("pred"), mx.sym.var("label"))
    assert sorted(loss.list_arguments()) == ["label", "pred"]


def test_dropout_train_and_predict():
    layer = nn.Dropout(0.25)
    x = mx.nd.ones((200, 50))
    np.testing.assert_array_equal(layer(x).asnumpy(), x.asnumpy())
    with autograd.record():
        y = layer(x).asnumpy()
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.03
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    shared = nn.Dropout(0.5, axes=(1,))
    with autograd.record():
        z = shared(x).asnumpy()
    assert all(len(set(row)) == 1 for row in z)


def test_batchnorm_moving_statistics_follow_mxnet_rule():
    bn = nn.BatchNorm(in_channels=2, momentum=0.8)
    bn.initialize()
    x = np.random.RandomState(3).uniform(-1, 3, (6, 2, 3)).astype(np.float32)
    with autograd.record():
        bn(mx.nd.array(x))
    mean = x.mean(axis=(0, 2))
    var = x.var(axis=(0, 2))
    np.testing.assert_allclose(bn.running_mean.data().asnumpy(), 0.2 * mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.data().asnumpy(), 0.8 + 0.2 * var, rtol=1e-5)


def test_lambda_blocks():
    assert nn.Lambda(lambda x: x * 3)(mx.nd.ones((2,))).asnumpy().tolist() == [3.0, 3.0]
    assert nn.HybridLambda("relu")(mx.nd.array([-1.0, 1.0])).asnumpy().tolist() == [0.0, 1.0]


def test_symbol_block_from_rmx_graph_trains():
    data = mx.sym.var("data")
    out = mx.sym.Activation(mx.sym.FullyConnected(data, num_hidden=3, name="fc1"), act_type="relu")
    out = mx.sym.FullyConnected(out, num_hidden=2, name="fc2")
    block = gluon.SymbolBlock(out, data)
    block.initialize()
    x = mx.nd.ones((4, 5))
    assert block(x).shape == (4, 2)
    assert block.collect_params()["fc1_weight"].shape == (3, 5)
    trainer = gluon.Trainer(block.collect_params(), "sgd", {"learning_rate": 0.1})
    before = block.collect_params()["fc2_bias"].data().asnumpy().copy()
    with autograd.record():
        y = block(x).sum()
    y.backward()
    trainer.step(4)
    np.testing.assert_allclose(block.collect_params()["fc2_bias"].data().asnumpy(), before - 0.1)


# --- trainer ---------------------------------------------------------------------------------

def _train_steps(ctxs, steps=3):
    mx.random.seed(7)
    with mx.name.NameManager():
        net = nn.Dense(2, in_units=3)
    net.initialize(mx.init.Xavier(), ctx=ctxs)
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.1, "momentum": 0.5})
    rng = np.random.RandomState(5)
    x = rng.uniform(-1, 1, (8, 3)).astype(np.float32)
    y = rng.uniform(-1, 1, (8, 2)).astype(np.float32)
    loss_fn = gluon.loss.L2Loss()
    for _ in range(steps):
        xs = gluon.utils.split_and_load(x, ctxs)
        ys = gluon.utils.split_and_load(y, ctxs)
        with autograd.record():
            losses = [loss_fn(net(a), b) for a, b in zip(xs, ys)]
        for loss in losses:
            loss.backward()
        trainer.step(8)
    return [d.asnumpy() for d in net.weight.list_data()]


def test_trainer_sums_gradients_over_contexts():
    single = _train_steps([mx.cpu(0)])[0]
    double = _train_steps([mx.cpu(0), mx.cpu(1)])
    np.testing.assert_allclose(double[0], double[1])
    np.testing.assert_allclose(double[0], single, rtol=1e-5, atol=1e-6)


def test_trainer_learning_rate_and_states(tmp_path):
    net = _dense(2, in_units=3)
    net.initialize()
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 0.01})
    assert trainer.learning_rate == 0.01
    trainer.set_learning_rate(0.5)
    assert trainer.learning_rate == 0.5
    with autograd.record():
        y = net(mx.nd.ones((2, 3))).sum()
    y.backward()
    trainer.step(2)
    trainer.save_states(str(tmp_path / "t.states"))
    other = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 0.01})
    other.load_states(str(tmp_path / "t.states"))
    assert other.learning_rate == 0.5
    assert sorted(other._updaters[0].states) == [0, 1]
    with pytest.raises(ValueError):
        gluon.Trainer([1, 2], "sgd")


# --- utils -----------------------------------------------------------------------------------

def test_split_data_and_load():
    x = mx.nd.arange(10).reshape((5, 2))
    parts = gluon.utils.split_data(x, 2, even_split=False)
    assert [p.shape for p in parts] == [(3, 2), (2, 2)]
    with pytest.raises(ValueError):
        gluon.utils.split_data(x, 2)
    cols = gluon.utils.split_data(mx.nd.ones((2, 4)), 2, batch_axis=1)
    assert [c.shape for c in cols] == [(2, 2), (2, 2)]
    loaded = gluon.utils.split_and_load(np.ones((4, 1)), [mx.cpu(0), mx.cpu(1)])
    assert [a.context for a in loaded] == [mx.cpu(0), mx.cpu(1)]


def test_clip_global_norm_and_sha1(tmp_path):
    arrays = [mx.nd.array([1.0, 2.0]), mx.nd.array([2.0])]
    norm = gluon.utils.clip_global_norm(arrays, 1.5)
    assert abs(norm - 3.0) < 1e-6
    total = np.sqrt(sum(float((a.asnumpy() ** 2).sum()) for a in arrays))
    assert abs(total - 1.5) < 1e-5
    f = tmp_path / "blob"
    f.write_bytes(b"abc")
    assert gluon.utils.check_sha1(str(f), "a9993e364706816aba3e25717850c26c9cd0d89d")


# --- learning --------------------------------------------------------------------------------

def test_mlp_learns_a_separable_problem_quickly():
    start = time.time()
    mx.random.seed(0)
    rng = np.random.RandomState(0)
    x = rng.normal(size=(512, 10)).astype(np.float32)
    w = rng.normal(size=(10,))
    y = ((x @ w) + 0.5 * np.sin(3 * x[:, 0]) > 0).astype(np.float32)
    with mx.name.NameManager():
        net = nn.HybridSequential()
        with net.name_scope():
            net.add(nn.Dense(32, activation="relu"), nn.Dense(2))
    net.initialize(mx.init.Xavier())
    trainer = gluon.Trainer(net.collect_params(), "adam", {"learning_rate": 0.01})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    data, label = mx.nd.array(x), mx.nd.array(y)
    for epoch in range(20):
        for i in range(0, 512, 64):
            xb, yb = data[i:i + 64], label[i:i + 64]
            with autograd.record():
                loss = loss_fn(net(xb), yb)
            loss.backward()
            trainer.step(64)
    accuracy = float((net(data).asnumpy().argmax(axis=1) == y).mean())
    elapsed = time.time() - start
    assert accuracy > 0.95, accuracy
    assert elapsed < 3.0, elapsed


def test_layer_norm_layer_names_output_and_gradients():
    ln = mx.gluon.nn.LayerNorm(prefix="layernorm0_")
    ln.initialize()
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    y = ln(mx.nd.array(x))
    assert list(ln.collect_params().keys()) == ["layernorm0_gamma", "layernorm0_beta"]
    assert repr(ln) == "LayerNorm(eps=1e-05, axis=-1, center=True, scale=True, in_channels=5)"
    want = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(y.asnumpy(), want, rtol=1e-5, atol=1e-5)
    with mx.autograd.record():
        loss = (ln(mx.nd.array(x)) * 2).sum()
    loss.backward()
    np.testing.assert_allclose(ln.beta.grad().asnumpy(), np.full(5, 8.0), rtol=1e-6)
    np.testing.assert_allclose(ln.gamma.grad().asnumpy(), 2 * want.sum(0), rtol=1e-4, atol=1e-5)
