"""``NDArray``: MXNet 1.x's imperative array on rmx's Rust core.

Every operation pushes work to the dependency engine and returns at once; ``asnumpy()``,
``asscalar()``, ``wait_to_read()`` and ``mx.nd.waitall()`` block. Shape and dtype errors raise at
the call; errors found while computing raise at the next of those waits.

    >>> import rmx as mx
    >>> a = mx.nd.array([[1, 2, 3], [4, 5, 6]])
    >>> (a * 2 + 1).asnumpy()
    array([[ 3.,  5.,  7.],
           [ 9., 11., 13.]], dtype=float32)
"""

import numbers

import numpy as np

from .. import _rmx
from ..base import DTypeError, InvalidArgumentError
from ..context import Context, current_context

__all__ = ["NDArray", "array", "zeros", "ones", "full", "empty", "arange", "eye", "concatenate", "waitall", "to_dlpack_for_read",
           "to_dlpack_for_write", "from_dlpack"]

_DTYPES = {"float32", "float64", "float16", "uint8", "int8", "int32", "int64", "bool"}


def dtype_name(dtype):
    """The rmx/NumPy name of ``dtype`` (a NumPy type, dtype or name); None gives float32."""
    if dtype is None:
        return "float32"
    name = np.dtype(dtype).name
    if name not in _DTYPES:
        raise DTypeError(f"unsupported dtype {name}; rmx supports {sorted(_DTYPES)}")
    return name


def _ctx(ctx):
    if ctx is None:
        return current_context()
    return ctx if isinstance(ctx, Context) else Context(ctx)


def _wrap(handle):
    a = NDArray.__new__(NDArray)
    a.handle = handle
    return a


def invoke(name, inputs, attrs=(), out=None, ctx=None, visible_only=False):
    """Runs registered operator ``name``; returns the list of output handles wrapped (only the
    outputs a user sees, without Dropout's mask and such, when ``visible_only``)."""
    return [_wrap(h) for h in invoke_handles(name, inputs, attrs, out, ctx, visible_only)]


def invoke_handles(name, inputs, attrs=(), out=None, ctx=None, visible_only=False):
    """``invoke``'s output handles, unwrapped: for callers that return their ``out=`` arrays."""
    out_handles = None if out is None else [o.handle for o in (out if isinstance(out, (list, tuple)) else [out])]
    if inputs:
        # The operator runs where its inputs are; the context only matters without inputs.
        return _rmx.invoke(name, [a.handle for a in inputs], list(attrs), out_handles, visible_only=visible_only)
    c = _ctx(ctx)
    return _rmx.invoke(name, [], list(attrs), out_handles, c.device_typeid, c.device_id, visible_only)


def _scalar_str(v):
    t = type(v)
    if t is float:
        return repr(v)
    if t is int:
        return str(v)
    if isinstance(v, (bool, np.bool_)):
        return "1" if v else "0"
    if isinstance(v, numbers.Integral):
        return str(int(v))
    return repr(float(v))


def _binary(lhs, rhs, same, bcast, scalar, out=None):
    """``lhs <op> rhs`` for an NDArray lhs: elementwise, broadcast or with a scalar."""
    if isinstance(rhs, NDArray):
        name = same if lhs.shape == rhs.shape else bcast
        result = invoke(name, [lhs, rhs], out=out)[0]
        return out if out is not None else result
    if isinstance(rhs, numbers.Number) or (isinstance(rhs, np.generic) and rhs.size == 1):
        result = invoke(scalar, [lhs], [("scalar", _scalar_str(rhs))], out=out)[0]
        return out if out is not None else result
    if isinstance(rhs, (np.ndarray, list, tuple)):
        return _binary(lhs, array(rhs, ctx=lhs.context, dtype=lhs.dtype), same, bcast, scalar, out)
    return NotImplemented


def _reflected(lhs, rhs, scalar, same, bcast):
    """``rhs <op> lhs`` where ``rhs`` is a scalar (``2 - x``) or array-like (``np_array - x``)."""
    if isinstance(rhs, numbers.Number) or isinstance(rhs, np.generic):
        return invoke(scalar, [lhs], [("scalar", _scalar_str(rhs))])[0]
    if isinstance(rhs, (np.ndarray, list, tuple)):
        return _binary(array(rhs, ctx=lhs.context, dtype=lhs.dtype), lhs, same, bcast, scalar)
    return NotImplemented


class NDArray:
    """An n-dimensional array on a device, computed asynchronously (see the module doc)."""

    __slots__ = ("handle", "__weakref__")
    # NumPy defers to NDArray's reflected operators (``np_array + nd``).
    __array_ufunc__ = None
    __array_priority__ = 1000.0

    def __init__(self, handle):
        self.handle = handle

    # --- attributes -------------------------------------------------------------------------
    @property
    def shape(self):
        return tuple(self.handle.shape)

    @property
    def dtype(self):
        return np.dtype(self.handle.dtype).type

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def ndim(self):
        return len(self.handle.shape)

    @property
    def context(self):
        dev_type, dev_id = self.handle.ctx
        return Context(Context.devtype2str[dev_type], dev_id)

    ctx = context

    @property
    def stype(self):
        return "default"

    @property
    def T(self):
        """The array with its axes reversed (MXNet's ``transpose(self)``); itself below 2-D."""
        if self.ndim < 2:
            return self
        return self.transpose()

    # --- moving data ------------------------------------------------------------------------
    def asnumpy(self):
        """A NumPy copy of the data; waits for pending writes and raises their failures."""
        out = np.empty(self.shape, dtype=self.handle.dtype)
        self.handle.read_into(out.reshape(-1).view(np.uint8))
        return out

    def __array__(self, dtype=None, copy=None):
        a = self.asnumpy()
        return a if dtype is None else a.astype(dtype)

    # --- sharing memory (DLPack) ---------------------------------------------------------------
    def to_dlpack_for_read(self):
        """A DLPack capsule sharing this array's memory, once its pending writes are done; the
        consumer may read it (MXNet's ``to_dlpack_for_read``)."""
        return _rmx.nd_to_dlpack(self.handle, False)

    def to_dlpack_for_write(self):
        """A DLPack capsule sharing this array's memory, once every pending operation is done; the
        consumer may read and write it (MXNet's ``to_dlpack_for_write``)."""
        return _rmx.nd_to_dlpack(self.handle, True)

    def __dlpack__(self, stream=None, max_version=None, dl_device=None, copy=None):
        """The DLPack protocol (``np.from_dlpack(x)``, ``torch.from_dlpack(x)``): a capsule
        sharing this array's memory, ready for reading and writing (``copy=True``: a copy's)."""
        if dl_device is not None and tuple(dl_device) != self.__dlpack_device__():
            raise BufferError(f"rmx cannot export an array on {self.context} to DLPack device {tuple(dl_device)}")
        source = self.copy() if copy else self
        return _rmx.nd_to_dlpack(source.handle, True)

    def __dlpack_device__(self):
        """``(device type, id)`` in DLPack's codes: ``(1, 0)`` for the host, ``(2, i)`` for GPU ``i``."""
        dev_type, dev_id = self.handle.ctx
        return (2, dev_id) if Context.devtype2str[dev_type] == "gpu" else (1, 0)

    def asscalar(self):
        if self.shape != (1,):
            raise InvalidArgumentError(f"asscalar: the array has shape {self.shape}, not (1,)")
        return self.asnumpy()[0]

    def item(self):
        return self.asscalar().item()

    def wait_to_read(self):
        self.handle.wait_to_read()

    def wait_to_write(self):
        self.handle.wait_to_read()

    def astype(self, dtype, copy=True):
        name = dtype_name(dtype)
        if not copy and name == self.handle.dtype:
            return self
        return invoke("Cast", [self], [("dtype", name)])[0]

    def copy(self):
        return invoke("_copy", [self])[0]

    def tostype(self, stype):
        """A copy in storage ``stype``: ``'default'`` (a dense copy, as MXNet); ``'row_sparse'``
        and ``'csr'`` raise ``SparseStorageError``, rmx storing arrays densely."""
        from .sparse import check_stype

        check_stype("NDArray.tostype", stype)
        if stype is None:
            raise InvalidArgumentError("NDArray.tostype: stype must be 'default'")
        return self.copy()

    def copyto(self, other):
        """Copies into ``other`` (an NDArray of the same shape; returns it) or onto a Context."""
        if isinstance(other, Context):
            target = zeros(self.shape, ctx=other, dtype=self.dtype)
            invoke("_copy", [self], out=target)
            return target
        if not isinstance(other, NDArray):
            raise InvalidArgumentError(f"copyto: expected an NDArray or a Context, got {type(other).__name__}")
        if other.shape != self.shape:
            raise InvalidArgumentError(f"copyto: shape {self.shape} into shape {other.shape}")
        if other.handle.same_chunk(self.handle) and other.handle.offset == self.handle.offset:
            return other
        if other.handle.dtype != self.handle.dtype:
            invoke_handles("Cast", [self], [("dtype", other.handle.dtype)], out=other)
        else:
            invoke_handles("_copy", [self], out=other)
        return other

    def as_in_context(self, context):
        return self if self.context == context else self.copyto(context)

    # --- shape ------------------------------------------------------------------------------
    def reshape(self, *shape, **kwargs):
        """A view in ``shape`` (MXNet's special values 0, -1, -2, -3, -4; ``reverse=``)."""
        if len(shape) == 1 and isinstance(shape[0], (list, tuple)):
            shape = tuple(shape[0])
        shape = kwargs.pop("shape", shape)
        reverse = bool(kwargs.pop("reverse", False))
        if kwargs:
            raise InvalidArgumentError(f"reshape: unexpected arguments {sorted(kwargs)}")
        target = _rmx.infer_reshape(list(self.shape), [int(s) for s in shape], reverse)
        if _rmx.is_recording() and _rmx.is_tracked(self.handle):
            # A view would leave the tape; the operator is recorded (its gradient reshapes back).
            return invoke("Reshape", [self], [("shape", str(tuple(target)))])[0]
        view = self.handle.reshape_view(target)
        if view is None:
            return self.copy().reshape(target)
        return _wrap(view)

    def reshape_like(self, other):
        return self.reshape(other.shape)

    # MXNet's ``inplace=True`` asks for a view sharing this array's memory; rmx's results of
    # these methods are such views either way (``reshape`` gives one), so ``inplace`` only
    # selects MXNet's argument checks.
    def flatten(self, inplace=False):
        """``(d0, d1*...*dk)``, a view of this array (a 1-d array gives ``(d0, 1)``)."""
        return self.reshape((self.shape[0], -1))

    def expand_dims(self, axis, inplace=False):
        """This array with a new axis of size 1 at ``axis``, a view of it."""
        n = self.ndim
        a = axis + n + 1 if axis < 0 else axis
        if not 0 <= a <= n:
            raise InvalidArgumentError(f"expand_dims: axis {axis} out of range for a {n}-d array")
        return self.reshape(self.shape[:a] + (1,) + self.shape[a:])

    def squeeze(self, axis=None, inplace=False):
        """This array without its size-1 axes (those in ``axis``, or all), a view of it; shape
        ``(1,)`` when none is left. A named axis must have size 1."""
        axes = range(self.ndim) if axis is None else [axis] if isinstance(axis, numbers.Integral) else axis
        axes = {a % self.ndim for a in axes}
        if axis is None:
            axes = {a for a in axes if self.shape[a] == 1}
        for a in sorted(axes):
            if self.shape[a] != 1:
                raise InvalidArgumentError(f"squeeze: axis {a} of shape {self.shape} has size {self.shape[a]}, not 1")
        shape = tuple(d for i, d in enumerate(self.shape) if i not in axes) or (1,)
        return self.reshape(shape)

    # --- autograd -----------------------------------------------------------------------------
    def attach_grad(self, grad_req="write", stype=None):
        """Gives the array a gradient buffer of zeros, ``.grad``, which ``backward`` fills as
        ``grad_req`` says ('write', 'add' or 'null'); calls recorded on it inside
        ``autograd.record()`` become differentiable."""
        from .. import autograd
        from .sparse import check_stype

        check_stype("NDArray.attach_grad", stype)
        grad = zeros(self.shape, ctx=self.context, dtype=self.dtype)
        autograd.mark_variables([self], [grad], grad_req)

    @property
    def grad(self):
        """The gradient buffer ``attach_grad`` made, or None."""
        g = _rmx.grad_of(self.handle)
        return None if g is None else _wrap(g[0])

    @property
    def _fresh_grad(self):
        """Whether a backward wrote ``.grad`` since the flag was last cleared (Gluon's
        ``Trainer`` reads it to find stale gradients)."""
        return _rmx.fresh_grad(self.handle)

    @_fresh_grad.setter
    def _fresh_grad(self, state):
        _rmx.set_fresh_grad(self.handle, bool(state))

    def detach(self):
        """The same data, outside the recorded computation (no gradient flows through it)."""
        return _wrap(_rmx.detach(self.handle))

    def backward(self, out_grad=None, retain_graph=False, train_mode=True):
        """Computes the gradients of this array (with ``out_grad``, ones by default) with respect
        to the variables it was recorded from, into their ``.grad``."""
        from .. import autograd

        autograd.backward([self], None if out_grad is None else [out_grad], retain_graph, train_mode)

    # --- Python protocol --------------------------------------------------------------------
    def __len__(self):
        return self.shape[0]

    def __iter__(self):
        for i in range(self.shape[0]):
            yield self[i]

    def __bool__(self):
        if self.size == 0:
            return False
        if self.size != 1:
            raise ValueError("The truth value of an NDArray with more than one element is ambiguous.")
        return bool(self.asnumpy().reshape(-1)[0])

    __nonzero__ = __bool__

    def __hash__(self):
        return id(self)

    def __repr__(self):
        shape = "x".join(str(d) for d in self.shape)
        return f"\n{self.asnumpy()}\n<{type(self).__name__} {shape} @{self.context}>"

    def __str__(self):
        return self.__repr__()

    def __getstate__(self):
        return {"data": bytes(_rmx.nd_save_bytes([self.handle], []))}

    def __setstate__(self, state):
        handles, _ = _rmx.nd_load_bytes(state["data"])
        self.handle = handles[0]

    def __getitem__(self, key):
        from .indexing import getitem

        return getitem(self, key)

    def __setitem__(self, key, value):
        from .indexing import setitem

        setitem(self, key, value)

    # --- arithmetic (methods made by _forward/_reflect/_inplace below the class) ----------------
    def __neg__(self):
        return invoke("negative", [self])[0]

    def __abs__(self):
        return invoke("abs", [self])[0]

    def __eq__(self, o):
        if o is None:
            return False
        return _binary(self, o, "_equal", "broadcast_equal", "_equal_scalar")

    def __ne__(self, o):
        if o is None:
            return True
        return _binary(self, o, "_not_equal", "broadcast_not_equal", "_not_equal_scalar")


def _forward(same, bcast, scalar):
    """``x <op> y``. A Python int or float takes the shortest path (no ABC checks, no lists):
    it is the hot path of imperative code (``x * 2``, ``x + 1``)."""

    def method(self, o):
        t = type(o)
        if t is float or t is int:
            a = _new(NDArray)
            a.handle = _scalar_op(scalar, self.handle, o)
            return a
        return _binary(self, o, same, bcast, scalar)

    return method


def _inplace(same, bcast, scalar):
    """``x <op>= y``: writes into x through the engine."""

    def method(self, o):
        return _binary(self, o, same, bcast, scalar, out=self)

    return method


def _reflect(rscalar, same, bcast):
    """``y <op> x`` for a scalar or array-like ``y``."""

    def method(self, o):
        return _reflected(self, o, rscalar, same, bcast)

    return method


_new = object.__new__
_scalar_op = _rmx.scalar_op

for _name, _same, _bcast, _scalar, _rscalar in [
    ("add", "elemwise_add", "broadcast_add", "_plus_scalar", "_plus_scalar"),
    ("sub", "elemwise_sub", "broadcast_sub", "_minus_scalar", "_rminus_scalar"),
    ("mul", "elemwise_mul", "broadcast_mul", "_mul_scalar", "_mul_scalar"),
    ("truediv", "elemwise_div", "broadcast_div", "_div_scalar", "_rdiv_scalar"),
    ("mod", "_mod", "broadcast_mod", "_mod_scalar", "_rmod_scalar"),
    ("pow", "_power", "broadcast_power", "_power_scalar", "_rpower_scalar"),
]:
    setattr(NDArray, f"__{_name}__", _forward(_same, _bcast, _scalar))
    setattr(NDArray, f"__r{_name}__", _reflect(_rscalar, _same, _bcast))
    if _name != "pow":
        setattr(NDArray, f"__i{_name}__", _inplace(_same, _bcast, _scalar))
NDArray.__div__, NDArray.__rdiv__, NDArray.__idiv__ = NDArray.__truediv__, NDArray.__rtruediv__, NDArray.__itruediv__

for _name, _op in [("gt", "greater"), ("ge", "greater_equal"), ("lt", "lesser"), ("le", "lesser_equal")]:
    setattr(NDArray, f"__{_name}__", _forward(f"_{_op}", f"broadcast_{_op}", f"_{_op}_scalar"))


# --- creation -------------------------------------------------------------------------------
def array(source_array, ctx=None, dtype=None):
    """An NDArray from a NumPy array, a (nested) list, a scalar or another NDArray.

    As in MXNet, the dtype is float32 unless given, even for integer NumPy input; an NDArray
    source keeps its own dtype.
    """
    if _is_sparse_source(source_array):
        from .sparse import storage_error

        raise storage_error("mx.nd.array", getattr(source_array, "stype", None) or getattr(source_array, "format", "sparse"))
    if isinstance(source_array, NDArray):
        src = source_array if dtype is None else source_array.astype(dtype)
        return src.copyto(_ctx(ctx)) if ctx is not None and src.context != _ctx(ctx) else src.copy()
    data = np.ascontiguousarray(np.asarray(source_array, dtype=dtype_name(dtype)))
    if data.ndim == 0:
        data = data.reshape(1)
    c = _ctx(ctx)
    return _wrap(_rmx.nd_from_buffer(data.reshape(-1).view(np.uint8), list(data.shape), data.dtype.name, c.device_typeid, c.device_id))


def _is_sparse_source(source):
    """A scipy.sparse matrix (checked by its module, scipy being optional) or an MXNet sparse array."""
    return type(source).__module__.startswith("scipy.sparse") or getattr(source, "stype", "default") != "default"


def _shape(shape):
    """A shape tuple from any spelling MXNet takes: an int, a sequence of ints, or the text of
    one (``"(2, 3)"``, ``"[2,3]"``, ``"3"``), as operator parameters are written."""
    if isinstance(shape, str):
        return tuple(int(d) for d in shape.strip().strip("()[]").split(",") if d.strip())
    return (int(shape),) if isinstance(shape, numbers.Integral) else tuple(int(s) for s in shape)


def zeros(shape, ctx=None, dtype=None, out=None, **kwargs):
    """Zeros of ``shape``; with ``out``, written into it (its dtype must be ``dtype``, as in
    MXNet, where ``out`` goes to the ``_zeros`` operator). ``stype`` other than ``'default'``
    raises ``SparseStorageError``: rmx stores arrays densely."""
    from .sparse import check_stype

    check_stype("mx.nd.zeros", kwargs.pop("stype", None))
    if out is not None:
        return _fill_out(shape, 0, dtype, out)
    c = _ctx(ctx)
    return _wrap(_rmx.nd_zeros(list(_shape(shape)), dtype_name(dtype), c.device_typeid, c.device_id))


def empty(shape, ctx=None, dtype=None, stype=None):
    """An array of ``shape`` (zero-filled in rmx); ``stype`` as for ``zeros``."""
    from .sparse import check_stype

    check_stype("mx.nd.empty", stype)
    return zeros(shape, ctx, dtype)


def ones(shape, ctx=None, dtype=None, out=None, **kwargs):
    """Ones of ``shape``; ``out`` and ``stype`` as for ``zeros``."""
    from .sparse import check_stype

    check_stype("mx.nd.ones", kwargs.pop("stype", None))
    if out is not None:
        return _fill_out(shape, 1, dtype, out)
    return full(shape, 1, ctx, dtype)


def _fill_out(shape, val, dtype, out):
    attrs = [("shape", str(_shape(shape))), ("dtype", dtype_name(dtype)), ("value", _scalar_str(val))]
    invoke("_full", [], attrs, out=out)
    return out


def full(shape, val, ctx=None, dtype=None, out=None):
    """``val`` in every element; with ``out``, MXNet's ``out[:] = val``: ``out`` keeps its own
    shape and dtype (the value is cast into it) and is returned."""
    if out is not None:
        attrs = [("shape", str(out.shape)), ("dtype", out.handle.dtype), ("value", _scalar_str(val))]
        invoke("_full", [], attrs, out=out)
        return out
    attrs = [("shape", str(_shape(shape))), ("dtype", dtype_name(dtype)), ("value", _scalar_str(val))]
    return invoke("_full", [], attrs, ctx=ctx)[0]


def arange(start, stop=None, step=1.0, repeat=1, infer_range=None, ctx=None, dtype=None):
    attrs = [("start", _scalar_str(start)), ("stop", "None" if stop is None else _scalar_str(stop)), ("step", _scalar_str(step)), ("repeat", str(int(repeat))), ("dtype", dtype_name(dtype))]
    return invoke("_arange", [], attrs, ctx=ctx)[0]


def eye(N, M=0, k=0, ctx=None, dtype=None, **kwargs):
    attrs = [("N", str(int(N))), ("M", str(int(M))), ("k", str(int(k))), ("dtype", dtype_name(dtype))]
    return invoke("_eye", [], attrs, ctx=ctx)[0]


def concatenate(arrays, axis=0, always_copy=True):
    """MXNet's Python ``concatenate`` (default axis 0, unlike the ``concat`` operator's dim=1)."""
    if not always_copy and len(arrays) == 1:
        return arrays[0]
    return invoke("Concat", list(arrays), [("dim", str(int(axis))), ("num_args", str(len(arrays)))])[0]


def waitall():
    """Waits for all pushed work; raises the oldest failure not yet raised."""
    from .. import engine

    engine.waitall()


def to_dlpack_for_read(data):
    """A DLPack capsule sharing ``data``'s memory for reading (see ``NDArray.to_dlpack_for_read``).

    >>> import numpy as np
    >>> import rmx as mx
    >>> x = mx.nd.array([1, 2, 3])
    >>> np.from_dlpack(x)
    array([1., 2., 3.], dtype=float32)
    """
    return data.to_dlpack_for_read()


def to_dlpack_for_write(data):
    """A DLPack capsule sharing ``data``'s memory for reading and writing."""
    return data.to_dlpack_for_write()


def from_dlpack(dlpack):
    """An NDArray sharing the memory of a DLPack capsule, or of any object with ``__dlpack__``
    (a NumPy array, a PyTorch tensor), without a copy. Host memory only for now.

    >>> import numpy as np
    >>> import rmx as mx
    >>> a = np.arange(4, dtype=np.float32)
    >>> x = mx.nd.from_dlpack(a)
    >>> a[0] = 7
    >>> x.asnumpy()
    array([7., 1., 2., 3.], dtype=float32)
    """
    if hasattr(dlpack, "__dlpack__"):
        dlpack = dlpack.__dlpack__()
    return NDArray(_rmx.nd_from_dlpack(dlpack))
