"""``mx.random`` and ``mx.nd.random``: sampling from rmx's one random stream, ordered through the
engine, so ``seed(n)`` fixes every later draw whatever the thread timing."""

from .. import _rmx
from ..base import InvalidArgumentError
from .ndarray import _shape, dtype_name, invoke

__all__ = ["seed", "uniform", "normal", "randn", "randint", "shuffle"]


def seed(seed_state, ctx="all"):
    """Reseeds the stream (for every device: rmx has one stream)."""
    if not isinstance(seed_state, int) or seed_state < 0:
        raise InvalidArgumentError(f"seed: expected a non-negative int, got {seed_state!r}")
    _rmx.random_seed(seed_state)


def _sample(op, params, shape, dtype, ctx, out):
    if out is not None:
        # MXNet fills ``out`` in its own dtype unless one is given.
        shape = out.shape
        dtype = out.dtype if dtype is None else dtype
    attrs = [(k, repr(float(v))) for k, v in params] + [("shape", str(_shape(shape if shape is not None else (1,))))]
    attrs.append(("dtype", dtype_name(dtype) if dtype is not None or op != "_random_randint" else "int32"))
    return invoke(op, [], attrs, out=out, ctx=ctx)[0]


def uniform(low=0, high=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    return _sample("_random_uniform", [("low", low), ("high", high)], shape, dtype, ctx, out)


def normal(loc=0, scale=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    return _sample("_random_normal", [("loc", loc), ("scale", scale)], shape, dtype, ctx, out)


def randn(*shape, loc=0, scale=1, dtype=None, ctx=None, **kwargs):
    return normal(loc, scale, shape or (1,), dtype, ctx)


def randint(low, high, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    if out is not None:
        shape, dtype = out.shape, out.dtype if dtype is None else dtype
    attrs = [("low", str(int(low))), ("high", str(int(high))), ("shape", str(_shape(shape if shape is not None else (1,)))), ("dtype", dtype_name(dtype) if dtype else "int32")]
    return invoke("_random_randint", [], attrs, out=out, ctx=ctx)[0]


def shuffle(data, **kwargs):
    """The rows (first axis) of ``data`` in random order."""
    return invoke("_shuffle", [data])[0]
