"""The samplers: moments against each distribution's mean and variance (seeded, tolerances
of about five standard errors), per-element parameters, multinomial frequencies and
log-probabilities, shapes, dtypes, seeds, and the symbol forms."""

import numpy as np
import pytest

import rmx as mx

N = 200_000
CASES = [
    ("uniform", dict(low=1.0, high=3.0), 2.0, 1 / 3),
    ("normal", dict(loc=1.0, scale=2.0), 1.0, 4.0),
    ("gamma", dict(alpha=2.0, beta=3.0), 6.0, 18.0),
    ("exponential", dict(scale=2.0), 2.0, 4.0),
    ("poisson", dict(lam=4.0), 4.0, 4.0),
    ("poisson", dict(lam=40.0), 40.0, 40.0),
    ("negative_binomial", dict(k=3, p=0.4), 4.5, 11.25),
    ("generalized_negative_binomial", dict(mu=2.0, alpha=0.5), 2.0, 4.0),
    ("generalized_negative_binomial", dict(mu=3.0, alpha=0.0), 3.0, 3.0),
]


@pytest.mark.parametrize("dist, params, mean, var", CASES)
def test_moments(dist, params, mean, var):
    mx.random.seed(11)
    x = getattr(mx.nd.random, dist)(shape=(N,), **params).asnumpy().astype(np.float64)
    assert x.dtype == np.float64 and x.shape == (N,)
    assert abs(x.mean() - mean) < 5 * np.sqrt(var / N)
    assert abs(x.var() - var) < 0.05 * var
    if dist in ("poisson", "negative_binomial", "generalized_negative_binomial"):
        assert np.all(x == np.round(x)) and x.min() >= 0


def test_array_parameters_draw_shape_values_per_element():
    mx.random.seed(5)
    alpha = mx.nd.array([[1.0, 4.0], [9.0, 16.0]])
    x = mx.nd.random.gamma(alpha, mx.nd.ones_like(alpha) * 0.5, shape=20000).asnumpy()
    assert x.shape == (2, 2, 20000)
    np.testing.assert_allclose(x.mean(axis=-1), 0.5 * alpha.asnumpy(), rtol=0.03)
    lam = mx.nd.array([1.0, 30.0], dtype="float64")
    y = mx.nd.random.poisson(lam, shape=(3, 5))
    assert y.shape == (2, 3, 5) and y.dtype == np.float32
    lo = mx.nd.array([0.0, 10.0])
    u = mx.nd.random.uniform(lo, lo + 1, shape=1000).asnumpy()
    assert u[0].min() >= 0 and u[0].max() < 1 and u[1].min() >= 10 and u[1].max() < 11
    with pytest.raises(mx.base.MXNetError, match="all NDArrays or all numbers"):
        mx.nd.random.normal(mx.nd.zeros(2), 1.0)


def test_multinomial_frequencies_and_log_probabilities():
    mx.random.seed(2)
    probs = np.array([[0.1, 0.2, 0.7], [0.5, 0.5, 0.0]], dtype=np.float32)
    idx, logp = mx.nd.random.multinomial(mx.nd.array(probs), shape=50000, get_prob=True)
    idx, logp = idx.asnumpy(), logp.asnumpy()
    assert idx.shape == (2, 50000) and idx.dtype == np.int32
    for r in range(2):
        freq = np.bincount(idx[r], minlength=3) / idx.shape[1]
        np.testing.assert_allclose(freq, probs[r], atol=0.01)
    np.testing.assert_allclose(logp, np.log(probs[np.arange(2)[:, None], idx]), rtol=1e-6)
    single = mx.nd.random.multinomial(mx.nd.array([0.0, 1.0]))
    assert single.asnumpy().tolist() == [1]


def test_seed_fixes_draws_and_like_forms_keep_shape_and_dtype():
    mx.random.seed(7)
    a = mx.nd.random.negative_binomial(k=2, p=0.3, shape=(50,)).asnumpy()
    mx.random.seed(7)
    b = mx.nd.random.negative_binomial(k=2, p=0.3, shape=(50,)).asnumpy()
    np.testing.assert_array_equal(a, b)
    like = mx.nd.random.exponential_like(mx.nd.zeros((3, 4), dtype="float64"), lam=2.0)
    assert like.shape == (3, 4) and like.dtype == np.float64 and like.asnumpy().min() > 0
    assert mx.nd.random_gamma is not None and mx.nd.sample_poisson is not None


def test_symbol_samplers():
    mu = mx.sym.var("mu")
    s = mx.sym.random.normal(mu, mx.sym.ones_like(mu) * 0.01, shape=4)
    assert s.infer_shape(mu=(3,))[1] == [(3, 4)]
    out = s.bind(mx.cpu(), {"mu": mx.nd.array([0.0, 10.0, 100.0])}).forward()[0].asnumpy()
    np.testing.assert_allclose(out.mean(axis=1), [0, 10, 100], atol=0.05)
    p = mx.sym.random.poisson(lam=3.0, shape=(2, 2))
    assert p.bind(mx.cpu(), {}).forward()[0].shape == (2, 2)


def test_multinomial_refusals_are_clear():
    with pytest.raises(mx.base.MXNetError, match="at least one category"):
        mx.nd.random.multinomial(mx.nd.zeros((3, 0)))
    p = mx.nd.array([[0.3, 0.7]])
    p.attach_grad()
    with mx.autograd.record():
        _, logp = mx.nd.random.multinomial(p, shape=4, get_prob=True)
    with pytest.raises(mx.base.MXNetError, match="get_prob"):
        logp.backward()
