"""``mx.nd``: MXNet 1.x's imperative array API. The operator functions are generated from the Rust
registry at import (``register.py``); creation, indexing and file functions are written here."""

from . import legacy, random
from .ndarray import NDArray, arange, array, concatenate, empty, eye, from_dlpack, full, ones, to_dlpack_for_read, to_dlpack_for_write, waitall, zeros
from .register import attr_str, generate
from .utils import load, load_frombuffer, save

_ops = generate(globals())
legacy.install(globals(), _ops.__getitem__, symbolic=False)
from . import sparse  # noqa: E402 - after the operators: its hints name them


def cast_storage(data=None, stype=None, out=None, name=None, **kwargs):
    """MXNet's ``cast_storage``: ``stype='default'`` copies ``data`` (into ``out`` if given);
    ``'row_sparse'`` and ``'csr'`` raise ``SparseStorageError``, rmx storing arrays densely."""
    return sparse._cast_storage("mx.nd.cast_storage", data, stype, out)


import types as _types  # noqa: E402

contrib = _types.ModuleType(__name__ + ".contrib", "MXNet's contrib operators: ``_contrib_X`` as ``contrib.X``.")
linalg = _types.ModuleType(__name__ + ".linalg", "MXNet's linear algebra operators: ``_linalg_X`` as ``linalg.X``.")
for _n, _f in _ops.items():
    if _n.startswith("_contrib_"):
        setattr(contrib, _n[len("_contrib_"):], _f)
    if _n.startswith("_linalg_"):
        setattr(linalg, _n[len("_linalg_"):], _f)

# Methods MXNet's NDArray has that are operators: x.exp(), x.sum(axis=1), ...
_FLUENT = """abs sign round rint fix floor ceil trunc exp expm1 log log2 log10 log1p sqrt rsqrt cbrt rcbrt
square reciprocal sin cos tan arcsin arccos arctan sinh cosh tanh arcsinh arccosh arctanh degrees
radians sigmoid relu softmax log_softmax sum mean max min prod nansum nanprod norm argmax argmin clip
transpose swapaxes tile repeat split slice slice_axis take pick one_hot topk sort argsort zeros_like
ones_like broadcast_to broadcast_like broadcast_axes""".split()


def _fluent(fn):
    def method(self, *args, **kwargs):
        return fn(self, *args, **kwargs)

    method.__doc__ = fn.__doc__
    return method


for _name in _FLUENT:
    if not hasattr(NDArray, _name):
        setattr(NDArray, _name, _fluent(_ops[_name]))


def _pick_binary(lhs, rhs, same, bcast, scalar, rscalar):
    """MXNet's free arithmetic functions: NDArray with NDArray (broadcasting) or with a scalar."""
    from ..base import InvalidArgumentError
    from .ndarray import _binary, _reflected

    if isinstance(lhs, NDArray):
        return _binary(lhs, rhs, same, bcast, scalar)
    if isinstance(rhs, NDArray):
        return _reflected(rhs, lhs, rscalar, same, bcast)
    raise InvalidArgumentError(f"{same}: at least one operand must be an NDArray, got {type(lhs).__name__} and {type(rhs).__name__}")


def _free(name, same, bcast, scalar, rscalar):
    """``mx.nd.<name>(lhs, rhs)``: either operand may be a scalar; NDArrays broadcast."""

    def fn(lhs, rhs):
        return _pick_binary(lhs, rhs, same, bcast, scalar, rscalar)

    fn.__name__ = name
    fn.__doc__ = f"{name}(lhs, rhs): elementwise, with broadcasting or a scalar operand."
    return fn


add = _free("add", "elemwise_add", "broadcast_add", "_plus_scalar", "_plus_scalar")
subtract = _free("subtract", "elemwise_sub", "broadcast_sub", "_minus_scalar", "_rminus_scalar")
multiply = _free("multiply", "elemwise_mul", "broadcast_mul", "_mul_scalar", "_mul_scalar")
divide = true_divide = _free("divide", "elemwise_div", "broadcast_div", "_div_scalar", "_rdiv_scalar")
modulo = _free("modulo", "_mod", "broadcast_mod", "_mod_scalar", "_rmod_scalar")
power = _free("power", "_power", "broadcast_power", "_power_scalar", "_rpower_scalar")
maximum = _free("maximum", "_maximum", "broadcast_maximum", "_maximum_scalar", "_maximum_scalar")
minimum = _free("minimum", "_minimum", "broadcast_minimum", "_minimum_scalar", "_minimum_scalar")


def _comparison(name):
    flipped = {"greater": "lesser", "greater_equal": "lesser_equal", "lesser": "greater", "lesser_equal": "greater_equal"}

    def compare(lhs, rhs):
        if not isinstance(lhs, NDArray) and isinstance(rhs, NDArray):
            other = flipped.get(name, name)
            return _pick_binary(rhs, lhs, f"_{other}", f"broadcast_{other}", f"_{other}_scalar", f"_{other}_scalar")
        return _pick_binary(lhs, rhs, f"_{name}", f"broadcast_{name}", f"_{name}_scalar", f"_{name}_scalar")

    compare.__name__ = name
    return compare


equal = _comparison("equal")
not_equal = _comparison("not_equal")
greater = _comparison("greater")
greater_equal = _comparison("greater_equal")
lesser = _comparison("lesser")
lesser_equal = _comparison("lesser_equal")
logical_and = _comparison("logical_and")
logical_or = _comparison("logical_or")
logical_xor = _comparison("logical_xor")

# Legacy aliases MXNet 1.x still exports.
random_uniform = random.uniform
random_normal = random.normal
