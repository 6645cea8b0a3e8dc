"""Imperative automatic differentiation, as MXNet 1.x's ``mx.autograd``.

Inside ``record()``, operator calls on arrays that have a gradient buffer (``attach_grad``) are
recorded; ``backward()`` then writes each variable's gradient into ``x.grad``. Recording and the
gradient pass are pushes to the engine like any other call: nothing blocks until a value is read.

    >>> import rmx as mx
    >>> x = mx.nd.array([1.0, 2.0, 3.0])
    >>> x.attach_grad()
    >>> with mx.autograd.record():
    ...     y = (x * x).sum()
    >>> y.backward()
    >>> x.grad.asnumpy()
    array([2., 4., 6.], dtype=float32)
"""

from . import _rmx
from .base import MXNetError

__all__ = ["record", "pause", "train_mode", "predict_mode", "is_recording", "is_training",
           "set_recording", "set_training", "mark_variables", "backward", "grad", "Function",
           "get_symbol"]


def set_recording(is_recording):
    """Turns recording on or off for this thread; returns the previous state."""
    return _rmx.set_recording(bool(is_recording))


def set_training(train_mode):
    """Turns training mode on or off for this thread; returns the previous state."""
    return _rmx.set_training(bool(train_mode))


def is_recording():
    """Whether operator calls on this thread are being recorded."""
    return _rmx.is_recording()


def is_training():
    """Whether operators on this thread run in training mode (Dropout drops, BatchNorm uses
    batch statistics)."""
    return _rmx.is_training()


class _Scope:
    """Sets the recording and/or training flag on entry and restores both on exit."""

    def __init__(self, recording, training):
        self._want = (recording, training)
        self._prev = None

    def __enter__(self):
        recording, training = self._want
        prev_rec = set_recording(recording) if recording is not None else is_recording()
        prev_train = set_training(training) if training is not None else is_training()
        self._prev = (prev_rec, prev_train)
        return self

    def __exit__(self, *exc):
        set_recording(self._prev[0])
        set_training(self._prev[1])
        return False


def record(train_mode=True):
    """Records the operator calls in its ``with`` block for ``backward``; ``train_mode`` sets the
    training flag inside (default on)."""
    return _Scope(True, train_mode)


def pause(train_mode=False):
    """Stops recording inside its ``with`` block (training mode off unless ``train_mode``)."""
    return _Scope(False, train_mode)


def train_mode():
    """Training mode inside its ``with`` block; recording unchanged."""
    return _Scope(None, True)


def predict_mode():
    """Prediction mode inside its ``with`` block; recording unchanged."""
    return _Scope(None, False)


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def mark_variables(variables, gradients, grad_reqs="write"):
    """Marks arrays as variables whose gradients go to the given buffers (``attach_grad`` does
    this with a fresh zero buffer). ``grad_reqs``: 'write', 'add' or 'null', one or per variable."""
    variables, gradients = _as_list(variables), _as_list(gradients)
    if len(variables) != len(gradients):
        raise ValueError(f"mark_variables: {len(variables)} variables and {len(gradients)} gradients")
    reqs = [grad_reqs] * len(variables) if isinstance(grad_reqs, str) else list(grad_reqs)
    for v, g, r in zip(variables, gradients, reqs):
        _rmx.mark_variable(v.handle, g.handle, r)


def _head_grads(heads, head_grads):
    if head_grads is None:
        return [None] * len(heads)
    head_grads = _as_list(head_grads)
    assert len(heads) == len(head_grads), "heads and head_grads must be lists of the same length"
    return [None if g is None else g.handle for g in head_grads]


def backward(heads, head_grads=None, retain_graph=False, train_mode=True):
    """Writes the gradients of ``heads`` (with ``head_grads``, ones where None) into the buffers
    of the variables they depend on, as each variable's ``grad_req`` says."""
    heads = _as_list(heads)
    _rmx.backward([h.handle for h in heads], _head_grads(heads, head_grads), bool(retain_graph), bool(train_mode))


def grad(heads, variables, head_grads=None, retain_graph=None, create_graph=False, train_mode=True):
    """The gradients of ``heads`` with respect to ``variables``, returned as a list (the
    variables' ``.grad`` buffers are left alone). ``create_graph`` records the gradient
    computation, so its results can be differentiated again; ``retain_graph`` defaults to it."""
    from .ndarray.ndarray import _wrap
    heads = _as_list(heads)
    variables = _as_list(variables)
    if retain_graph is None:
        retain_graph = create_graph
    handles = _rmx.grad([h.handle for h in heads], _head_grads(heads, head_grads), [v.handle for v in variables],
                        bool(retain_graph), bool(create_graph), bool(train_mode))
    return [_wrap(h) for h in handles]


def get_symbol(x):
    """The recorded computation that produced ``x`` as a Symbol: marked variables become
    variables ``var0``, ``var1``, ..., arrays used as constants ``null0``, ..."""
    from .symbol.symbol import Symbol
    return Symbol(_rmx.get_symbol(x.handle))


class Function:
    """A differentiable function with a hand-written gradient, as MXNet's ``autograd.Function``:
    subclass it, define ``forward(*inputs)`` and ``backward(*output_grads)`` (each on NDArrays,
    returning one array or a tuple), and call an instance once. ``save_for_backward`` keeps
    arrays for ``backward`` in ``self.saved_tensors``."""

    def __init__(self):
        self._used = False
        self.saved_tensors = ()

    def save_for_backward(self, *args):
        self.saved_tensors = args

    def forward(self, *inputs):
        raise NotImplementedError

    def backward(self, *output_grads):
        raise NotImplementedError

    def __call__(self, *inputs):
        assert not self._used, "Each Function instance can only be called once. Please create another instance."
        self._used = True
        with pause(train_mode=is_training()):
            outputs = self.forward(*inputs)
        single = not isinstance(outputs, (list, tuple))
        outputs = _as_list(outputs)
        if is_recording() and any(_rmx.is_tracked(x.handle) for x in inputs):
            _custom.record(self, list(inputs), outputs)
        return outputs[0] if single else tuple(outputs)


class _Custom:
    """Registry of live Functions, so the Rust tape can call their ``backward``."""

    def record(self, fn, inputs, outputs):
        import weakref
        from .ndarray.ndarray import _wrap

        def call_backward(out_grads):
            with pause(train_mode=is_training()):
                grads = fn.backward(*[_wrap(g) for g in out_grads])
            grads = _as_list(grads)
            if len(grads) != len(inputs):
                raise MXNetError(f"{type(fn).__name__}.backward returned {len(grads)} gradients for {len(inputs)} inputs")
            return [g.handle for g in grads]

        _rmx.record_custom([x.handle for x in inputs], [y.handle for y in outputs], call_backward)
        del weakref


_custom = _Custom()
