"""Inception with BatchNorm (Ioffe and Szegedy, 2015) as MXNet's image-classification examples
build it ("inception-bn").

``ConvFactory`` is Convolution ``conv_<name><suffix>``, BatchNorm ``bn_<name><suffix>``
(fix_gamma False, eps 1e-10 + 1e-5, momentum 0.9) and relu ``relu_<name><suffix>``.

For images taller than 28 pixels (3x224x224) the net is: conv ``1`` 7x7/2 (64), max ``pool_1``,
``2_red`` 1x1 (64), ``2`` 3x3 (192), max ``pool_2``; blocks 3a 3b (type A), 3c (type B), 4a-4d
(A), 4e (B), 5a 5b (A); ``global_pool`` 7x7 average. A type A block ``<n>`` concatenates 1x1,
1x1+3x3, 1x1+3x3+3x3 (``<n>_double_3x3_0``/``_1``) and pool + 1x1 projection; a type B block
downsamples with stride-2 3x3 and double-3x3 branches and a 3x3/2 max pool.

For images of 28 pixels or less (CIFAR's 3x28x28) it is the small variant: conv ``1`` 3x3 (96),
"simple" blocks (1x1 and 3x3 branches) and "downsample" blocks (3x3/2 conv and 3x3/2 max pool),
ending in a 7x7 average ``global_pool``. Both end in Flatten, FullyConnected (automatic names)
and ``softmax``.
"""

import rmx as mx

eps = 1e-10 + 1e-5
bn_mom = 0.9
fix_gamma = False

# name: (1x1, 3x3 reduce, 3x3, double 3x3 reduce, double 3x3, pool type, projection)
BLOCKS_A = {
    '3a': (64, 64, 64, 64, 96, 'avg', 32),
    '3b': (64, 64, 96, 64, 96, 'avg', 64),
    '4a': (224, 64, 96, 96, 128, 'avg', 128),
    '4b': (192, 96, 128, 96, 128, 'avg', 128),
    '4c': (160, 128, 160, 128, 160, 'avg', 128),
    '4d': (96, 128, 192, 160, 192, 'avg', 128),
    '5a': (352, 192, 320, 160, 224, 'avg', 128),
    '5b': (352, 192, 320, 192, 224, 'max', 128),
}
# name: (3x3 reduce, 3x3, double 3x3 reduce, double 3x3)
BLOCKS_B = {
    '3c': (128, 160, 64, 96),
    '4e': (128, 192, 192, 256),
}
# the small variant: ('simple', 1x1, 3x3) or ('down', 3x3)
SMALL_BLOCKS = (
    ('in3a', 'simple', 32, 32),
    ('in3b', 'simple', 32, 48),
    ('in3c', 'down', 80),
    ('in4a', 'simple', 112, 48),
    ('in4b', 'simple', 96, 64),
    ('in4c', 'simple', 80, 80),
    ('in4d', 'simple', 48, 96),
    ('in4e', 'down', 96),
    ('in5a', 'simple', 176, 160),
    ('in5b', 'simple', 176, 160),
)


def ConvFactory(data, num_filter, kernel, stride=(1, 1), pad=(0, 0), name=None, suffix='', attr={}):
    """Convolution + BatchNorm + relu."""
    conv = mx.sym.Convolution(data=data, num_filter=num_filter, kernel=kernel, stride=stride,
                              pad=pad, name='conv_%s%s' % (name, suffix))
    bn = mx.sym.BatchNorm(data=conv, fix_gamma=fix_gamma, eps=eps, momentum=bn_mom,
                          name='bn_%s%s' % (name, suffix))
    return mx.sym.Activation(data=bn, act_type='relu', name='relu_%s%s' % (name, suffix),
                             attr=attr)


def InceptionFactoryA(data, num_1x1, num_3x3red, num_3x3, num_d3x3red, num_d3x3, pool, proj,
                      name):
    """1x1, 3x3, double 3x3 and pool+projection branches, concatenated."""
    c1x1 = ConvFactory(data=data, num_filter=num_1x1, kernel=(1, 1), name='%s_1x1' % name)
    c3x3 = ConvFactory(data=data, num_filter=num_3x3red, kernel=(1, 1), name='%s_3x3' % name,
                       suffix='_reduce')
    c3x3 = ConvFactory(data=c3x3, num_filter=num_3x3, kernel=(3, 3), pad=(1, 1),
                       name='%s_3x3' % name)
    cd3x3 = ConvFactory(data=data, num_filter=num_d3x3red, kernel=(1, 1),
                        name='%s_double_3x3' % name, suffix='_reduce')
    for k in range(2):
        cd3x3 = ConvFactory(data=cd3x3, num_filter=num_d3x3, kernel=(3, 3), pad=(1, 1),
                            name='%s_double_3x3_%d' % (name, k))
    pooled = mx.sym.Pooling(data=data, kernel=(3, 3), stride=(1, 1), pad=(1, 1), pool_type=pool,
                            name='%s_pool_%s_pool' % (pool, name))
    cproj = ConvFactory(data=pooled, num_filter=proj, kernel=(1, 1), name='%s_proj' % name)
    return mx.sym.Concat(c1x1, c3x3, cd3x3, cproj, name='ch_concat_%s_chconcat' % name)


def InceptionFactoryB(data, num_3x3red, num_3x3, num_d3x3red, num_d3x3, name):
    """Stride-2 3x3 and double 3x3 branches and a 3x3/2 max pool, concatenated."""
    c3x3 = ConvFactory(data=data, num_filter=num_3x3red, kernel=(1, 1), name='%s_3x3' % name,
                       suffix='_reduce')
    c3x3 = ConvFactory(data=c3x3, num_filter=num_3x3, kernel=(3, 3), pad=(1, 1), stride=(2, 2),
                       name='%s_3x3' % name)
    cd3x3 = ConvFactory(data=data, num_filter=num_d3x3red, kernel=(1, 1),
                        name='%s_double_3x3' % name, suffix='_reduce')
    for k, stride in enumerate(((1, 1), (2, 2))):
        cd3x3 = ConvFactory(data=cd3x3, num_filter=num_d3x3, kernel=(3, 3), pad=(1, 1),
                            stride=stride, name='%s_double_3x3_%d' % (name, k))
    pooled = mx.sym.Pooling(data=data, kernel=(3, 3), stride=(2, 2), pad=(1, 1), pool_type='max',
                            name='max_pool_%s_pool' % name)
    return mx.sym.Concat(c3x3, cd3x3, pooled, name='ch_concat_%s_chconcat' % name)


def DownsampleFactory(data, ch_3x3, name, attr):
    """Stride-2 3x3 convolution next to a 3x3/2 max pool (the small variant)."""
    conv = ConvFactory(data=data, name=name + '_conv', kernel=(3, 3), stride=(2, 2),
                       num_filter=ch_3x3, pad=(1, 1), attr=attr)
    pool = mx.sym.Pooling(data=data, name=name + '_pool', kernel=(3, 3), stride=(2, 2),
                          pad=(1, 1), pool_type='max', attr=attr)
    return mx.sym.Concat(conv, pool, name=name + '_ch_concat')


def SimpleFactory(data, ch_1x1, ch_3x3, name, attr):
    """1x1 and 3x3 convolutions side by side (the small variant)."""
    conv1x1 = ConvFactory(data=data, name=name + '_1x1', kernel=(1, 1), pad=(0, 0),
                          num_filter=ch_1x1, attr=attr)
    conv3x3 = ConvFactory(data=data, name=name + '_3x3', kernel=(3, 3), pad=(1, 1),
                          num_filter=ch_3x3, attr=attr)
    return mx.sym.Concat(conv1x1, conv3x3, name=name + '_ch_concat')


def _parse_shape(image_shape):
    if isinstance(image_shape, str):
        image_shape = image_shape.split(',')
    return tuple(int(d) for d in image_shape)


def _small_body(data, attr):
    net = ConvFactory(data=data, kernel=(3, 3), pad=(1, 1), name='1', num_filter=96, attr=attr)
    for name, kind, *channels in SMALL_BLOCKS:
        if kind == 'simple':
            net = SimpleFactory(net, channels[0], channels[1], name, attr)
        else:
            net = DownsampleFactory(net, channels[0], name, attr)
    return mx.sym.Pooling(data=net, pool_type='avg', kernel=(7, 7), name='global_pool', attr=attr)


def _full_body(data):
    net = ConvFactory(data=data, num_filter=64, kernel=(7, 7), stride=(2, 2), pad=(3, 3), name='1')
    net = mx.sym.Pooling(data=net, kernel=(3, 3), stride=(2, 2), name='pool_1', pool_type='max')
    net = ConvFactory(data=net, num_filter=64, kernel=(1, 1), stride=(1, 1), name='2_red')
    net = ConvFactory(data=net, num_filter=192, kernel=(3, 3), stride=(1, 1), pad=(1, 1), name='2')
    net = mx.sym.Pooling(data=net, kernel=(3, 3), stride=(2, 2), name='pool_2', pool_type='max')
    for name in ('3a', '3b', '3c', '4a', '4b', '4c', '4d', '4e', '5a', '5b'):
        if name in BLOCKS_B:
            net = InceptionFactoryB(net, *BLOCKS_B[name], name)
        else:
            net = InceptionFactoryA(net, *BLOCKS_A[name], name)
    return mx.sym.Pooling(data=net, kernel=(7, 7), stride=(1, 1), name='global_pool',
                          pool_type='avg')


def get_symbol(num_classes=1000, image_shape='3,224,224', **kwargs):
    """Inception-BN for ``image_shape`` ("C,H,W" or a tuple): the small variant when H <= 28."""
    _, height, _ = _parse_shape(image_shape)
    data = mx.sym.Variable(name='data')
    net = _small_body(data, {}) if height <= 28 else _full_body(data)
    net = mx.sym.Flatten(data=net)
    net = mx.sym.FullyConnected(data=net, num_hidden=num_classes)
    return mx.sym.SoftmaxOutput(data=net, name='softmax')
