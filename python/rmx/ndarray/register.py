"""Generates the ``mx.nd.*`` operator functions from the Rust registry (``_rmx.op_list()``), with
MXNet's calling convention: array inputs first (positionally or by input name), then parameters
(positionally in declared order, or by keyword), plus ``out=`` and ``name=``. Parameters cross
into Rust as MXNet's strings (``(2, 3)``, ``True``), the same form Symbol JSON stores.
"""

import numbers

import numpy as np

from .. import _rmx
from ..base import InvalidArgumentError
from .ndarray import NDArray, invoke, invoke_handles


def attr_str(v):
    """MXNet's string form of a parameter value."""
    # The exact built-in types first: every operator call converts its parameters, and the
    # checks against `numbers`' abstract classes below cost several times more (a fused
    # optimizer update's learning-rate tuples were 40% of its Python time).
    t = type(v)
    if t is str:
        return v
    if t is float:
        return repr(v)
    if t is int:
        return str(v)
    if t is tuple or t is list:
        return _seq_str(v)
    return _attr_str_general(v)


def _seq_str(v):
    return "(" + ", ".join([attr_str(x) for x in v]) + ("," if len(v) == 1 else "") + ")"


def _attr_str_general(v):
    if isinstance(v, str):
        return v
    if v is None:
        return "None"
    if isinstance(v, (bool, np.bool_)):
        return "True" if v else "False"
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if isinstance(v, (list, tuple)):
        return _seq_str(v)
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        return repr(float(v))
    if isinstance(v, type) or isinstance(v, np.dtype):
        return np.dtype(v).name
    return str(v)


def _doc(name, doc, inputs, variadic, params):
    lines = [doc, "", "Parameters", "----------"]
    for i in inputs:
        lines.append(f"{i} : NDArray{' (any number)' if variadic else ''}")
    for pname, ty, default, pdoc in params:
        lines.append(f"{pname} : {ty}, {'required' if default == '' else 'default ' + default}")
        lines.append(f"    {pdoc}")
    lines += ["out : NDArray, optional", "    where to write the result", "", f"Registered operator ``{name}``."]
    return "\n".join(lines)


def make_function(name, inputs, variadic, params):
    """The Python function for operator ``name``."""
    param_names = [p[0] for p in params]

    def op(*args, out=None, name=None, ctx=None, **kwargs):
        rest = list(args)
        arrays = []
        if variadic:
            arrays = [a for a in rest if isinstance(a, NDArray)]
            rest = [a for a in rest if not isinstance(a, NDArray)]
            if "num_args" in param_names:
                kwargs.setdefault("num_args", len(arrays))
        else:
            # Trailing inputs may be absent where the parameters drop them (`no_bias=True`); the
            # operator checks the count against its parameters. A gap before a given input is
            # an error here.
            missing = None
            for input_name in inputs:
                if rest and rest[0] is None:
                    # An absent input given as None (MXNet's `Dense` passes bias=None).
                    rest.pop(0)
                    missing = missing or input_name
                    continue
                if rest and isinstance(rest[0], NDArray):
                    arr = rest.pop(0)
                elif isinstance(kwargs.get(input_name), NDArray):
                    arr = kwargs.pop(input_name)
                elif input_name in kwargs and kwargs[input_name] is not None:
                    raise InvalidArgumentError(f"{op_name}: input '{input_name}' must be an NDArray, got {type(kwargs[input_name]).__name__}")
                else:
                    kwargs.pop(input_name, None)
                    missing = missing or input_name
                    continue
                if missing is not None:
                    raise InvalidArgumentError(f"{op_name}: missing input '{missing}'")
                arrays.append(arr)
        if len(rest) > len(param_names):
            raise InvalidArgumentError(f"{op_name}: too many positional arguments")
        for pname, v in zip(param_names, rest):
            if pname in kwargs:
                raise InvalidArgumentError(f"{op_name}: parameter '{pname}' given twice")
            kwargs[pname] = v
        attrs = [(k, attr_str(v)) for k, v in kwargs.items()]
        if out is not None:
            # The results are `out` itself: nothing to wrap, and no second look at the
            # operator for its visible outputs (a fused optimizer update passes out= each step).
            invoke_handles(op_name, arrays, attrs, out=out, ctx=ctx)
            return out
        outs = invoke(op_name, arrays, attrs, ctx=ctx, visible_only=True)
        return outs[0] if len(outs) == 1 else outs

    op_name = name
    return op


def generate(namespace):
    """Adds a function per operator name and alias to ``namespace`` (a dict); returns them."""
    made = {}
    for name, aliases, doc, inputs, variadic, params in _rmx.op_list():
        fn = make_function(name, inputs, variadic, params)
        fn.__doc__ = _doc(name, doc, inputs, variadic, params)
        for n in [name, *aliases]:
            made[n] = fn
    for n, fn in made.items():
        # Functions written by hand in the package (zeros, ones, ...) take precedence.
        namespace.setdefault(n, fn)
    return made
