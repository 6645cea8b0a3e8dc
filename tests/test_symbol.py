"""Symbol API: naming, listing, composition, attributes, inference and JSON, checked against
MXNet 1.9.1's documented behaviour and against JSON files MXNet 1.9.1 wrote."""

import json
import os
import pickle
import warnings

import numpy as np
import pytest

import rmx as mx

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def mlp():
    data = mx.sym.Variable("data")
    fc1 = mx.sym.FullyConnected(data=data, name="fc1", num_hidden=128)
    act1 = mx.sym.Activation(data=fc1, name="relu1", act_type="relu")
    fc2 = mx.sym.FullyConnected(data=act1, name="fc2", num_hidden=10)
    return mx.sym.SoftmaxOutput(data=fc2, name="softmax")


def test_listing_and_auto_names():
    net = mlp()
    assert net.list_arguments() == ["data", "fc1_weight", "fc1_bias", "fc2_weight", "fc2_bias", "softmax_label"]
    assert net.list_outputs() == ["softmax_output"]
    assert net.list_auxiliary_states() == []
    assert net.name == "softmax"
    with mx.name.NameManager():
        a = mx.sym.var("a")
        assert mx.sym.FullyConnected(a, num_hidden=2).name == "fullyconnected0"
        assert mx.sym.FullyConnected(a, num_hidden=2).name == "fullyconnected1"
        assert (a + a).name == "_plus0"
        assert (a * 2).name == "_mulscalar0"
    with mx.name.Prefix("p_"):
        assert mx.sym.Activation(mx.sym.var("x"), act_type="relu").name == "p_activation0"


def test_no_bias_and_aux_states():
    x = mx.sym.var("x")
    c = mx.sym.Convolution(x, kernel=(3, 3), num_filter=4, no_bias=True, name="c")
    assert c.list_arguments() == ["x", "c_weight"]
    bn = mx.sym.BatchNorm(c, name="bn")
    assert bn.list_arguments() == ["x", "c_weight", "bn_gamma", "bn_beta"]
    assert bn.list_auxiliary_states() == ["bn_moving_mean", "bn_moving_var"]
    assert bn.list_inputs() == ["x", "c_weight", "bn_gamma", "bn_beta", "bn_moving_mean", "bn_moving_var"]
    assert bn.list_outputs() == ["bn_output"]
    assert mx.sym.BatchNorm(c, output_mean_var=True, name="b").list_outputs() == ["b_output", "b_mean", "b_var"]


def test_group_getitem_internals_children():
    net = mlp()
    internals = net.get_internals()
    assert "fc1_output" in internals.list_outputs()
    fc1 = internals["fc1_output"]
    assert fc1.list_arguments() == ["data", "fc1_weight", "fc1_bias"]
    g = mx.sym.Group([fc1, net])
    assert len(g) == 2 and g.list_outputs() == ["fc1_output", "softmax_output"]
    assert g[1].name == "softmax"
    assert [s.name for s in g] == ["fc1", "softmax"]
    assert net.get_children().list_outputs() == ["fc2_output", "softmax_label"]
    assert mx.sym.var("v").get_children() is None
    parts = mx.sym.split(mx.sym.var("d"), num_outputs=3, name="s")
    assert parts.list_outputs() == ["s_output0", "s_output1", "s_output2"]
    assert parts[2].list_outputs() == ["s_output2"]
    with pytest.raises(mx.MXNetError):
        parts["nope"]


def test_compose_by_call():
    data = mx.sym.var("data")
    net1 = mx.sym.FullyConnected(data, name="fc1", num_hidden=10)
    net2 = mx.sym.FullyConnected(mx.sym.var("fc3_data"), name="fc3", num_hidden=5)
    composed = net2(fc3_data=net1, name="composed")
    assert composed.list_arguments() == ["data", "fc1_weight", "fc1_bias", "fc3_weight", "fc3_bias"]
    # The original is unchanged.
    assert net2.list_arguments() == ["fc3_data", "fc3_weight", "fc3_bias"]
    by_position = net2(net1)
    assert by_position.list_arguments() == composed.list_arguments()
    with pytest.raises(mx.MXNetError, match="no argument 'nope'"):
        net2(nope=net1)


def test_attributes():
    with mx.AttrScope(ctx_group="dev1"):
        w = mx.sym.var("w", lr_mult=2.0, wd_mult=0.5, init=None, __layout__="NC")
    assert w.attr("lr_mult") == "2.0" and w.attr("__lr_mult__") == "2.0"
    assert w.attr("__layout__") == "NC" and w.attr("ctx_group") == "dev1"
    assert w.list_attr()["lr_mult"] == "2.0"
    fc = mx.sym.FullyConnected(w, num_hidden=3, name="fc", lr_mult=3)
    d = fc.attr_dict()
    assert d["fc"]["num_hidden"] == "3" and d["fc"]["__lr_mult__"] == "3"
    assert d["fc_weight"]["num_hidden"] == "3"  # auto-created variables copy the node's attributes
    fc._set_attr(mood="calm")
    assert fc.attr("mood") == "calm"
    with pytest.raises(ValueError):
        mx.sym.var("x", bad_kw=1)
    with pytest.raises(mx.base.NotImplementedForSymbol):
        bool(w)


def test_unknown_param_and_input_errors():
    x = mx.sym.var("x")
    with pytest.raises(mx.MXNetError, match="num_hiden"):
        mx.sym.FullyConnected(x, num_hiden=3)
    with pytest.raises(mx.MXNetError, match="unknown input 'wieght'"):
        mx.sym.FullyConnected(data=x, wieght=x, num_hidden=3)


def test_infer_shape_from_partial_information():
    net = mlp()
    arg, out, aux = net.infer_shape(data=(32, 784))
    assert dict(zip(net.list_arguments(), arg)) == {
        "data": (32, 784), "fc1_weight": (128, 784), "fc1_bias": (128,), "fc2_weight": (10, 128), "fc2_bias": (10,), "softmax_label": (32,),
    }
    assert out == [(32, 10)] and aux == []
    # Positional, in list_arguments order.
    assert net.infer_shape((32, 784))[1] == [(32, 10)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert net.infer_shape() == (None, None, None)
    arg, out, _ = net.infer_shape_partial(fc1_weight=(128, 784))
    assert arg[0] == () and arg[1] == (128, 784) and out == [()]


def test_infer_shape_conflict_names_node_input_and_shapes():
    net = mlp()
    with pytest.raises(mx.MXNetError) as e:
        net.infer_shape(data=(32, 784), fc1_weight=(128, 100))
    msg = str(e.value)
    assert "fc1" in msg and "fc1_weight" in msg and "(128, 100)" in msg.replace("[", "(").replace("]", ")") and "784" in msg
    a, b = mx.sym.var("a"), mx.sym.var("b")
    with pytest.raises(mx.base.ShapeError):
        (a + b).infer_shape(a=(2, 3), b=(3, 2))  # no implicit broadcasting on symbols


def test_infer_type():
    net = mlp()
    arg, out, aux = net.infer_type(data=np.float64)
    assert all(t is np.float64 for t in arg) and out == [np.float64]
    c = mx.sym.Cast(mx.sym.var("x"), dtype="float16")
    assert c.infer_type(x=np.float32)[1] == [np.float16]


def test_arithmetic_symbols():
    a, b = mx.sym.var("a"), mx.sym.var("b")
    expr = (a + b) * 2 - a / b + 1 - (-a) ** 2
    ex = expr.bind(mx.cpu(), {"a": mx.nd.array([1.0, 2.0]), "b": mx.nd.array([3.0, 4.0])})
    x, y = np.array([1.0, 2.0]), np.array([3.0, 4.0])
    np.testing.assert_allclose(ex.forward()[0].asnumpy(), (x + y) * 2 - x / y + 1 - x**2, rtol=1e-6)
    r = 2 - a
    assert r.bind(mx.cpu(), {"a": mx.nd.array([5.0])}).forward()[0].asnumpy()[0] == -3


def test_json_matches_mxnet_files_byte_for_byte():
    for net in ["mlp", "lenet", "bn_concat"]:
        with open(os.path.join(FIXTURES, f"mxnet_{net}-symbol.json")) as f:
            text = f.read()
        sym = mx.sym.load_json(text)
        assert sym.tojson() == text, net
        sym2 = mx.sym.load(os.path.join(FIXTURES, f"mxnet_{net}-symbol.json"))
        assert sym2.list_arguments() == sym.list_arguments()


def test_json_written_for_a_built_net_equals_mxnet():
    # bn_concat's construction, repeated here: rmx must write the file MXNet 1.9.1 wrote.
    data = mx.sym.var("data")
    c = mx.sym.Convolution(data, kernel=(3, 3), pad=(1, 1), num_filter=6, no_bias=True, name="conv")
    bn = mx.sym.BatchNorm(c, fix_gamma=False, name="bn")
    r = mx.sym.LeakyReLU(bn, act_type="leaky", slope=0.1, name="lrelu")
    b1 = mx.sym.Convolution(r, kernel=(1, 1), num_filter=4, name="b1")
    b2 = mx.sym.Pooling(r, kernel=(3, 3), stride=(1, 1), pad=(1, 1), pool_type="avg", name="b2")
    cat = mx.sym.Concat(b1, b2, dim=1, name="cat")
    bn2 = mx.sym.BatchNorm(cat, name="bn2")
    gp = mx.sym.Pooling(bn2, global_pool=True, kernel=(1, 1), pool_type="avg", name="gp")
    fc = mx.sym.FullyConnected(gp, num_hidden=5, name="fc")
    net = mx.sym.SoftmaxOutput(fc, name="softmax")
    with open(os.path.join(FIXTURES, "mxnet_bn_concat-symbol.json")) as f:
        assert net.tojson() == f.read()


def test_legacy_json_is_upgraded_as_mxnet_does():
    with open(os.path.join(FIXTURES, "mxnet_legacy_000800_expect.json")) as f:
        expect = json.load(f)
    sym = mx.sym.load(os.path.join(FIXTURES, "legacy_000800.json"))
    assert sym.list_arguments() == expect["arguments"]
    assert sym.list_auxiliary_states() == expect["aux"]
    assert sym.list_outputs() == expect["outputs"]
    assert sym.attr_dict() == expect["attr_dict"]
    assert sym.tojson() == expect["json"]


def test_bad_json_is_a_clear_error():
    with pytest.raises(mx.MXNetError, match="symbol JSON"):
        mx.sym.load_json("{not json")
    with pytest.raises(mx.MXNetError, match="unknown operator 'NoSuchOp'"):
        mx.sym.load_json('{"nodes": [{"op": "NoSuchOp", "name": "x", "inputs": []}], "heads": [[0, 0, 0]]}')


def test_pickle_and_deepcopy(tmp_path):
    import copy

    net = mlp()
    assert pickle.loads(pickle.dumps(net)).tojson() == net.tojson()
    assert copy.deepcopy(net).tojson() == net.tojson()
    net.save(str(tmp_path / "n-symbol.json"))
    assert mx.sym.load(str(tmp_path / "n-symbol.json")).list_outputs() == ["softmax_output"]


def test_symbol_debug_str_lists_nodes_and_inputs():
    net = mx.sym.FullyConnected(mx.sym.var("x"), num_hidden=2, name="fc")
    text = net.debug_str()
    assert "Variable:fc_weight" in text and "Op:FullyConnected, Name=fc" in text
    assert "\targ[1]=fc_weight(0)" in text and "\tnum_hidden=2" in text


def test_none_input_is_absent_as_in_mxnet():
    # MXNet's Dense passes bias=None positionally with no_bias=True; later inputs go by name.
    s = mx.sym.FullyConnected(mx.sym.var("x"), mx.sym.var("w"), None, no_bias=True, num_hidden=4)
    assert s.list_arguments() == ["x", "w"]
    s = mx.sym.FullyConnected(mx.sym.var("x"), None, mx.sym.var("b"), num_hidden=4, name="fc")
    assert s.list_arguments() == ["x", "fc_weight", "b"]
    y = mx.nd.FullyConnected(mx.nd.ones((2, 3)), mx.nd.ones((4, 3)), None, no_bias=True, num_hidden=4)
    assert y.shape == (2, 4)
