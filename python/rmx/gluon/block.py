"""Gluon's blocks (``mx.gluon.Block``, ``HybridBlock``), as MXNet 1.9.1.

A :class:`Block` is a piece of a model: it owns parameters, registers the blocks assigned to its
attributes as children and runs ``forward`` when called. Names follow MXNet: a block made at
the top level gets ``<class name, lower-cased><n>_`` from the global name counter
(``dense0_``, ``hybridsequential0_``), one made inside a parent's ``name_scope()`` gets the
parent's prefix and a counter local to the parent (``model0_dense1_``). ``save_parameters``
writes the structural names (``features.0.weight``) in the NDArray file format, byte for byte
the file MXNet writes.

A :class:`HybridBlock` writes ``hybrid_forward(F, x, *args, **params)``, with ``F`` ``mx.nd``
(arrays) or ``mx.sym`` (symbols). Parameters whose shape is unknown are finished at the first
forward: the block is traced once with ``mx.sym`` and the shapes come from symbolic shape
inference, as in MXNet.

    >>> import rmx as mx
    >>> from rmx.gluon import nn
    >>> net = nn.HybridSequential(prefix='net_')
    >>> with net.name_scope():
    ...     net.add(nn.Dense(4, activation='relu'), nn.Dense(2))
    >>> net.initialize()
    >>> net(mx.nd.ones((3, 5))).shape
    (3, 2)
    >>> sorted(net.collect_params().keys())
    ['net_dense0_bias', 'net_dense0_weight', 'net_dense1_bias', 'net_dense1_weight']
    >>> sorted(net._collect_params_with_prefix().keys())
    ['0.bias', '0.weight', '1.bias', '1.weight']
"""

import re
import threading
import warnings
from collections import OrderedDict, defaultdict

from .. import initializer, name as _name, ndarray, symbol
from ..ndarray import NDArray
from ..symbol import Symbol
from .cached_graph import CachedGraph
from .parameter import DeferredInitializationError, Parameter, ParameterDict
from .utils import HookHandle, _brief_print_list, _indent

__all__ = ["Block", "HybridBlock"]


class _BlockScope(object):
    """The scope of a block's ``name_scope()``: names its children and their parameters."""

    _current = threading.local()

    def __init__(self, block):
        self._block = block
        self._counter = {}
        self._old_scope = None
        self._name_scope = None

    @staticmethod
    def create(prefix, params, hint):
        """The prefix and ParameterDict of a new block (``hint``: its alias)."""
        current = getattr(_BlockScope._current, "value", None)
        if current is None:
            if prefix is None:
                prefix = _name.NameManager.current.get(None, hint) + "_"
            if params is None:
                params = ParameterDict(prefix)
            else:
                params = ParameterDict(params.prefix, params)
            return prefix, params
        if prefix is None:
            count = current._counter.get(hint, 0)
            prefix = "%s%d_" % (hint, count)
            current._counter[hint] = count + 1
        if params is None:
            parent = current._block.params
            params = ParameterDict(parent.prefix + prefix, parent._shared)
        else:
            params = ParameterDict(params.prefix, params)
        return current._block.prefix + prefix, params

    def __enter__(self):
        if self._block._empty_prefix:
            return self
        self._old_scope = getattr(_BlockScope._current, "value", None)
        _BlockScope._current.value = self
        self._name_scope = _name.Prefix(self._block.prefix)
        self._name_scope.__enter__()
        return self

    def __exit__(self, ptype, value, trace):
        if self._block._empty_prefix:
            return
        self._name_scope.__exit__(ptype, value, trace)
        self._name_scope = None
        _BlockScope._current.value = self._old_scope


def _gather_type_ctx_info(args):
    """``(has_symbol, has_ndarray, set of contexts, first context)`` of nested ``args``."""
    if isinstance(args, NDArray):
        return False, True, {args.context}, args.context
    if isinstance(args, Symbol):
        return True, False, set(), None
    if isinstance(args, (list, tuple)):
        has_symbol = has_ndarray = False
        ctx_set, first_ctx = set(), None
        for ele in args:
            s, n, c, f = _gather_type_ctx_info(ele)
            has_symbol, has_ndarray = has_symbol or s, has_ndarray or n
            if first_ctx is None and f is not None:
                first_ctx = f
            ctx_set |= c
            if has_symbol and has_ndarray:
                break
        return has_symbol, has_ndarray, ctx_set, first_ctx
    return False, False, set(), None


def _flatten(args, inout_str):
    """Flattens nested ``args`` into a list and a format to rebuild them (``_regroup``)."""
    if isinstance(args, NDArray):
        return [args], 0
    if isinstance(args, Symbol):
        length = len(args.list_outputs())
        return [args], (length if length > 1 else 0)
    if args is None:
        return [None], -1
    if not isinstance(args, (list, tuple)):
        raise ValueError("When hybridized, the input of HybridBlock {} must be (nested) list of "
                         "Symbol or NDArray, but got {} of type {}".format(inout_str, str(args), str(type(args))))
    flat, fmts = [], []
    for i in args:
        arg, fmt = _flatten(i, inout_str)
        flat.extend(arg)
        fmts.append(fmt)
    return flat, fmts


def _regroup(args, fmt):
    """Rebuilds the nested structure ``_flatten`` recorded in ``fmt``."""
    def _merger(args, fmt):
        if isinstance(fmt, int):
            if fmt < -1:
                raise ValueError("Unsupported encoded format {}.".format(fmt))
            if fmt == 0:
                return args[0], args[1:]
            if fmt == -1:
                return None, args[1:]
            return args[:fmt], args[fmt:]
        ret = []
        for i in fmt:
            res, args = _merger(args, i)
            ret.append(res)
        return ret, args
    return _merger(args, fmt)[0]


class Block(object):
    """The base class of layers and models: subclass it and write ``forward``.

    Parameters
    ----------
    prefix : str
        Prefix of the names of this block's parameters and children (automatic when None).
    params : ParameterDict or None
        Parameters to share (e.g. ``params=dense0.collect_params()``).
    """

    def __init__(self, prefix=None, params=None):
        self._empty_prefix = prefix == ""
        self._prefix, self._params = _BlockScope.create(prefix, params, self._alias())
        self._name = self._prefix[:-1] if self._prefix.endswith("_") else self._prefix
        self._scope = _BlockScope(self)
        self._children = OrderedDict()
        self._reg_params = {}
        self._forward_hooks = OrderedDict()
        self._forward_pre_hooks = OrderedDict()

    def __repr__(self):
        modstr = "\n".join(["  ({key}): {block}".format(key=key, block=_indent(block.__repr__(), 2))
                            for key, block in self.__dict__.items() if isinstance(block, Block)])
        return "{name}(\n{modstr}\n)".format(name=self.__class__.__name__, modstr=modstr)

    def __setattr__(self, name, value):
        """Registers child blocks and parameters assigned as attributes."""
        if hasattr(self, name):
            existing = getattr(self, name)
            if isinstance(existing, (Parameter, Block)) and not isinstance(value, type(existing)):
                raise TypeError("Changing attribute type for {name} from {type1} to {type2}"
                                "is not allowed.".format(name=name, type1=type(existing), type2=type(value)))
        if isinstance(value, Block):
            self.register_child(value, name)
        elif isinstance(value, Parameter):
            assert name not in self._reg_params, \
                "Overriding Parameter attribute %s is not allowed. If you want to share " \
                "parameters between blocks, please set 'params' at Block construction instead."
            self._reg_params[name] = value
        super(Block, self).__setattr__(name, value)

    def _check_container_with_block(self):
        children = set(self._children.values())

        def _unregistered(data):
            if isinstance(data, (list, tuple)):
                return any(_unregistered(e) for e in data)
            if isinstance(data, dict):
                return any(_unregistered(v) for v in data.values())
            if isinstance(data, Block):
                return data not in children
            return False

        for k, v in self.__dict__.items():
            if isinstance(v, (list, tuple, dict)) and not (k.startswith("__") or k == "_children"):
                if _unregistered(v):
                    warnings.warn('"{name}" is an unregistered container with Blocks. Note that Blocks '
                                  'inside the list, tuple or dict will not be registered automatically. '
                                  'Make sure to register them using register_child() or switching to '
                                  'nn.Sequential/nn.HybridSequential instead. '
                                  .format(name=self.__class__.__name__ + "." + k), stacklevel=3)

    def _alias(self):
        return self.__class__.__name__.lower()

    @property
    def prefix(self):
        """Prefix of this block's names."""
        return self._prefix

    @property
    def name(self):
        """The prefix without its trailing '_'."""
        return self._name

    def name_scope(self):
        """A ``with`` scope in which new blocks (and symbols) get this block's prefix."""
        return self._scope

    @property
    def params(self):
        """This block's own ParameterDict (not its children's)."""
        return self._params

    def collect_params(self, select=None):
        """A ParameterDict of this block's and its descendants' parameters; ``select`` is a
        regular expression the names must match (``'.*weight|.*bias'``)."""
        self._check_container_with_block()
        ret = ParameterDict(self._params.prefix)
        if not select:
            ret.update(self.params)
        else:
            pattern = re.compile(select)
            ret.update({name: value for name, value in self.params.items() if pattern.match(name)})
        for cld in self._children.values():
            ret.update(cld.collect_params(select=select))
        return ret

    def _collect_params_with_prefix(self, prefix=""):
        """Parameters by structural name: attribute names joined by '.' (``features.0.weight``)."""
        if prefix:
            prefix += "."
        ret = {prefix + key: val for key, val in self._reg_params.items()}
        for name, child in self._children.items():
            ret.update(child._collect_params_with_prefix(prefix + name))
        return ret

    def save_parameters(self, filename, deduplicate=False):
        """Writes the parameters by structural name in the NDArray file format (``deduplicate``:
        a shared parameter once)."""
        params = self._collect_params_with_prefix()
        if deduplicate:
            reverse_params = {v: k for k, v in params.items()}
            params = {v: k for k, v in reverse_params.items()}
        arg_dict = {key: val._reduce() for key, val in params.items()}
        ndarray.save(filename, arg_dict)

    def load_parameters(self, filename, ctx=None, allow_missing=False, ignore_extra=False,
                        cast_dtype=False, dtype_source="current"):
        """Loads a file of ``save_parameters`` (or, for names without '.', of the older
        ``ParameterDict.save`` with this block's prefix stripped)."""
        loaded = ndarray.load(filename)
        params = self._collect_params_with_prefix()
        if not loaded and not params:
            return
        if not any("." in i for i in loaded.keys()):
            del loaded
            self.collect_params().load(filename, ctx, allow_missing, ignore_extra, self.prefix,
                                       cast_dtype=cast_dtype, dtype_source=dtype_source)
            return
        if not allow_missing:
            params_inv = defaultdict(list)
            for k, v in params.items():
                params_inv[v].append(k)
            for name, param in params.items():
                assert any(p in loaded for p in params_inv[param]), \
                    "Parameter '%s' is missing in file '%s', which contains parameters: %s. " \
                    "Set allow_missing=True to ignore missing parameters." % (
                        name, filename, _brief_print_list(loaded.keys()))
        for name in loaded:
            if not ignore_extra and name not in params:
                raise ValueError(
                    "Parameter '%s' loaded from file '%s' is not present in ParameterDict, which "
                    "contains parameters %s. Set ignore_extra=True to ignore. " % (
                        name, filename, _brief_print_list(self._params.keys())))
            if name in params:
                params[name]._load_init(loaded[name], ctx, cast_dtype=cast_dtype, dtype_source=dtype_source)

    def save_params(self, filename):
        """Deprecated: ``collect_params().save`` with this block's prefix stripped."""
        warnings.warn("save_params is deprecated. Please use save_parameters.")
        self.collect_params().save(filename, strip_prefix=self.prefix)

    def load_params(self, filename, ctx=None, allow_missing=False, ignore_extra=False):
        """Deprecated: ``load_parameters``."""
        warnings.warn("load_params is deprecated. Please use load_parameters.")
        self.load_parameters(filename, ctx, allow_missing, ignore_extra)

    def register_child(self, block, name=None):
        """Registers ``block`` as a child (named by position when ``name`` is None)."""
        if name is None:
            name = str(len(self._children))
        self._children[name] = block

    def register_forward_pre_hook(self, hook):
        """Calls ``hook(block, inputs)`` before each ``forward``; returns its HookHandle."""
        handle = HookHandle()
        handle.attach(self._forward_pre_hooks, hook)
        return handle

    def register_forward_hook(self, hook):
        """Calls ``hook(block, inputs, outputs)`` after each ``forward``; returns its HookHandle."""
        handle = HookHandle()
        handle.attach(self._forward_hooks, hook)
        return handle

    def apply(self, fn):
        """Calls ``fn(block)`` on every descendant, then on this block; returns this block."""
        for cld in self._children.values():
            cld.apply(fn)
        fn(self)
        return self

    def initialize(self, init=initializer.Uniform(), ctx=None, verbose=False, force_reinit=False):
        """``collect_params().initialize(...)``."""
        self.collect_params().initialize(init, ctx, verbose, force_reinit)

    def hybridize(self, active=True, **kwargs):
        """Hybridizes the HybridBlock children (see ``HybridBlock.hybridize``)."""
        for cld in self._children.values():
            cld.hybridize(active, **kwargs)

    def cast(self, dtype):
        """Casts every parameter to ``dtype``."""
        for child in self._children.values():
            child.cast(dtype)
        for _, param in self.params.items():
            param.cast(dtype)

    def __call__(self, *args):
        """Runs the pre-hooks, ``forward`` and the hooks."""
        for hook in self._forward_pre_hooks.values():
            hook(self, args)
        out = self.forward(*args)
        for hook in self._forward_hooks.values():
            hook(self, args, out)
        return out

    def forward(self, *args):
        """The computation, on NDArrays: override it."""
        raise NotImplementedError

    def register_op_hook(self, callback, monitor_all=False):
        """Not available: operator callbacks need a cached graph, which rmx does not build yet."""
        raise NotImplementedError("register_op_hook needs hybridize's cached graph, which rmx "
                                  "does not build yet")

    def summary(self, *inputs):
        """Prints a table of each layer's output shape and parameter count for ``inputs``."""
        from .summary import print_summary
        print_summary(self, inputs)


class HybridBlock(Block):
    """A block that runs on NDArrays and on Symbols: write ``hybrid_forward(F, x, *args,
    **params)``, where ``F`` is ``mx.nd`` or ``mx.sym`` and the block's parameters come as
    keyword arguments (NDArrays on ``x``'s context, or their variables).

    ``hybridize()`` makes the next call trace ``hybrid_forward`` with ``mx.sym`` and run the
    graph through the executor from then on (bound once per input signature, with the memory
    planner), as MXNet's cached graph does; while recording, the whole graph is one node of the
    autograd tape, its backward the executor's backward pass.
    """

    def __init__(self, prefix=None, params=None):
        super(HybridBlock, self).__init__(prefix=prefix, params=params)
        self._cached_graph = ()
        self._cached_op = None
        self._graph_error = None
        self._out_format = None
        self._in_format = None
        self._active = False
        self._flags = []
        self._backend = None
        self._backend_opts = {}

    def __setattr__(self, name, value):
        super(HybridBlock, self).__setattr__(name, value)
        if isinstance(value, HybridBlock):
            self._clear_cached_op()

    def _get_graph(self, *args):
        """Traces ``hybrid_forward`` with ``mx.sym``: ``(input variables, output symbol)``."""
        if not self._cached_graph:
            flatten_args, self._in_format = _flatten(args, "input")
            flatten_inputs, symbol_inputs = [], []
            real_arg_num = sum([ele is not None for ele in flatten_args])
            if real_arg_num == 0:
                raise ValueError("All args are None and we do not support such a case. "
                                 "Received args={}".format(args))
            cnt = 0
            for arg in flatten_args:
                if arg is not None:
                    arg_sym = symbol.var("data{}".format(cnt) if real_arg_num > 1 else "data")
                    cnt += 1
                    flatten_inputs.append(arg_sym)
                    symbol_inputs.append(arg_sym)
                else:
                    flatten_inputs.append(None)
            grouped_inputs = _regroup(flatten_inputs, self._in_format)
            params = {i: j.var() for i, j in self._reg_params.items()}
            with self.name_scope():
                out = self.hybrid_forward(symbol, *grouped_inputs, **params)
            out, self._out_format = _flatten(out, "output")
            self._cached_graph = symbol_inputs, (symbol.Group(out) if len(out) > 1 else out[0])
        return self._cached_graph

    def _clear_cached_op(self):
        self._cached_graph = ()
        self._cached_op = None
        self._graph_error = None

    def register_child(self, block, name=None):
        if not isinstance(block, HybridBlock):
            raise ValueError(
                "Children of HybridBlock must also be HybridBlock, but %s has type %s. If you are "
                "using Sequential, please try HybridSequential instead." % (str(block), str(type(block))))
        super(HybridBlock, self).register_child(block, name)
        self._clear_cached_op()

    def hybridize(self, active=True, backend=None, clear=True, static_alloc=False, static_shape=False,
                  inline_limit=2, forward_bulk_size=None, backward_bulk_size=None, **kwargs):
        """Marks this block and its descendants hybridized (see the class doc); the flags are
        recorded (``static_alloc``/``static_shape``: the executor always keeps its buffers)."""
        if len(kwargs) > 0:
            self._backend_opts = kwargs
        self._backend = backend
        self._active = active
        self._flags = [("static_alloc", static_alloc), ("static_shape", static_shape),
                       ("inline_limit", inline_limit)]
        if forward_bulk_size is not None:
            self._flags.append(("forward_bulk_size", forward_bulk_size))
        if backward_bulk_size is not None:
            self._flags.append(("backward_bulk_size", backward_bulk_size))
        if clear:
            self._clear_cached_op()
        if active and self._forward_hooks or self._forward_pre_hooks:
            warnings.warn('"{block}" is being hybridized while still having forward hook/pre-hook. '
                          'If "{block}" is a child of HybridBlock, the hooks will not take effect.'
                          .format(block=self))
        super(HybridBlock, self).hybridize(active, static_alloc=static_alloc, static_shape=static_shape,
                                           inline_limit=inline_limit, forward_bulk_size=forward_bulk_size,
                                           backward_bulk_size=backward_bulk_size)

    def optimize_for(self, x, *args, backend=None, **kwargs):
        """Not available: rmx has no subgraph backends."""
        raise NotImplementedError("optimize_for needs subgraph backends, which rmx does not have")

    def cast(self, dtype):
        self._clear_cached_op()
        super(HybridBlock, self).cast(dtype)

    def _infer_attrs(self, infer_fn, attr, *args):
        """Sets ``attr`` ('shape' or 'dtype') of the parameters from the inputs' by symbolic
        inference over the traced graph (unknown results are left as they are)."""
        inputs, out = self._get_graph(*args)
        args, _ = _flatten(args, "input")
        args_without_none = [ele for ele in args if ele is not None]
        known = {i.name: getattr(j, attr) for i, j in zip(inputs, args_without_none)}
        arg_attrs, _, aux_attrs = getattr(out, infer_fn)(**known)
        sdict = dict(zip(out.list_arguments(), arg_attrs))
        sdict.update(zip(out.list_auxiliary_states(), aux_attrs))
        for param in self.collect_params().values():
            value = sdict.get(param.name)
            if value is not None and value != ():
                setattr(param, attr, tuple(value) if attr == "shape" else value)

    def infer_shape(self, *args):
        """Infers the parameters' shapes from the inputs."""
        self._infer_attrs("infer_shape_partial", "shape", *args)

    def infer_type(self, *args):
        """Infers the parameters' dtypes from the inputs."""
        self._infer_attrs("infer_type_partial", "dtype", *args)

    def _deferred_infer_shape(self, *args):
        try:
            self.infer_shape(*args)
        except Exception as e:
            raise ValueError("Deferred initialization failed because shape cannot be inferred. {}".format(e))

    def export(self, path, epoch=0, remove_amp_cast=True):
        """Writes ``path-symbol.json`` and ``path-%04d.params`` (``arg:``/``aux:`` names), the
        files ``SymbolBlock.imports``, ``Module`` and MXNet load. Needs a hybridized block that
        has run forward once."""
        if not self._cached_graph:
            if self._graph_error is not None:
                raise RuntimeError("export: tracing hybrid_forward with mx.sym failed: %s" % self._graph_error)
            raise RuntimeError("Please first call block.hybridize() and then run forward with this "
                               "block at least once before calling export.")
        sym = self._cached_graph[1]
        sym.save("%s-symbol.json" % path, remove_amp_cast=remove_amp_cast)
        arg_names = set(sym.list_arguments())
        aux_names = set(sym.list_auxiliary_states())
        data_names = {s.name for s in self._cached_graph[0]}
        params = self.collect_params()
        arg_dict = {}
        # The graph's input order, as MXNet's cached op lists its parameters.
        for name in sym.list_inputs():
            if name in data_names or name not in params:
                continue
            prefix = "arg" if name in arg_names else "aux"
            arg_dict["%s:%s" % (prefix, name)] = params[name]._reduce()
        for name in params.keys():
            if name not in arg_names and name not in aux_names:
                warnings.warn('Parameter "{name}" is not used by the graph. '.format(name=name), stacklevel=2)
        ndarray.save("%s-%04d.params" % (path, epoch), arg_dict)

    def forward(self, x, *args):
        """Calls ``hybrid_forward`` with ``mx.nd`` and the parameters' arrays on ``x``'s context
        (finishing deferred initialization first), or with ``mx.sym`` and their variables."""
        has_symbol, has_ndarray, ctx_set, first_ctx = _gather_type_ctx_info([x] + list(args))
        if has_symbol and has_ndarray:
            raise ValueError("In HybridBlock, we do not support mixed NDArrays and Symbols types for "
                             "the input. Please check the type of the args.\n")
        if not has_symbol and not has_ndarray:
            raise ValueError("In HybridBlock, there must be one NDArray or one Symbol in the input. "
                             "Please check the type of the args.\n")
        if has_ndarray:
            ctx = first_ctx
            if self._active:
                if len(ctx_set) > 1:
                    raise ValueError("Find multiple contexts in the input, After hybridized, the "
                                     "HybridBlock only supports one input context. Find all "
                                     "contexts = {}".format(ctx_set))
                if not self._cached_graph and self._graph_error is None:
                    try:
                        self._get_graph(x, *args)
                    except Exception as e:  # the imperative run below does not need the graph
                        self._graph_error = e
            with ctx:
                try:
                    params = {k: v.data(ctx) for k, v in self._reg_params.items()}
                except DeferredInitializationError:
                    self._deferred_infer_shape(x, *args)
                    for _, v in self.params.items():
                        v._finish_deferred_init()
                    params = {k: v.data(ctx) for k, v in self._reg_params.items()}
                if self._active and self._cached_graph:
                    return self._call_cached_graph(ctx, x, *args)
                return self.hybrid_forward(ndarray, x, *args, **params)
        params = {i: j.var() for i, j in self._reg_params.items()}
        with self.name_scope():
            return self.hybrid_forward(symbol, x, *args, **params)

    def _call_cached_graph(self, ctx, *args):
        """The hybridized call, through the bound graph (see ``cached_graph.py``)."""
        flat = [a for a in _flatten(args, "input")[0] if a is not None]
        if self._cached_op is None:
            inputs, out = self._cached_graph

            def finish_deferred_init():
                self._deferred_infer_shape(*_regroup(flat, self._in_format))

            self._cached_op = CachedGraph(inputs, out, self.collect_params(), finish_deferred_init)
        return _regroup(self._cached_op(ctx, flat), self._out_format)

    def hybrid_forward(self, F, x, *args, **kwargs):
        """The computation with ``F`` (``mx.nd`` or ``mx.sym``): override it."""
        raise NotImplementedError
