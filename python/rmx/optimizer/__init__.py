"""Optimizers (``mx.optimizer``, also ``mx.opt``), as MXNet 1.9.1 defines them.

An optimizer turns a gradient into an in-place change of a weight. The fused update operators
(``sgd_mom_update``, ``adam_update``, ...) are called with ``out=weight`` and MXNet's keyword
arguments (``clip_gradient`` only when it is set, ``momentum`` only when positive ...); the
optimizers MXNet writes in NDArray arithmetic (AdaGrad, AdaDelta, Adamax, Nadam, ...) use the same
operations in the same order, so every step gives MXNet's numbers. Everything is asynchronous:
nothing here waits for a result.

    >>> import rmx as mx
    >>> opt = mx.optimizer.create('sgd', learning_rate=0.1, momentum=0.9)
    >>> updater = mx.optimizer.get_updater(opt)
    >>> w = mx.nd.ones((2,)); updater(0, mx.nd.ones((2,)), w)   # w -= 0.1 * grad
    >>> w.asnumpy()
    array([0.9, 0.9], dtype=float32)

Per-parameter learning rates and weight decays: ``lr_mult``/``wd_mult`` dictionaries (by name or
index), the ``__lr_mult__``/``__wd_mult__`` attributes of ``sym``'s arguments, and the default
rule that, once ``param_idx2name`` names the parameters, every name not ending in ``_weight`` or
``_gamma`` (biases, betas) gets no weight decay.

Not here: the row-sparse (lazy) update paths (rmx has dense storage only) and the optimizers that
need operators rmx does not have yet (LAMB, LARS, LBSGD).

The package: ``optimizer.py`` the base class and the registry, ``sgd.py`` gradient descent and its
variants, ``adaptive.py`` the per-coordinate adaptive optimizers, ``updater.py`` the ``Updater``.
"""

from .optimizer import NDabs, Optimizer, Test, create, register
from .sgd import DCASGD, NAG, SGD, SGLD, Signum, ccSGD
from .adaptive import FTML, AdaDelta, AdaGrad, Adam, Adamax, Ftrl, Nadam, RMSProp
from .updater import Updater, get_updater

__all__ = [
    "AdaDelta", "AdaGrad", "Adam", "Adamax", "DCASGD", "FTML", "Ftrl", "NAG", "NDabs", "Nadam",
    "Optimizer", "RMSProp", "SGD", "SGLD", "Signum", "Test", "Updater", "ccSGD", "create",
    "get_updater", "register",
]
