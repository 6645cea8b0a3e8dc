"""The MNIST multilayer perceptron of MXNet's image-classification examples.

Flatten, then two hidden FullyConnected+relu layers (128 and 64 units, named ``fc1``/``relu1``,
``fc2``/``relu2``), then ``fc3`` with ``num_classes`` outputs and ``SoftmaxOutput`` named
``softmax``. Parameters: ``fc{1,2,3}_weight`` and ``fc{1,2,3}_bias``.
"""

import rmx as mx

HIDDEN = (128, 64)


def get_symbol(num_classes=10, **kwargs):
    """The MLP; ``kwargs`` are accepted and ignored, as MXNet's example does."""
    net = mx.sym.Variable('data')
    net = mx.sym.Flatten(data=net)
    for i, units in enumerate(HIDDEN, start=1):
        net = mx.sym.FullyConnected(data=net, name='fc%d' % i, num_hidden=units)
        net = mx.sym.Activation(data=net, name='relu%d' % i, act_type='relu')
    net = mx.sym.FullyConnected(data=net, name='fc%d' % (len(HIDDEN) + 1), num_hidden=num_classes)
    return mx.sym.SoftmaxOutput(data=net, name='softmax')
