"""Gluon (``mx.gluon``): MXNet 1.9.1's imperative neural network API in pure Python.

- ``parameter.py``: :class:`Parameter`, :class:`Constant`, :class:`ParameterDict`;
- ``block.py``: :class:`Block`, :class:`HybridBlock` (``summary.py``: ``Block.summary``);
- ``symbol_block.py``: :class:`SymbolBlock` (a symbol graph run as a block);
- ``trainer.py``: :class:`Trainer`; ``loss.py``, ``nn/``, ``utils.py``, ``data/``;
- ``model_zoo/``: the predefined vision models (``model_zoo.vision.get_model``).

``hybridize()`` does not build MXNet's cached graph yet: hybridized blocks run imperatively.

    >>> import rmx as mx
    >>> from rmx import autograd, gluon
    >>> net = gluon.nn.Dense(1, in_units=2)
    >>> net.initialize(mx.init.Zero())
    >>> trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.1})
    >>> x, y = mx.nd.array([[1.0, 2.0]]), mx.nd.array([[1.0]])
    >>> with autograd.record():
    ...     loss = gluon.loss.L2Loss()(net(x), y)
    >>> loss.backward()
    >>> trainer.step(1)
    >>> net.weight.data().asnumpy()
    array([[0.1, 0.2]], dtype=float32)
"""

from .parameter import Constant, DeferredInitializationError, Parameter, ParameterDict, tensor_types
from .block import Block, HybridBlock
from .symbol_block import SymbolBlock
from . import nn
from .trainer import Trainer
from . import loss, utils
from . import data
from . import model_zoo

__all__ = ["Parameter", "Constant", "ParameterDict", "DeferredInitializationError", "tensor_types", "Block",
           "HybridBlock", "SymbolBlock", "Trainer", "nn", "loss", "utils", "data", "model_zoo"]
