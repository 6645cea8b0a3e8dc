"""AlexNet (Krizhevsky et al., 2012) as MXNet's image-classification examples build it, 3x224x224.

Five Convolution layers named ``conv1`` .. ``conv5`` (96 11x11/4, 256 5x5 pad 2, 384, 384, 256
3x3 pad 1), each followed by relu; LRN (alpha 1e-4, beta 0.75, knorm 2, nsize 5) after the relus
of conv1 and conv2, then max Pooling 3x3/2 after LRN1, LRN2 and conv5's relu. The classifier is
``fc1``/``fc2`` (4096, relu, Dropout 0.5) and ``fc3`` (num_classes), then ``softmax``. Unnamed
layers take automatic names (``activation0``, ``lrn0``, ``pooling0``, ``flatten0``, ``dropout0``).

``dtype='float16'`` casts the data to float16 after the input and the logits back to float32
before the loss, as MXNet's example does.
"""

import rmx as mx


def _conv_relu(data, name, **conv):
    conv = mx.sym.Convolution(name=name, data=data, **conv)
    return mx.sym.Activation(data=conv, act_type='relu')


def _lrn(data):
    return mx.sym.LRN(data=data, alpha=0.0001, beta=0.75, knorm=2, nsize=5)


def _max_pool(data):
    return mx.sym.Pooling(data=data, pool_type='max', kernel=(3, 3), stride=(2, 2))


def get_symbol(num_classes=1000, dtype='float32', **kwargs):
    """AlexNet with ``num_classes`` outputs, computing in ``dtype`` (float32 or float16)."""
    net = mx.sym.Variable(name='data')
    if dtype == 'float16':
        net = mx.sym.Cast(data=net, dtype='float16')
    net = _conv_relu(net, 'conv1', kernel=(11, 11), stride=(4, 4), num_filter=96)
    net = _max_pool(_lrn(net))
    net = _conv_relu(net, 'conv2', kernel=(5, 5), pad=(2, 2), num_filter=256)
    net = _max_pool(_lrn(net))
    net = _conv_relu(net, 'conv3', kernel=(3, 3), pad=(1, 1), num_filter=384)
    net = _conv_relu(net, 'conv4', kernel=(3, 3), pad=(1, 1), num_filter=384)
    net = _conv_relu(net, 'conv5', kernel=(3, 3), pad=(1, 1), num_filter=256)
    net = _max_pool(net)
    net = mx.sym.Flatten(data=net)
    for name in ('fc1', 'fc2'):
        net = mx.sym.FullyConnected(name=name, data=net, num_hidden=4096)
        net = mx.sym.Activation(data=net, act_type='relu')
        net = mx.sym.Dropout(data=net, p=0.5)
    net = mx.sym.FullyConnected(name='fc3', data=net, num_hidden=num_classes)
    if dtype == 'float16':
        net = mx.sym.Cast(data=net, dtype='float32')
    return mx.sym.SoftmaxOutput(data=net, name='softmax')
