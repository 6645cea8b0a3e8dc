"""ResNet V1 (He et al. 2015, arXiv:1512.03385) and V2 (He et al. 2016, "Identity Mappings",
arXiv:1603.05027), 18 to 152 layers, as MXNet 1.9.1's model zoo builds them.

Details that decide whether MXNet's parameter files load, kept as MXNet has them:
- the residual blocks are made with ``prefix=''`` inside their stage's scope (``stage1_``), so
  their layers are named ``resnetv10_stage1_conv0_weight`` ...;
- V1's bottleneck keeps a bias on its two 1x1 convolutions (MXNet does not pass
  ``use_bias=False`` there), V2's does not;
- V2 starts with a BatchNorm without scale and center (it normalizes the input) and ends with
  BatchNorm, ReLU, global pooling and Flatten; V1 leaves the flattening to its Dense layer.

``thumbnail=True`` replaces the 7x7 stride-2 convolution and max pool by one 3x3 stride-1
convolution, for CIFAR-size (32x32) inputs.
"""

from ....context import cpu
from ...block import HybridBlock
from ... import nn
from ..model_store import load_pretrained

__all__ = ["ResNetV1", "ResNetV2", "BasicBlockV1", "BasicBlockV2", "BottleneckV1", "BottleneckV2",
           "resnet18_v1", "resnet34_v1", "resnet50_v1", "resnet101_v1", "resnet152_v1",
           "resnet18_v2", "resnet34_v2", "resnet50_v2", "resnet101_v2", "resnet152_v2", "get_resnet"]


def _conv3x3(channels, stride, in_channels):
    return nn.Conv2D(channels, kernel_size=3, strides=stride, padding=1, use_bias=False,
                     in_channels=in_channels)


def _downsample_v1(channels, stride, in_channels):
    """The V1 shortcut when the shape changes: 1x1 convolution and BatchNorm."""
    out = nn.HybridSequential(prefix="")
    out.add(nn.Conv2D(channels, kernel_size=1, strides=stride, use_bias=False, in_channels=in_channels))
    out.add(nn.BatchNorm())
    return out


class BasicBlockV1(HybridBlock):
    """Two 3x3 convolutions with BatchNorm, added to the (projected) input, then ReLU; for
    ResNet-18/34 V1.

    Parameters
    ----------
    channels : int
        Output channels.
    stride : int
        Stride of the first convolution (and of the shortcut).
    downsample : bool, default False
        Project the shortcut with a 1x1 convolution (needed when shape or channels change).
    in_channels : int, default 0
        Input channels (0: inferred from the first input).
    """

    def __init__(self, channels, stride, downsample=False, in_channels=0, **kwargs):
        super(BasicBlockV1, self).__init__(**kwargs)
        self.body = nn.HybridSequential(prefix="")
        self.body.add(_conv3x3(channels, stride, in_channels))
        self.body.add(nn.BatchNorm())
        self.body.add(nn.Activation("relu"))
        self.body.add(_conv3x3(channels, 1, channels))
        self.body.add(nn.BatchNorm())
        self.downsample = _downsample_v1(channels, stride, in_channels) if downsample else None

    def hybrid_forward(self, F, x):
        # The body before the shortcut, as MXNet orders the graph's nodes.
        out = self.body(x)
        residual = self.downsample(x) if self.downsample else x
        return F.Activation(residual + out, act_type="relu")


class BottleneckV1(HybridBlock):
    """1x1 (to ``channels // 4``, strided), 3x3, 1x1 (to ``channels``) convolutions with
    BatchNorm, added to the (projected) input, then ReLU; for ResNet-50/101/152 V1. Parameters
    as :class:`BasicBlockV1`."""

    def __init__(self, channels, stride, downsample=False, in_channels=0, **kwargs):
        super(BottleneckV1, self).__init__(**kwargs)
        self.body = nn.HybridSequential(prefix="")
        self.body.add(nn.Conv2D(channels // 4, kernel_size=1, strides=stride))
        self.body.add(nn.BatchNorm())
        self.body.add(nn.Activation("relu"))
        self.body.add(_conv3x3(channels // 4, 1, channels // 4))
        self.body.add(nn.BatchNorm())
        self.body.add(nn.Activation("relu"))
        self.body.add(nn.Conv2D(channels, kernel_size=1, strides=1))
        self.body.add(nn.BatchNorm())
        self.downsample = _downsample_v1(channels, stride, in_channels) if downsample else None

    def hybrid_forward(self, F, x):
        out = self.body(x)
        residual = self.downsample(x) if self.downsample else x
        return F.Activation(out + residual, act_type="relu")


class BasicBlockV2(HybridBlock):
    """Pre-activation basic block: BatchNorm, ReLU, 3x3 convolution, twice, added to the input
    (projected from the first activation when ``downsample``); for ResNet-18/34 V2. Parameters
    as :class:`BasicBlockV1`."""

    def __init__(self, channels, stride, downsample=False, in_channels=0, **kwargs):
        super(BasicBlockV2, self).__init__(**kwargs)
        self.bn1 = nn.BatchNorm()
        self.conv1 = _conv3x3(channels, stride, in_channels)
        self.bn2 = nn.BatchNorm()
        self.conv2 = _conv3x3(channels, 1, channels)
        if downsample:
            self.downsample = nn.Conv2D(channels, 1, stride, use_bias=False, in_channels=in_channels)
        else:
            self.downsample = None

    def hybrid_forward(self, F, x):
        residual = x
        x = F.Activation(self.bn1(x), act_type="relu")
        if self.downsample:
            residual = self.downsample(x)
        x = self.conv1(x)
        x = self.conv2(F.Activation(self.bn2(x), act_type="relu"))
        return x + residual


class BottleneckV2(HybridBlock):
    """Pre-activation bottleneck: (BatchNorm, ReLU, convolution) with 1x1, 3x3 (strided) and 1x1
    kernels, added to the input (projected from the first activation when ``downsample``); for
    ResNet-50/101/152 V2. Parameters as :class:`BasicBlockV1`."""

    def __init__(self, channels, stride, downsample=False, in_channels=0, **kwargs):
        super(BottleneckV2, self).__init__(**kwargs)
        self.bn1 = nn.BatchNorm()
        self.conv1 = nn.Conv2D(channels // 4, kernel_size=1, strides=1, use_bias=False)
        self.bn2 = nn.BatchNorm()
        self.conv2 = _conv3x3(channels // 4, stride, channels // 4)
        self.bn3 = nn.BatchNorm()
        self.conv3 = nn.Conv2D(channels, kernel_size=1, strides=1, use_bias=False)
        if downsample:
            self.downsample = nn.Conv2D(channels, 1, stride, use_bias=False, in_channels=in_channels)
        else:
            self.downsample = None

    def hybrid_forward(self, F, x):
        residual = x
        x = F.Activation(self.bn1(x), act_type="relu")
        if self.downsample:
            residual = self.downsample(x)
        x = self.conv1(x)
        x = self.conv2(F.Activation(self.bn2(x), act_type="relu"))
        x = self.conv3(F.Activation(self.bn3(x), act_type="relu"))
        return x + residual


def _make_stage(block, layers, channels, stride, stage_index, in_channels):
    """``layers`` residual blocks under the prefix ``stage<i>_``; the first one changes the stride
    and projects its shortcut when the channel count changes."""
    layer = nn.HybridSequential(prefix="stage%d_" % stage_index)
    with layer.name_scope():
        layer.add(block(channels, stride, channels != in_channels, in_channels=in_channels, prefix=""))
        for _ in range(layers - 1):
            layer.add(block(channels, 1, False, in_channels=channels, prefix=""))
    return layer


def _add_stem(features, channels, thumbnail):
    """The first layers: one 3x3 convolution for thumbnails, else the 7x7 stride-2 convolution,
    BatchNorm, ReLU and a 3x3 stride-2 max pool."""
    if thumbnail:
        features.add(_conv3x3(channels, 1, 0))
    else:
        features.add(nn.Conv2D(channels, 7, 2, 3, use_bias=False))
        features.add(nn.BatchNorm())
        features.add(nn.Activation("relu"))
        features.add(nn.MaxPool2D(3, 2, 1))


class ResNetV1(HybridBlock):
    """ResNet V1.

    Parameters
    ----------
    block : class
        :class:`BasicBlockV1` or :class:`BottleneckV1`.
    layers : list of int
        Blocks per stage.
    channels : list of int
        Channels of the stem, then of each stage (one more entry than ``layers``).
    classes : int, default 1000
    thumbnail : bool, default False
        The small stem, for 32x32 inputs.
    """

    def __init__(self, block, layers, channels, classes=1000, thumbnail=False, **kwargs):
        super(ResNetV1, self).__init__(**kwargs)
        assert len(layers) == len(channels) - 1
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            _add_stem(self.features, channels[0], thumbnail)
            for i, num_layer in enumerate(layers):
                self.features.add(self._make_layer(block, num_layer, channels[i + 1], 1 if i == 0 else 2, i + 1,
                                                   in_channels=channels[i]))
            self.features.add(nn.GlobalAvgPool2D())
            self.output = nn.Dense(classes, in_units=channels[-1])

    def _make_layer(self, block, layers, channels, stride, stage_index, in_channels=0):
        return _make_stage(block, layers, channels, stride, stage_index, in_channels)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


class ResNetV2(HybridBlock):
    """ResNet V2 (pre-activation); parameters as :class:`ResNetV1`, with ``block``
    :class:`BasicBlockV2` or :class:`BottleneckV2`."""

    def __init__(self, block, layers, channels, classes=1000, thumbnail=False, **kwargs):
        super(ResNetV2, self).__init__(**kwargs)
        assert len(layers) == len(channels) - 1
        with self.name_scope():
            self.features = nn.HybridSequential(prefix="")
            # Normalizes the raw input with its moving statistics (no learned scale or shift).
            self.features.add(nn.BatchNorm(scale=False, center=False))
            _add_stem(self.features, channels[0], thumbnail)
            in_channels = channels[0]
            for i, num_layer in enumerate(layers):
                self.features.add(self._make_layer(block, num_layer, channels[i + 1], 1 if i == 0 else 2, i + 1,
                                                   in_channels=in_channels))
                in_channels = channels[i + 1]
            self.features.add(nn.BatchNorm())
            self.features.add(nn.Activation("relu"))
            self.features.add(nn.GlobalAvgPool2D())
            self.features.add(nn.Flatten())
            self.output = nn.Dense(classes, in_units=in_channels)

    def _make_layer(self, block, layers, channels, stride, stage_index, in_channels=0):
        return _make_stage(block, layers, channels, stride, stage_index, in_channels)

    def hybrid_forward(self, F, x):
        return self.output(self.features(x))


# depth -> (block kind, blocks per stage, channels of the stem and of each stage)
resnet_spec = {18: ("basic_block", [2, 2, 2, 2], [64, 64, 128, 256, 512]),
               34: ("basic_block", [3, 4, 6, 3], [64, 64, 128, 256, 512]),
               50: ("bottle_neck", [3, 4, 6, 3], [64, 256, 512, 1024, 2048]),
               101: ("bottle_neck", [3, 4, 23, 3], [64, 256, 512, 1024, 2048]),
               152: ("bottle_neck", [3, 8, 36, 3], [64, 256, 512, 1024, 2048])}

resnet_net_versions = [ResNetV1, ResNetV2]
resnet_block_versions = [{"basic_block": BasicBlockV1, "bottle_neck": BottleneckV1},
                         {"basic_block": BasicBlockV2, "bottle_neck": BottleneckV2}]


def get_resnet(version, num_layers, pretrained=False, ctx=cpu(), root=None, **kwargs):
    """ResNet ``version`` (1 or 2) of ``num_layers`` (18, 34, 50, 101, 152) layers; ``pretrained``
    loads ``resnet<n>_v<version>`` from the model store at ``root`` (default
    ``$MXNET_HOME/models``) onto ``ctx``; other keyword arguments (``classes``, ``thumbnail``)
    go to the net."""
    assert num_layers in resnet_spec, \
        "Invalid number of layers: %d. Options are %s" % (num_layers, str(resnet_spec.keys()))
    block_type, layers, channels = resnet_spec[num_layers]
    assert 1 <= version <= 2, "Invalid resnet version: %d. Options are 1 and 2." % version
    block_class = resnet_block_versions[version - 1][block_type]
    net = resnet_net_versions[version - 1](block_class, layers, channels, **kwargs)
    if pretrained:
        load_pretrained(net, "resnet%d_v%d" % (num_layers, version), root, ctx)
    return net


def _resnet(version, num_layers):
    def make(**kwargs):
        return get_resnet(version, num_layers, **kwargs)

    make.__name__ = "resnet%d_v%d" % (num_layers, version)
    make.__qualname__ = make.__name__
    make.__doc__ = "ResNet-%d V%d (see :func:`get_resnet`)." % (num_layers, version)
    return make


resnet18_v1 = _resnet(1, 18)
resnet34_v1 = _resnet(1, 34)
resnet50_v1 = _resnet(1, 50)
resnet101_v1 = _resnet(1, 101)
resnet152_v1 = _resnet(1, 152)
resnet18_v2 = _resnet(2, 18)
resnet34_v2 = _resnet(2, 34)
resnet50_v2 = _resnet(2, 50)
resnet101_v2 = _resnet(2, 101)
resnet152_v2 = _resnet(2, 152)
