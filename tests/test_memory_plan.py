"""The memory planner: every strategy must give bitwise the outputs, gradients and auxiliary
states that one buffer per entry (``none``) gives, on the model zoo and on graphs with
multi-output nodes, mutated inputs, ``grad_req='add'`` and reshaped executors; the estimate
(``Symbol.plan_memory``) must be what a bind allocates; pruning must leave out what the
requested outputs do not need."""

import re

import numpy as np
import pytest

import rmx as mx
import rmx.models as models

STRATEGIES = ["none", "inplace", "coshare", "both"]


def run(sym, strategy, shapes, seed=0, grad_req="write", steps=1, reshape=None):
    """Binds with ``strategy``, fills every argument and aux state from ``seed``, runs forward
    and backward ``steps`` times; returns outputs, gradients and aux states as NumPy."""
    ex = sym.simple_bind(mx.cpu(), grad_req=grad_req, memory_strategy=strategy, **shapes)
    rng = np.random.RandomState(seed)
    for name, arr in list(ex.arg_dict.items()) + list(ex.aux_dict.items()):
        if name.endswith("label"):
            arr[:] = rng.randint(0, sym.infer_shape(**shapes)[1][0][-1], size=arr.shape)
        elif name.endswith("moving_var"):
            arr[:] = rng.uniform(0.5, 1.5, size=arr.shape)
        else:
            arr[:] = rng.uniform(-0.5, 0.5, size=arr.shape)
    if reshape is not None:
        ex = ex.reshape(allow_up_sizing=True, **reshape)
        for name, arr in ex.arg_dict.items():
            if name in reshape:
                arr[:] = rng.uniform(-0.5, 0.5, size=arr.shape)
    for _ in range(steps):
        mx.random.seed(7)
        ex.forward(is_train=True)
        ex.backward()
    result = {f"out{i}": o.asnumpy() for i, o in enumerate(ex.outputs)}
    result.update({f"grad:{n}": g.asnumpy() for n, g in ex.grad_dict.items() if g is not None})
    result.update({f"aux:{n}": a.asnumpy() for n, a in ex.aux_dict.items()})
    return result, ex


def assert_same_as_none(sym, shapes, **kw):
    want, _ = run(sym, "none", shapes, **kw)
    for s in STRATEGIES[1:]:
        got, ex = run(sym, s, shapes, **kw)
        assert sorted(got) == sorted(want)
        for k in want:
            assert np.array_equal(got[k], want[k], equal_nan=True), f"strategy {s}: {k} differs from 'none'"
    return ex


# (builder, kwargs, data shape): each zoo network at a small size where it allows one.
ZOO = {
    "mlp": (models.mlp, {"num_classes": 10}, (4, 784)),
    "lenet": (models.lenet, {"num_classes": 10}, (4, 1, 28, 28)),
    "alexnet": (models.alexnet, {"num_classes": 10}, (2, 3, 67, 67)),
    "vgg-11": (models.vgg, {"num_classes": 10, "num_layers": 11}, (2, 3, 32, 32)),
    "vgg-16": (models.vgg, {"num_classes": 10, "num_layers": 16, "batch_norm": True}, (2, 3, 32, 32)),
    "googlenet": (models.googlenet, {"num_classes": 10}, (1, 3, 224, 224)),
    "inception-bn": (models.inception_bn, {"num_classes": 10, "image_shape": "3,28,28"}, (2, 3, 28, 28)),
    "resnet-18": (models.resnet, {"num_classes": 10, "num_layers": 18, "image_shape": "3,224,224"}, (2, 3, 32, 32)),
    "resnet-50": (models.resnet, {"num_classes": 10, "num_layers": 50, "image_shape": "3,224,224"}, (1, 3, 32, 32)),
}


@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_every_strategy_matches_none(name):
    module, kwargs, data = ZOO[name]
    sym = module.get_symbol(**kwargs)
    ex = assert_same_as_none(sym, {"data": data})
    # And sharing really happened.
    none = sym.plan_memory(strategy="none", data=data)["internal_bytes"]
    both = sym.plan_memory(strategy="both", data=data)["internal_bytes"]
    assert both < none
    assert f"Total {both >> 20} MB allocated" in ex.debug_str()


def multi_output_net():
    data = mx.sym.var("data")
    parts = mx.sym.SliceChannel(mx.sym.FullyConnected(data, num_hidden=12, name="fc"), num_outputs=3, name="split")
    a = mx.sym.Activation(parts[0], act_type="tanh")
    b = mx.sym.Activation(parts[1], act_type="relu") * parts[2]
    bn = mx.sym.BatchNorm(mx.sym.Reshape(a + b, shape=(-1, 4, 1, 1)), fix_gamma=False, name="bn")
    loss = mx.sym.MakeLoss(mx.sym.sum(mx.sym.square(bn)))
    # An internal output kept as a head beside the loss: it must survive the backward pass.
    return mx.sym.Group([loss, mx.sym.BlockGrad(parts[1])])


def test_multi_output_and_mutated_inputs():
    assert_same_as_none(multi_output_net(), {"data": (5, 7)})


def test_grad_req_add_accumulates_the_same():
    sym = models.lenet.get_symbol(num_classes=10)
    assert_same_as_none(sym, {"data": (3, 1, 28, 28)}, grad_req="add", steps=2)


def test_reshaped_executor_keeps_its_strategy_and_matches():
    sym = models.mlp.get_symbol(num_classes=10)
    ex = assert_same_as_none(sym, {"data": (4, 784)}, reshape={"data": (9, 784), "softmax_label": (9,)})
    assert "Memory strategy: both" in ex.debug_str()


def test_plan_memory_is_what_bind_allocates():
    sym = models.alexnet.get_symbol(num_classes=10)
    for req in ("null", "write"):
        for s in STRATEGIES:
            plan = sym.plan_memory(strategy=s, grad_req=req, data=(2, 3, 67, 67))
            ex = sym.simple_bind(mx.cpu(), grad_req=req, memory_strategy=s, data=(2, 3, 67, 67))
            assert ex.handle.internal_bytes() == plan["internal_bytes"]
            total = int(re.search(r"Total (\d+) MB allocated\n$", ex.debug_str()).group(1))
            assert total == plan["internal_bytes"] >> 20
    none = sym.plan_memory(strategy="none", data=(2, 3, 67, 67))
    assert none["internal_bytes"] == none["unshared_bytes"]
    assert none["num_buffers"] == none["num_entries"]


def test_prediction_builds_no_backward_graph():
    sym = models.lenet.get_symbol(num_classes=10)
    pred = sym.plan_memory(grad_req="null", data=(2, 1, 28, 28))
    train = sym.plan_memory(grad_req="write", data=(2, 1, 28, 28))
    assert pred["backward_nodes"] == 0 and train["backward_nodes"] > 0
    assert pred["forward_nodes"] == train["forward_nodes"]
    assert pred["grad_bytes"] == 0 and train["grad_bytes"] == train["arg_bytes"]


def test_binding_an_internal_output_runs_only_what_it_needs():
    with mx.name.NameManager():  # fresh automatic names: convolution0, ...
        sym = models.lenet.get_symbol(num_classes=10)
    conv = sym.get_internals()["convolution0_output"]
    assert conv.list_arguments() == ["data", "convolution0_weight", "convolution0_bias"]
    plan = conv.plan_memory(grad_req="null", data=(2, 1, 28, 28))
    assert plan["forward_nodes"] == 1 and plan["backward_nodes"] == 0
    # Its value is the one the whole network computes at that node.
    part = conv.simple_bind(mx.cpu(), grad_req="null", data=(2, 1, 28, 28))
    whole = sym.get_internals().simple_bind(mx.cpu(), grad_req="null", data=(2, 1, 28, 28))
    rng = np.random.RandomState(1)
    for name, arr in whole.arg_dict.items():
        arr[:] = rng.uniform(-1, 1, size=arr.shape)
        if name in part.arg_dict:
            arr.copyto(part.arg_dict[name])
    part.forward()
    whole.forward()
    k = sym.get_internals().list_outputs().index("convolution0_output")
    assert np.array_equal(part.outputs[0].asnumpy(), whole.outputs[k].asnumpy())


def test_environment_variable_picks_the_default(monkeypatch):
    sym = models.mlp.get_symbol(num_classes=10)
    monkeypatch.setenv("RMX_MEMORY_STRATEGY", "inplace")
    assert sym.plan_memory(data=(2, 784))["strategy"] == "inplace"
    assert "Memory strategy: inplace" in sym.simple_bind(mx.cpu(), data=(2, 784)).debug_str()
    monkeypatch.setenv("RMX_MEMORY_STRATEGY", "greedy")
    with pytest.raises(mx.base.MXNetError, match="RMX_MEMORY_STRATEGY.*'greedy'"):
        sym.plan_memory(data=(2, 784))
    monkeypatch.delenv("RMX_MEMORY_STRATEGY")
    assert sym.plan_memory(data=(2, 784))["strategy"] == "both"


def test_bad_strategy_names_the_choices():
    sym = models.mlp.get_symbol(num_classes=10)
    with pytest.raises(mx.base.MXNetError, match="'none', 'inplace', 'coshare' or 'both'"):
        sym.simple_bind(mx.cpu(), memory_strategy="all", data=(2, 784))


def test_print_summary_shows_memory(capsys):
    sym = models.lenet.get_symbol(num_classes=10)
    mx.viz.print_summary(sym, shape={"data": (64, 1, 28, 28)}, show_memory=True)
    out = capsys.readouterr().out
    assert "Output Memory" in out
    # conv1's output: 64 x 20 x 24 x 24 float32.
    assert f"{64 * 20 * 24 * 24 * 4 / 2**20:.2f} MB" in out
    for mode in ("prediction", "training"):
        plan = sym.plan_memory(grad_req="null" if mode == "prediction" else "write", data=(64, 1, 28, 28))
        assert f"Internal memory, {mode} (strategy both): {plan['internal_bytes'] / 2**20:.2f} MB" in out
    with pytest.raises(ValueError, match="shape"):
        mx.viz.print_summary(sym, show_memory=True)


# --- elementwise fusion (RMX_FUSE_ELEMWISE=1) -----------------------------------------------------
def fused_and_plain(sym, monkeypatch, grad_req="null", **shapes):
    """Outputs (and gradients) of ``sym`` bound with fusion on and off, from one set of inputs."""
    results = []
    for switch in ("1", "0"):
        monkeypatch.setenv("RMX_FUSE_ELEMWISE", switch)
        got, ex = run(sym, "both", shapes, grad_req=grad_req) if grad_req != "null" else (None, None)
        if grad_req == "null":
            ex = sym.simple_bind(mx.cpu(), grad_req="null", **shapes)
            rng = np.random.RandomState(3)
            for arr in ex.arg_dict.values():
                arr[:] = rng.uniform(-2, 2, size=arr.shape)
            ex.forward()
            got = {f"out{i}": o.asnumpy() for i, o in enumerate(ex.outputs)}
        results.append((got, ex))
    return results


def test_fusion_gives_the_unfused_numbers_in_one_node(monkeypatch):
    a, b, c = mx.sym.var("a"), mx.sym.var("b"), mx.sym.var("c")
    x = mx.sym.Activation(a * b + 1, act_type="relu")
    y = mx.sym.tanh(mx.sym.sqrt(mx.sym.abs(x - c)) * 0.5) / (c * c + 2)
    (fused, fex), (plain, pex) = fused_and_plain(y, monkeypatch, a=(3, 50000), b=(3, 50000), c=(3, 50000))
    assert np.array_equal(fused["out0"], plain["out0"])
    assert fex.debug_str().count("Op:_FusedElemwise") == 1
    assert "Op:_FusedElemwise" not in pex.debug_str()
    monkeypatch.setenv("RMX_FUSE_ELEMWISE", "1")
    on = y.plan_memory(grad_req="null", a=(3, 50000), b=(3, 50000), c=(3, 50000))
    monkeypatch.setenv("RMX_FUSE_ELEMWISE", "0")
    off = y.plan_memory(grad_req="null", a=(3, 50000), b=(3, 50000), c=(3, 50000))
    assert on["forward_nodes"] == 1 and off["forward_nodes"] == 11
    assert on["internal_bytes"] < off["internal_bytes"]


def test_fusion_in_training_keeps_what_backward_reads(monkeypatch):
    data = mx.sym.var("data")
    h = mx.sym.FullyConnected(data, num_hidden=16, name="fc1")
    h = mx.sym.Activation(h * 2 + 1, act_type="sigmoid")  # the sigmoid's output is read by backward
    out = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(mx.sym.tanh(h - 0.5), num_hidden=4, name="fc2"), name="softmax")
    (fused, fex), (plain, _) = fused_and_plain(out, monkeypatch, grad_req="write", data=(6, 10))
    assert sorted(fused) == sorted(plain)
    for k in plain:
        assert np.array_equal(fused[k], plain[k]), k
    assert "Op:_FusedElemwise" in fex.debug_str()


def test_fusion_on_a_zoo_model(monkeypatch):
    sym = models.resnet.get_symbol(num_classes=10, num_layers=18, image_shape="3,224,224")
    (fused, _), (plain, _) = fused_and_plain(sym, monkeypatch, data=(1, 3, 32, 32))
    assert np.array_equal(fused["out0"], plain["out0"])
