"""AlexNet (Krizhevsky 2014, "One weird trick", arXiv:1404.5997), as MXNet 1.9.1's model zoo
builds it: five convolutions with ReLU and three max pools, then two 4096-unit layers with
dropout and the classifier.

The layers are made in MXNet's order inside the same name scopes, so the automatic names
(``alexnet0_conv0_weight``, ``features.0.weight``) are MXNet's and its files load.
"""

from ....context import cpu
from ...block import HybridBlock
from ... import nn
from ..model_store import load_pretrained

__all__ = ["AlexNet", "alexnet"]


class AlexNet(HybridBlock):
    """AlexNet for 224x224 inputs (any input of at least 63x63 runs: the dense layer takes its
    width from the first input).

    Parameters
    ----------
    classes : int, default 1000
        Number of classes of the output layer.
    """

    def __init__(self, classes=1000, **kwargs):
        super(AlexNet, self).__init__(**kwargs)
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            with self.features.name_scope():
                # (channels, kernel, stride, padding, max pool after it)
                for channels, kernel, stride, pad, pool in ((64, 11, 4, 2, True), (192, 5, 1, 2, True),
                                                            (384, 3, 1, 1, False), (256, 3, 1, 1, False),
                                                            (256, 3, 1, 1, True)):
                    self.features.add(nn.Conv2D(channels, kernel_size=kernel, strides=stride, padding=pad,
                                                activation="relu"))
                    if pool:
                        self.features.add(nn.MaxPool2D(pool_size=3, strides=2))
                self.features.add(nn.Flatten())
                for _ in range(2):
                    self.features.add(nn.Dense(4096, activation="relu"))
                    self.features.add(nn.Dropout(0.5))
            self.output = nn.Dense(classes)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


def alexnet(pretrained=False, ctx=cpu(), root=None, **kwargs):
    """AlexNet; ``pretrained`` loads ``alexnet`` from the model store at ``root`` (default
    ``$MXNET_HOME/models``) onto ``ctx``; other keyword arguments go to :class:`AlexNet`."""
    net = AlexNet(**kwargs)
    if pretrained:
        load_pretrained(net, "alexnet", root, ctx)
    return net
