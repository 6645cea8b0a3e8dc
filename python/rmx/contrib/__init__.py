"""``mx.contrib``: MXNet 1.x's contrib package. ``contrib.ndarray``/``nd`` and
``contrib.symbol``/``sym`` are the ``_contrib_*`` operators; ``contrib.autograd`` is MXNet's
first autograd interface (``train_section``, ``grad_and_loss``, ...) over ``mx.autograd``;
``contrib.io`` has ``DataLoaderIter``. The parts that need libraries rmx does not bundle
(``onnx``, ``quantization``, ``tensorboard``, ``text``) raise a clear error when used.

    >>> import rmx as mx
    >>> x = mx.nd.array([1.0, 2.0])
    >>> grad, loss = mx.contrib.autograd.grad_and_loss(lambda a: a * a)(x)
    >>> grad[0].asnumpy(), loss.asnumpy()
    (array([2., 4.], dtype=float32), array([1., 4.], dtype=float32))
"""

from . import autograd, io, ndarray, symbol
from . import ndarray as nd
from . import symbol as sym
from ._absent import onnx, quant, quantization, tensorboard, text

__all__ = ["autograd", "io", "nd", "ndarray", "sym", "symbol", "onnx", "quant", "quantization", "tensorboard", "text"]
