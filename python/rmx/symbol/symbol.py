"""``mx.sym.Symbol``: a declarative graph. The graph itself lives in Rust (``SymbolHandle``):
composition, inference, JSON and binding happen there; this module adds MXNet's Python
conventions (automatic names, ``AttrScope``, hidden ``__key__`` attributes, arithmetic without
broadcasting) and the binding helpers ``simple_bind``/``bind``/``eval``."""

import numbers
import warnings

import numpy as np

from .. import _rmx
from ..attribute import AttrScope
from ..base import InvalidArgumentError, NotImplementedForSymbol
from ..context import current_context

__all__ = ["Symbol", "Variable", "var", "Group", "load", "load_json"]

# Attribute keys MXNet stores as ``__key__`` when given plainly.
HIDDEN_KEYS = ("ctx_group", "lr_mult", "wd_mult", "force_mirroring", "mirror_stage")


def hidden_key(k):
    return f"__{k}__" if k in HIDDEN_KEYS else k


def _with_plain_keys(pairs):
    out = dict(pairs)
    for k, v in pairs:
        if k.startswith("__") and k.endswith("__") and k[2:-2] in HIDDEN_KEYS:
            out[k[2:-2]] = v
    return out


def _attr_value(v):
    from ..ndarray.register import attr_str

    return attr_str(v)


class Symbol:
    """A symbolic graph with one or more outputs."""

    __slots__ = ("handle", "__weakref__")

    def __init__(self, handle):
        self.handle = handle

    # --- structure ------------------------------------------------------------------------
    @property
    def name(self):
        return self.handle.name()

    def list_arguments(self):
        return self.handle.list_arguments()

    def list_outputs(self):
        return self.handle.list_outputs()

    def list_auxiliary_states(self):
        return self.handle.list_auxiliary_states()

    def list_inputs(self):
        return self.handle.list_inputs()

    def __len__(self):
        return self.handle.num_outputs()

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __getitem__(self, index):
        if isinstance(index, str):
            names = self.list_outputs()
            matches = [i for i, n in enumerate(names) if n == index]
            if not matches:
                raise InvalidArgumentError(f"cannot find output that matches name {index!r}; outputs are {names}")
            if len(matches) > 1:
                raise InvalidArgumentError(f"there are multiple outputs with name {index!r}")
            index = matches[0]
        if isinstance(index, slice):
            return Group([self[i] for i in range(len(self))[index]])
        if not isinstance(index, numbers.Integral):
            raise TypeError(f"symbol index must be an int, a str or a slice, got {type(index).__name__}")
        if index < 0:
            index += len(self)
        return Symbol(self.handle.output(index))

    def get_internals(self):
        """Every intermediate output as one group (``internals['fc1_output']``)."""
        return Symbol(self.handle.internals())

    def get_children(self):
        """The inputs of this symbol's output node, or ``None`` for a variable."""
        h = self.handle.children()
        return None if h is None else Symbol(h)

    def __repr__(self):
        name = self.name
        if name is None:
            return "<Symbol group [" + ", ".join(s.name or "?" for s in self) + "]>"
        return f"<Symbol {name}>"

    def __bool__(self):
        raise NotImplementedForSymbol(self.__bool__, "bool")

    __nonzero__ = __bool__

    # --- attributes -----------------------------------------------------------------------
    def attr(self, key):
        """The attribute ``key`` of this symbol's node (``lr_mult`` also finds ``__lr_mult__``)."""
        attrs = dict(self.handle.attrs())
        if key in attrs:
            return attrs[key]
        return attrs.get(hidden_key(key)) if hidden_key(key) != key else attrs.get(f"__{key}__")

    def list_attr(self, recursive=False):
        """This node's attributes (``recursive``: every node's, keyed ``<node>$<key>``). Hidden
        keys show under both names (``__lr_mult__`` and ``lr_mult``), as MXNet lists them."""
        if recursive:
            warnings.warn("list_attr(recursive=True) is deprecated; use attr_dict()", DeprecationWarning, stacklevel=2)
            return {f"{n}${k}": v for n, kv in self.attr_dict().items() for k, v in kv.items()}
        return _with_plain_keys(self.handle.attrs())

    def attr_dict(self):
        """``{node name: {key: value}}`` for every node that has attributes."""
        return {n: _with_plain_keys(kv) for n, kv in self.handle.attr_dict()}

    def _set_attr(self, **kwargs):
        for k, v in kwargs.items():
            if not isinstance(v, str):
                raise ValueError("set_attr only accepts string values")
            self.handle.set_attr(hidden_key(k), v)

    # --- composition ----------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        """A copy with free variables replaced by other symbols, by position or name."""
        kwargs.pop("name", None)
        for s in list(args) + list(kwargs.values()):
            if not isinstance(s, Symbol):
                raise TypeError(f"compose only accepts Symbol inputs, got {type(s).__name__}")
        return Symbol(self.handle.compose([s.handle for s in args], [(k, s.handle) for k, s in kwargs.items()]))

    def __copy__(self):
        return Symbol(self.handle)

    def __deepcopy__(self, memo):
        return load_json(self.tojson())

    def __getstate__(self):
        return {"handle": self.tojson()}

    def __setstate__(self, state):
        self.handle = _rmx.SymbolHandle.from_json(state["handle"])

    # --- inference ------------------------------------------------------------------------
    def _known(self, args, kwargs, what):
        names = self.list_arguments()
        if args and kwargs:
            raise InvalidArgumentError(f"{what}: give shapes either by position or by name, not both")
        known = {}
        if args:
            if len(args) > len(names):
                raise InvalidArgumentError(f"{what}: {len(args)} positional values for {len(names)} arguments")
            known = {n: a for n, a in zip(names, args) if a is not None}
        for k, v in kwargs.items():
            if v is not None:
                known[k] = v
        inputs = set(self.list_inputs())
        for k in known:
            if k not in inputs:
                raise InvalidArgumentError(f"{what}: the symbol has no input named {k!r}; its inputs are {sorted(inputs)}")
        return known

    def _infer_shape(self, partial, args, kwargs):
        from ..ndarray.ndarray import _shape

        known = {k: _shape(v) for k, v in self._known(args, kwargs, "infer_shape").items()}
        for name, attrs in self.attr_dict().items():
            # A variable's ``__shape__`` with unknown (0) dimensions: the Rust pass drops it.
            if name not in known and "__shape__" in attrs and name in self.list_inputs():
                dims = _shape(attrs["__shape__"])
                if 0 in dims and any(dims):
                    known[name] = dims
        arg, out, aux = _infer_with_unknown_dims(self.handle, known)
        fix = lambda lst: [tuple(s) if s is not None else () for s in lst]  # noqa: E731
        if partial:
            return fix(arg), fix(out), fix(aux)
        if any(s is None or 0 in s for s in arg + out + aux):
            missing = [f"{n}: {s}" for n, s in zip(self.list_arguments(), fix(arg)) if not s or 0 in s]
            warnings.warn("Cannot decide shape for the following arguments (0s in shape means unknown dimensions). Consider providing them as input:\n\t" + "\n\t".join(missing), stacklevel=3)
            return None, None, None
        return fix(arg), fix(out), fix(aux)

    def infer_shape(self, *args, **kwargs):
        """``(arg_shapes, out_shapes, aux_shapes)`` from the given input shapes; ``(None, None,
        None)`` with a warning when they do not determine every shape."""
        return self._infer_shape(False, args, kwargs)

    def infer_shape_partial(self, *args, **kwargs):
        """As ``infer_shape``, with ``()`` for shapes that stay unknown."""
        return self._infer_shape(True, args, kwargs)

    def _infer_type(self, partial, args, kwargs):
        from ..ndarray.ndarray import dtype_name

        known = {k: dtype_name(v) for k, v in self._known(args, kwargs, "infer_type").items()}
        arg, out, aux = self.handle.infer_type(known)
        conv = lambda lst: [np.dtype(d).type if d is not None else None for d in lst]  # noqa: E731
        arg, out, aux = conv(arg), conv(out), conv(aux)
        if not partial and any(d is None for d in arg + out + aux):
            missing = [f"{n}: None" for n, d in zip(self.list_arguments(), arg) if d is None]
            warnings.warn("Cannot decide type for the following arguments. Consider providing them as input:\n\t" + "\n\t".join(missing), stacklevel=3)
            return None, None, None
        return arg, out, aux

    def infer_type(self, *args, **kwargs):
        """``(arg_types, out_types, aux_types)`` as NumPy types from the given input types."""
        return self._infer_type(False, args, kwargs)

    def infer_type_partial(self, *args, **kwargs):
        return self._infer_type(True, args, kwargs)

    # --- serialization --------------------------------------------------------------------
    def tojson(self, remove_amp_cast=True):
        """MXNet 1.x symbol JSON (the text MXNet 1.9.1 writes)."""
        return self.handle.tojson()

    def save(self, fname, remove_amp_cast=True):
        with open(fname, "w") as f:
            f.write(self.tojson())

    def debug_str(self):
        lines = ["Symbol Outputs:"]
        lines += [f"\toutput[{i}]={n}" for i, n in enumerate(self.list_outputs())]
        nodes = self.handle.nodes()
        for op, name, inputs, attrs in nodes:
            if op == "null":
                lines.append(f"Variable:{name}")
                continue
            lines.append("--------------------")
            lines.append(f"Op:{op}, Name={name}")
            lines.append("Inputs:")
            lines += [f"\targ[{i}]={nodes[n][1]}({k})" for i, (n, k) in enumerate(inputs)]
            if attrs:
                lines.append("Attrs:")
                lines += [f"\t{k}={v}" for k, v in attrs]
        return "\n".join(lines) + "\n"

    # --- binding --------------------------------------------------------------------------
    def simple_bind(self, ctx=None, grad_req="write", type_dict=None, stype_dict=None, group2ctx=None,
                    shared_arg_names=None, shared_exec=None, shared_buffer=None, **kwargs):
        """Allocates every argument, gradient and auxiliary array from the input shapes and binds.
        ``memory_strategy='none'|'inplace'|'coshare'|'both'`` (keyword, default from
        ``RMX_MEMORY_STRATEGY``, else ``both``) picks how internal buffers are shared.
        ``stype_dict`` values and variables' storage types other than ``'default'`` raise
        ``SparseStorageError`` (rmx stores arrays densely)."""
        from ..executor import simple_bind
        from ..ndarray.sparse import check_stype_attr, check_stype_dict

        check_stype_dict("Symbol.simple_bind", stype_dict)
        check_stype_attr("Symbol.simple_bind", self)

        strategy = kwargs.pop("memory_strategy", None)
        return simple_bind(self, ctx, grad_req, type_dict, shared_exec, kwargs, strategy)

    def bind(self, ctx, args, args_grad=None, grad_req="write", aux_states=None, group2ctx=None, shared_exec=None,
             memory_strategy=None):
        """Binds to given arrays (lists in ``list_arguments`` order, or dicts by name)."""
        from ..executor import bind

        return bind(self, ctx, args, args_grad, grad_req, aux_states, memory_strategy)

    def plan_memory(self, strategy=None, grad_req="write", type_dict=None, **shapes):
        """Plans the memory a bind with these input shapes would allocate, without allocating.

        Returns a dict of byte totals: ``internal_bytes`` (the planned buffers: everything but
        arguments, their gradients and aux states), ``unshared_bytes`` (the same entries with one
        buffer each, strategy ``none``), ``arg_bytes``, ``grad_bytes``, ``aux_bytes``, and the
        counts ``num_buffers``, ``num_entries``, ``forward_nodes``, ``backward_nodes``.
        ``grad_req='null'`` plans prediction (no backward graph).

        The ReLU below writes over its input's buffer (in place), so one 256-byte buffer serves
        both intermediate arrays:

        >>> import rmx as mx
        >>> net = mx.sym.Activation(mx.sym.var('data') * 2, act_type='relu')
        >>> p = net.plan_memory(strategy='both', grad_req='null', data=(4, 16))
        >>> p['internal_bytes'], p['unshared_bytes'], p['num_buffers']
        (256, 512, 1)
        """
        from ..executor import plan_memory

        return plan_memory(self, strategy, grad_req, type_dict, shapes)

    def eval(self, ctx=None, **kwargs):
        """Binds the given arrays, runs forward and returns the outputs."""
        ex = self.bind(ctx or current_context(), kwargs, grad_req="null")
        return ex.forward()

    # --- arithmetic (no implicit broadcasting, as in MXNet) -------------------------------
    def _binary(self, other, op, scalar_op):
        from . import _internal

        if isinstance(other, Symbol):
            return getattr(_internal, op)(self, other)
        if isinstance(other, numbers.Number):
            return getattr(_internal, scalar_op)(self, scalar=other)
        raise TypeError(f"type {type(other).__name__} not supported")

    def __add__(self, o):
        return self._binary(o, "_Plus", "_PlusScalar")

    __radd__ = __add__

    def __sub__(self, o):
        return self._binary(o, "_Minus", "_MinusScalar")

    def __rsub__(self, o):
        return self._binary(o, "_Minus", "_RMinusScalar")

    def __mul__(self, o):
        return self._binary(o, "_Mul", "_MulScalar")

    __rmul__ = __mul__

    def __truediv__(self, o):
        return self._binary(o, "_Div", "_DivScalar")

    def __rtruediv__(self, o):
        return self._binary(o, "_Div", "_RDivScalar")

    def __mod__(self, o):
        return self._binary(o, "_Mod", "_ModScalar")

    def __rmod__(self, o):
        return self._binary(o, "_Mod", "_RModScalar")

    def __pow__(self, o):
        return self._binary(o, "_Power", "_PowerScalar")

    def __rpow__(self, o):
        return self._binary(o, "_Power", "_RPowerScalar")

    def __neg__(self):
        return self.__mul__(-1.0)

    def __abs__(self):
        from . import abs as _abs

        return _abs(self)

    def __eq__(self, o):
        return self._binary(o, "_equal", "_EqualScalar")

    def __ne__(self, o):
        return self._binary(o, "_not_equal", "_NotEqualScalar")

    def __gt__(self, o):
        return self._binary(o, "_greater", "_GreaterScalar")

    def __ge__(self, o):
        return self._binary(o, "_greater_equal", "_GreaterEqualScalar")

    def __lt__(self, o):
        return self._binary(o, "_lesser", "_LesserScalar")

    def __le__(self, o):
        return self._binary(o, "_lesser_equal", "_LesserEqualScalar")

    __hash__ = object.__hash__


# Two stand-ins for unknown (0) dimensions, divisible by every small factor so that reshapes and
# strides accept them; a dimension the two inference runs agree on does not depend on them.
_UNKNOWN_DIM_STANDINS = (5040, 7560)


def _infer_with_unknown_dims(handle, known):
    """Shape inference through the Rust pass, which takes only whole shapes, with MXNet's legacy
    unknown dimensions: 0s in ``known`` are replaced by each stand-in in turn and every dimension
    the two runs disagree on comes back as 0. Where the stand-ins make inference fail (a fixed
    reshape target), the shapes with 0s count as unknown. ``None`` marks unknown shapes."""
    whole = {k: v for k, v in known.items() if 0 not in v}
    if len(whole) == len(known):
        (arg, out, aux), _ = handle.infer_shape(whole)
        return arg, out, aux
    runs = []
    try:
        for n in _UNKNOWN_DIM_STANDINS:
            (arg, out, aux), _ = handle.infer_shape({k: tuple(d or n for d in v) for k, v in known.items()})
            runs.append(arg + out + aux)
    except Exception:  # noqa: BLE001 (a stand-in's failure, not the graph's: see the doc)
        (arg, out, aux), _ = handle.infer_shape(whole)
        return arg, out, aux

    def merge(a, b):
        if a is None or b is None or len(a) != len(b):
            return None
        return tuple(x if x == y else 0 for x, y in zip(a, b))

    merged = [merge(a, b) for a, b in zip(*runs)]
    return merged[: len(arg)], merged[len(arg) : len(arg) + len(out)], merged[len(arg) + len(out) :]


def Variable(name, attr=None, shape=None, lr_mult=None, wd_mult=None, dtype=None, init=None, stype=None, **kwargs):
    """A free input of a graph: data, label, weight."""
    if not isinstance(name, str):
        raise TypeError("Expect a string for variable `name`")
    attrs = AttrScope.current.get(attr)
    if shape is not None:
        from ..ndarray.ndarray import _shape

        attrs["__shape__"] = _attr_value(_shape(shape))
    if lr_mult is not None:
        attrs["__lr_mult__"] = str(lr_mult)
    if wd_mult is not None:
        attrs["__wd_mult__"] = str(wd_mult)
    if dtype is not None:
        from ..ndarray.ndarray import dtype_name

        attrs["__dtype__"] = str(_DTYPE_FLAGS[dtype_name(dtype)])
    if init is not None:
        attrs["__init__"] = init if isinstance(init, str) else init.dumps()
    if stype is not None:
        from ..ndarray.sparse import STYPE_IDS, check_stype

        check_stype(f"mx.sym.var({name!r})", stype)
        attrs["__storage_type__"] = str(STYPE_IDS[stype])
    for k, v in kwargs.items():
        if k.startswith("__") and k.endswith("__"):
            attrs[k] = str(v)
        else:
            raise ValueError(f"Attribute name={k} is not supported. Additional attributes must start and end with double underscores, e.g, __yourattr__")
    attrs = {hidden_key(k): v for k, v in attrs.items()}
    return Symbol(_rmx.SymbolHandle.variable(name, list(attrs.items())))


var = Variable

_DTYPE_FLAGS = {"float32": 0, "float64": 1, "float16": 2, "uint8": 3, "int32": 4, "int8": 5, "int64": 6, "bool": 7}


def Group(symbols):
    """One symbol whose outputs are those of ``symbols``."""
    if not symbols or any(not isinstance(s, Symbol) for s in symbols):
        raise TypeError("Expected a list of symbols as input")
    return Symbol(_rmx.SymbolHandle.group([s.handle for s in symbols]))


def load_json(json_str):
    """A symbol from MXNet symbol JSON (any 1.x version, and the pre-NNVM layout)."""
    if not isinstance(json_str, str):
        raise TypeError("fname required to be string")
    return Symbol(_rmx.SymbolHandle.from_json(json_str))


def load(fname):
    """A symbol from a JSON file (``prefix-symbol.json``)."""
    if not isinstance(fname, str):
        raise TypeError("fname need to be string")
    with open(fname) as f:
        return load_json(f.read())
