"""``mx.contrib.autograd``: MXNet's first autograd interface, kept for old code, over
``mx.autograd`` (recording is ``train_section``; ``compute_gradient`` is ``backward``)."""

import functools

from .. import autograd as _ag
from ..ndarray import NDArray, array, zeros_like  # noqa: F401 (MXNet's module names)


class TrainingStateScope:
    """Recording and training mode on (``enter_state=True``) or off inside a ``with`` block."""

    def __init__(self, enter_state):
        self._scope = _ag.record(train_mode=True) if enter_state else _ag.pause(train_mode=False)

    def __enter__(self):
        return self._scope.__enter__()

    def __exit__(self, *exc):
        return self._scope.__exit__(*exc)


def set_is_training(is_train):
    """Sets recording and training mode together; returns the previous state."""
    prev = _ag.is_recording()
    _ag.set_recording(is_train)
    _ag.set_training(is_train)
    return prev


def train_section():
    return TrainingStateScope(True)


def test_section():
    return TrainingStateScope(False)


def mark_variables(variables, gradients, grad_reqs="write"):
    return _ag.mark_variables(variables, gradients, grad_reqs)


def backward(outputs, out_grads=None, retain_graph=False):
    return _ag.backward(outputs, out_grads, retain_graph)


def compute_gradient(outputs):
    """``backward`` of ``outputs`` (deprecated in MXNet too)."""
    return backward(outputs)


def grad_and_loss(func, argnum=None):
    """Wraps ``func`` to return ``(gradients of its arguments, its value)``."""

    @functools.wraps(func)
    def wrapped(*args):
        variables = list(args) if argnum is None else [args[i] for i in ([argnum] if isinstance(argnum, int) else argnum)]
        for x in variables:
            if not isinstance(x, NDArray):
                raise TypeError("type of autograd input should be NDArray")
        grads = [zeros_like(x) for x in variables]
        mark_variables(variables, grads)
        with train_section():
            outputs = func(*args)
        compute_gradient([outputs] if isinstance(outputs, NDArray) else outputs)
        return grads, outputs

    return wrapped


def grad(func, argnum=None):
    """Wraps ``func`` to return the gradients of its arguments."""
    wrapped = grad_and_loss(func, argnum)

    @functools.wraps(func)
    def only_grads(*args):
        return wrapped(*args)[0]

    return only_grads
