"""``mx.random`` and ``mx.nd.random``: sampling from rmx's one random stream, ordered through the
engine, so ``seed(n)`` fixes every later draw whatever the thread timing."""

from .. import _rmx
from ..base import InvalidArgumentError
from .ndarray import _shape, dtype_name, invoke

__all__ = ["seed", "uniform", "normal", "randn", "randint", "shuffle", "gamma", "exponential", "poisson", "negative_binomial",
           "generalized_negative_binomial", "multinomial", "uniform_like", "normal_like", "gamma_like", "exponential_like",
           "poisson_like", "negative_binomial_like", "generalized_negative_binomial_like"]


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


# Each distribution: its parameters as ``_random_X`` names them, and as ``_sample_X``'s inputs.
_DISTS = {
    "uniform": (("low", "high"), ("low", "high")),
    "normal": (("loc", "scale"), ("mu", "sigma")),
    "gamma": (("alpha", "beta"), ("alpha", "beta")),
    "exponential": (("lam",), ("lam",)),
    "poisson": (("lam",), ("lam",)),
    "negative_binomial": (("k", "p"), ("k", "p")),
    "generalized_negative_binomial": (("mu", "alpha"), ("mu", "alpha")),
}


def _draw(dist, values, shape, dtype, ctx, out):
    """Scalar parameters: ``_random_<dist>``; array parameters: ``_sample_<dist>``, ``shape``
    draws per element."""
    from .ndarray import NDArray

    names, _ = _DISTS[dist]
    if any(isinstance(v, NDArray) for v in values):
        if not all(isinstance(v, NDArray) for v in values):
            raise InvalidArgumentError(f"random.{dist}: parameters must be all NDArrays or all numbers")
        attrs = [("shape", str(_shape(shape))) if shape is not None else ("shape", "()")]
        if dtype is not None:
            attrs.append(("dtype", dtype_name(dtype)))
        return invoke(f"_sample_{dist}", list(values), attrs, out=out)[0]
    if dist in ("uniform", "normal"):
        return _sample(f"_random_{dist}", list(zip(names, values)), shape, dtype, ctx, out)
    return _sample(f"_random_{dist}", list(zip(names, values)), shape, dtype, ctx, out)


def uniform(low=0, high=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Draws from [low, high); NDArray bounds draw ``shape`` values per element."""
    return _draw("uniform", (low, high), shape, dtype, ctx, out)


def normal(loc=0, scale=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Draws from N(loc, scale²); NDArray parameters draw ``shape`` values per element."""
    return _draw("normal", (loc, scale), shape, dtype, ctx, out)


def randn(*shape, loc=0, scale=1, dtype=None, ctx=None, **kwargs):
    return normal(loc, scale, shape or (1,), dtype, ctx)


def gamma(alpha=1, beta=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Draws from Gamma(shape alpha, scale beta)."""
    return _draw("gamma", (alpha, beta), shape, dtype, ctx, out)


def exponential(scale=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Draws from the exponential distribution of mean ``scale`` (rate 1 / scale)."""
    return _draw("exponential", (1.0 / scale,), shape, dtype, ctx, out)


def poisson(lam=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Draws Poisson counts of rate ``lam`` (as floats unless ``dtype`` says otherwise)."""
    return _draw("poisson", (lam,), shape, dtype, ctx, out)


def negative_binomial(k=1, p=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Draws the failures before ``k`` successes of probability ``p``."""
    return _draw("negative_binomial", (k, p), shape, dtype, ctx, out)


def generalized_negative_binomial(mu=1, alpha=1, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    """Draws from the negative binomial of mean ``mu`` and dispersion ``alpha``."""
    return _draw("generalized_negative_binomial", (mu, alpha), shape, dtype, ctx, out)


def multinomial(data, shape=None, get_prob=False, out=None, dtype="int32", **kwargs):
    """Category indices drawn from the probability rows of ``data`` (its last axis), ``shape``
    per row; with ``get_prob``, also their log-probabilities."""
    attrs = [("shape", str(_shape(shape)) if shape is not None else "()"), ("get_prob", str(bool(get_prob))), ("dtype", dtype_name(dtype))]
    outs = invoke("_sample_multinomial", [data], attrs, out=out)
    return outs if get_prob else outs[0]


def _like(dist):
    names, _ = _DISTS[dist]

    def like(data=None, *args, out=None, **kwargs):
        params = [(n, kwargs.get(n, a)) for n, a in zip(names, args + (None,) * len(names)) if kwargs.get(n, a) is not None]
        return invoke(f"_random_{dist}_like", [data], [(k, repr(float(v))) for k, v in params], out=out)[0]

    like.__name__ = f"{dist}_like"
    like.__doc__ = f"Samples of the {dist} distribution in the shape and dtype of ``data``."
    return like


uniform_like, normal_like, gamma_like, exponential_like, poisson_like = (_like(d) for d in ("uniform", "normal", "gamma", "exponential", "poisson"))
negative_binomial_like, generalized_negative_binomial_like = _like("negative_binomial"), _like("generalized_negative_binomial")


def randint(low, high, shape=None, dtype=None, ctx=None, out=None, **kwargs):
    if out is not None:
        shape, dtype = out.shape, out.dtype if dtype is None else dtype
    attrs = [("low", str(int(low))), ("high", str(int(high))), ("shape", str(_shape(shape if shape is not None else (1,)))), ("dtype", dtype_name(dtype) if dtype else "int32")]
    return invoke("_random_randint", [], attrs, out=out, ctx=ctx)[0]


def shuffle(data, **kwargs):
    """The rows (first axis) of ``data`` in random order."""
    return invoke("_shuffle", [data])[0]
