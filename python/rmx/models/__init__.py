"""Symbol builders for the classic image-classification nets, as MXNet 1.x's
``example/image-classification/symbols/*.py`` define them, node names included, so that a
checkpoint saved by those examples loads into the symbol built here (and the reverse).

Each module has ``get_symbol(num_classes, **kwargs)`` with the keyword arguments of MXNet's:

- ``mlp``: ``num_classes=10``;
- ``lenet``: ``num_classes=10``, ``add_stn=False``;
- ``alexnet``: ``num_classes=1000``, ``dtype='float32'``;
- ``vgg``: ``num_classes=1000``, ``num_layers=11`` (11, 13, 16, 19), ``batch_norm=False``,
  ``dtype``;
- ``googlenet``: ``num_classes=1000``;
- ``inception_bn``: ``num_classes=1000``, ``image_shape='3,224,224'`` (28 or less: CIFAR variant);
- ``resnet``: ``num_classes=1000``, ``num_layers=50``, ``image_shape='3,224,224'``,
  ``conv_workspace=256``, ``dtype='float32'``.

``get_model(name, **kwargs)`` picks the module by name (``'inception-bn'``, and ``'vgg-16'`` or
``'resnet-50'`` for a depth, as MXNet's ``benchmark_score.py`` names them) and builds the symbol
under a fresh ``mx.name.NameManager``, so the layers MXNet names automatically (``pooling0``,
``flatten0``, ``fullyconnected0`` ...) get the names a fresh MXNet process gives them, whatever
was built before. ``get_symbol`` uses the current NameManager, as MXNet's does.
"""

import re

import rmx as mx

from . import alexnet, googlenet, inception_bn, lenet, mlp, resnet, vgg

_MODULES = {
    'mlp': mlp,
    'lenet': lenet,
    'alexnet': alexnet,
    'vgg': vgg,
    'googlenet': googlenet,
    'inception-bn': inception_bn,
    'resnet': resnet,
}
# the networks whose name may end in "-<num_layers>"
_DEPTH_NAMED = ('vgg', 'resnet')


def list_models():
    """The names ``get_model`` knows (besides the ``vgg-N``/``resnet-N`` spellings)."""
    return sorted(_MODULES)


def _resolve(name):
    key = name.lower().replace('_', '-')
    if key in _MODULES:
        return _MODULES[key], {}
    m = re.fullmatch(r'(%s)-?(\d+)' % '|'.join(_DEPTH_NAMED), key)
    if m:
        return _MODULES[m.group(1)], {'num_layers': int(m.group(2))}
    raise ValueError('unknown model %r; known: %s, and vgg-N, resnet-N'
                     % (name, ', '.join(list_models())))


def get_model(name, fresh_names=True, **kwargs):
    """The symbol of model ``name`` built with ``kwargs`` (``get_symbol``'s keyword arguments).

    ``fresh_names=False`` builds under the current NameManager instead of a new one."""
    module, implied = _resolve(name)
    if 'num_layers' in implied and kwargs.get('num_layers', implied['num_layers']) != implied['num_layers']:
        raise ValueError('%s: num_layers=%s contradicts the name' % (name, kwargs['num_layers']))
    kwargs = {**implied, **kwargs}
    if not fresh_names:
        return module.get_symbol(**kwargs)
    with mx.name.NameManager():
        return module.get_symbol(**kwargs)


__all__ = ['get_model', 'list_models', 'mlp', 'lenet', 'alexnet', 'vgg', 'googlenet',
           'inception_bn', 'resnet']
