"""rmx.models against MXNet 1.9.1: the symbol builders must give, under rmx, what MXNet gives when
it runs the same builders (tests/fixtures/mxnet_models.json, written by
tests/fixtures/make_model_fixtures.py, which also checked the builders against MXNet's own
example/image-classification/symbols/*.py): the same arguments and auxiliary states in the same
order, the same inferred shapes, the same parameter count, the same operator nodes, and the same
graph (each node's op, name, attributes and inputs as ``tojson`` writes them).

Shape inference only, no forward passes. A case whose operators this build of rmx lacks is
skipped, naming them.
"""

import hashlib
import json
import os
from functools import lru_cache

import numpy as np
import pytest

import rmx as mx
import rmx.models as models

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "mxnet_models.json")
with open(FIXTURE) as _f:
    CASES = json.load(_f)["cases"]


@lru_cache(maxsize=None)
def registered_ops():
    """Every operator name and alias the built extension registers."""
    return frozenset(n for name, aliases, *_ in mx._rmx.op_list() for n in (name, *aliases))


def require_ops(case):
    missing = sorted(set(case["ops"]) - registered_ops())
    if missing:
        pytest.skip("operator %s not built yet" % ", ".join(missing))


@lru_cache(maxsize=None)
def built(name):
    case = CASES[name]
    with mx.name.NameManager():
        return getattr(models, case["builder"]).get_symbol(**case["kwargs"])


def case_and_symbol(name):
    case = CASES[name]
    require_ops(case)
    return case, built(name)


def canonical_graph(sym):
    """(op, name, attributes, inputs) of every node, and the heads, as the fixture script has it."""
    graph = json.loads(sym.tojson())
    nodes = [[n["op"], n["name"], n.get("attrs", {}), [e[:2] for e in n["inputs"]]]
             for n in graph["nodes"]]
    return {"nodes": nodes, "heads": [e[:2] for e in graph["heads"]]}


names = pytest.mark.parametrize("name", sorted(CASES))


@names
def test_arguments_and_aux_states(name):
    case, sym = case_and_symbol(name)
    assert sym.list_arguments() == [a for a, _ in case["arguments"]]
    assert sym.list_auxiliary_states() == [a for a, _ in case["aux_states"]]
    assert sym.list_outputs() == [o for o, _ in case["outputs"]]


@names
def test_inferred_shapes(name):
    case, sym = case_and_symbol(name)
    arg_shapes, out_shapes, aux_shapes = sym.infer_shape(data=tuple(case["data_shape"]))
    assert arg_shapes is not None, "shapes not inferred from the data shape"
    assert dict(zip(sym.list_arguments(), map(list, arg_shapes))) == dict(case["arguments"])
    assert [list(s) for s in out_shapes] == [s for _, s in case["outputs"]]
    assert dict(zip(sym.list_auxiliary_states(), map(list, aux_shapes))) == dict(case["aux_states"])


@names
def test_parameter_count(name):
    case, sym = case_and_symbol(name)
    arg_shapes, _, aux_shapes = sym.infer_shape(data=tuple(case["data_shape"]))
    params = [s for n, s in zip(sym.list_arguments(), arg_shapes) if n not in ("data", "softmax_label")]
    assert sum(int(np.prod(s)) for s in params) == case["num_params"]
    assert sum(int(np.prod(s)) for s in aux_shapes) == case["num_aux"]


@names
def test_operator_nodes(name):
    case, sym = case_and_symbol(name)
    graph = canonical_graph(sym)
    assert [n[1] for n in graph["nodes"] if n[0] != "null"] == case["layers"]
    assert sorted({n[0] for n in graph["nodes"] if n[0] != "null"}) == case["ops"]


@names
def test_graph_as_mxnet_writes_it(name):
    case, sym = case_and_symbol(name)
    text = json.dumps(canonical_graph(sym), sort_keys=True, separators=(",", ":"))
    assert hashlib.sha256(text.encode()).hexdigest() == case["graph_sha256"]


# --- get_model: needs no operator ---------------------------------------------------------------

class Recorder:
    """A stand-in builder module: records the keyword arguments and the NameManager in use."""

    def __init__(self):
        self.calls = []

    def get_symbol(self, **kwargs):
        self.calls.append((kwargs, mx.name.NameManager.current))
        return "symbol"


@pytest.fixture
def recorders(monkeypatch):
    fakes = {key: Recorder() for key in models._MODULES}
    for key, fake in fakes.items():
        monkeypatch.setitem(models._MODULES, key, fake)
    return fakes


@pytest.mark.parametrize("spelling, key, implied", [
    ("resnet", "resnet", {}),
    ("resnet-50", "resnet", {"num_layers": 50}),
    ("ResNet152", "resnet", {"num_layers": 152}),
    ("vgg-16", "vgg", {"num_layers": 16}),
    ("inception-bn", "inception-bn", {}),
    ("inception_bn", "inception-bn", {}),
    ("googlenet", "googlenet", {}),
    ("alexnet", "alexnet", {}),
    ("lenet", "lenet", {}),
    ("mlp", "mlp", {}),
])
def test_get_model_names(recorders, spelling, key, implied):
    assert models.get_model(spelling, num_classes=7) == "symbol"
    assert recorders[key].calls[0][0] == {**implied, "num_classes": 7}


def test_get_model_rejects_unknown_names_and_contradictions(recorders):
    with pytest.raises(ValueError, match="unknown model"):
        models.get_model("resnext-50")
    with pytest.raises(ValueError, match="contradicts"):
        models.get_model("resnet-50", num_layers=18)
    models.get_model("resnet-50", num_layers=50)
    assert recorders["resnet"].calls[0][0] == {"num_layers": 50}


def test_get_model_builds_under_a_fresh_name_manager(recorders):
    outer = mx.name.NameManager.current
    models.get_model("alexnet")
    fresh = recorders["alexnet"].calls[0][1]
    assert fresh is not outer and isinstance(fresh, mx.name.NameManager)
    assert mx.name.NameManager.current is outer
    models.get_model("alexnet", fresh_names=False)
    assert recorders["alexnet"].calls[1][1] is outer


@pytest.mark.parametrize("module, kwargs", [
    (models.vgg, {"num_layers": 12}),
    (models.resnet, {"num_layers": 42}),
    (models.resnet, {"num_layers": 21, "image_shape": "3,28,28"}),
])
def test_unsupported_depths_raise(module, kwargs):
    with pytest.raises(ValueError):
        module.get_symbol(**kwargs)


def test_fixture_covers_the_requested_variants():
    wanted = {"mlp", "lenet", "alexnet", "googlenet", "inception-bn",
              *("vgg-%d" % n for n in (11, 13, 16, 19)), "vgg-16-bn",
              *("resnet-%d" % n for n in (18, 34, 50, 101, 152))}
    assert wanted <= set(CASES)
