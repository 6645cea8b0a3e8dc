"""``mx.nd.sparse``: MXNet 1.9.1's sparse NDArray API, present by name only.

rmx stores every array densely (ARCHITECTURE.md, "Deliberately absent"), so each public name of
MXNet's ``mxnet.ndarray.sparse`` exists here and raises :class:`rmx.base.SparseStorageError` (an
``MXNetError`` and a ``NotImplementedError``) naming the function and the storage type, instead
of an ``AttributeError`` or a silently dense result. What asks for dense storage keeps working:
``zeros('default', shape)``, ``empty('default', shape)``, ``cast_storage(x, 'default')``.

    >>> import rmx as mx
    >>> mx.nd.sparse.zeros('default', (2,)).asnumpy()
    array([0., 0.], dtype=float32)
    >>> mx.nd.sparse.zeros('csr', (2, 2))
    Traceback (most recent call last):
    ...
    rmx.base.SparseStorageError: mx.nd.sparse.zeros: storage type stype='csr' is not supported: rmx stores arrays densely (use stype='default')

The helpers here (``check_stype``, ``check_stype_attr``) are what every ``stype=`` argument in
rmx goes through.
"""

import ctypes  # noqa: F401 - MXNet's sparse module has it
import operator  # noqa: F401 - as above
import sys
import warnings  # noqa: F401 - as above
from array import array as native_array  # noqa: F401 - as above
from builtins import slice as py_slice  # noqa: F401 - as above
from builtins import sum as py_sum  # noqa: F401 - as above

import numpy as np  # noqa: F401 - as above

from ..base import (InvalidArgumentError, NDArrayHandle, NotSupportedForSparseNDArray, SparseStorageError,  # noqa: F401
                    c_array_buf, check_call, integer_types, mx_real_t, numeric_types)
from ..context import Context, current_context  # noqa: F401
from .ndarray import NDArray

spsp = None  # MXNet's scipy.sparse, where installed; rmx converts no scipy matrices
op = sys.modules[__package__]

# MXNet's storage type codes, as the ``__storage_type__`` attribute of a variable spells them.
STYPE_IDS = {"default": 0, "row_sparse": 1, "csr": 2}
_STYPE_NAMES = {str(v): k for k, v in STYPE_IDS.items()}
_STYPE_NAMES["-1"] = "default"  # MXNet's "undefined": dense in rmx


def storage_error(function, stype, argument=None):
    """The error for ``function`` asked for sparse storage ``stype`` (given as ``argument``, if
    the caller named it)."""
    what = f"{argument}={stype!r}" if argument else repr(stype)
    return SparseStorageError(f"{function}: storage type {what} is not supported: rmx stores arrays densely "
                              f"(use {argument or 'stype'}='default')")


def check_stype(function, stype, argument="stype"):
    """Passes ``None`` and ``'default'``; raises ``SparseStorageError`` for ``'row_sparse'`` and
    ``'csr'``, ``InvalidArgumentError`` for a name that is no storage type."""
    if stype is None or stype == "default":
        return
    if stype in STYPE_IDS:
        raise storage_error(function, stype, argument)
    raise InvalidArgumentError(f"{function}: {argument}={stype!r} is not a storage type "
                               "(MXNet's are 'default', 'row_sparse' and 'csr'; rmx has only 'default')")


def check_stype_attr(function, symbol):
    """Raises if a variable of ``symbol`` carries a sparse ``__storage_type__`` (a graph written
    by MXNet with ``var(..., stype='csr')``, say)."""
    for name, attrs in symbol.attr_dict().items():
        code = attrs.get("__storage_type__")
        if code is not None and _STYPE_NAMES.get(str(code).strip(), str(code)) != "default":
            stype = _STYPE_NAMES.get(str(code).strip(), str(code))
            raise SparseStorageError(f"{function}: variable {name!r} has storage type {stype!r} (its "
                                     "__storage_type__ attribute), which is not supported: rmx stores arrays "
                                     "densely (use stype='default')")


def check_stype_dict(function, stype_dict):
    """``check_stype`` for each value of a ``{name: stype}`` dict (``simple_bind``'s ``stype_dict``)."""
    for name, stype in (stype_dict or {}).items():
        check_stype(function, stype, f"stype_dict[{name!r}]")


def _sparse_only(qualname, dense_namespace=None):
    """A function that raises for MXNet's sparse operator ``qualname``, pointing at the dense
    operator of the same name in ``dense_namespace`` (a module) where rmx has it."""

    def fn(*args, **kwargs):
        short = qualname.rsplit(".", 1)[1]
        dense = dense_namespace is not None and hasattr(dense_namespace, short)
        hint = f"; {dense_namespace.__name__.replace('rmx.ndarray', 'mx.nd').replace('rmx.symbol', 'mx.sym')}.{short} " \
            "computes it on dense arrays" if dense else ""
        raise SparseStorageError(f"{qualname}: sparse storage ('csr', 'row_sparse') is not supported: rmx stores "
                                 f"arrays densely (use stype='default'){hint}")

    name = qualname.rsplit(".", 1)[1]
    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"MXNet's ``{qualname}``. rmx has no sparse storage: raises ``SparseStorageError``."
    return fn


# --- arrays ---------------------------------------------------------------------------------
class BaseSparseNDArray(NDArray):
    """MXNet's base class of sparse arrays. rmx has none: constructing one raises."""

    __slots__ = ()
    _stype = "sparse"

    def __init__(self, *args, **kwargs):
        raise storage_error(f"mx.nd.sparse.{type(self).__name__}", self._stype)


class CSRNDArray(BaseSparseNDArray):
    """MXNet's compressed-sparse-row array. rmx has none: constructing one raises."""

    __slots__ = ()
    _stype = "csr"


class RowSparseNDArray(BaseSparseNDArray):
    """MXNet's row-sparse array. rmx has none: constructing one raises."""

    __slots__ = ()
    _stype = "row_sparse"


def _ndarray_cls(handle, writable=True, stype="default"):
    check_stype("mx.nd.sparse._ndarray_cls", stype)
    return NDArray(handle)


def csr_matrix(arg1, shape=None, ctx=None, dtype=None):
    """MXNet's CSRNDArray constructor. rmx has no sparse storage: raises ``SparseStorageError``."""
    raise storage_error("mx.nd.sparse.csr_matrix", "csr")


def row_sparse_array(arg1, shape=None, ctx=None, dtype=None):
    """MXNet's RowSparseNDArray constructor. rmx has no sparse storage: raises ``SparseStorageError``."""
    raise storage_error("mx.nd.sparse.row_sparse_array", "row_sparse")


def array(source_array, ctx=None, dtype=None):
    """MXNet's sparse array from a sparse source. rmx has no sparse storage: raises
    ``SparseStorageError`` (``mx.nd.array`` makes a dense array)."""
    stype = getattr(source_array, "stype", None) or getattr(source_array, "format", None) or "sparse"
    raise SparseStorageError(f"mx.nd.sparse.array: storage type {stype!r} is not supported: rmx stores arrays "
                             "densely (use stype='default'; mx.nd.array makes a dense array)")


def zeros(stype, shape, ctx=None, dtype=None, **kwargs):
    """Zeros of storage ``stype``: ``'default'`` gives a dense array (as MXNet), the sparse
    types raise ``SparseStorageError``."""
    check_stype("mx.nd.sparse.zeros", stype)
    from .ndarray import zeros as _zeros

    return _zeros(shape, ctx=ctx, dtype=dtype, **kwargs)


def empty(stype, shape, ctx=None, dtype=None):
    """An array of storage ``stype``: ``'default'`` gives a dense array, the sparse types raise."""
    check_stype("mx.nd.sparse.empty", stype)
    from .ndarray import empty as _empty

    return _empty(shape, ctx=ctx, dtype=dtype)


def cast_storage(data=None, stype=None, out=None, name=None, **kwargs):
    """MXNet's ``cast_storage``: ``stype='default'`` copies ``data`` (into ``out`` if given);
    the sparse types raise ``SparseStorageError``."""
    return _cast_storage("mx.nd.sparse.cast_storage", data, stype, out)


def _cast_storage(function, data, stype, out):
    if stype is None:
        raise InvalidArgumentError(f"{function}: the storage type stype= is required")
    check_stype(function, stype)
    if not isinstance(data, NDArray):
        raise InvalidArgumentError(f"{function}: data must be an NDArray, got {type(data).__name__}")
    if out is None:
        return data.copy()
    data.copyto(out)
    return out


# MXNet's operators over sparse arrays (each also in mx.nd, which computes it densely).
OPERATORS = """ElementWiseSum Embedding FullyConnected LinearRegressionOutput LogisticRegressionOutput
MAERegressionOutput _contrib_round_ste _contrib_sign_ste abs adagrad_update adam_update add add_n arccos
arccosh arcsin arcsinh arctan arctanh broadcast_add broadcast_div broadcast_minus broadcast_mul
broadcast_plus broadcast_sub cbrt ceil clip concat cos cosh degrees divide dot elemwise_add elemwise_div
elemwise_mul elemwise_sub exp expm1 fix floor ftrl_update gamma gammaln log log10 log1p log2 make_loss mean
multiply negative norm radians relu retain rint round rsqrt sgd_mom_update sgd_update sigmoid sign sin
sinh slice sqrt square stop_gradient subtract sum tan tanh trunc where zeros_like""".split()

for _name in OPERATORS:
    globals()[_name] = _sparse_only(f"mx.nd.sparse.{_name}", op)
del _name

__all__ = ["_ndarray_cls", "csr_matrix", "row_sparse_array", "BaseSparseNDArray", "CSRNDArray",
           "RowSparseNDArray", "cast_storage"] + OPERATORS
