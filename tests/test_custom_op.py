"""mx.operator's custom operators: imperative with autograd, in symbols, executors and
Module (against the built-in SoftmaxOutput), several outputs and parameters, errors, and no
deadlock when the Python code itself pushes and waits, on either engine."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import rmx as mx


class Softmax(mx.operator.CustomOp):
    def forward(self, is_train, req, in_data, out_data, aux):
        x = in_data[0].asnumpy()
        y = np.exp(x - x.max(axis=1, keepdims=True))
        self.assign(out_data[0], req[0], mx.nd.array(y / y.sum(axis=1, keepdims=True)))

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        label = in_data[1].asnumpy().astype(int)
        y = out_data[0].asnumpy().copy()
        y[np.arange(label.shape[0]), label] -= 1.0
        self.assign(in_grad[0], req[0], mx.nd.array(y))
        self.assign(in_grad[1], req[1], mx.nd.zeros_like(in_data[1]))


@mx.operator.register("test_softmax")
class SoftmaxProp(mx.operator.CustomOpProp):
    def __init__(self):
        super().__init__(need_top_grad=False)

    def list_arguments(self):
        return ["data", "label"]

    def infer_shape(self, in_shape):
        return [in_shape[0], (in_shape[0][0],)], [in_shape[0]], []

    def create_operator(self, ctx, in_shapes, in_dtypes):
        return Softmax()


class ScaleSplit(mx.operator.CustomOp):
    """Two outputs: x * scale and x + shift (the parameters arrive as strings)."""

    def __init__(self, scale, shift):
        self.scale, self.shift = scale, shift

    def forward(self, is_train, req, in_data, out_data, aux):
        self.assign(out_data[0], req[0], in_data[0] * self.scale)
        self.assign(out_data[1], req[1], in_data[0] + self.shift)

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        self.assign(in_grad[0], req[0], out_grad[0] * self.scale + out_grad[1])


@mx.operator.register("test_scale_split")
class ScaleSplitProp(mx.operator.CustomOpProp):
    def __init__(self, scale="1", shift="0"):
        super().__init__()
        self.scale, self.shift = float(scale), float(shift)

    def list_outputs(self):
        return ["scaled", "shifted"]

    def create_operator(self, ctx, in_shapes, in_dtypes):
        return ScaleSplit(self.scale, self.shift)


def test_two_outputs_string_parameters_and_autograd():
    x = mx.nd.array([[1.0, -2.0], [3.0, 0.5]])
    x.attach_grad()
    with mx.autograd.record():
        a, b = mx.nd.Custom(x, op_type="test_scale_split", scale=3, shift=0.5)
        loss = (a * b).sum()
    loss.backward()
    xn = x.asnumpy()
    np.testing.assert_allclose(a.asnumpy(), 3 * xn)
    np.testing.assert_allclose(b.asnumpy(), xn + 0.5)
    # d/dx (3x)(x + 0.5) = 3(x + 0.5) + 3x
    np.testing.assert_allclose(x.grad.asnumpy(), 3 * (xn + 0.5) + 3 * xn, rtol=1e-6)


def _net(custom):
    data, label = mx.sym.var("data"), mx.sym.var("softmax_label")
    fc = mx.sym.FullyConnected(data, num_hidden=4, name="fc")
    if custom:
        return mx.sym.Custom(fc, label, op_type="test_softmax", name="softmax")
    return mx.sym.SoftmaxOutput(fc, label, name="softmax")


def test_symbol_names_shapes_and_module_gradients_match_softmax_output():
    sym = _net(custom=True)
    assert sym.list_arguments() == ["data", "fc_weight", "fc_bias", "softmax_label"]
    assert sym.list_outputs() == ["softmax_output"]
    args, outs, _ = sym.infer_shape(data=(6, 5))
    assert args == [(6, 5), (4, 5), (4,), (6,)] and outs == [(6, 4)]
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(6, 5)).astype(np.float32), rng.integers(0, 4, size=6).astype(np.float32)
    grads = []
    for custom in (True, False):
        mod = mx.mod.Module(_net(custom), context=mx.cpu())
        mod.bind(data_shapes=[("data", (6, 5))], label_shapes=[("softmax_label", (6,))])
        mx.random.seed(1)
        mod.init_params(mx.init.Xavier())
        batch = mx.io.DataBatch([mx.nd.array(x)], [mx.nd.array(y)])
        mod.forward_backward(batch)
        grads.append((mod.get_outputs()[0].asnumpy(), mod._exec_group.grad_arrays[0][0].asnumpy()))
    np.testing.assert_allclose(grads[0][0], grads[1][0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grads[0][1], grads[1][1], rtol=1e-4, atol=1e-6)


def test_module_fit_trains_through_a_custom_loss():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(64, 5)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.float32) + 2 * (x[:, 1] > 0)
    it = mx.io.NDArrayIter(x, y, batch_size=16)
    mod = mx.mod.Module(_net(custom=True), context=mx.cpu())
    mod.fit(it, num_epoch=30, optimizer="sgd", optimizer_params={"learning_rate": 0.5}, initializer=mx.init.Xavier())
    assert mod.score(it, "acc")[0][1] > 0.9


def test_parallel_custom_nodes_that_push_and_wait_do_not_deadlock():
    x = mx.sym.var("x")
    heads = [mx.sym.Custom(x, op_type="test_scale_split", scale=i, shift=0)[0] for i in range(1, 7)]
    exe = mx.sym.Group(heads).bind(mx.cpu(), {"x": mx.nd.ones((3, 3))})
    outs = [o.asnumpy() for o in exe.forward()]
    assert [float(o[0, 0]) for o in outs] == [1, 2, 3, 4, 5, 6]


def test_errors_are_clear():
    with pytest.raises(mx.base.MXNetError, match="no operator registered as op_type 'nope'"):
        mx.nd.Custom(mx.nd.ones(2), op_type="nope")

    class Broken(mx.operator.CustomOp):
        def forward(self, is_train, req, in_data, out_data, aux):
            raise ValueError("broken on purpose")

    @mx.operator.register("test_broken")
    class BrokenProp(mx.operator.CustomOpProp):
        def create_operator(self, ctx, in_shapes, in_dtypes):
            return Broken()

    y = mx.nd.Custom(mx.nd.ones(2), op_type="test_broken")
    with pytest.raises(mx.base.MXNetError, match="broken on purpose"):
        y.asnumpy()
    # The engine lives on: later work runs.
    assert (mx.nd.ones(2) + 1).asnumpy().tolist() == [2.0, 2.0]


def test_naive_engine_runs_custom_operators_inline():
    code = textwrap.dedent("""
        import rmx as mx
        class Double(mx.operator.CustomOp):
            def forward(self, is_train, req, in_data, out_data, aux):
                self.assign(out_data[0], req[0], (in_data[0] * 2).asnumpy())
        @mx.operator.register("double")
        class DoubleProp(mx.operator.CustomOpProp):
            def create_operator(self, ctx, shapes, dtypes):
                return Double()
        print(mx.nd.Custom(mx.nd.array([1, 2]), op_type="double").asnumpy().tolist())
    """)
    env = dict(os.environ, RMX_ENGINE_TYPE="NaiveEngine")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[2.0, 4.0]"


def test_operator_introspection():
    args = mx.operator.get_operator_arguments("FullyConnected")
    assert args.names[:3] == ["data", "weight", "bias"] and "num_hidden" in args.names
    assert "Custom" in mx.operator.get_all_registered_operators()
    with pytest.raises(mx.base.MXNetError, match="CustomOp"):
        mx.operator.NumpyOp()


def test_errors_in_the_property_are_reported():
    @mx.operator.register("test_badargs")
    class BadArgs(mx.operator.CustomOpProp):
        def list_arguments(self):
            raise ValueError("no arguments today")

    with pytest.raises(mx.base.MXNetError, match="(?s)list_arguments.*no arguments today"):
        mx.sym.Custom(mx.sym.var("a"), op_type="test_badargs")

    @mx.operator.register("test_badshape")
    class BadShape(mx.operator.CustomOpProp):
        def infer_shape(self, in_shape):
            return [], [(3,)], []

    with pytest.raises(mx.base.MXNetError, match="infer_shape returned 0 input shapes for 1 inputs"):
        mx.nd.Custom(mx.nd.ones(2), op_type="test_badshape")


def test_a_property_may_build_custom_operators_itself():
    @mx.operator.register("test_outer")
    class Outer(mx.operator.CustomOpProp):
        def __init__(self):
            super().__init__()
            mx.sym.Custom(mx.sym.var("z"), op_type="test_scale_split", scale=2)  # re-enters the registry

        def create_operator(self, ctx, in_shapes, in_dtypes):
            return ScaleSplit(1.0, 0.0)

        def list_outputs(self):
            return ["a", "b"]

    a, b = mx.nd.Custom(mx.nd.ones(2), op_type="test_outer")
    assert a.asnumpy().tolist() == [1.0, 1.0]
