"""SqueezeNet 1.0 and 1.1 (Iandola et al. 2016, arXiv:1602.07360), as MXNet 1.9.1's model zoo
builds them: "fire" modules (a 1x1 squeeze convolution, then 1x1 and 3x3 expand convolutions
whose outputs are concatenated), max pools with ``ceil_mode``, and a convolutional classifier
averaged over a 13x13 map (so the input must be 224x224, or whatever gives 13x13 there).

The layers are made in MXNet's order (squeeze, then the expand pair), which fixes the automatic
names (``squeezenet0_conv1_weight``) that MXNet's files use.
"""

from ....context import cpu
from ...block import HybridBlock
from ... import nn
from ..model_store import load_pretrained

__all__ = ["SqueezeNet", "squeezenet1_0", "squeezenet1_1"]


def _make_fire_conv(channels, kernel_size, padding=0):
    out = nn.HybridSequential(prefix="")
    out.add(nn.Conv2D(channels, kernel_size, padding=padding))
    out.add(nn.Activation("relu"))
    return out


def _make_fire(squeeze_channels, expand1x1_channels, expand3x3_channels):
    out = nn.HybridSequential(prefix="")
    out.add(_make_fire_conv(squeeze_channels, 1))
    paths = nn.HybridConcurrent(axis=1, prefix="")
    paths.add(_make_fire_conv(expand1x1_channels, 1))
    paths.add(_make_fire_conv(expand3x3_channels, 3, 1))
    out.add(paths)
    return out


def _pool():
    return nn.MaxPool2D(pool_size=3, strides=2, ceil_mode=True)


class SqueezeNet(HybridBlock):
    """SqueezeNet.

    Parameters
    ----------
    version : str
        '1.0' or '1.1' (1.1: a 3x3 first convolution and earlier pooling, about 2.4 times less
        computation for the same accuracy).
    classes : int, default 1000
    """

    def __init__(self, version, classes=1000, **kwargs):
        super(SqueezeNet, self).__init__(**kwargs)
        assert version in ["1.0", "1.1"], ("Unsupported SqueezeNet version {version}:"
                                           "1.0 or 1.1 expected".format(version=version))
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            # 'pool' marks a max pool, a tuple a fire module (squeeze, expand 1x1, expand 3x3).
            if version == "1.0":
                self.features.add(nn.Conv2D(96, kernel_size=7, strides=2))
                plan = ["pool", (16, 64, 64), (16, 64, 64), (32, 128, 128), "pool", (32, 128, 128),
                        (48, 192, 192), (48, 192, 192), (64, 256, 256), "pool", (64, 256, 256)]
            else:
                self.features.add(nn.Conv2D(64, kernel_size=3, strides=2))
                plan = ["pool", (16, 64, 64), (16, 64, 64), "pool", (32, 128, 128), (32, 128, 128), "pool",
                        (48, 192, 192), (48, 192, 192), (64, 256, 256), (64, 256, 256)]
            self.features.add(nn.Activation("relu"))
            for step in plan:
                self.features.add(_pool() if step == "pool" else _make_fire(*step))
            self.features.add(nn.Dropout(0.5))

            self.output = nn.HybridSequential(prefix="")
            self.output.add(nn.Conv2D(classes, kernel_size=1))
            self.output.add(nn.Activation("relu"))
            self.output.add(nn.AvgPool2D(13))
            self.output.add(nn.Flatten())

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


def get_squeezenet(version, pretrained=False, ctx=cpu(), root=None, **kwargs):
    """SqueezeNet ``version`` ('1.0' or '1.1'); ``pretrained`` loads ``squeezenet<version>`` from
    the model store at ``root`` (default ``$MXNET_HOME/models``) onto ``ctx``."""
    net = SqueezeNet(version, **kwargs)
    if pretrained:
        load_pretrained(net, "squeezenet%s" % version, root, ctx)
    return net


def squeezenet1_0(**kwargs):
    """SqueezeNet 1.0 (see :func:`get_squeezenet`)."""
    return get_squeezenet("1.0", **kwargs)


def squeezenet1_1(**kwargs):
    """SqueezeNet 1.1 (see :func:`get_squeezenet`)."""
    return get_squeezenet("1.1", **kwargs)
