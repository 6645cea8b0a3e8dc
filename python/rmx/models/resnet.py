"""ResNet with pre-activation units (He et al., "Identity Mappings in Deep Residual Networks",
2016), as MXNet's image-classification examples build it (``symbols/resnet.py``, after Wei Wu's
tornadomeet/ResNet).

Every BatchNorm has eps 2e-5 and momentum 0.9; all use fix_gamma False except ``bn_data``, the
BatchNorm on the raw input, which fixes gamma (it only normalises the data). Convolutions have no
bias and carry ``workspace``. The data first passes ``identity`` (``id``) in float32, or a Cast to
float16 when ``dtype='float16'``.

A unit ``stage<s>_unit<u>`` is BatchNorm ``_bn1``, relu ``_relu1``, then either a bottleneck
(``_conv1`` 1x1 to num_filter/4, ``_bn2``/``_relu2``, ``_conv2`` 3x3 with the stride,
``_bn3``/``_relu3``, ``_conv3`` 1x1 to num_filter) or two 3x3 convolutions (``_conv1`` with the
stride, ``_bn2``/``_relu2``, ``_conv2``). The first unit of each stage takes its shortcut through
``_sc``, a 1x1 convolution with the stride applied to ``_relu1``'s output; the others add their
input unchanged. Stage 1 keeps the resolution, later stages halve it.

Stem: for inputs up to 32 pixels high ``conv0`` is 3x3/1; above, ``conv0`` is 7x7/2 then
``bn0``, ``relu0`` and a 3x3/2 max pool. Head: ``bn1``, ``relu1``, global average ``pool1``,
Flatten, ``fc1``, ``softmax``.

Depths: inputs up to 28 pixels high (CIFAR) have 3 stages of (num_layers-2)/6 basic units with
16, 32, 64 filters (num_layers < 164) or (num_layers-2)/9 bottleneck units with 64, 128, 256
filters (num_layers >= 164); larger inputs have 4 stages, bottleneck units from 50 layers on
(filters 256..2048, else 64..512): 18 [2,2,2,2], 34 [3,4,6,3], 50 [3,4,6,3], 101 [3,4,23,3],
152 [3,8,36,3], 200 [3,24,36,3], 269 [3,30,48,8].
"""

import rmx as mx

IMAGENET_UNITS = {
    18: [2, 2, 2, 2],
    34: [3, 4, 6, 3],
    50: [3, 4, 6, 3],
    101: [3, 4, 23, 3],
    152: [3, 8, 36, 3],
    200: [3, 24, 36, 3],
    269: [3, 30, 48, 8],
}


def _bn(data, name, bn_mom, fix_gamma=False):
    return mx.sym.BatchNorm(data=data, fix_gamma=fix_gamma, eps=2e-5, momentum=bn_mom, name=name)


def _relu(data, name):
    return mx.sym.Activation(data=data, act_type='relu', name=name)


def _conv(data, num_filter, kernel, stride, name, workspace, pad=None):
    extra = {} if pad is None else {'pad': pad}
    return mx.sym.Convolution(data=data, num_filter=num_filter, kernel=kernel, stride=stride,
                              no_bias=True, workspace=workspace, name=name, **extra)


def residual_unit(data, num_filter, stride, dim_match, name, bottle_neck=True, bn_mom=0.9,
                  workspace=256, memonger=False):
    """One pre-activation residual unit; ``dim_match`` False gives it a 1x1 ``_sc`` shortcut."""
    act1 = _relu(_bn(data, name + '_bn1', bn_mom), name + '_relu1')
    if bottle_neck:
        inner = int(num_filter * 0.25)
        body = _conv(act1, inner, (1, 1), (1, 1), name + '_conv1', workspace, pad=(0, 0))
        body = _relu(_bn(body, name + '_bn2', bn_mom), name + '_relu2')
        body = _conv(body, inner, (3, 3), stride, name + '_conv2', workspace, pad=(1, 1))
        body = _relu(_bn(body, name + '_bn3', bn_mom), name + '_relu3')
        body = _conv(body, num_filter, (1, 1), (1, 1), name + '_conv3', workspace, pad=(0, 0))
    else:
        body = _conv(act1, num_filter, (3, 3), stride, name + '_conv1', workspace, pad=(1, 1))
        body = _relu(_bn(body, name + '_bn2', bn_mom), name + '_relu2')
        body = _conv(body, num_filter, (3, 3), (1, 1), name + '_conv2', workspace, pad=(1, 1))
    if dim_match:
        shortcut = data
    else:
        shortcut = _conv(act1, num_filter, (1, 1), stride, name + '_sc', workspace)
    if memonger:
        shortcut._set_attr(mirror_stage='True')
    return body + shortcut


def resnet(units, num_stages, filter_list, num_classes, image_shape, bottle_neck=True, bn_mom=0.9,
           workspace=256, dtype='float32', memonger=False):
    """The network: ``units[i]`` units of ``filter_list[i+1]`` filters in stage ``i+1``."""
    if len(units) != num_stages:
        raise ValueError('resnet: %d stages but %d unit counts' % (num_stages, len(units)))
    data = mx.sym.Variable(name='data')
    if dtype == 'float32':
        data = mx.sym.identity(data=data, name='id')
    elif dtype == 'float16':
        data = mx.sym.Cast(data=data, dtype='float16')
    data = _bn(data, 'bn_data', bn_mom, fix_gamma=True)
    _, height, _ = image_shape
    if height <= 32:
        body = _conv(data, filter_list[0], (3, 3), (1, 1), 'conv0', workspace, pad=(1, 1))
    else:
        body = _conv(data, filter_list[0], (7, 7), (2, 2), 'conv0', workspace, pad=(3, 3))
        body = _relu(_bn(body, 'bn0', bn_mom), 'relu0')
        body = mx.sym.Pooling(data=body, kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type='max')
    for i in range(num_stages):
        step = 1 if i == 0 else 2
        for j in range(units[i]):
            body = residual_unit(body, filter_list[i + 1], (step, step) if j == 0 else (1, 1),
                                 j > 0, name='stage%d_unit%d' % (i + 1, j + 1),
                                 bottle_neck=bottle_neck, workspace=workspace, memonger=memonger)
    body = _relu(_bn(body, 'bn1', bn_mom), 'relu1')
    # global_pool ignores the kernel, but the parameter is required
    body = mx.sym.Pooling(data=body, global_pool=True, kernel=(7, 7), pool_type='avg', name='pool1')
    body = mx.sym.Flatten(data=body)
    body = mx.sym.FullyConnected(data=body, num_hidden=num_classes, name='fc1')
    if dtype == 'float16':
        body = mx.sym.Cast(data=body, dtype='float32')
    return mx.sym.SoftmaxOutput(data=body, name='softmax')


def _parse_shape(image_shape):
    if isinstance(image_shape, str):
        image_shape = image_shape.split(',')
    return [int(d) for d in image_shape]


def get_symbol(num_classes=1000, num_layers=50, image_shape='3,224,224', conv_workspace=256,
               dtype='float32', **kwargs):
    """ResNet-``num_layers`` for ``image_shape`` ("C,H,W" or a tuple), in ``dtype``."""
    image_shape = _parse_shape(image_shape)
    _, height, _ = image_shape
    if height <= 28:
        num_stages = 3
        if (num_layers - 2) % 9 == 0 and num_layers >= 164:
            per_stage, filter_list, bottle_neck = (num_layers - 2) // 9, [16, 64, 128, 256], True
        elif (num_layers - 2) % 6 == 0 and num_layers < 164:
            per_stage, filter_list, bottle_neck = (num_layers - 2) // 6, [16, 16, 32, 64], False
        else:
            raise ValueError('no ResNet with num_layers %s for %d-pixel inputs'
                             % (num_layers, height))
        units = [per_stage] * num_stages
    else:
        if num_layers not in IMAGENET_UNITS:
            raise ValueError('no ResNet with num_layers %s: choose one of %s'
                             % (num_layers, sorted(IMAGENET_UNITS)))
        num_stages = 4
        units = IMAGENET_UNITS[num_layers]
        bottle_neck = num_layers >= 50
        filter_list = [64, 256, 512, 1024, 2048] if bottle_neck else [64, 64, 128, 256, 512]
    return resnet(units=units, num_stages=num_stages, filter_list=filter_list,
                  num_classes=num_classes, image_shape=image_shape, bottle_neck=bottle_neck,
                  workspace=conv_workspace, dtype=dtype)
