"""``mx.gluon.model_zoo`` against MXNet 1.9.1: the fixtures in ``tests/fixtures/model_zoo/`` were
written by ``tests/fixtures/make_model_zoo_fixtures.py`` under the real MXNet, and the same
functions of that script drive rmx here.

- every one of the 34 models has MXNet's parameters: names, structural names (what
  ``save_parameters`` writes, and in which order), shapes, grad_req; and MXNet's ``repr``;
- the outputs of 14 nets, parameters filled by a formula, equal MXNet's (imperative and
  hybridized);
- parameter files: rmx's round trip, and a file MXNet wrote loaded into rmx's net (and written
  back byte for byte);
- the model store: ``pretrained=True`` finds ``<root>/<name>-<short hash>.params``, checks its
  SHA-1, and says which file it expected when it is absent (rmx does not download).
"""

import hashlib
import importlib.util
import json
import os
import re
import shutil

import numpy as np
import pytest

import rmx as mx
from rmx.gluon.model_zoo import model_store, vision

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures", "model_zoo")

_spec = importlib.util.spec_from_file_location("make_model_zoo_fixtures",
                                               os.path.join(HERE, "fixtures", "make_model_zoo_fixtures.py"))
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)

with open(os.path.join(FIX, "meta.json")) as _f:
    META = json.load(_f)
with np.load(os.path.join(FIX, "outputs.npz")) as _f:
    OUTPUTS = {k: _f[k] for k in _f.files}


def _assert_close(got, want, rel=1e-4):
    """Equal up to ``rel`` times the largest magnitude of ``want`` (float32 sums in another
    order, over nets up to a few hundred layers deep)."""
    assert got.shape == want.shape
    scale = float(np.abs(want).max())
    assert scale > 0
    err = float(np.abs(got - want).max())
    assert err <= rel * scale, "max error %.3g, %.3g of the output's scale %.3g" % (err, err / scale, scale)


# --- names ------------------------------------------------------------------------------------

def test_vision_has_mxnets_public_names():
    assert sorted(n for n in dir(vision) if not n.startswith("_")) == META["vision_names"]


def test_get_model_knows_the_model_store_names():
    assert list(vision._models) == gen.MODELS
    assert sorted(META["models"]) == sorted(gen.MODELS)
    assert sorted(vision._models) == sorted(model_store._model_sha1)
    with mx.name.NameManager():
        net = vision.get_model("ResNet18_V1", classes=7)
    assert isinstance(net, vision.ResNetV1) and net.output._units == 7
    with pytest.raises(ValueError, match="Model resnet19_v1 is not supported"):
        vision.get_model("resnet19_v1")


@pytest.mark.parametrize("name", gen.MODELS)
def test_parameters_and_layers_are_mxnets(name):
    """Names in ``collect_params()`` order, structural names, shapes, grad_req, and the order
    ``save_parameters`` writes them in (see ``param_table``); and ``repr(net)``, which shows
    every layer's settings."""
    want = META["models"][name]
    lines, text = gen.describe(mx, name)
    if "table" in want:
        assert lines == want["table"]
    assert lines.index("--") == want["count"]
    assert gen.digest(lines) == want["digest"]
    if "repr" in want:
        assert text.splitlines() == want["repr"]
    assert gen.digest([text]) == want["repr_digest"]


# --- outputs ----------------------------------------------------------------------------------

@pytest.mark.parametrize("case", META["cases"], ids=[c[0] for c in META["cases"]])
def test_outputs_are_mxnets(case):
    """The filled net's predict-mode output is MXNet's; hybridized (through the executor) it is
    the same as imperatively."""
    key, name, kwargs, side = case
    net = gen.filled_net(mx, name, kwargs, side)
    x = mx.nd.array(gen.make_input(side))
    out = net(x).asnumpy()
    _assert_close(out, OUTPUTS[key])
    net.hybridize()
    hybrid = net(x).asnumpy()
    _assert_close(hybrid, out, rel=1e-6)


# --- parameter files --------------------------------------------------------------------------

def test_save_and_load_parameters_round_trip(tmp_path):
    net = gen.filled_net(mx, "resnet18_v2", {"thumbnail": True, "classes": 10}, 32)
    x = mx.nd.array(gen.make_input(32, seed=3))
    path = str(tmp_path / "net.params")
    net.save_parameters(path)
    fresh = gen.build(mx, "resnet18_v2", thumbnail=True, classes=10)
    fresh.load_parameters(path)  # no initialize: loading sets the deferred shapes
    np.testing.assert_array_equal(fresh(x).asnumpy(), net(x).asnumpy())


def test_loads_a_file_mxnet_saved(tmp_path):
    file_name, name, kwargs, side = META["saved"]
    path = os.path.join(FIX, file_name)
    net = gen.build(mx, name, **kwargs)
    net.load_parameters(path)
    _assert_close(net(mx.nd.array(gen.make_input(side, seed=1))).asnumpy(), OUTPUTS["saved_file"])
    # and writes it back as MXNet wrote it: same names, same order, same bytes
    again = str(tmp_path / "again.params")
    net.save_parameters(again)
    with open(path, "rb") as f, open(again, "rb") as g:
        assert f.read() == g.read()


# --- the model store --------------------------------------------------------------------------

def _expected_file(name, root):
    return os.path.join(root, "%s-%s.params" % (name, model_store._model_sha1[name][:8]))


@pytest.mark.parametrize("name", gen.MODELS)
def test_pretrained_without_the_file_names_the_expected_path(name, tmp_path):
    root = str(tmp_path / "models")
    with pytest.raises(FileNotFoundError) as err:
        with mx.name.NameManager():
            vision.get_model(name, pretrained=True, root=root)
    message = str(err.value)
    assert _expected_file(name, root) in message
    assert "does not download" in message
    assert not os.path.exists(root)  # nothing is created


def test_default_root_is_mxnet_home_models(tmp_path, monkeypatch):
    monkeypatch.setenv("MXNET_HOME", str(tmp_path))
    root = os.path.join(str(tmp_path), "models")
    assert model_store.default_root() == root
    with pytest.raises(FileNotFoundError, match=re.escape(_expected_file("squeezenet1.1", root))):
        vision.squeezenet1_1(pretrained=True)
    monkeypatch.delenv("MXNET_HOME")
    assert model_store.default_root() == os.path.join(os.path.expanduser("~"), ".mxnet", "models")


def test_pretrained_loads_a_present_file_after_checking_its_sha1(tmp_path, monkeypatch):
    """The store's file for mobilenet0.25 is played by MXNet's saved file (10 classes), its
    published SHA-1 by the file's own."""
    file_name, name, kwargs, side = META["saved"]
    src = os.path.join(FIX, file_name)
    with open(src, "rb") as f:
        content = f.read()
    monkeypatch.setitem(model_store._model_sha1, name, hashlib.sha1(content).hexdigest())
    root = str(tmp_path)
    target = _expected_file(name, root)
    shutil.copyfile(src, target)
    assert model_store.get_model_file(name, root=root) == target
    with mx.name.NameManager():
        net = vision.get_model(name, pretrained=True, root=root, **kwargs)
    _assert_close(net(mx.nd.array(gen.make_input(side, seed=1))).asnumpy(), OUTPUTS["saved_file"])
    # a corrupted file is refused, not replaced
    with open(target, "r+b") as f:
        f.seek(len(content) // 2)
        f.write(b"\x00\x01\x02\x03")
    with pytest.raises(ValueError, match="SHA-1"):
        vision.mobilenet0_25(pretrained=True, root=root, **kwargs)
    assert os.path.exists(target)


def test_model_file_names_and_purge(tmp_path):
    assert model_store.short_hash("mobilenetv2_0.5") == "aabd26cd"
    with pytest.raises(ValueError, match="Pretrained model for resnet19_v1 is not available"):
        model_store.get_model_file("resnet19_v1", root=str(tmp_path))
    for f in ("a.params", "b.params", "notes.txt"):
        (tmp_path / f).write_bytes(b"x")
    model_store.purge(str(tmp_path))
    assert sorted(os.listdir(str(tmp_path))) == ["notes.txt"]
