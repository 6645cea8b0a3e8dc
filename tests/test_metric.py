"""``mx.metric`` (rmx.metric): replays the update/reset sequences stored with MXNet 1.9.1's
results in tests/fixtures/mxnet_train_py.json (tests/fixtures/make_train_py_fixtures.py) and
compares with NumPy formulas, names, ``create`` forms and the container behaviour."""

import json
import math
import os

import numpy as np
import pytest

import rmx as mx
import rmx.metric as metric

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "mxnet_train_py.json")
with open(FIXTURE) as _f:
    _DATA = json.load(_f)
CASES = _DATA["metrics"]
NAMES = _DATA["metric_names"]


def to_nd(spec):
    return mx.nd.array(np.array(spec["data"], dtype=spec["dtype"]).reshape(spec["shape"]),
                       dtype=spec["dtype"])


def assert_same(got, expected, path=""):
    if isinstance(expected, list):
        assert isinstance(got, (list, tuple)) and len(got) == len(expected), (path, got, expected)
        for i, (g, e) in enumerate(zip(got, expected)):
            assert_same(g, e, "%s[%d]" % (path, i))
    elif isinstance(expected, str):
        assert got == expected, (path, got, expected)
    elif expected is None or (isinstance(expected, float) and math.isnan(expected)):
        assert got is None or math.isnan(got), (path, got)
    else:
        assert float(got) == pytest.approx(expected, rel=1e-6, abs=1e-9), (path, got, expected)


def case_id(case):
    return "%s-%s" % (case["create"][0], json.dumps(case.get("kwargs", {}), sort_keys=True))


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_replay_vs_mxnet(case):
    if "error" in case:
        with pytest.raises(AssertionError):
            metric.create(*case["create"], **case.get("kwargs", {}))
        return
    m = metric.create(*case["create"], **case.get("kwargs", {}))
    for i, (step, expected) in enumerate(zip(case["steps"], case["results"])):
        if step == "reset_local":
            m.reset_local()
        elif step == "reset":
            m.reset()
        else:
            labels, preds = step["update"]
            m.update([to_nd(x) for x in labels], [to_nd(x) for x in preds])
        assert_same(m.get(), expected["get"], "step %d get" % i)
        assert_same(m.get_global(), expected["get_global"], "step %d get_global" % i)
        assert_same(m.get_name_value(), expected["name_value"], "step %d name_value" % i)


@pytest.mark.parametrize("name", sorted(NAMES))
def test_registered_names_vs_mxnet(name):
    facts = NAMES[name]
    kwargs = {"top_k": 5} if name.startswith("top_k") else {}
    if name == "perplexity":
        kwargs = {"ignore_label": None}
    if "error" in facts:
        exc = {"AssertionError": AssertionError, "TypeError": TypeError}[facts["error"]]
        with pytest.raises(exc):
            metric.create(name, **kwargs)
        return
    m = metric.create(name, **kwargs)
    assert type(m).__name__ == facts["class"]
    assert m.name == facts["name"]
    assert_same(m.get(), facts["get"])
    assert sorted(m.get_config()) == facts["config_keys"]


# --- NumPy formulas -----------------------------------------------------------------------------

def batches(seed, n_batches=3, classes=4):
    rng = np.random.RandomState(seed)
    out = []
    for n in rng.randint(3, 12, size=n_batches):
        logits = rng.randn(n, classes)
        prob = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        out.append((rng.randint(0, classes, size=n).astype("float32"), prob.astype("float32")))
    return out


def test_accuracy_matches_numpy():
    data = batches(1)
    m = metric.Accuracy()
    for label, pred in data:
        m.update([mx.nd.array(label)], [mx.nd.array(pred)])
    correct = sum((p.argmax(axis=1) == l).sum() for l, p in data)
    total = sum(len(l) for l, _ in data)
    assert m.get() == ("accuracy", pytest.approx(correct / total))
    assert m.num_inst == total and m.sum_metric == correct


def test_accuracy_single_ndarray_and_numpy_inputs():
    m = metric.Accuracy()
    m.update(mx.nd.array([0, 1, 1]), mx.nd.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]]))
    assert m.get() == ("accuracy", pytest.approx(2 / 3))
    with pytest.raises(ValueError, match="does not match"):
        m.update([mx.nd.array([0, 1])], [mx.nd.array([[0.9, 0.1]] * 3)])
    with pytest.raises(ValueError):
        m.update([mx.nd.array([0])], [])


def test_top_k_matches_numpy():
    data = batches(2, classes=7)
    m = metric.create("top_k_accuracy", top_k=3)
    assert m.name == "top_k_accuracy_3"
    for label, pred in data:
        m.update([mx.nd.array(label)], [mx.nd.array(pred)])
    hits = sum((np.argsort(-p, axis=1)[:, :3] == l[:, None]).any(axis=1).sum() for l, p in data)
    assert m.get()[1] == pytest.approx(hits / sum(len(l) for l, _ in data))
    with pytest.raises(AssertionError):
        metric.TopKAccuracy(top_k=1)


def test_regression_metrics_average_batch_means():
    rng = np.random.RandomState(3)
    data = [(rng.randn(n).astype("float32"), rng.randn(n).astype("float32")) for n in (3, 10)]
    expect = {
        "mae": np.mean([np.abs(l - p).mean() for l, p in data]),
        "mse": np.mean([((l - p) ** 2).mean() for l, p in data]),
        "rmse": np.mean([np.sqrt(((l - p) ** 2).mean()) for l, p in data]),
    }
    for name, value in expect.items():
        m = metric.create(name)
        for label, pred in data:
            m.update([mx.nd.array(label)], [mx.nd.array(pred)])
        assert m.num_inst == 2
        assert m.get() == (name, pytest.approx(value, rel=1e-5))


def test_cross_entropy_and_nll_match_numpy():
    data = batches(4)
    expect = -np.mean(np.concatenate(
        [np.log(p[np.arange(len(l)), l.astype(int)] + 1e-12) for l, p in data]))
    for name, shown in (("ce", "cross-entropy"), ("nll_loss", "nll-loss")):
        m = metric.create(name)
        for label, pred in data:
            m.update([mx.nd.array(label)], [mx.nd.array(pred)])
        assert m.get() == (shown, pytest.approx(expect, rel=1e-5))


def test_perplexity_matches_numpy():
    data = batches(5)
    for ignore in (None, 2):
        m = metric.Perplexity(ignore_label=ignore)
        logp, count = 0.0, 0
        for label, pred in data:
            m.update([mx.nd.array(label)], [mx.nd.array(pred)])
            keep = label != ignore if ignore is not None else np.ones(len(label), bool)
            logp += np.log(pred[np.arange(len(label)), label.astype(int)])[keep].sum()
            count += keep.sum()
        assert m.get() == ("perplexity", pytest.approx(math.exp(-logp / count), rel=1e-5))


def test_perplexity_other_axis():
    data = batches(6)
    a = metric.Perplexity(None)
    b = metric.Perplexity(None, axis=0)
    for label, pred in data:
        a.update([mx.nd.array(label)], [mx.nd.array(pred)])
        b.update([mx.nd.array(label)], [mx.nd.array(pred.T.copy())])
    assert a.get()[1] == pytest.approx(b.get()[1], rel=1e-6)


def test_f1_mcc_match_numpy():
    rng = np.random.RandomState(7)
    label = rng.randint(0, 2, size=50).astype("float32")
    pred = rng.rand(50, 2).astype("float32")
    yhat = pred.argmax(axis=1)
    tp = ((yhat == 1) & (label == 1)).sum()
    fp = ((yhat == 1) & (label == 0)).sum()
    fn = ((yhat == 0) & (label == 1)).sum()
    tn = ((yhat == 0) & (label == 0)).sum()
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    f1 = metric.F1()
    f1.update([mx.nd.array(label)], [mx.nd.array(pred)])
    assert f1.get()[1] == pytest.approx(2 * precision * recall / (precision + recall))
    mcc = metric.MCC()
    mcc.update([mx.nd.array(label)], [mx.nd.array(pred)])
    expect = (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    assert mcc.get()[1] == pytest.approx(expect)
    with pytest.raises(ValueError, match="binary"):
        f1.update([mx.nd.array([0, 1, 2])], [mx.nd.array(rng.rand(3, 3))])


def test_pearson_and_pcc_match_numpy():
    rng = np.random.RandomState(8)
    label = rng.randn(30)
    pred = label + rng.randn(30)
    m = metric.PearsonCorrelation()
    m.update([mx.nd.array(label)], [mx.nd.array(pred)])
    assert m.get()[1] == pytest.approx(np.corrcoef(pred, label)[0, 1], rel=1e-5)
    micro = metric.PearsonCorrelation(average="micro")
    micro.update([mx.nd.array(label[:10])], [mx.nd.array(pred[:10])])
    micro.update([mx.nd.array(label[10:])], [mx.nd.array(pred[10:])])
    assert micro.get()[1] == pytest.approx(np.corrcoef(pred, label)[0, 1], rel=1e-5)
    # PCC on binary data is the MCC.
    lab = rng.randint(0, 2, size=40)
    prob = rng.rand(40, 2)
    pcc, mcc = metric.PCC(), metric.MCC()
    for m in (pcc, mcc):
        m.update([mx.nd.array(lab)], [mx.nd.array(prob)])
    assert pcc.get()[1] == pytest.approx(mcc.get()[1])


def test_loss_metric():
    m = metric.Loss()
    m.update(None, [mx.nd.array([1.0, 2.0, 3.0])])
    m.update(None, mx.nd.array([[4.0]]))
    assert m.get() == ("loss", pytest.approx(2.5))
    assert metric.create("torch").name == "torch" and isinstance(metric.create("caffe"),
                                                                  metric.Loss)


# --- containers, custom metrics, bookkeeping ----------------------------------------------------

def test_empty_metric_is_nan_and_global_stats():
    m = metric.Accuracy()
    name, value = m.get()
    assert name == "accuracy" and math.isnan(value)
    m.update([mx.nd.array([0, 1])], [mx.nd.array([[1, 0], [1, 0]])])
    m.reset_local()
    assert math.isnan(m.get()[1]) and m.get_global()[1] == pytest.approx(0.5)
    assert m.get_global_name_value() == [("accuracy", pytest.approx(0.5))]
    m.reset()
    assert math.isnan(m.get_global()[1])
    assert str(metric.MSE()).startswith("EvalMetric: {'mse': nan")


def test_composite_and_create_forms():
    comp = metric.create(["acc", "ce", metric.MSE()])
    assert isinstance(comp, metric.CompositeEvalMetric)
    label, pred = mx.nd.array([0, 1]), mx.nd.array([[0.8, 0.2], [0.3, 0.7]])
    comp.update([label], [pred])
    names, values = comp.get()
    assert names == ["accuracy", "cross-entropy", "mse"]
    assert values[0] == 1.0
    assert comp.get_name_value()[1] == ("cross-entropy", pytest.approx(
        -(math.log(0.8) + math.log(0.7)) / 2, rel=1e-6))
    assert isinstance(comp.get_metric(1), metric.CrossEntropy)
    assert isinstance(comp.get_metric(5), ValueError)
    comp.add("acc")
    assert len(comp.metrics) == 4
    comp.reset_local()
    assert all(math.isnan(v) for v in comp.get()[1])
    assert comp.get_global()[1][0] == 1.0
    config = comp.get_config()
    assert config["metric"] == "CompositeEvalMetric"
    assert [c["metric"] for c in config["metrics"]] == ["Accuracy", "CrossEntropy", "MSE",
                                                        "Accuracy"]
    rebuilt = metric.create(**metric.Accuracy(axis=0).get_config())
    assert isinstance(rebuilt, metric.Accuracy) and rebuilt.axis == 0
    inst = metric.MAE()
    assert metric.create(inst) is inst
    with pytest.raises(AssertionError, match="not registered"):
        metric.create("cross-entropy")


def test_update_dict_picks_names():
    m = metric.Accuracy(output_names=["out2"], label_names=["lab1"])
    m.update_dict({"lab0": mx.nd.array([0, 0]), "lab1": mx.nd.array([1, 1])},
                  {"out1": mx.nd.array([[1, 0], [1, 0]]), "out2": mx.nd.array([[0, 1], [1, 0]])})
    assert m.get()[1] == 0.5
    comp = metric.CompositeEvalMetric([metric.Accuracy()], output_names=["out1"],
                                      label_names=["lab0"])
    comp.update_dict({"lab0": mx.nd.array([0, 0]), "lab1": mx.nd.array([1, 1])},
                     {"out1": mx.nd.array([[1, 0], [1, 0]]), "out2": mx.nd.array([[0, 1]] * 2)})
    assert comp.get() == (["accuracy"], [1.0])


def test_custom_metric_and_np_decorator():
    def my_err(label, pred):
        assert isinstance(label, np.ndarray) and isinstance(pred, np.ndarray)
        return float(np.abs(label - pred.ravel()).sum()), len(label)

    m = metric.create(my_err)
    assert isinstance(m, metric.CustomMetric) and m.name == "my_err"
    m.update([mx.nd.array([1, 2])], [mx.nd.array([[1.5], [2.5]])])
    assert m.get() == ("my_err", pytest.approx(0.5))
    lam = metric.CustomMetric(lambda l, p: 1.0)
    assert lam.name == "custom(<lambda>)"
    lam.update([mx.nd.array([1])], [mx.nd.array([1])])
    assert lam.num_inst == 1 and lam.get()[1] == 1.0
    with pytest.raises(NotImplementedError):
        lam.get_config()

    def scalar_err(label, pred):
        return float(np.mean(label == pred))
    wrapped = metric.np(scalar_err, allow_extra_outputs=True)
    assert wrapped.name == "scalar_err"
    wrapped.update([mx.nd.array([1, 2])], [mx.nd.array([1, 3]), mx.nd.array([9, 9])])
    assert wrapped.get() == ("scalar_err", 0.5)
    with pytest.raises(ValueError):
        metric.np(scalar_err).update([mx.nd.array([1])], [mx.nd.array([1]), mx.nd.array([1])])


def test_register_custom_metric_class():
    @metric.register
    @metric.alias("rmx_test_always_one")
    class RmxTestAlwaysOne(metric.EvalMetric):
        def __init__(self, name="one"):
            super().__init__(name)

        def update(self, labels, preds):
            self.sum_metric += len(preds)
            self.num_inst += len(preds)

    m = metric.create("rmx_test_always_one")
    m.update([], [mx.nd.array([1])])
    assert m.get() == ("one", 1.0)
    assert m.get_global() == m.get()  # no global statistics: falls back to get()
