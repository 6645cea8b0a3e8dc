"""``mx.callback`` (rmx.callback): the log lines of Speedometer, log_train_metric, ProgressBar
and LogValidationMetricsCallback replayed against MXNet 1.9.1's (same inputs, same fake clock;
tests/fixtures/mxnet_train_py.json from tests/fixtures/make_train_py_fixtures.py), and the
checkpoint callbacks with fake savers."""

import json
import logging
import math
import os
import sys
import types

import numpy as np
import pytest

import rmx as mx
import rmx.callback as cb
import rmx.metric as metric

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "mxnet_train_py.json")
with open(FIXTURE) as _f:
    FACTS = json.load(_f)["callback"]


class FakeClock(object):
    """Every ``time()`` call advances by ``step`` seconds (as in the fixture script)."""

    def __init__(self, step):
        self.now = 1000.0
        self.step = step

    def time(self):
        self.now += self.step
        return self.now


def softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def jsonable(value):
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


@pytest.fixture(scope="module")
def replay():
    """Runs the fixture script's callback sequence (in the same order: the runs share one
    random stream) against rmx."""
    rng = np.random.RandomState(7)
    root = logging.getLogger()

    def run(callback, calls, metric_factory, clock_step=0.25):
        real_time = cb.time
        cb.time = FakeClock(clock_step)
        m = metric_factory() if metric_factory else None
        handler = Capture()
        old_level = root.level
        root.addHandler(handler)
        root.setLevel(logging.DEBUG)
        states = []
        try:
            for epoch, nbatch in calls:
                if m is not None:
                    pred = softmax(rng.randn(4, 3)).astype("float32")
                    label = rng.randint(0, 3, size=4).astype("float32")
                    m.update([mx.nd.array(label)], [mx.nd.array(pred)])
                callback(cb.BatchEndParam(epoch=epoch, nbatch=nbatch, eval_metric=m,
                                          locals=None))
                states.append(None if m is None else
                              jsonable([m.get_name_value(), m.get_global()]))
        finally:
            root.removeHandler(handler)
            root.setLevel(old_level)
            cb.time = real_time
        return {"logs": handler.lines, "states": states}

    out = {}
    calls = [(0, i) for i in range(0, 13)] + [(1, i) for i in range(0, 7)]
    out["speedometer_reset"] = run(cb.Speedometer(16, frequent=3), calls, metric.Accuracy)
    out["speedometer_cumulative"] = run(cb.Speedometer(16, frequent=4, auto_reset=False),
                                        calls, lambda: metric.create(["acc", "ce"]))
    out["speedometer_nometric"] = run(cb.Speedometer(8, frequent=5), calls, None)
    out["log_train_metric"] = run(cb.log_train_metric(4), calls[:10], metric.Accuracy)
    out["log_train_metric_reset"] = run(cb.log_train_metric(3, auto_reset=True), calls[:10],
                                        metric.Accuracy)
    out["progressbar"] = run(cb.ProgressBar(7, length=20), [(0, i) for i in range(0, 8)], None)
    out["validation"] = run(cb.LogValidationMetricsCallback(), [(3, 5)],
                            lambda: metric.create(["acc", "ce"]))
    return out


def assert_close(got, expected):
    if isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), (got, expected)
        for g, e in zip(got, expected):
            assert_close(g, e)
    elif isinstance(expected, float):
        assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected,
                                                                                  rel=1e-5)
    else:
        assert got == expected


KEYS = ["speedometer_reset", "speedometer_cumulative", "speedometer_nometric",
        "log_train_metric", "log_train_metric_reset", "progressbar", "validation"]


@pytest.mark.parametrize("key", KEYS)
def test_log_lines_vs_mxnet(replay, key):
    assert replay[key]["logs"] == FACTS[key]["logs"]
    assert_close(replay[key]["states"], FACTS[key]["states"])


def test_speedometer_line_format(replay):
    first = replay["speedometer_reset"]["logs"][0]
    assert first.startswith("Epoch[0] Batch [0-3]\tSpeed: ")
    assert first.split("\t")[1].endswith(" samples/sec")
    assert first.split("\t")[2].startswith("accuracy=")
    assert replay["speedometer_cumulative"]["logs"][1].startswith("Epoch[0] Batch [0-8]\t")
    assert replay["speedometer_nometric"]["logs"][0].startswith("Iter[0] Batch [5]\tSpeed: ")


def test_speedometer_with_caplog(caplog, monkeypatch):
    monkeypatch.setattr(cb, "time", FakeClock(0.5))
    caplog.set_level(logging.INFO)
    m = metric.Accuracy()
    speed = cb.Speedometer(batch_size=10, frequent=2)
    for nbatch in range(5):
        m.update([mx.nd.array([1, 0])], [mx.nd.array([[0, 1], [0, 1]])])
        speed(cb.BatchEndParam(epoch=2, nbatch=nbatch, eval_metric=m, locals=None))
    assert [r.getMessage() for r in caplog.records] == [
        "Epoch[2] Batch [0-2]\tSpeed: 40.00 samples/sec\taccuracy=0.500000",
        "Epoch[2] Batch [2-4]\tSpeed: 40.00 samples/sec\taccuracy=0.500000",
    ]
    assert m.num_inst == 0  # reset_local after the log at batch 4
    assert m.global_num_inst == 10


def test_batch_end_param():
    assert FACTS["batch_end_param"]["type"] == cb.BatchEndParam.__name__
    assert list(cb.BatchEndParam._fields) == FACTS["batch_end_param"]["fields"]
    p = cb.BatchEndParam(1, 2, None, {})
    assert (p.epoch, p.nbatch, p.eval_metric, p.locals) == (1, 2, None, {})


def test_do_checkpoint_calls_model_save_checkpoint(monkeypatch):
    calls = []
    fake = types.ModuleType("rmx.model")
    fake.save_checkpoint = lambda *args: calls.append(args)
    monkeypatch.setitem(sys.modules, "rmx.model", fake)
    monkeypatch.setattr(mx, "model", fake, raising=False)
    every = cb.do_checkpoint("pre")
    every(0, "sym", {"a": 1}, {"b": 2})
    every(1, "sym", {"a": 1}, {"b": 2})
    assert calls == [("pre", 1, "sym", {"a": 1}, {"b": 2}), ("pre", 2, "sym", {"a": 1}, {"b": 2})]
    calls.clear()
    third = cb.do_checkpoint("p3", period=3)
    for epoch in range(7):
        third(epoch, None, {}, {})
    assert [c[1] for c in calls] == [3, 6]
    calls.clear()
    cb.do_checkpoint("p0", period=0)(0, None, {}, {})  # period is at least 1
    assert [c[1] for c in calls] == [1]


def test_module_checkpoint():
    saved = []

    class FakeModule(object):
        def save_checkpoint(self, prefix, epoch, save_optimizer_states=False):
            saved.append((prefix, epoch, save_optimizer_states))

    callback = cb.module_checkpoint(FakeModule(), "m", period=2, save_optimizer_states=True)
    for epoch in range(5):
        callback(epoch)
    assert saved == [("m", 2, True), ("m", 4, True)]


def test_log_train_metric_skips_without_metric(caplog):
    caplog.set_level(logging.INFO)
    cb.log_train_metric(1)(cb.BatchEndParam(0, 0, None, None))
    cb.LogValidationMetricsCallback()(cb.BatchEndParam(0, 0, None, None))
    assert caplog.records == []


def test_progress_bar_line(caplog):
    caplog.set_level(logging.INFO)
    cb.ProgressBar(total=4, length=8)(cb.BatchEndParam(0, 1, None, None))
    assert caplog.records[0].getMessage() == "[==------] 25%\r"
