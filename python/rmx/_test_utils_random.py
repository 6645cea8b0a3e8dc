"""Part of ``rmx.test_utils`` (import from there): random data, the statistical checks of random
generators, test matrices, and the sparse-array helpers rmx answers with a clear error."""

import math

import numpy as np

from .base import MXNetError


class _MissingModule:
    """Stands for an optional third-party module that is not installed: false in a test, and any
    attribute raises ``ModuleNotFoundError`` naming the package to install."""

    def __init__(self, name, package):
        self._name, self._package = name, package

    def __bool__(self):
        return False

    def __getattr__(self, attr):
        if attr.startswith("__"):
            raise AttributeError(attr)
        raise ModuleNotFoundError(f"{self._name}.{attr} needs the package '{self._package}', which is not installed "
                                  f"(pip install {self._package})", name=self._package)

    def __repr__(self):
        return f"<missing module {self._name!r} (pip install {self._package})>"


try:
    import scipy.stats as ss
except ImportError:
    ss = _MissingModule("scipy.stats", "scipy")


def _no_sparse(function):
    return MXNetError(f"{function}: rmx has dense storage only; it has no sparse NDArrays ('csr', 'row_sparse'), "
                      "so sparse test data cannot be made")


def random_uniform_arrays(*shapes, **kwargs):
    """A list of arrays of ``shapes``, uniform in ``[low, high)`` (keywords ``low=0``, ``high=1``,
    ``dtype=float32``); other keywords are a ``TypeError``."""
    low, high = kwargs.pop("low", 0.0), kwargs.pop("high", 1.0)
    dtype = kwargs.pop("dtype", np.float32)
    if kwargs:
        raise TypeError("Got unexpected argument/s : " + str(kwargs.keys()))
    return [np.random.uniform(low, high, size=s).astype(dtype) for s in shapes]


def rand_coord_2d(x_low, x_high, y_low, y_high):
    """A random int64 point ``(x, y)`` with ``x_low <= x < x_high``, ``y_low <= y < y_high``."""
    return np.random.randint(x_low, x_high, dtype=np.int64), np.random.randint(y_low, y_high, dtype=np.int64)


def assign_each(the_input, function):
    """``function`` applied to each element of ``the_input`` (float64 result; a copy when
    ``function`` is None)."""
    if function is None:
        return np.array(the_input)
    flat = np.asarray(the_input).reshape(-1)
    return np.array([function(v) for v in flat], dtype=np.float64).reshape(np.shape(the_input))


def assign_each2(input1, input2, function):
    """``function`` applied to each pair of elements of two same-shape arrays (float64; a copy
    of ``input1`` when ``function`` is None)."""
    if function is None:
        return np.array(input1)
    assert input1.shape == input2.shape
    pairs = zip(np.asarray(input1).reshape(-1), np.asarray(input2).reshape(-1))
    return np.array([function(a, b) for a, b in pairs], dtype=np.float64).reshape(input1.shape)


def create_2d_tensor(rows, columns, dtype=np.int64):
    """An NDArray of ``(rows, columns)`` whose row ``i`` is all ``i`` (for large-tensor tests)."""
    from . import ndarray as nd

    return nd.broadcast_to(nd.arange(0, rows, dtype=dtype).reshape((rows, 1)), shape=(rows, columns))


def create_vector(size, dtype=np.int64):
    """The NDArray ``[0, 1, ..., size - 1]``."""
    from . import ndarray as nd

    return nd.arange(0, size, dtype=dtype)


def get_identity_mat(size):
    """A float32 identity NDArray of ``(size, size)``."""
    from . import ndarray as nd

    mat = nd.zeros((size, size))
    for i in range(size):
        mat[i, i] = 1
    return mat


def get_identity_mat_batch(size):
    """Two identity matrices, ``(2, size, size)``."""
    from . import ndarray as nd

    eye = get_identity_mat(size).asnumpy()
    return nd.array([eye, eye])


def rand_sparse_ndarray(shape, stype, density=None, dtype=None, distribution=None, data_init=None, rsp_indices=None,
                        modifier_func=None, shuffle_csr_indices=False, ctx=None):
    """MXNet: a random sparse NDArray. rmx has no sparse storage: raises ``MXNetError``."""
    raise _no_sparse(f"rand_sparse_ndarray(stype={stype!r})")


def create_sparse_array(shape, stype, data_init=None, rsp_indices=None, dtype=None, modifier_func=None, density=.5,
                        shuffle_csr_indices=False):
    """MXNet: a random sparse NDArray. rmx has no sparse storage: raises ``MXNetError``."""
    raise _no_sparse(f"create_sparse_array(stype={stype!r})")


def create_sparse_array_zd(shape, stype, density, data_init=None, rsp_indices=None, dtype=None, modifier_func=None,
                           shuffle_csr_indices=False):
    """MXNet: a random sparse NDArray. rmx has no sparse storage: raises ``MXNetError``."""
    raise _no_sparse(f"create_sparse_array_zd(stype={stype!r})")


def shuffle_csr_column_indices(csr):
    """Shuffles, in place, the column indices within each row of a CSR matrix (any object with
    ``indptr`` and ``indices`` arrays, e.g. SciPy's), so code must not assume sorted columns."""
    for row in range(len(csr.indptr) - 1):
        start, end = csr.indptr[row], csr.indptr[row + 1]
        part = np.array(csr.indices[start:end])
        np.random.shuffle(part)
        csr.indices[start:end] = part


def gen_buckets_probs_with_ppf(ppf, nbuckets):
    """``nbuckets`` equal-probability buckets ``(ppf(i/n), ppf((i+1)/n))`` and their
    probabilities, for :func:`chi_square_check` of a continuous distribution with quantile ``ppf``.

    >>> from rmx.test_utils import gen_buckets_probs_with_ppf
    >>> gen_buckets_probs_with_ppf(lambda p: 10 * p, 2)
    ([(0.0, 5.0), (5.0, 10.0)], [0.5, 0.5])
    """
    assert nbuckets > 0
    probs = [1.0 / nbuckets for _ in range(nbuckets)]
    buckets = [(ppf(i / float(nbuckets)), ppf((i + 1) / float(nbuckets))) for i in range(nbuckets)]
    return buckets, probs


def mean_check(generator, mu, sigma, nsamples=1000000):
    """Whether the mean of ``generator(nsamples)`` lies within ``mu +- 3 sigma / sqrt(nsamples)``."""
    mean = np.array(generator(nsamples)).mean()
    bound = 3 * sigma / np.sqrt(nsamples)
    return bool(mu - bound < mean < mu + bound)


def var_check(generator, sigma, nsamples=1000000):
    """Whether the sample variance of ``generator(nsamples)`` lies within
    ``sigma^2 +- 3 sqrt(2 sigma^4 / (nsamples - 1))``."""
    var = np.array(generator(nsamples)).var(ddof=1)
    bound = 3 * np.sqrt(2 * sigma ** 4 / (nsamples - 1))
    return bool(sigma ** 2 - bound < var < sigma ** 2 + bound)


def _chi2_sf(x, dof):
    """P(X > x) for a chi-square variable with ``dof`` degrees of freedom: the regularized upper
    incomplete gamma Q(dof/2, x/2), by its series below a + 1 and its continued fraction above."""
    a, z = dof / 2.0, x / 2.0
    if z <= 0:
        return 1.0
    log_front = a * math.log(z) - z - math.lgamma(a)
    if z < a + 1:
        term = total = 1.0 / a
        n = a
        while abs(term) > abs(total) * 1e-15:
            n += 1
            term *= z / n
            total += term
        return max(0.0, 1.0 - total * math.exp(log_front))
    tiny = 1e-300
    b = z + 1 - a
    c, d = 1 / tiny, 1 / b
    h = d
    for i in range(1, 10000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        h *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return math.exp(log_front) * h


def chi_square_check(generator, buckets, probs, nsamples=1000000):
    """Pearson's chi-square test of ``generator(nsamples)`` against ``probs``: ``buckets`` are
    ascending, disjoint ``(low, high)`` ranges (continuous) or the possible values (discrete).
    Returns ``(p, observed counts, expected counts)``; a large p means the samples fit. The p value
    is SciPy's ``chisquare`` where SciPy is installed, else the same statistic and distribution
    computed here.

    >>> import numpy as np
    >>> from rmx.test_utils import chi_square_check
    >>> np.random.seed(0)
    >>> p, obs, exp = chi_square_check(lambda n: np.random.randint(0, 2, size=n), [0, 1], [0.5, 0.5], 1000)
    >>> bool(p > 0.05), exp.tolist()
    (True, [500, 500])
    """
    assert isinstance(buckets, list)
    samples = generator(nsamples)
    assert len(probs) == len(buckets)
    continuous = isinstance(buckets[0], (list, tuple))
    expected = (nsamples * np.array(probs, dtype=np.float32)).astype(np.int32)
    observed = np.zeros(len(buckets), dtype=np.int64)
    if continuous:
        edges = np.zeros(2 * len(buckets), dtype=np.float32)
        for i, (low, high) in enumerate(buckets):
            assert low <= high
            if i < len(buckets) - 1:
                assert high <= buckets[i + 1][0]
            edges[2 * i], edges[2 * i + 1] = low, high
        ids = np.searchsorted(edges, samples, side="right") // 2
        for i in range(len(buckets)):
            observed[i] = (ids == i).sum()
    else:
        values = np.array(samples)
        for i, value in enumerate(buckets):
            observed[i] = (values == value).sum()
    if ss:
        _, p = ss.chisquare(f_obs=observed, f_exp=expected)
    else:
        stat = float(((observed - expected) ** 2 / expected.astype(np.float64)).sum())
        p = _chi2_sf(stat, len(buckets) - 1)
    return p, observed, expected


def verify_generator(generator, buckets, probs, nsamples=1000000, nrepeat=5, success_rate=0.2, alpha=0.05):
    """Runs :func:`chi_square_check` ``nrepeat`` times; ``AssertionError`` unless at least
    ``nrepeat * success_rate`` of the p values exceed ``alpha``. Returns the p values."""
    results = [chi_square_check(generator, buckets, probs, nsamples) for _ in range(nrepeat)]
    p_values = [r[0] for r in results]
    if (np.array(p_values) > alpha).sum() < nrepeat * success_rate:
        raise AssertionError(f"Generator test fails, Chi-square p={p_values}, obs_freq={[r[1] for r in results]}, "
                             f"expected_freq={[r[2] for r in results]}.\nbuckets={buckets}, probs={probs}")
    return p_values


def new_matrix_with_real_eigvals_2d(n):
    """A random ``n x n`` matrix ``Q^-1 D Q`` with real eigenvalues in ``[-10, 10]`` and a
    well-conditioned ``Q`` (a Householder reflection times a diagonal, condition number < 3)."""
    while True:
        diag = np.diag(np.random.uniform(-1.0, 1.0, n))
        v = np.random.uniform(-1.0, 1.0, (n, 1))
        v /= np.linalg.norm(v, axis=-2, keepdims=True)
        q = (np.eye(n) - 2 * v @ v.T) @ diag
        if np.linalg.cond(q, 2) < 3:
            break
    return np.linalg.inv(q) @ np.diag(np.random.uniform(-10.0, 10.0, n)) @ q


def new_matrix_with_real_eigvals_nd(shape):
    """A batch of :func:`new_matrix_with_real_eigvals_2d` of ``shape`` (``(..., n, n)``)."""
    count = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return np.array([new_matrix_with_real_eigvals_2d(shape[-1]) for _ in range(count)]).reshape(shape)


def new_orthonormal_matrix_2d(n):
    """A random ``n x n`` orthonormal matrix (the Q of a QR factorization)."""
    x = np.random.randn(n, n)
    return np.linalg.qr(x.T @ x)[0]


def new_sym_matrix_with_real_eigvals_2d(n):
    """A random symmetric ``n x n`` matrix ``Q^T D Q`` with eigenvalues in ``[-10, 10]``."""
    q = new_orthonormal_matrix_2d(n)
    return q.T @ np.diag(np.random.uniform(-10.0, 10.0, n)) @ q


def new_sym_matrix_with_real_eigvals_nd(shape):
    """A batch of :func:`new_sym_matrix_with_real_eigvals_2d` of ``shape``."""
    count = int(np.prod(shape[:-2])) if len(shape) > 2 else 1
    return np.array([new_sym_matrix_with_real_eigvals_2d(shape[-1]) for _ in range(count)]).reshape(shape)
