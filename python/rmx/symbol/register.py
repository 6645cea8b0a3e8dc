"""Generates the ``mx.sym.*`` operator functions from the Rust registry, as ``mx.nd.*`` are:
inputs are Symbols (by position or by input name; missing ones become variables named
``<name>_<input>``), other arguments are parameters, plus ``name=`` and ``attr=``. The automatic
name is ``<called name, lower-cased><n>`` (``_PlusScalar`` gives ``_plusscalar0``), as MXNet's."""

from .. import _rmx
from ..attribute import AttrScope
from ..base import InvalidArgumentError
from ..name import NameManager
from ..ndarray.register import attr_str
from .symbol import HIDDEN_KEYS, Symbol, hidden_key


def _split_attrs(op_name, kwargs, attr):
    """Operator parameters and node attributes (hidden keys, ``__x__``, ``attr=``, AttrScope)."""
    node_attrs = AttrScope.current.get(attr)
    params = {}
    for k, v in kwargs.items():
        if k in HIDDEN_KEYS or (k.startswith("__") and k.endswith("__")):
            node_attrs[k] = str(v)
        else:
            params[k] = v
    node_attrs = {hidden_key(k): str(v) for k, v in node_attrs.items()}
    return params, node_attrs


def make_function(op_name, inputs, variadic, params):
    param_names = [p[0] for p in params]

    def op(*args, name=None, attr=None, **kwargs):
        sym_args, rest, sym_kwargs, skipped = [], [], [], False
        for i, a in enumerate(args):
            if rest or not (isinstance(a, Symbol) or (a is None and not variadic and i < len(inputs))):
                rest.append(a)
            elif a is None:
                # An absent input (MXNet's `Dense` passes bias=None with no_bias): later inputs
                # then go by name.
                skipped = True
            elif skipped:
                sym_kwargs.append((inputs[i], a.handle))
            else:
                sym_args.append(a)
        if any(isinstance(a, Symbol) for a in rest):
            raise InvalidArgumentError(f"{op_name}: symbol inputs must come before parameters")
        for k in list(kwargs):
            v = kwargs[k]
            if isinstance(v, Symbol):
                sym_kwargs.append((k, kwargs.pop(k).handle))
            elif v is None and not variadic and k in inputs:
                kwargs.pop(k)
        if len(rest) > len(param_names):
            raise InvalidArgumentError(f"{op_name}: too many positional arguments")
        for pname, v in zip(param_names, rest):
            if pname in kwargs:
                raise InvalidArgumentError(f"{op_name}: parameter '{pname}' given twice")
            kwargs[pname] = v
        op_params, node_attrs = _split_attrs(op_name, kwargs, attr)
        node_name = NameManager.current.get(name, op_name.lower())
        pairs = [(k, attr_str(v)) for k, v in op_params.items()] + list(node_attrs.items())
        return Symbol(_rmx.SymbolHandle.create(op_name, node_name, pairs, [s.handle for s in sym_args], sym_kwargs))

    return op


def generate(namespace, internal):
    """Adds a function per operator name and alias: public names to ``namespace``, all of them
    (``_Plus``, ``_backward_*`` ...) to ``internal``."""
    from ..ndarray.register import _doc

    for name, aliases, doc, inputs, variadic, params in _rmx.op_list():
        for n in [name, *aliases]:
            fn = make_function(n, inputs, variadic, params)
            fn.__name__ = n
            fn.__doc__ = _doc(name, doc, inputs, variadic, params).replace("NDArray", "Symbol")
            setattr(internal, n, fn)
            if not n.startswith("_"):
                namespace.setdefault(n, fn)
