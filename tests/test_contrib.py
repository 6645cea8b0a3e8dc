"""mx.contrib as a package, as MXNet 1.x code imports it."""

import numpy as np
import pytest

import rmx as mx


def test_submodules_import_as_mxnet_code_does():
    import rmx.contrib.autograd  # noqa: F401
    import rmx.contrib.ndarray as cnd
    import rmx.contrib.symbol as csym

    assert cnd.arange_like is mx.nd.contrib.arange_like
    assert csym.arange_like is mx.sym.contrib.arange_like
    assert mx.contrib.nd is cnd and mx.contrib.sym is csym


def test_legacy_autograd_gradients_match_autograd():
    x = mx.nd.array([0.5, -1.0, 2.0])
    grads, loss = mx.contrib.autograd.grad_and_loss(lambda a: (mx.nd.exp(a) * a).sum())(x)
    xn = x.asnumpy()
    np.testing.assert_allclose(grads[0].asnumpy(), np.exp(xn) * (1 + xn), rtol=1e-6)
    np.testing.assert_allclose(loss.asnumpy(), [(np.exp(xn) * xn).sum()], rtol=1e-6)
    with mx.contrib.autograd.train_section():
        assert mx.autograd.is_recording() and mx.autograd.is_training()
    assert not mx.autograd.is_recording()


def test_data_loader_iter_feeds_module_batches():
    ds = mx.gluon.data.ArrayDataset(np.arange(20, dtype="float32").reshape(10, 2), np.arange(10, dtype="float32"))
    it = mx.contrib.io.DataLoaderIter(mx.gluon.data.DataLoader(ds, batch_size=4))
    batches = list(it)
    assert [b.data[0].shape for b in batches] == [(4, 2), (4, 2), (2, 2)] and batches[-1].pad == 2
    it.reset()
    assert len(list(it)) == 3


@pytest.mark.parametrize("name", ["onnx", "quantization", "tensorboard", "text"])
def test_absent_parts_raise_clearly(name):
    with pytest.raises(mx.base.MXNetError, match=f"mx.contrib.{name}"):
        getattr(getattr(mx.contrib, name), "anything")
