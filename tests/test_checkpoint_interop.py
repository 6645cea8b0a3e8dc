"""Checkpoints written by rmx load in the real MXNet 1.9.1 and give the same results there.

tests/fixtures/make_rmx_checkpoint_fixtures.py wrote ``rmx_ckpt-symbol.json``,
``rmx_ckpt-0003.params`` and ``rmx_ckpt_input.npy`` with rmx (``write``), then MXNet 1.9.1 loaded
them and recorded its outputs in ``mxnet_rmx_ckpt_outputs.npz`` (``check``). Here: rmx still
writes those exact bytes, MXNet's outputs were computed from exactly these files, MXNet parsed the
names, shapes, dtypes and attributes rmx meant, and rmx computes MXNet's outputs from them. (The
other direction, MXNet's checkpoints loaded by rmx, is in tests/test_module.py.)
"""

import hashlib
import importlib.util
import json
import os

import numpy as np
import pytest

import rmx as mx

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")

_spec = importlib.util.spec_from_file_location(
    "make_rmx_checkpoint_fixtures", os.path.join(FIXTURES, "make_rmx_checkpoint_fixtures.py"))
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)

MXNET = np.load(os.path.join(FIXTURES, gen.OUTPUTS))
SYMBOL, PARAMS, INPUT = gen.files(FIXTURES)
PREFIX = os.path.join(FIXTURES, gen.PREFIX)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def test_rmx_writes_the_committed_checkpoint_byte_for_byte(tmp_path):
    written = gen.write(mx, str(tmp_path))
    for new, committed in zip(written, (SYMBOL, PARAMS, INPUT)):
        assert read(new) == read(committed), os.path.basename(committed)


def test_mxnet_outputs_were_computed_from_the_committed_files():
    assert str(MXNET["mxnet_version"]) == "1.9.1"
    for path in (SYMBOL, PARAMS, INPUT):
        recorded = str(MXNET["sha256:" + os.path.basename(path)])
        assert hashlib.sha256(read(path)).hexdigest() == recorded, os.path.basename(path)


def test_mxnet_parsed_what_rmx_meant():
    loaded = json.loads(str(MXNET["loaded"]))
    sym, arg, aux = mx.model.load_checkpoint(PREFIX, gen.EPOCH)
    assert loaded["arguments"] == sym.list_arguments()
    assert loaded["aux_states"] == sym.list_auxiliary_states()
    assert loaded["attr_dict"] == sym.attr_dict()
    assert loaded["attr_dict"]["fc2_weight"]["__lr_mult__"] == "2.0"
    ours = {("arg:" + k): [list(v.shape), np.dtype(v.dtype).name] for k, v in arg.items()}
    ours.update({("aux:" + k): [list(v.shape), np.dtype(v.dtype).name] for k, v in aux.items()})
    assert loaded["params"] == ours


def test_rmx_predicts_what_mxnet_predicted_from_the_checkpoint():
    data = np.load(INPUT)
    mod = mx.mod.Module.load(PREFIX, gen.EPOCH)
    it = mx.io.NDArrayIter(data, np.zeros(data.shape[0], np.float32), batch_size=data.shape[0])
    mod.bind(it.provide_data, it.provide_label, for_training=False)
    np.testing.assert_allclose(mod.predict(it).asnumpy(), MXNET["predict"], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", gen.INTERNALS)
def test_rmx_internal_outputs_match_mxnet(name):
    """Inference-mode intermediates: the BatchNorms normalize with the loaded moving statistics
    (bn2's stored gamma, under fix_gamma, ignored)."""
    data = np.load(INPUT)
    sym, arg, aux = mx.model.load_checkpoint(PREFIX, gen.EPOCH)
    head = sym.get_internals()[name]
    args = {k: arg[k] for k in head.list_arguments() if k != "data"}
    args["data"] = mx.nd.array(data)
    ex = head.bind(mx.cpu(), args=args, aux_states={k: aux[k] for k in head.list_auxiliary_states()}, grad_req="null")
    np.testing.assert_allclose(ex.forward(is_train=False)[0].asnumpy(), MXNET["internal:" + name], rtol=1e-5, atol=1e-6)


def test_the_fixture_tells_the_moving_statistics_apart():
    """Had MXNet ignored the loaded auxiliary states (or used batch statistics), bn2's output
    would differ from the recorded one: the check above can fail."""
    data = np.load(INPUT)
    sym, arg, aux = mx.model.load_checkpoint(PREFIX, gen.EPOCH)
    head = sym.get_internals()["bn2_output"]
    args = {k: arg[k] for k in head.list_arguments() if k != "data"}
    args["data"] = mx.nd.array(data)
    fresh = {k: (mx.nd.ones if k.endswith("var") else mx.nd.zeros)(aux[k].shape) for k in head.list_auxiliary_states()}
    ex = head.bind(mx.cpu(), args=args, aux_states=fresh, grad_req="null")
    assert not np.allclose(ex.forward(is_train=False)[0].asnumpy(), MXNET["internal:bn2_output"], rtol=1e-3)
