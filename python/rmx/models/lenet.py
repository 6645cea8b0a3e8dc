"""LeNet as MXNet's image-classification examples build it (LeCun et al., 1998), for 1x28x28.

Two Convolution(5x5) -> tanh -> max Pooling(2x2, stride 2) stages with 20 and 50 filters, Flatten,
FullyConnected(500) -> tanh, FullyConnected(num_classes), ``SoftmaxOutput`` named ``softmax``.
Every layer but the loss is named automatically (``convolution0``, ``fullyconnected1`` ...), so
the parameter names depend on the NameManager's counters: build in a fresh ``mx.name.NameManager``
(``rmx.models.get_model`` does) to get the names a checkpoint of the example has.

``add_stn=True`` puts a SpatialTransformer (affine, bilinear, 28x28 target) in front, driven by a
small localisation net whose last layer, ``stn_loc`` (6 outputs), carries ``lr_mult=0.01``.
"""

import rmx as mx


def get_loc(data, attr={'lr_mult': '0.01'}):
    """The localisation net: the 6 affine parameters of the spatial transformer."""
    loc = mx.sym.Convolution(data=data, num_filter=30, kernel=(5, 5), stride=(2, 2))
    loc = mx.sym.Activation(data=loc, act_type='relu')
    loc = mx.sym.Pooling(data=loc, kernel=(2, 2), stride=(2, 2), pool_type='max')
    loc = mx.sym.Convolution(data=loc, num_filter=60, kernel=(3, 3), stride=(1, 1), pad=(1, 1))
    loc = mx.sym.Activation(data=loc, act_type='relu')
    loc = mx.sym.Pooling(data=loc, global_pool=True, kernel=(2, 2), pool_type='avg')
    loc = mx.sym.Flatten(data=loc)
    return mx.sym.FullyConnected(data=loc, num_hidden=6, name='stn_loc', attr=attr)


def get_symbol(num_classes=10, add_stn=False, **kwargs):
    """LeNet, optionally behind a spatial transformer."""
    net = mx.sym.Variable('data')
    if add_stn:
        loc = get_loc(net)
        net = mx.sym.SpatialTransformer(data=net, loc=loc, target_shape=(28, 28),
                                        transform_type='affine', sampler_type='bilinear')
    for filters in (20, 50):
        net = mx.sym.Convolution(data=net, kernel=(5, 5), num_filter=filters)
        net = mx.sym.Activation(data=net, act_type='tanh')
        net = mx.sym.Pooling(data=net, pool_type='max', kernel=(2, 2), stride=(2, 2))
    net = mx.sym.Flatten(data=net)
    net = mx.sym.FullyConnected(data=net, num_hidden=500)
    net = mx.sym.Activation(data=net, act_type='tanh')
    net = mx.sym.FullyConnected(data=net, num_hidden=num_classes)
    return mx.sym.SoftmaxOutput(data=net, name='softmax')
