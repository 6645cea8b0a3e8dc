"""The module family beyond ``Module``: ``BucketingModule`` (parameters shared across buckets,
equal to a plain Module when the buckets' shapes agree), ``SequentialModule`` (equal to one
Module of the composed symbol), ``PythonLossModule`` (its gradient feeds the module before it)
and ``DataParallelExecutorGroup`` (a batch split over two contexts gives one context's
gradients)."""

import numpy as np
import pytest

import rmx as mx
from rmx.module.executor_group import DataParallelExecutorGroup, _split_input_slice

FEATURES, CLASSES, BATCH = 4, 3, 6


def seq_net(key):
    """A sequence classifier whose parameters do not depend on the sequence length ``key``."""
    data = mx.sym.var("data")
    hidden = mx.sym.Activation(mx.sym.FullyConnected(data, num_hidden=8, flatten=False, name="embed"), act_type="tanh")
    pooled = mx.sym.mean(hidden, axis=1)
    out = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(pooled, num_hidden=CLASSES, name="cls"), name="softmax")
    return out, ("data",), ("softmax_label",)


class BucketIter(mx.io.DataIter):
    """Fixed batches, each with its bucket key and shapes."""

    def __init__(self, batches, default_key):
        super().__init__(BATCH)
        self.batches = batches
        self.default_bucket_key = default_key
        x, y, _ = next(b for b in batches if b[2] == default_key)
        self.provide_data = [mx.io.DataDesc("data", x.shape)]
        self.provide_label = [mx.io.DataDesc("softmax_label", y.shape)]
        self.i = 0

    def reset(self):
        self.i = 0

    def next(self):
        if self.i == len(self.batches):
            raise StopIteration
        x, y, key = self.batches[self.i]
        self.i += 1
        return mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)], bucket_key=key,
                               provide_data=[mx.io.DataDesc("data", x.shape)],
                               provide_label=[mx.io.DataDesc("softmax_label", y.shape)])


def make_batches(keys, seed=0):
    rng = np.random.RandomState(seed)
    batches = []
    for key in keys:
        y = rng.randint(0, CLASSES, BATCH).astype(np.float32)
        x = rng.randn(BATCH, key, FEATURES).astype(np.float32) * 0.3
        x[np.arange(BATCH), :, y.astype(int)] += 1.0  # learnable: the class shows in one feature
        batches.append((x, y, key))
    return batches


def initial_params(seed=1):
    sym, _, _ = seq_net(5)
    shapes = dict(zip(sym.list_arguments(), sym.infer_shape(data=(BATCH, 5, FEATURES))[0]))
    rng = np.random.RandomState(seed)
    return {n: mx.nd.array(rng.uniform(-0.5, 0.5, s)) for n, s in shapes.items() if n not in ("data", "softmax_label")}


def cross_entropy(mod, batches):
    metric = mx.metric.CrossEntropy()
    for x, y, key in batches:
        batch = BucketIter([(x, y, key)], key).next()
        mod.forward(batch, is_train=False)
        mod.update_metric(metric, batch.label)
    return metric.get()[1]


def test_bucketing_module_shares_parameters_and_trains():
    batches = make_batches([5, 3, 5, 7, 3, 7] * 4)
    mod = mx.mod.BucketingModule(seq_net, default_bucket_key=5)
    it = BucketIter(batches, 5)
    mod.bind(it.provide_data, it.provide_label)
    mod.init_params(arg_params=initial_params())
    mod.init_optimizer(optimizer_params={"learning_rate": 0.5, "momentum": 0.9})
    before = cross_entropy(mod, batches)
    for _ in range(5):
        for batch in BucketIter(batches, 5):
            mod.forward_backward(batch)
            mod.update()
    after = cross_entropy(mod, batches)
    assert after < 0.5 * before, (before, after)
    assert sorted(mod._buckets) == [3, 5, 7] and mod._curr_bucket_key in (3, 5, 7)
    default = mod._buckets[5]
    for key in (3, 7):
        other = mod._buckets[key]
        assert other._exec_group.data_shapes[0].shape == (BATCH, key, FEATURES)
        for a, b in zip(other._exec_group.param_arrays, default._exec_group.param_arrays):
            assert a[0] is b[0]  # one set of arrays
        mod.switch_bucket(key, None)
        arg, _ = mod.get_params()
        for name, value in default.get_params()[0].items():
            np.testing.assert_array_equal(arg[name].asnumpy(), value.asnumpy())
    assert mod._buckets[3]._optimizer is default._optimizer


def test_bucketing_fit_score_predict_through_base_module():
    batches = make_batches([5, 3, 5, 3] * 3)
    mod = mx.mod.BucketingModule(seq_net, default_bucket_key=5)
    it = BucketIter(batches, 5)
    mod.fit(it, num_epoch=8, optimizer_params={"learning_rate": 0.5, "momentum": 0.9},
            arg_params=initial_params(), progress=False)
    acc = dict(mod.score(BucketIter(batches, 5), "acc"))["accuracy"]
    assert acc > 0.9, acc
    outs = mod.predict(BucketIter(batches, 5), merge_batches=False)
    assert [o[0].shape for o in outs] == [(BATCH, CLASSES)] * len(batches)


def test_bucketing_checkpoint_round_trip(tmp_path):
    batches = make_batches([5, 3])
    mod = mx.mod.BucketingModule(seq_net, default_bucket_key=5)
    mod.fit(BucketIter(batches, 5), num_epoch=1, arg_params=initial_params(), progress=False)
    prefix = str(tmp_path / "bucket")
    mod.save_checkpoint(prefix, 1)
    loaded = mx.mod.BucketingModule.load(prefix, 1, sym_gen=seq_net, default_bucket_key=5)
    assert sorted(loaded._buckets) == [3, 5]
    it = BucketIter(batches, 5)
    loaded.bind(it.provide_data, it.provide_label, for_training=False)
    for a, b in zip(loaded.predict(BucketIter(batches, 5), merge_batches=False), mod.predict(BucketIter(batches, 5), merge_batches=False)):
        np.testing.assert_allclose(a[0].asnumpy(), b[0].asnumpy(), rtol=1e-6)


def test_bucketing_equals_a_plain_module_when_bucket_shapes_agree():
    batches = [(x, y, key) for (x, y, _), key in zip(make_batches([5] * 8), [10, 20] * 4)]
    arg = initial_params()

    def opt(mod):
        mod.init_optimizer(optimizer_params={"learning_rate": 0.3, "momentum": 0.9, "wd": 1e-3})

    bucketing = mx.mod.BucketingModule(lambda key: seq_net(5), default_bucket_key=10)
    it = BucketIter(batches, 10)
    bucketing.bind(it.provide_data, it.provide_label)
    bucketing.init_params(arg_params=arg)
    opt(bucketing)
    plain = mx.mod.Module(seq_net(5)[0])
    plain.bind(it.provide_data, it.provide_label)
    plain.init_params(arg_params=arg)
    opt(plain)
    for mod in (bucketing, plain):
        for _ in range(3):
            for batch in BucketIter(batches, 10):
                mod.forward_backward(batch)
                mod.update()
    assert sorted(bucketing._buckets) == [10, 20]
    got, want = bucketing.get_params()[0], plain.get_params()[0]
    for name in want:
        np.testing.assert_allclose(got[name].asnumpy(), want[name].asnumpy(), rtol=1e-5, atol=1e-6)


def two_stage_symbols():
    data = mx.sym.var("data")
    first = mx.sym.Activation(mx.sym.FullyConnected(data, num_hidden=5, name="fc1"), act_type="relu", name="relu1")
    second = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=CLASSES, name="fc2"), name="softmax")
    whole = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(first, num_hidden=CLASSES, name="fc2"), name="softmax")
    return first, second, whole


def dense_problem(seed=2):
    rng = np.random.RandomState(seed)
    x = rng.randn(BATCH, 7).astype(np.float32)
    y = rng.randint(0, CLASSES, BATCH).astype(np.float32)
    _, _, whole = two_stage_symbols()
    shapes = dict(zip(whole.list_arguments(), whole.infer_shape(data=x.shape)[0]))
    arg = {n: mx.nd.array(rng.uniform(-0.5, 0.5, s)) for n, s in shapes.items() if n not in ("data", "softmax_label")}
    return x, y, arg


def test_sequential_module_equals_one_module_of_the_composed_symbol():
    x, y, arg = dense_problem()
    first, second, whole = two_stage_symbols()
    batch = mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)])
    shapes, labels = [("data", x.shape)], [("softmax_label", y.shape)]
    seq = mx.mod.SequentialModule()
    seq.add(mx.mod.Module(first, label_names=None)).add(mx.mod.Module(second), take_labels=True, auto_wiring=True)
    seq.bind(shapes, labels)
    seq.init_params(arg_params=arg)
    one = mx.mod.Module(whole)
    one.bind(shapes, labels)
    one.init_params(arg_params=arg)
    for mod in (seq, one):
        mod.forward_backward(batch)
    np.testing.assert_allclose(seq.get_outputs()[0].asnumpy(), one.get_outputs()[0].asnumpy(), rtol=1e-5, atol=1e-6)
    want = one._exec_group.execs[0].grad_dict
    for sub in seq._modules:
        for name, grad in sub._exec_group.execs[0].grad_dict.items():
            if name in want:
                np.testing.assert_allclose(grad.asnumpy(), want[name].asnumpy(), rtol=1e-5, atol=1e-6)
    assert set(seq.get_params()[0]) == set(arg)
    assert seq.output_shapes == [("softmax_output", (BATCH, CLASSES))] and seq.label_shapes == labels
    metric = mx.metric.create("acc")
    seq.update_metric(metric, batch.label)
    assert metric.num_inst == BATCH


def test_python_loss_module_gradient_feeds_the_module_before_it():
    x, y, _ = dense_problem(3)
    scores = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=CLASSES, name="fc")
    rng = np.random.RandomState(4)
    arg = {"fc_weight": mx.nd.array(rng.uniform(-0.5, 0.5, (CLASSES, 7))), "fc_bias": mx.nd.array(rng.uniform(-0.5, 0.5, CLASSES))}

    def softmax_grad(scores, labels):
        s = scores.asnumpy()
        p = np.exp(s - s.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        p[np.arange(len(p)), labels.asnumpy().astype(int)] -= 1
        return p

    seq = mx.mod.SequentialModule()
    seq.add(mx.mod.Module(scores, label_names=None)).add(mx.mod.PythonLossModule(grad_func=softmax_grad), take_labels=True, auto_wiring=True)
    seq.bind([("data", x.shape)], [("softmax_label", y.shape)])
    seq.init_params(arg_params=arg)
    ref = mx.mod.Module(mx.sym.SoftmaxOutput(scores, name="softmax"))
    ref.bind([("data", x.shape)], [("softmax_label", y.shape)])
    ref.init_params(arg_params=arg)
    batch = mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)])
    for mod in (seq, ref):
        mod.forward_backward(batch)
    loss = seq._modules[1]
    assert loss.output_shapes == [("pyloss_output", x.shape[:1] + (CLASSES,))]
    np.testing.assert_allclose(loss.get_input_grads()[0].asnumpy(), softmax_grad(seq._modules[0].get_outputs()[0], batch.label[0]), rtol=1e-6)
    got, want = seq._modules[0]._exec_group.execs[0].grad_dict, ref._exec_group.execs[0].grad_dict
    for name in ("fc_weight", "fc_bias"):
        np.testing.assert_allclose(got[name].asnumpy(), want[name].asnumpy(), rtol=1e-5, atol=1e-6)


def test_split_input_slice_follows_mxnet():
    assert _split_input_slice(8, [1, 1]) == [slice(0, 4), slice(4, 8)]
    assert _split_input_slice(5, [1, 1]) == [slice(0, 2), slice(2, 5)]
    assert _split_input_slice(8, [1, 3]) == [slice(0, 2), slice(2, 8)]
    assert _split_input_slice(10, [1, 1, 1]) == [slice(0, 3), slice(3, 6), slice(6, 10)]
    with pytest.raises(ValueError, match="Too many slices"):
        _split_input_slice(1, [1, 1])


@pytest.mark.parametrize("batch", [6, 5])
def test_executor_group_on_two_contexts_gives_one_contexts_gradients(batch):
    x, y, arg = dense_problem(5)
    x, y = np.resize(x, (batch, x.shape[1])), np.resize(y, batch)
    _, _, net = two_stage_symbols()
    params = [n for n in net.list_arguments() if n not in ("data", "softmax_label")]
    data = mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)])

    def group(contexts):
        g = DataParallelExecutorGroup(net, contexts, [1] * len(contexts), [("data", x.shape)], [("softmax_label", y.shape)],
                                      params, for_training=True, inputs_need_grad=True)
        g.set_params(arg, {})
        g.forward(data, is_train=True)
        g.backward()
        return g

    one, two = group([mx.cpu(0)]), group([mx.cpu(0), mx.cpu(1)])
    assert two.batch_size == batch and two.slices == _split_input_slice(batch, [1, 1])
    assert [e.arg_dict["data"].shape[0] for e in two.execs] == [s.stop - s.start for s in two.slices]
    assert [ctx for _, a in two.data_arrays[0] for ctx in [a.context]] == [mx.cpu(0), mx.cpu(1)]
    for k, sl in enumerate(two.slices):
        np.testing.assert_array_equal(two.label_arrays[0][k][1].asnumpy(), y[sl])
    np.testing.assert_allclose(two.get_outputs()[0].asnumpy(), one.get_outputs()[0].asnumpy(), rtol=1e-6)
    assert two.get_output_shapes() == [("softmax_output", (batch, CLASSES))]
    for name, g1, g2 in zip(params, one.grad_arrays, two.grad_arrays):
        total = g2[0].asnumpy() + g2[1].asnumpy()
        np.testing.assert_allclose(total, g1[0].asnumpy(), rtol=1e-5, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(two.get_input_grads()[0].asnumpy(), one.get_input_grads()[0].asnumpy(), rtol=1e-5, atol=1e-7)
    metric = mx.metric.create("acc")
    two.update_metric(metric, data.label, pre_sliced=False)
    assert metric.num_inst == batch


def test_module_exposes_its_executor_group():
    x, y, arg = dense_problem()
    _, _, net = two_stage_symbols()
    mod = mx.mod.Module(net, context=[mx.cpu(0), mx.cpu(1)])
    mod.bind([("data", x.shape)], [("softmax_label", y.shape)])
    mod.init_params(arg_params=arg)
    group = mod._exec_group
    assert isinstance(group, DataParallelExecutorGroup) and len(group.execs) == 2
    assert group.batch_size == BATCH and [d.name for d in group.data_shapes] == ["data"]
    assert len(group.param_arrays) == len(group.grad_arrays) == 4
    mod.forward_backward(mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)]))
    np.testing.assert_allclose(mod.get_outputs()[0].asnumpy(), group.get_outputs()[0].asnumpy())
    assert mod.get_outputs(merge_multi_context=False)[0][1].shape == (3, CLASSES)
    # A batch of another size re-shapes the executors and keeps the parameters.
    mod.forward(mx.io.DataBatch([mx.nd.array(np.resize(x, (4, 7)))], [mx.nd.array(np.resize(y, 4))]), is_train=False)
    assert mod._exec_group.batch_size == 4 and mod.get_outputs()[0].shape == (4, CLASSES)
    np.testing.assert_array_equal(mod.get_params()[0]["fc1_weight"].asnumpy(), arg["fc1_weight"].asnumpy())


def test_predict_reshapes_for_unlabelled_batches_and_takes_arrays():
    net = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=CLASSES, name="fc"), name="softmax")
    mod = mx.mod.Module(net)
    mod.bind([("data", (4, 5))], [("softmax_label", (4,))], for_training=False)
    mod.init_params()
    x = np.random.RandomState(0).randn(6, 5).astype(np.float32)
    whole = mod.predict(mx.io.NDArrayIter(x, batch_size=3))
    assert whole.shape == (6, CLASSES)
    np.testing.assert_allclose(mod.predict(x[:2]).asnumpy(), whole.asnumpy()[:2], rtol=1e-6)
