"""mx.viz: print_summary prints what MXNet 1.9.1 printed for the same nets (fixtures), and
plot_network builds a graphviz graph with the expected nodes."""

import contextlib
import io
import os
import warnings

import pytest

import rmx as mx

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
SHAPES = {"mlp": (8, 20), "lenet": (4, 1, 28, 28), "bn_concat": (4, 3, 8, 8)}


@pytest.mark.parametrize("net", sorted(SHAPES))
def test_print_summary_matches_mxnet(net):
    sym = mx.sym.load(os.path.join(FIXTURES, f"mxnet_{net}-symbol.json"))
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        mx.viz.print_summary(sym, shape={"data": SHAPES[net]})
    with open(os.path.join(FIXTURES, f"mxnet_{net}_summary.txt")) as f:
        assert buf.getvalue() == f.read()


def test_plot_network():
    pytest.importorskip("graphviz")
    sym = mx.sym.load(os.path.join(FIXTURES, "mxnet_lenet-symbol.json"))
    dot = mx.viz.plot_network(sym, shape={"data": (4, 1, 28, 28)})
    src = dot.source
    assert "Convolution" in src and "5x5/1, 8" in src and "FullyConnected" in src
    assert "conv1_weight" not in src  # hidden by default
    assert "8x24x24" in src  # an edge labelled with conv1's output shape
    assert "conv1_weight" in mx.viz.plot_network(sym, hide_weights=False).source


def test_plot_network_warns_on_repeated_names():
    pytest.importorskip("graphviz")
    a, b = mx.sym.var("x"), mx.sym.var("x")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        mx.viz.plot_network(a + b)
    assert any("Repeated names: x" in str(x.message) for x in w)
