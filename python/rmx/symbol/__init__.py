"""``mx.sym``: MXNet 1.x's declarative API. Operator functions are generated from the same Rust
registry as ``mx.nd``'s (``register.py``); ``Symbol``, variables, groups and loading are in
``symbol.py``."""

import types

from ..ndarray import legacy as _legacy
from .register import generate
from .symbol import Group, Symbol, Variable, load, load_json, var

_internal = types.ModuleType(__name__ + "._internal", "Every registered operator, underscored ones included.")
generate(globals(), _internal)
_legacy.install(globals(), lambda name: getattr(_internal, name), symbolic=True)
from . import random  # noqa: E402
from . import sparse  # noqa: E402
contrib = types.ModuleType(__name__ + ".contrib", "MXNet's contrib operators: ``_contrib_X`` as ``contrib.X``.")
linalg = types.ModuleType(__name__ + ".linalg", "MXNet's linear algebra operators: ``_linalg_X`` as ``linalg.X``.")
for _n in dir(_internal):
    if _n.startswith("_contrib_"):
        setattr(contrib, _n[len("_contrib_"):], getattr(_internal, _n))
    if _n.startswith("_linalg_"):
        setattr(linalg, _n[len("_linalg_"):], getattr(_internal, _n))


def zeros(shape, dtype=None, **kwargs):
    return _internal._zeros(shape=shape, dtype=dtype or "float32", **kwargs)


def ones(shape, dtype=None, **kwargs):
    return _internal._ones(shape=shape, dtype=dtype or "float32", **kwargs)


def full(shape, val, dtype=None, **kwargs):
    return _internal._full(shape=shape, value=val, dtype=dtype or "float32", **kwargs)


def arange(start, stop=None, step=1.0, repeat=1, name=None, dtype=None):
    return _internal._arange(start=start, stop=stop, step=step, repeat=repeat, name=name, dtype=dtype or "float32")


def cast_storage(data=None, stype=None, name=None, attr=None, out=None, **kwargs):
    """MXNet's ``cast_storage``: ``stype='default'`` is a copy of ``data``; ``'row_sparse'`` and
    ``'csr'`` raise ``SparseStorageError``, rmx storing arrays densely."""
    return sparse._cast_storage("mx.sym.cast_storage", data, stype, name, attr)


def pow(base, exp):  # noqa: A001 (MXNet's name)
    return base**exp


def maximum(left, right):
    if isinstance(left, Symbol) and isinstance(right, Symbol):
        return _internal._Maximum(left, right)
    if isinstance(left, Symbol):
        return _internal._MaximumScalar(left, scalar=right)
    return _internal._MaximumScalar(right, scalar=left)


def minimum(left, right):
    if isinstance(left, Symbol) and isinstance(right, Symbol):
        return _internal._Minimum(left, right)
    if isinstance(left, Symbol):
        return _internal._MinimumScalar(left, scalar=right)
    return _internal._MinimumScalar(right, scalar=left)


# Methods MXNet's Symbol has that are operators: s.reshape(...), s.sum(axis=1), ...
_FLUENT = """abs sign round rint fix floor ceil trunc exp expm1 log log2 log10 log1p sqrt rsqrt cbrt rcbrt
square reciprocal sin cos tan arcsin arccos arctan sinh cosh tanh arcsinh arccosh arctanh degrees
radians sigmoid relu softmax log_softmax sum mean max min prod nansum nanprod norm argmax argmin clip
transpose swapaxes tile repeat split slice slice_axis take pick one_hot topk sort argsort zeros_like
ones_like broadcast_to broadcast_like broadcast_axes reshape flatten expand_dims flip squeeze
reshape_like""".split()


def _fluent(fn):
    def method(self, *args, **kwargs):
        return fn(self, *args, **kwargs)

    method.__doc__ = fn.__doc__
    return method


for _name in _FLUENT:
    if _name in globals() and not hasattr(Symbol, _name):
        setattr(Symbol, _name, _fluent(globals()[_name]))

__all__ = ["Symbol", "Variable", "var", "Group", "load", "load_json", "zeros", "ones", "full", "arange"]
