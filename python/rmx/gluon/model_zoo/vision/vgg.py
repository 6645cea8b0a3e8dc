"""VGG (Simonyan and Zisserman 2014, arXiv:1409.1556), 11 to 19 layers, with and without batch
normalization, as MXNet 1.9.1's model zoo builds them.

The initializers are MXNet's (Xavier gaussian 'out' magnitude 2 for the convolutions, normal for
the dense layers), so a freshly initialized net draws from the same distributions.
"""

from ....context import cpu
from ....initializer import Xavier
from ...block import HybridBlock
from ... import nn
from ..model_store import load_pretrained

__all__ = ["VGG", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn",
           "get_vgg"]


class VGG(HybridBlock):
    """VGG: stages of 3x3 convolutions (``layers[i]`` of ``filters[i]`` channels) each ended by a
    2x2 max pool, then two 4096-unit layers with dropout and the classifier. Any input of at least
    32x32 runs (the first dense layer takes its width from the first input).

    Parameters
    ----------
    layers : list of int
        Convolutions per stage.
    filters : list of int
        Channels per stage.
    classes : int, default 1000
    batch_norm : bool, default False
        A BatchNorm after each convolution.
    """

    def __init__(self, layers, filters, classes=1000, batch_norm=False, **kwargs):
        super(VGG, self).__init__(**kwargs)
        assert len(layers) == len(filters)
        with self.name_scope():
            self.features = self._make_features(layers, filters, batch_norm)
            for _ in range(2):
                self.features.add(nn.Dense(4096, activation="relu", weight_initializer="normal",
                                           bias_initializer="zeros"))
                self.features.add(nn.Dropout(rate=0.5))
            self.output = nn.Dense(classes, weight_initializer="normal", bias_initializer="zeros")

    def _make_features(self, layers, filters, batch_norm):
        featurizer = nn.HybridSequential(prefix="")
        for num, channels in zip(layers, filters):
            for _ in range(num):
                featurizer.add(nn.Conv2D(channels, kernel_size=3, padding=1,
                                         weight_initializer=Xavier(rnd_type="gaussian", factor_type="out",
                                                                   magnitude=2),
                                         bias_initializer="zeros"))
                if batch_norm:
                    featurizer.add(nn.BatchNorm())
                featurizer.add(nn.Activation("relu"))
            featurizer.add(nn.MaxPool2D(strides=2))
        return featurizer

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


# depth -> (convolutions per stage, channels per stage)
vgg_spec = {11: ([1, 1, 2, 2, 2], [64, 128, 256, 512, 512]),
            13: ([2, 2, 2, 2, 2], [64, 128, 256, 512, 512]),
            16: ([2, 2, 3, 3, 3], [64, 128, 256, 512, 512]),
            19: ([2, 2, 4, 4, 4], [64, 128, 256, 512, 512])}


def get_vgg(num_layers, pretrained=False, ctx=cpu(), root=None, **kwargs):
    """VGG of ``num_layers`` (11, 13, 16 or 19) layers; ``batch_norm=True`` for the ``_bn``
    variant. ``pretrained`` loads ``vgg<n>`` or ``vgg<n>_bn`` from the model store at ``root``
    (default ``$MXNET_HOME/models``) onto ``ctx``."""
    layers, filters = vgg_spec[num_layers]
    net = VGG(layers, filters, **kwargs)
    if pretrained:
        suffix = "_bn" if kwargs.get("batch_norm") else ""
        load_pretrained(net, "vgg%d%s" % (num_layers, suffix), root, ctx)
    return net


def vgg11(**kwargs):
    """VGG-11 (see :func:`get_vgg`)."""
    return get_vgg(11, **kwargs)


def vgg13(**kwargs):
    """VGG-13 (see :func:`get_vgg`)."""
    return get_vgg(13, **kwargs)


def vgg16(**kwargs):
    """VGG-16 (see :func:`get_vgg`)."""
    return get_vgg(16, **kwargs)


def vgg19(**kwargs):
    """VGG-19 (see :func:`get_vgg`)."""
    return get_vgg(19, **kwargs)


def vgg11_bn(**kwargs):
    """VGG-11 with batch normalization (see :func:`get_vgg`)."""
    kwargs["batch_norm"] = True
    return get_vgg(11, **kwargs)


def vgg13_bn(**kwargs):
    """VGG-13 with batch normalization (see :func:`get_vgg`)."""
    kwargs["batch_norm"] = True
    return get_vgg(13, **kwargs)


def vgg16_bn(**kwargs):
    """VGG-16 with batch normalization (see :func:`get_vgg`)."""
    kwargs["batch_norm"] = True
    return get_vgg(16, **kwargs)


def vgg19_bn(**kwargs):
    """VGG-19 with batch normalization (see :func:`get_vgg`)."""
    kwargs["batch_norm"] = True
    return get_vgg(19, **kwargs)
