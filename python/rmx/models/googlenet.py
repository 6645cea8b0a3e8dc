"""GoogLeNet, Inception v1 (Szegedy et al., 2014), as MXNet's image-classification examples build
it, for 3x224x224. No BatchNorm and no auxiliary classifiers.

``ConvFactory`` is Convolution ``conv_<name><suffix>`` + relu ``relu_<name><suffix>``. An
inception block ``<n>`` concatenates (``ch_concat_<n>_chconcat``) four branches: 1x1
(``<n>_1x1``), 1x1 reduce + 3x3 (``<n>_3x3_reduce``, ``<n>_3x3``), 1x1 reduce + 5x5
(``<n>_5x5_reduce``, ``<n>_5x5``), and 3x3/1 pooling ``<pool>_pool_<n>_pool`` + 1x1 projection
(``<n>_proj``). The stem is conv1 7x7/2 (64), max pool 3x3/2, conv2 1x1 (64), conv3 3x3 (192),
max pool; blocks in3a-b, pool, in4a-e, pool, in5a-b, global average pooling, Flatten,
FullyConnected (automatic names ``pooling*``, ``flatten0``, ``fullyconnected0``) and ``softmax``.
"""

import rmx as mx

# name: (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool type, projection)
BLOCKS = {
    'in3a': (64, 96, 128, 16, 32, 'max', 32),
    'in3b': (128, 128, 192, 32, 96, 'max', 64),
    'in4a': (192, 96, 208, 16, 48, 'max', 64),
    'in4b': (160, 112, 224, 24, 64, 'max', 64),
    'in4c': (128, 128, 256, 24, 64, 'max', 64),
    'in4d': (112, 144, 288, 32, 64, 'max', 64),
    'in4e': (256, 160, 320, 32, 128, 'max', 128),
    'in5a': (256, 160, 320, 32, 128, 'max', 128),
    'in5b': (384, 192, 384, 48, 128, 'max', 128),
}


def ConvFactory(data, num_filter, kernel, stride=(1, 1), pad=(0, 0), name=None, suffix=''):
    """Convolution + relu."""
    conv = mx.sym.Convolution(data=data, num_filter=num_filter, kernel=kernel, stride=stride,
                              pad=pad, name='conv_%s%s' % (name, suffix))
    return mx.sym.Activation(data=conv, act_type='relu', name='relu_%s%s' % (name, suffix))


def InceptionFactory(data, num_1x1, num_3x3red, num_3x3, num_d5x5red, num_d5x5, pool, proj, name):
    """One inception block: four branches concatenated along the channels."""
    c1x1 = ConvFactory(data=data, num_filter=num_1x1, kernel=(1, 1), name='%s_1x1' % name)
    c3x3 = ConvFactory(data=data, num_filter=num_3x3red, kernel=(1, 1), name='%s_3x3' % name,
                       suffix='_reduce')
    c3x3 = ConvFactory(data=c3x3, num_filter=num_3x3, kernel=(3, 3), pad=(1, 1),
                       name='%s_3x3' % name)
    c5x5 = ConvFactory(data=data, num_filter=num_d5x5red, kernel=(1, 1), name='%s_5x5' % name,
                       suffix='_reduce')
    c5x5 = ConvFactory(data=c5x5, num_filter=num_d5x5, kernel=(5, 5), pad=(2, 2),
                       name='%s_5x5' % name)
    pooled = mx.sym.Pooling(data=data, kernel=(3, 3), stride=(1, 1), pad=(1, 1), pool_type=pool,
                            name='%s_pool_%s_pool' % (pool, name))
    cproj = ConvFactory(data=pooled, num_filter=proj, kernel=(1, 1), name='%s_proj' % name)
    return mx.sym.Concat(c1x1, c3x3, c5x5, cproj, name='ch_concat_%s_chconcat' % name)


def _block(data, name):
    return InceptionFactory(data, *BLOCKS[name], name=name)


def _max_pool(data):
    return mx.sym.Pooling(data, kernel=(3, 3), stride=(2, 2), pool_type='max')


def get_symbol(num_classes=1000, **kwargs):
    """GoogLeNet with ``num_classes`` outputs."""
    net = mx.sym.Variable('data')
    net = ConvFactory(net, 64, kernel=(7, 7), stride=(2, 2), pad=(3, 3), name='conv1')
    net = _max_pool(net)
    net = ConvFactory(net, 64, kernel=(1, 1), stride=(1, 1), name='conv2')
    net = ConvFactory(net, 192, kernel=(3, 3), stride=(1, 1), pad=(1, 1), name='conv3')
    net = _max_pool(net)
    for stage in (('in3a', 'in3b'), ('in4a', 'in4b', 'in4c', 'in4d', 'in4e'), ('in5a', 'in5b')):
        for name in stage:
            net = _block(net, name)
        if stage[0] != 'in5a':
            net = _max_pool(net)
    net = mx.sym.Pooling(net, kernel=(7, 7), stride=(1, 1), global_pool=True, pool_type='avg')
    net = mx.sym.Flatten(data=net)
    net = mx.sym.FullyConnected(data=net, num_hidden=num_classes)
    return mx.sym.SoftmaxOutput(data=net, name='softmax')
