"""``mx.operator``: operators written in Python, as MXNet 1.x's. Subclass ``CustomOpProp``
(inputs, outputs, shapes, dtypes) and ``CustomOp`` (``forward`` and ``backward`` on NDArrays),
register the property class under a name, and call it as ``mx.nd.Custom(..., op_type=name)``
or ``mx.sym.Custom``; it then runs in executors, ``Module`` and autograd like any operator.
Each call is an engine operation: it starts once its inputs are ready, runs the Python code on
a thread of its own (which may push and wait), and ends when the results are handed back.
Parameters reach the property's constructor as strings, as in MXNet.

    >>> import rmx as mx
    >>> class Square(mx.operator.CustomOp):
    ...     def forward(self, is_train, req, in_data, out_data, aux):
    ...         self.assign(out_data[0], req[0], in_data[0] * in_data[0])
    ...     def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
    ...         self.assign(in_grad[0], req[0], 2 * in_data[0] * out_grad[0])
    >>> @mx.operator.register("square")
    ... class SquareProp(mx.operator.CustomOpProp):
    ...     def create_operator(self, ctx, in_shapes, in_dtypes):
    ...         return Square()
    >>> x = mx.nd.array([1, 2, 3])
    >>> x.attach_grad()
    >>> with mx.autograd.record():
    ...     y = mx.nd.Custom(x, op_type="square")
    >>> y.backward()
    >>> y.asnumpy(), x.grad.asnumpy()
    (array([1., 4., 9.], dtype=float32), array([2., 4., 6.], dtype=float32))
"""

import collections
import ctypes  # noqa: F401 (MXNet's module namespace)
import traceback  # noqa: F401
import warnings  # noqa: F401
from ctypes import CFUNCTYPE, POINTER, Structure, c_bool, c_char, c_char_p, c_int, c_void_p, cast, pointer  # noqa: F401
from threading import Lock, RLock  # noqa: F401 (Lock: a name of MXNet's module)

import numpy as np

from . import context, symbol  # noqa: F401
from .base import (MXCallbackList, MXNetError, NDArrayHandle, OpHandle, c_array, c_array_buf, c_str, check_call,  # noqa: F401
                   ctypes2numpy_shared, mx_float, mx_int, mx_uint, py_str)
from .ndarray import NDArray, array  # noqa: F401
from .util import is_np_array  # noqa: F401

c_int_p = POINTER(c_int)

__all__ = ["CustomOp", "CustomOpProp", "register", "get_all_registered_operators", "get_operator_arguments"]


class CustomOp:
    """The computation of a custom operator: override ``forward`` and ``backward``."""

    def forward(self, is_train, req, in_data, out_data, aux):
        raise NotImplementedError("CustomOp.forward must be overridden")

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        raise NotImplementedError("CustomOp.backward must be overridden")

    def assign(self, dst, req, src):
        """Writes ``src`` into ``dst`` as ``req`` says: 'write'/'inplace', 'add' or 'null'."""
        if req == "null":
            return
        if req in ("write", "inplace"):
            dst[:] = src
        elif req == "add":
            dst[:] += src
        else:
            raise MXNetError(f"CustomOp.assign: unknown req {req!r}")


class CustomOpProp:
    """The description of a custom operator: its inputs, outputs, shapes and dtypes, and the
    ``CustomOp`` that computes it. The defaults describe one input ``data`` and one output
    ``output`` of its shape and dtype."""

    def __init__(self, need_top_grad=True):
        self.need_top_grad_ = need_top_grad

    def list_arguments(self):
        return ["data"]

    def list_outputs(self):
        return ["output"]

    def list_auxiliary_states(self):
        return []

    def infer_shape(self, in_shape):
        return in_shape, (in_shape[0],) * len(self.list_outputs()), ()

    def infer_type(self, in_type):
        return in_type, [in_type[0]] * len(self.list_outputs()), [in_type[0]] * len(self.list_auxiliary_states())

    def infer_storage_type(self, in_stype):
        return in_stype, ["default"] * len(self.list_outputs()), ["default"] * len(self.list_auxiliary_states())

    def infer_storage_type_backward(self, ograd_stype, in_stype, out_stype, igrad_stype, aux_stype):
        return ograd_stype, in_stype, out_stype, ["default"] * len(in_stype), aux_stype

    def declare_backward_dependency(self, out_grad, in_data, out_data):
        deps = list(out_grad) if self.need_top_grad_ else []
        return deps + list(in_data) + list(out_data)

    def create_operator(self, ctx, in_shapes, in_dtypes):
        return CustomOp()


_REGISTRY = {}
_PROPS = {}
# Reentrant: a property's constructor or create_operator may itself make Custom operators.
_LOCK = RLock()


def register(reg_name):
    """Class decorator: registers a ``CustomOpProp`` subclass as ``op_type=reg_name``."""

    def do_register(prop_cls):
        if not (isinstance(prop_cls, type) and issubclass(prop_cls, CustomOpProp)):
            raise MXNetError(f"register({reg_name!r}): expected a CustomOpProp subclass, got {prop_cls!r}")
        with _LOCK:
            _REGISTRY[reg_name] = prop_cls
            for key in [k for k in _PROPS if k[0] == reg_name]:
                del _PROPS[key]
        return prop_cls

    return do_register


class _Handle:
    """One property object (per op_type and parameters) as the Rust ``Custom`` operator asks
    it: names, shapes, dtypes, and ``run`` on copies of the arrays. Forward and backward of
    one configuration share it, so a ``CustomOp`` may keep state from one to the other."""

    def __init__(self, prop):
        self.prop = prop
        self._ops = {}

    def list_arguments(self):
        return [str(a) for a in self.prop.list_arguments()]

    def list_outputs(self):
        return [str(a) for a in self.prop.list_outputs()]

    def list_auxiliary_states(self):
        return [str(a) for a in self.prop.list_auxiliary_states()]

    def infer_shape(self, shapes):
        result = self.prop.infer_shape([list(s) for s in shapes])
        ins, outs = result[0], result[1]
        return [tuple(int(d) for d in s) for s in ins], [tuple(int(d) for d in s) for s in outs]

    def infer_type(self, names):
        result = self.prop.infer_type([np.dtype(n).type for n in names])
        return [np.dtype(t).name for t in result[0]], [np.dtype(t).name for t in result[1]]

    def _operator(self, shapes, dtypes):
        key = (tuple(map(tuple, shapes)), tuple(dtypes))
        with _LOCK:
            op = self._ops.get(key)
            if op is None:
                from .context import cpu

                op = self._ops[key] = self.prop.create_operator(cpu(), [list(s) for s in shapes], [np.dtype(d).type for d in dtypes])
        return op

    def run(self, backward, is_train, arrays, outputs):
        """``arrays``: (shape, dtype, bytes) of the inputs (backward: output gradients, inputs,
        outputs); ``outputs``: (shape, dtype) of what to return."""
        from . import ndarray as nd

        nds = [nd.array(np.frombuffer(b, dtype=dt).reshape(shape), dtype=dt) for shape, dt, b in arrays]
        made = [nd.zeros(tuple(shape), dtype=dt) for shape, dt in outputs]
        n_out, n_in = len(self.list_outputs()), len(self.list_arguments())
        if backward:
            out_grad, in_data, out_data = nds[:n_out], nds[n_out:n_out + n_in], nds[n_out + n_in:]
            op = self._operator([a.shape for a in in_data], [a.dtype for a in in_data])
            op.backward(req=["write"] * n_in, out_grad=out_grad, in_data=in_data, out_data=out_data, in_grad=made, aux=[])
        else:
            op = self._operator([a.shape for a in nds], [a.dtype for a in nds])
            op.forward(is_train=is_train, req=["write"] * n_out, in_data=nds, out_data=made, aux=[])
        return [(r.shape, np.dtype(r.dtype).name, r.asnumpy().tobytes()) for r in made]


def _prop(op_type, params):
    """The handle for ``op_type`` with ``params`` (called by rmx's core)."""
    key = (op_type, tuple(params))
    with _LOCK:
        handle = _PROPS.get(key)
        if handle is None:
            cls = _REGISTRY.get(op_type)
            if cls is None:
                known = ", ".join(sorted(_REGISTRY)) or "none"
                raise MXNetError(f"Custom: no operator registered as op_type '{op_type}' (registered: {known}); use @mx.operator.register")
            handle = _PROPS[key] = _Handle(cls(**dict(params)))
    return handle


def _split(args, kwargs):
    params = {k: v for k, v in kwargs.items() if not isinstance(v, (NDArray, symbol.Symbol))}
    inputs = {k: v for k, v in kwargs.items() if k not in params}
    return params, inputs


def _nd_custom(*data, op_type=None, out=None, **kwargs):
    """Runs the custom operator registered as ``op_type`` on ``data``."""
    from .ndarray.ndarray import invoke
    from .ndarray.register import attr_str

    params, named = _split(data, kwargs)
    if op_type is None:
        raise MXNetError("Custom: op_type is required")
    handle = _prop(op_type, [(k, attr_str(v)) for k, v in params.items()])
    names = handle.list_arguments()
    inputs = list(data) + [named[n] for n in names[len(data):] if n in named]
    if len(inputs) != len(names):
        raise MXNetError(f"Custom '{op_type}': takes inputs {names}, got {len(inputs)}")
    attrs = [("op_type", op_type)] + [(k, attr_str(v)) for k, v in params.items()]
    outs = invoke("Custom", inputs, attrs, out=out)
    return outs[0] if len(outs) == 1 else outs


def _sym_custom(*data, op_type=None, name=None, attr=None, **kwargs):
    """A symbol of the custom operator registered as ``op_type``."""
    from . import _rmx
    from .name import NameManager
    from .ndarray.register import attr_str
    from .symbol.symbol import Symbol

    params, named = _split(data, kwargs)
    if op_type is None:
        raise MXNetError("Custom: op_type is required")
    pairs = [("op_type", op_type)] + [(k, attr_str(v)) for k, v in params.items()] + list((attr or {}).items())
    node_name = NameManager.current.get(name, "custom")
    return Symbol(_rmx.SymbolHandle.create("Custom", node_name, pairs, [s.handle for s in data], [(k, v.handle) for k, v in named.items()]))


OperatorArguments = collections.namedtuple("OperatorArguments", ["narg", "names", "types"])


def get_all_registered_operators():
    """The names of every operator in rmx's registry."""
    from . import _rmx

    return sorted(name for entry in _rmx.op_list() for name in [entry[0], *entry[1]])


def get_operator_arguments(op_name):
    """``OperatorArguments(narg, names, types)`` of a registry operator: its inputs, then its
    parameters, with MXNet's type strings."""
    from . import _rmx

    for name, aliases, _doc, inputs, variadic, params in _rmx.op_list():
        if op_name == name or op_name in aliases:
            names = list(inputs) + [p[0] for p in params if p[0] != "..."]
            types = ["NDArray-or-Symbol[]" if variadic else "NDArray-or-Symbol"] * len(inputs)
            types += [f"{ty}, required" if default == "" else f"{ty}, optional, default={default}" for _, ty, default, _ in params if _ != "..."]
            return OperatorArguments(len(names), names, types)
    raise MXNetError(f"get_operator_arguments: no operator named {op_name!r}")


def _removed(name):
    class Removed:
        def __init__(self, *args, **kwargs):
            raise MXNetError(f"mx.operator.{name} was deprecated in MXNet 1.x and rmx does not have it; write a CustomOp and CustomOpProp instead")

    Removed.__name__ = Removed.__qualname__ = name
    return Removed


PythonOp = _removed("PythonOp")
NumpyOp = _removed("NumpyOp")
NDArrayOp = _removed("NDArrayOp")
