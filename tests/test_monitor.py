"""``mx.monitor.Monitor``: over one Module training batch it reports what MXNet 1.9.1 reports
(tests/fixtures/mxnet_monitor.json, from make_monitor_fixtures.py): each operator's outputs
(and, with ``monitor_all``, inputs) by MXNet's names and in MXNet's order, then the arguments,
with the same statistics. The gradient graph's nodes (MXNet's ``*_backward_*`` entries) are
the documented exception: rmx runs that graph in one Rust pass and reports none of them."""

import json
import logging
import os
import sys

import numpy as np
import pytest

import rmx as mx
import rmx.monitor

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
import make_monitor_fixtures  # noqa: E402

FIXTURE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "mxnet_monitor.json")


def net(split):
    """The fixture script's net, built with rmx."""
    return make_monitor_fixtures.net(mx, split)


def trained_batch(monitor_all, mon=None):
    """One monitored training batch, set up as the fixture script sets it up."""
    symbol = net(split=not monitor_all)
    rng = np.random.RandomState(0)
    shapes = dict(zip(symbol.list_arguments(), symbol.infer_shape(data=(4, 5))[0]))
    params = {n: rng.uniform(-1, 1, s).astype(np.float32) for n, s in shapes.items() if n not in ("data", "softmax_label")}
    data = rng.uniform(-1, 1, (4, 5)).astype(np.float32)
    label = np.array([0, 1, 2, 1], np.float32)
    mod = mx.mod.Module(symbol, context=mx.cpu())
    mod.bind(data_shapes=[("data", data.shape)], label_shapes=[("softmax_label", label.shape)])
    mod.init_params(arg_params={k: mx.nd.array(v) for k, v in params.items()})
    mod.init_optimizer(optimizer_params={"learning_rate": 0.1})
    mon = mon or mx.monitor.Monitor(1, monitor_all=monitor_all)
    mod.install_monitor(mon)
    mon.tic()
    mod.forward_backward(mx.io.DataBatch([mx.nd.array(data)], [mx.nd.array(label)]))
    mod.update()
    return mod, mon


def without_backward(entries, num_args):
    """MXNet's entries less those its gradient nodes report (from the first ``*_backward_*``
    up to the closing argument statistics)."""
    first = next(i for i, (name, _) in enumerate(entries) if "_backward_" in name)
    return entries[:first] + entries[-num_args:]


@pytest.mark.parametrize("monitor_all", [False, True])
def test_names_order_and_statistics_match_mxnet(monitor_all):
    fixture = json.load(open(FIXTURE))
    mod, mon = trained_batch(monitor_all)
    got = [(name, float(text.split("\t")[0])) for _, name, text in mon.toc()]
    want = without_backward(fixture["monitor_all" if monitor_all else "monitor"], len(mod.symbol.list_arguments()))
    assert [n for n, _ in got] == [n for n, _ in want]
    np.testing.assert_allclose([v for _, v in got], [v for _, v in want], rtol=1e-4)


def test_interval_pattern_sort_and_stat_func():
    mon = mx.monitor.Monitor(2, stat_func=lambda x: [x.max(), x.min()], pattern=".*output|fc2_.*", sort=True)
    mod, _ = trained_batch(False, mon)
    res = mon.toc()
    names = [name for _, name, _ in res]
    assert names == sorted(names) and "fc2_weight" in names and "fc1_weight" not in names
    assert all(step == 1 for step, _, _ in res)
    assert all(len(text.split("\t")) == 3 for _, _, text in res)  # two statistics, each with its tab
    # The second batch falls between intervals: nothing is collected.
    mon.tic()
    mod.forward(mx.io.DataBatch([mx.nd.ones((4, 5))], [mx.nd.zeros((4,))]), is_train=False)
    assert mon.queue == [] and mon.toc() == []
    mon.tic()
    mod.forward(mx.io.DataBatch([mx.nd.ones((4, 5))], [mx.nd.zeros((4,))]), is_train=False)
    assert [step for step, _, _ in mon.toc()][0] == 3


def test_fit_with_monitor_logs_every_interval(caplog):
    x = np.random.RandomState(0).randn(8, 5).astype(np.float32)
    it = mx.io.NDArrayIter(x, np.zeros(8, np.float32), batch_size=4)
    mod = mx.mod.Module(net(True))
    with caplog.at_level(logging.INFO):
        mod.fit(it, num_epoch=2, monitor=mx.monitor.Monitor(3, pattern="fc1_output"), progress=False)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Batch:")]
    assert [line.split()[1] for line in lines] == ["1", "4"] and all("fc1_output" in line for line in lines)


def test_monitor_leaves_batchnorm_statistics_moving_once():
    data = mx.sym.var("data")
    symbol = mx.sym.BatchNorm(mx.sym.FullyConnected(data, num_hidden=3, name="fc"), name="bn")
    x = mx.nd.array(np.random.RandomState(1).randn(4, 2))

    def moving_mean(monitored):
        ex = symbol.simple_bind(mx.cpu(), data=(4, 2))
        ex.arg_dict["fc_weight"][:] = 1
        ex.aux_dict["bn_moving_var"][:] = 1
        names = []
        if monitored:
            ex.set_monitor_callback(lambda name, arr: names.append(name), monitor_all=True)
        ex.forward(is_train=True, data=x)
        return ex.aux_dict["bn_moving_mean"].asnumpy(), names

    plain, _ = moving_mean(False)
    watched, names = moving_mean(True)
    np.testing.assert_array_equal(watched, plain)
    assert names == ["data", "fc_data", "fc_weight", "fc_weight", "fc_bias", "fc_bias", "fc_output", "bn_data",
                     "bn_gamma", "bn_gamma", "bn_beta", "bn_beta", "bn_moving_mean", "bn_moving_mean",
                     "bn_moving_var", "bn_moving_var", "bn_output"]


def test_reshaped_executor_keeps_the_monitor():
    mon = mx.monitor.Monitor(1, pattern="fc1_output")
    mod, _ = trained_batch(False, mon)
    mon.toc()
    mon.tic()
    mod.forward(mx.io.DataBatch([mx.nd.ones((2, 5))], [mx.nd.zeros((2,))]), is_train=False)
    assert [name for _, name, _ in mon.toc()] == ["fc1_output"]
