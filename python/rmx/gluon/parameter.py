"""Gluon's parameters (``mx.gluon.Parameter``, ``Constant``; ``ParameterDict`` is in
``parameter_dict.py``), as MXNet 1.9.1.

A :class:`Parameter` holds one copy of a weight per context, and, unless ``grad_req='null'``, a
gradient buffer per copy that autograd fills (the copies are marked as autograd variables). An
unknown dimension is 0: with ``allow_deferred_init`` the parameter waits for its block's first
forward, which infers the shape from the input and finishes the initialization.

Initialization is MXNet's: the initializer is called with
``InitDesc(name, {'__init__': init})``, so the chosen initializer's weight rule fills every
parameter whatever its name (a Dense layer's bias is zero because the layer passes
``bias_initializer='zeros'``, not because of its name).

    >>> import rmx as mx
    >>> w = mx.gluon.Parameter('fc_weight', shape=(2, 3), init=mx.init.One())
    >>> w.initialize()
    >>> w.data().asnumpy()
    array([[1., 1., 1.],
           [1., 1., 1.]], dtype=float32)
    >>> w.grad().shape
    (2, 3)
"""

import warnings
from collections import OrderedDict

import numpy as np

from .. import autograd, initializer, ndarray, symbol
from ..base import MXNetError
from ..context import Context, cpu, current_context
from ..ndarray.sparse import check_stype, storage_error
from .utils import _brief_print_list, _indent, shape_is_known

__all__ = ["DeferredInitializationError", "Parameter", "Constant", "ParameterDict", "tensor_types"]

tensor_types = (symbol.Symbol, ndarray.NDArray)


class DeferredInitializationError(MXNetError):
    """A parameter's data was asked for before its deferred initialization finished."""


class Parameter(object):
    """A weight of a Block: its data on each context and their gradient buffers.

    Parameters
    ----------
    name : str
    grad_req : {'write', 'add', 'null'}, default 'write'
        How backward writes the gradient ('add' accumulates until ``zero_grad``; 'null' makes no
        gradient buffer).
    shape : int or tuple of int
        0 marks an unknown dimension (inferred at the first forward when
        ``allow_deferred_init``).
    dtype : numpy dtype or str, default float32
    lr_mult, wd_mult : float
        Multipliers of the optimizer's learning rate and weight decay.
    init : Initializer or str
        This parameter's initializer (else the one given to ``initialize``).
    allow_deferred_init : bool
    differentiable : bool
        False forces ``grad_req='null'``.
    stype, grad_stype : 'default'
        rmx stores arrays densely: ``'row_sparse'`` and ``'csr'`` raise ``SparseStorageError``.
    """

    def __init__(self, name, grad_req="write", shape=None, dtype=np.float32, lr_mult=1.0, wd_mult=1.0,
                 init=None, allow_deferred_init=False, differentiable=True, stype="default",
                 grad_stype="default"):
        self._var = None
        self._data = None
        self._grad = None
        self._ctx_list = None
        self._ctx_map = None
        self._trainer = None
        self._deferred_init = ()
        self._differentiable = differentiable
        self._allow_deferred_init = allow_deferred_init
        self._grad_req = None
        if isinstance(shape, int):
            shape = (shape,)
        self._shape = shape
        self.name = name
        self._dtype = dtype
        self.lr_mult = lr_mult
        self.wd_mult = wd_mult
        self.grad_req = grad_req
        self.init = init
        check_stype(f"gluon.Parameter({name!r})", stype, "stype")
        check_stype(f"gluon.Parameter({name!r})", grad_stype, "grad_stype")
        self._grad_stype = grad_stype
        self._stype = stype

    def __repr__(self):
        return "Parameter {name} (shape={shape}, dtype={dtype})".format(
            name=self.name, shape=self.shape, dtype=self.dtype)

    # --- attributes ---------------------------------------------------------------------------
    @property
    def grad_req(self):
        return self._grad_req

    @grad_req.setter
    def grad_req(self, req):
        assert req in ["write", "add", "null"], \
            "grad_req must be one of 'write', 'add', or 'null', but got '%s'" % req
        if not self._differentiable:
            req = "null"
        if self._grad_req == req:
            return
        self._grad_req = req
        if req == "null" and self._grad is not None:
            self._grad = None
            self._data = [i.detach() for i in self._data]
        elif self._data is not None:
            self._init_grad()

    @property
    def dtype(self):
        """The data type; setting it casts the data (``cast``)."""
        return self._dtype

    @dtype.setter
    def dtype(self, dtype):
        self.cast(dtype)

    @property
    def shape(self):
        """The shape; 0 marks a dimension not known yet."""
        return self._shape

    @shape.setter
    def shape(self, new_shape):
        if self._shape is None:
            self._shape = new_shape
            return
        assert len(self._shape) == len(new_shape) and \
            all(j in (0, i) for i, j in zip(new_shape, self._shape)), \
            "Expected shape %s is incompatible with given shape %s." % (str(new_shape), str(self._shape))
        self._shape = new_shape

    def _set_trainer(self, trainer):
        self._trainer = trainer

    # --- data access --------------------------------------------------------------------------
    def _check_and_get(self, arr_list, ctx):
        if arr_list is not None:
            if ctx is list:
                return arr_list
            if ctx is None:
                if len(arr_list) == 1:
                    return arr_list[0]
                ctx = current_context()
            idx = self._ctx_map.get(ctx)
            if idx is not None:
                return arr_list[idx]
            raise RuntimeError(
                "Parameter '%s' was not initialized on context %s. It was only initialized on %s."
                % (self.name, str(ctx), str(self._ctx_list)))
        if self._deferred_init:
            raise DeferredInitializationError(
                "Parameter '%s' has not been initialized yet because initialization was "
                "deferred. Actual initialization happens during the first forward pass. "
                "Please pass one batch of data through the network before accessing Parameters. "
                "You can also avoid deferred initialization by specifying in_units, "
                "num_features, etc., for network layers." % (self.name))
        raise RuntimeError(
            "Parameter '%s' has not been initialized. Note that you should initialize "
            "parameters and create Trainer with Block.collect_params() instead of Block.params "
            "because the later does not include Parameters of nested child Blocks" % (self.name))

    def data(self, ctx=None):
        """This parameter's array on ``ctx`` (the only one when there is one context)."""
        return self._check_and_get(self._data, ctx)

    def list_data(self):
        """The arrays on every context, in the order of ``list_ctx()``."""
        return self._check_and_get(self._data, list)

    def row_sparse_data(self, row_id):
        """MXNet: the rows ``row_id`` of a row-sparse parameter. rmx has no sparse storage: raises
        ``SparseStorageError`` (``data()`` is the whole dense array)."""
        raise storage_error(f"Parameter.row_sparse_data ({self.name!r})", "row_sparse")

    def list_row_sparse_data(self, row_id):
        """MXNet: ``row_sparse_data`` on every context. Raises ``SparseStorageError`` as it does."""
        raise storage_error(f"Parameter.list_row_sparse_data ({self.name!r})", "row_sparse")

    def grad(self, ctx=None):
        """The gradient buffer on ``ctx``."""
        if self._data is not None and self._grad is None:
            raise RuntimeError("Cannot get gradient array for Parameter '%s' because "
                               "grad_req='null'" % (self.name))
        return self._check_and_get(self._grad, ctx)

    def list_grad(self):
        """The gradient buffers on every context."""
        if self._data is not None and self._grad is None:
            raise RuntimeError("Cannot get gradient array for Parameter '%s' because "
                               "grad_req='null'" % (self.name))
        return self._check_and_get(self._grad, list)

    def list_ctx(self):
        """The contexts this parameter lives on (or will, once its initialization finishes)."""
        if self._data is None:
            if self._deferred_init:
                return self._deferred_init[1]
            raise RuntimeError("Parameter '%s' has not been initialized" % self.name)
        return self._ctx_list

    # --- initialization -----------------------------------------------------------------------
    def initialize(self, init=None, ctx=None, default_init=initializer.Uniform(), force_reinit=False):
        """Makes the data (and gradient) arrays on ``ctx`` (one context or a list; default the
        current one), filled by ``init``, else this parameter's ``init``, else
        ``default_init``. With an unknown shape and ``allow_deferred_init`` the work waits for
        the shape (``_finish_deferred_init``)."""
        if self._data is not None and not force_reinit:
            warnings.warn("Parameter '%s' is already initialized, ignoring. "
                          "Set force_reinit=True to re-initialize." % self.name, stacklevel=2)
            return
        self._data = self._grad = None
        if ctx is None:
            ctx = [current_context()]
        if isinstance(ctx, Context):
            ctx = [ctx]
        if init is None:
            init = default_init if self.init is None else self.init
        if not shape_is_known(self.shape):
            if self._allow_deferred_init:
                self._deferred_init = (init, ctx, default_init, None)
                return
            raise ValueError("Cannot initialize Parameter '%s' because it has invalid shape: %s."
                             % (self.name, str(self.shape)))
        self._deferred_init = (init, ctx, default_init, None)
        self._finish_deferred_init()

    def _finish_deferred_init(self):
        """Creates the arrays now that the shape is known (a no-op when nothing is pending)."""
        if not self._deferred_init:
            return
        init, ctx, default_init, data = self._deferred_init
        self._deferred_init = ()
        assert shape_is_known(self.shape), \
            "Cannot initialize Parameter '%s' because it has invalid shape: %s. Please specify " \
            "in_units, in_channels, etc for `Block`s." % (self.name, str(self.shape))
        with autograd.pause():
            if data is None:
                data = ndarray.zeros(shape=self.shape, dtype=self.dtype, ctx=cpu())
                initializer.create(default_init)(initializer.InitDesc(self.name, {"__init__": init}), data)
            self._init_impl(data, ctx)

    def _init_impl(self, data, ctx_list):
        """Copies ``data`` to every context and makes the gradient buffers."""
        self._ctx_list = list(ctx_list)
        self._ctx_map = {ctx: i for i, ctx in enumerate(self._ctx_list)}
        self._data = [data.copyto(ctx) for ctx in self._ctx_list]
        self._init_grad()

    def _init_grad(self):
        if self.grad_req == "null":
            self._grad = None
            return
        self._grad = [ndarray.zeros(shape=i.shape, dtype=i.dtype, ctx=i.context) for i in self._data]
        autograd.mark_variables(self._check_and_get(self._data, list), self._grad, self.grad_req)

    def _load_init(self, data, ctx, cast_dtype=False, dtype_source="current"):
        """(Re)initializes from loaded ``data`` (shape and dtype must agree, unless cast)."""
        if cast_dtype:
            assert dtype_source in ["current", "saved"]
        if self.shape:
            for self_dim, data_dim in zip(self.shape, data.shape):
                assert self_dim in (0, data_dim), \
                    "Failed loading Parameter '%s' from saved params: shape incompatible " \
                    "expected %s vs saved %s" % (self.name, str(self.shape), str(data.shape))
            self.shape = tuple(i if i != 0 else j for i, j in zip(self.shape, data.shape))
        if self.dtype:
            if cast_dtype and np.dtype(self.dtype).type != data.dtype:
                if dtype_source == "current":
                    data = data.astype(self.dtype, copy=False)
                elif dtype_source == "saved":
                    self.dtype = data.dtype
            else:
                assert np.dtype(self.dtype).type == data.dtype, \
                    "Failed loading Parameter '%s' from saved params: dtype incompatible " \
                    "expected %s vs saved %s. Set cast_dtype=True to cast the dtype of saved " \
                    "params." % (self.name, str(self.dtype), str(data.dtype))
        if isinstance(ctx, Context):
            ctx = [ctx]
        if self._data is None:
            if self._deferred_init:
                assert ctx is None or set(ctx) == set(self._deferred_init[1]), \
                    "Failed to load Parameter '%s' on %s because it was previous initialized " \
                    "on %s." % (self.name, str(ctx), str(self.list_ctx()))
                ctx = self._deferred_init[1]
            elif ctx is None:
                ctx = [cpu()]
            self._init_impl(data, ctx)
        else:
            assert ctx is None or set(ctx) == set(self.list_ctx()), \
                "Failed to load Parameter '%s' on %s because it was previous initialized on %s." \
                % (self.name, str(ctx), str(self.list_ctx()))
            self.set_data(data)
        self._deferred_init = ()

    def _reduce(self):
        """The value on the CPU (the mean of the copies when there are several)."""
        block = self.list_data()
        if len(block) > 1:
            return ndarray.add_n(*(w.copyto(cpu()) for w in block)) / len(block)
        return self.data().copyto(cpu())

    # --- changing the data --------------------------------------------------------------------
    def reset_ctx(self, ctx):
        """Moves the parameter to ``ctx`` (one context or a list)."""
        if ctx is None:
            ctx = [current_context()]
        if isinstance(ctx, Context):
            ctx = [ctx]
        if self._data:
            data = self._reduce()
            with autograd.pause():
                self._init_impl(data, ctx)
        elif self._deferred_init:
            init, _, default_init, data = self._deferred_init
            self._deferred_init = (init, ctx, default_init, data)
        else:
            raise ValueError("Cannot reset context for Parameter '%s' because it has not been "
                             "initialized." % self.name)

    def set_data(self, data):
        """Sets the value on every context (before a deferred initialization: its value)."""
        self.shape = data.shape
        if self._data is None:
            assert self._deferred_init, "Parameter '%s' has not been initialized" % self.name
            self._deferred_init = self._deferred_init[:3] + (data,)
            return
        trainer = self._trainer
        if trainer is not None and trainer._kv_initialized and trainer._update_on_kvstore:
            if self not in trainer._params_to_init:
                trainer._reset_kvstore()
        for arr in self._check_and_get(self._data, list):
            arr[:] = data

    def zero_grad(self):
        """Sets the gradient buffers to 0 (nothing to do without them)."""
        if self._grad is None:
            return
        for g in self._grad:
            ndarray.zeros_like(g, out=g)

    def var(self):
        """A ``mx.sym.Variable`` of this parameter (name, shape, dtype, lr/wd multipliers,
        initializer as attributes)."""
        if self._var is None:
            self._var = symbol.var(self.name, shape=self.shape, dtype=self.dtype, lr_mult=self.lr_mult,
                                   wd_mult=self.wd_mult, init=self.init, stype=self._stype)
        return self._var

    def cast(self, dtype):
        """Casts the data and gradients to ``dtype``."""
        self._dtype = dtype
        if self._data is None:
            return
        with autograd.pause():
            self._data = [i.astype(dtype) for i in self._data]
            if self._grad is None:
                return
            self._grad = [i.astype(dtype) for i in self._grad]
            autograd.mark_variables(self._data, self._grad, self.grad_req)


class Constant(Parameter):
    """A parameter that autograd and the Trainer leave alone (``grad_req`` is always 'null');
    ``set_data`` still changes it.

    >>> import rmx as mx
    >>> c = mx.gluon.Constant('const', [[1, 2], [3, 4]])
    >>> c.initialize()
    >>> c.data().asnumpy()
    array([[1., 2.],
           [3., 4.]], dtype=float32)
    """

    def __init__(self, name, value):
        if not isinstance(value, ndarray.NDArray):
            value = ndarray.array(value)
        self.value = value

        class Init(initializer.Initializer):
            def _init_weight(self, _, arr):
                value.copyto(arr)

        init_name = "Constant_{}_{}".format(name, id(self))
        initializer.alias(init_name)(Init)
        super(Constant, self).__init__(name, grad_req="null", shape=value.shape, dtype=value.dtype,
                                       init=init_name)

    def __repr__(self):
        return "Constant {name} (shape={shape}, dtype={dtype})".format(
            name=self.name, shape=self.shape, dtype=self.dtype)

    @property
    def grad_req(self):
        return "null"

    @grad_req.setter
    def grad_req(self, req):
        if req != "null":
            warnings.warn('Constant parameter "{}" does not support grad_req other than "null", '
                          'and new value "{}" is ignored.'.format(self.name, req))


from .parameter_dict import ParameterDict  # noqa: E402 (it builds on Parameter above)
