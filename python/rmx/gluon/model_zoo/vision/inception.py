"""Inception V3 (Szegedy et al. 2015, arXiv:1512.00567), as MXNet 1.9.1's model zoo builds it,
for 299x299 inputs (the final 8x8 average pool needs an 8x8 map there).

Every convolution is a "basic conv": convolution without bias, BatchNorm with epsilon 0.001,
ReLU. The mixed blocks are ``HybridConcurrent`` containers of branches under the prefixes MXNet
gives them (``A1_`` ... ``E2_``); branches are built in MXNet's order, which fixes the automatic
layer numbers (``inception30_E1_conv3_weight``) its parameter files use. The auxiliary
classifier (``make_aux``) is defined, as in MXNet, but not part of the net.
"""

from ....context import cpu
from ...block import HybridBlock
from ... import nn
from ..model_store import load_pretrained

__all__ = ["Inception3", "inception_v3"]


def _make_basic_conv(**kwargs):
    out = nn.HybridSequential(prefix="")
    out.add(nn.Conv2D(use_bias=False, **kwargs))
    out.add(nn.BatchNorm(epsilon=0.001))
    out.add(nn.Activation("relu"))
    return out


_SETTING_NAMES = ("channels", "kernel_size", "strides", "padding")


def _make_branch(use_pool, *conv_settings):
    """An optional pool ('avg': 3x3 stride 1 padded, 'max': 3x3 stride 2), then one basic conv
    per ``(channels, kernel_size, strides, padding)`` setting (None: the default)."""
    out = nn.HybridSequential(prefix="")
    if use_pool == "avg":
        out.add(nn.AvgPool2D(pool_size=3, strides=1, padding=1))
    elif use_pool == "max":
        out.add(nn.MaxPool2D(pool_size=3, strides=2))
    for setting in conv_settings:
        kwargs = {k: v for k, v in zip(_SETTING_NAMES, setting) if v is not None}
        out.add(_make_basic_conv(**kwargs))
    return out


def _concurrent(prefix, *branches):
    """``branches`` (functions making them, called inside the block's scope) concatenated on the
    channel axis."""
    out = nn.HybridConcurrent(axis=1, prefix=prefix)
    with out.name_scope():
        for make in branches:
            out.add(make())
    return out


def _make_A(pool_features, prefix):
    return _concurrent(prefix,
                       lambda: _make_branch(None, (64, 1, None, None)),
                       lambda: _make_branch(None, (48, 1, None, None), (64, 5, None, 2)),
                       lambda: _make_branch(None, (64, 1, None, None), (96, 3, None, 1), (96, 3, None, 1)),
                       lambda: _make_branch("avg", (pool_features, 1, None, None)))


def _make_B(prefix):
    return _concurrent(prefix,
                       lambda: _make_branch(None, (384, 3, 2, None)),
                       lambda: _make_branch(None, (64, 1, None, None), (96, 3, None, 1), (96, 3, 2, None)),
                       lambda: _make_branch("max"))


def _make_C(channels_7x7, prefix):
    c = channels_7x7
    return _concurrent(prefix,
                       lambda: _make_branch(None, (192, 1, None, None)),
                       lambda: _make_branch(None, (c, 1, None, None), (c, (1, 7), None, (0, 3)),
                                            (192, (7, 1), None, (3, 0))),
                       lambda: _make_branch(None, (c, 1, None, None), (c, (7, 1), None, (3, 0)),
                                            (c, (1, 7), None, (0, 3)), (c, (7, 1), None, (3, 0)),
                                            (192, (1, 7), None, (0, 3))),
                       lambda: _make_branch("avg", (192, 1, None, None)))


def _make_D(prefix):
    return _concurrent(prefix,
                       lambda: _make_branch(None, (192, 1, None, None), (320, 3, 2, None)),
                       lambda: _make_branch(None, (192, 1, None, None), (192, (1, 7), None, (0, 3)),
                                            (192, (7, 1), None, (3, 0)), (192, 3, 2, None)),
                       lambda: _make_branch("max"))


def _split_3x3(*first):
    """Basic convs ``first``, then a 1x3 and a 3x1 convolution side by side (384 channels
    each), concatenated: the E block's factorized 3x3."""
    out = nn.HybridSequential(prefix="")
    out.add(_make_branch(None, *first))
    split = nn.HybridConcurrent(axis=1, prefix="")
    split.add(_make_branch(None, (384, (1, 3), None, (0, 1))))
    split.add(_make_branch(None, (384, (3, 1), None, (1, 0))))
    out.add(split)
    return out


def _make_E(prefix):
    return _concurrent(prefix,
                       lambda: _make_branch(None, (320, 1, None, None)),
                       lambda: _split_3x3((384, 1, None, None)),
                       lambda: _split_3x3((448, 1, None, None), (384, 3, None, 1)),
                       lambda: _make_branch("avg", (192, 1, None, None)))


def make_aux(classes):
    """The auxiliary classifier of the paper (not used by :class:`Inception3`)."""
    out = nn.HybridSequential(prefix="")
    out.add(nn.AvgPool2D(pool_size=5, strides=3))
    out.add(_make_basic_conv(channels=128, kernel_size=1))
    out.add(_make_basic_conv(channels=768, kernel_size=5))
    out.add(nn.Flatten())
    out.add(nn.Dense(classes))
    return out


class Inception3(HybridBlock):
    """Inception V3.

    Parameters
    ----------
    classes : int, default 1000
    """

    def __init__(self, classes=1000, **kwargs):
        super(Inception3, self).__init__(**kwargs)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            self.features.add(_make_basic_conv(channels=32, kernel_size=3, strides=2))
            self.features.add(_make_basic_conv(channels=32, kernel_size=3))
            self.features.add(_make_basic_conv(channels=64, kernel_size=3, padding=1))
            self.features.add(nn.MaxPool2D(pool_size=3, strides=2))
            self.features.add(_make_basic_conv(channels=80, kernel_size=1))
            self.features.add(_make_basic_conv(channels=192, kernel_size=3))
            self.features.add(nn.MaxPool2D(pool_size=3, strides=2))
            self.features.add(_make_A(32, "A1_"))
            self.features.add(_make_A(64, "A2_"))
            self.features.add(_make_A(64, "A3_"))
            self.features.add(_make_B("B_"))
            self.features.add(_make_C(128, "C1_"))
            self.features.add(_make_C(160, "C2_"))
            self.features.add(_make_C(160, "C3_"))
            self.features.add(_make_C(192, "C4_"))
            self.features.add(_make_D("D_"))
            self.features.add(_make_E("E1_"))
            self.features.add(_make_E("E2_"))
            self.features.add(nn.AvgPool2D(pool_size=8))
            self.features.add(nn.Dropout(0.5))
            self.output = nn.Dense(classes)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


def inception_v3(pretrained=False, ctx=cpu(), root=None, **kwargs):
    """Inception V3; ``pretrained`` loads ``inceptionv3`` from the model store at ``root``
    (default ``$MXNET_HOME/models``) onto ``ctx``."""
    net = Inception3(**kwargs)
    if pretrained:
        load_pretrained(net, "inceptionv3", root, ctx)
    return net
