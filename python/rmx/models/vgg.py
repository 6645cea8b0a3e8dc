"""VGG (Simonyan and Zisserman, 2014) as MXNet's image-classification examples build it, 3x224x224.

Five groups of 3x3 pad-1 Convolutions (64, 128, 256, 512, 512 filters; ``num_layers`` 11, 13, 16
or 19 sets how many per group), each followed by relu, and by BatchNorm (default settings) when
``batch_norm``; every group ends in max Pooling 2x2/2. Layer ``j`` of group ``i`` is ``convI_J``,
``bnI_J``, ``reluI_J``; the pools are ``pool1`` .. ``pool5``. The classifier is ``flatten``,
``fc6``/``fc7`` (4096, ``relu6``/``relu7``, ``drop6``/``drop7`` with p 0.5), ``fc8``, ``softmax``.
"""

import rmx as mx

FILTERS = (64, 128, 256, 512, 512)
# convolutions per group
SPEC = {
    11: (1, 1, 2, 2, 2),
    13: (2, 2, 2, 2, 2),
    16: (2, 2, 3, 3, 3),
    19: (2, 2, 4, 4, 4),
}


def get_feature(internel_layer, layers, filters, batch_norm=False, **kwargs):
    """The convolutional groups: ``layers[i]`` convolutions of ``filters[i]`` filters each."""
    net = internel_layer
    for i, (count, width) in enumerate(zip(layers, filters), start=1):
        for j in range(1, count + 1):
            net = mx.sym.Convolution(data=net, kernel=(3, 3), pad=(1, 1), num_filter=width,
                                     name='conv%s_%s' % (i, j))
            if batch_norm:
                net = mx.sym.BatchNorm(data=net, name='bn%s_%s' % (i, j))
            net = mx.sym.Activation(data=net, act_type='relu', name='relu%s_%s' % (i, j))
        net = mx.sym.Pooling(data=net, pool_type='max', kernel=(2, 2), stride=(2, 2),
                             name='pool%s' % i)
    return net


def get_classifier(input_data, num_classes, **kwargs):
    """``flatten`` and the three FullyConnected layers ``fc6``, ``fc7``, ``fc8``."""
    net = mx.sym.Flatten(data=input_data, name='flatten')
    for i in (6, 7):
        net = mx.sym.FullyConnected(data=net, num_hidden=4096, name='fc%d' % i)
        net = mx.sym.Activation(data=net, act_type='relu', name='relu%d' % i)
        net = mx.sym.Dropout(data=net, p=0.5, name='drop%d' % i)
    return mx.sym.FullyConnected(data=net, num_hidden=num_classes, name='fc8')


def get_symbol(num_classes=1000, num_layers=11, batch_norm=False, dtype='float32', **kwargs):
    """VGG-``num_layers`` (11, 13, 16 or 19), with BatchNorm after each convolution if asked."""
    if num_layers not in SPEC:
        raise ValueError('Invalid num_layers %s for VGG: choose one of 11, 13, 16, 19.' % num_layers)
    data = mx.sym.Variable(name='data')
    if dtype == 'float16':
        data = mx.sym.Cast(data=data, dtype='float16')
    net = get_classifier(get_feature(data, SPEC[num_layers], FILTERS, batch_norm), num_classes)
    if dtype == 'float16':
        net = mx.sym.Cast(data=net, dtype='float32')
    return mx.sym.SoftmaxOutput(data=net, name='softmax')
