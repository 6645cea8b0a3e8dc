"""``mx.sym.sparse``: MXNet 1.9.1's sparse symbol operators, present by name only.

rmx stores every array densely (ARCHITECTURE.md, "Deliberately absent"): each public name of
MXNet's ``mxnet.symbol.sparse`` exists here and raises :class:`rmx.base.SparseStorageError`
naming the operator, where MXNet's dense operator of the same name is in ``mx.sym``.
``cast_storage(data, stype='default')`` keeps working (a copy).

    >>> import rmx as mx
    >>> mx.sym.sparse.dot(mx.sym.var('a'), mx.sym.var('b'))
    Traceback (most recent call last):
    ...
    rmx.base.SparseStorageError: mx.sym.sparse.dot: sparse storage ('csr', 'row_sparse') is not supported: rmx stores arrays densely (use stype='default'); mx.sym.dot computes it on dense arrays
"""

import sys

from ..base import InvalidArgumentError
from ..ndarray.sparse import OPERATORS, _sparse_only, check_stype


def cast_storage(data=None, stype=None, name=None, attr=None, out=None, **kwargs):
    """MXNet's ``cast_storage``: ``stype='default'`` is a copy of ``data``; ``'row_sparse'`` and
    ``'csr'`` raise ``SparseStorageError``, rmx storing arrays densely."""
    return _cast_storage("mx.sym.sparse.cast_storage", data, stype, name, attr)


def _cast_storage(function, data, stype, name, attr):
    from . import _internal
    from .symbol import Symbol

    if stype is None:
        raise InvalidArgumentError(f"{function}: the storage type stype= is required")
    check_stype(function, stype)
    if not isinstance(data, Symbol):
        raise InvalidArgumentError(f"{function}: data must be a Symbol, got {type(data).__name__}")
    return _internal._copy(data, name=name, attr=attr)


_dense = sys.modules[__package__]
for _name in OPERATORS:
    if _name not in ("add", "subtract", "multiply", "divide"):  # MXNet's symbol.sparse lacks these four
        globals()[_name] = _sparse_only(f"mx.sym.sparse.{_name}", _dense)
del _name

__all__ = [n for n in OPERATORS if n in globals()] + ["cast_storage"]
