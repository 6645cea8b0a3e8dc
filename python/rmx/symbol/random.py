"""``mx.sym.random``: the samplers as symbols (``mx.nd.random``'s functions, drawn when the
graph runs). Symbol parameters draw ``shape`` values per element (``_sample_X``); numbers use
``_random_X``."""

from ..base import InvalidArgumentError
from ..ndarray.random import _DISTS


def _internal():
    from . import _internal as ops

    return ops


def _draw(dist, values, shape, dtype, **kwargs):
    from .symbol import Symbol

    names, _ = _DISTS[dist]
    extra = {k: v for k, v in (("shape", shape), ("dtype", dtype)) if v is not None}
    if any(isinstance(v, Symbol) for v in values):
        if not all(isinstance(v, Symbol) for v in values):
            raise InvalidArgumentError(f"random.{dist}: parameters must be all Symbols or all numbers")
        return getattr(_internal(), f"_sample_{dist}")(*values, **extra, **kwargs)
    return getattr(_internal(), f"_random_{dist}")(**dict(zip(names, values)), **extra, **kwargs)


def uniform(low=0, high=1, shape=None, dtype=None, **kwargs):
    return _draw("uniform", (low, high), shape, dtype, **kwargs)


def normal(loc=0, scale=1, shape=None, dtype=None, **kwargs):
    return _draw("normal", (loc, scale), shape, dtype, **kwargs)


def randn(*shape, loc=0, scale=1, dtype=None, **kwargs):
    return normal(loc, scale, shape or (1,), dtype, **kwargs)


def gamma(alpha=1, beta=1, shape=None, dtype=None, **kwargs):
    return _draw("gamma", (alpha, beta), shape, dtype, **kwargs)


def exponential(scale=1, shape=None, dtype=None, **kwargs):
    return _draw("exponential", (1.0 / scale,), shape, dtype, **kwargs)


def poisson(lam=1, shape=None, dtype=None, **kwargs):
    return _draw("poisson", (lam,), shape, dtype, **kwargs)


def negative_binomial(k=1, p=1, shape=None, dtype=None, **kwargs):
    return _draw("negative_binomial", (k, p), shape, dtype, **kwargs)


def generalized_negative_binomial(mu=1, alpha=1, shape=None, dtype=None, **kwargs):
    return _draw("generalized_negative_binomial", (mu, alpha), shape, dtype, **kwargs)


def multinomial(data, shape=None, get_prob=False, dtype="int32", **kwargs):
    return _internal()._sample_multinomial(data, shape=shape if shape is not None else (), get_prob=get_prob, dtype=dtype, **kwargs)


def randint(low, high, shape=None, dtype=None, **kwargs):
    return _internal()._random_randint(low=low, high=high, shape=shape if shape is not None else (1,), dtype=dtype or "int32", **kwargs)


def shuffle(data, **kwargs):
    return _internal()._shuffle(data, **kwargs)


def _like(dist):
    def like(data=None, **kwargs):
        return getattr(_internal(), f"_random_{dist}_like")(data, **kwargs)

    like.__name__ = f"{dist}_like"
    return like


uniform_like, normal_like, gamma_like, exponential_like, poisson_like = (_like(d) for d in ("uniform", "normal", "gamma", "exponential", "poisson"))
negative_binomial_like, generalized_negative_binomial_like = _like("negative_binomial"), _like("generalized_negative_binomial")
