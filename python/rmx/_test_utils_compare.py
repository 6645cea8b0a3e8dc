"""Part of ``rmx.test_utils`` (import from there): MXNet's per-dtype tolerances and the array
comparisons that use them.

A tolerance argument is ``None`` (the dtype's default), a number, or a dict ``dtype -> number``;
comparing two arrays uses the looser tolerance of their two dtypes. The defaults are MXNet 1.9.1's:

    >>> import numpy as np
    >>> from rmx.test_utils import default_rtols, default_atols, get_tols
    >>> default_rtols()[np.dtype(np.float16)], default_atols()[np.dtype(np.float32)]
    (0.01, 0.001)
    >>> get_tols(np.ones(2, np.float16), np.ones(2, np.float64), None, None)
    (0.01, 0.1)
"""

import numbers

import numpy as np
import numpy.testing as npt


def _numpy(a):
    """``a`` as a NumPy array (NDArrays are copied to the host)."""
    return a.asnumpy() if hasattr(a, "asnumpy") else np.asarray(a)


def default_rtols():
    """The default relative tolerance of each dtype (0 for integers and bool)."""
    exact = {np.dtype(t): 0 for t in (np.bool_, np.int8, np.uint8, np.int32, np.uint32, np.int64, np.uint64)}
    return {np.dtype(np.float16): 1e-2, np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-5, **exact}


def default_atols():
    """The default absolute tolerance of each dtype (0 for integers and bool)."""
    exact = {np.dtype(t): 0 for t in (np.bool_, np.int8, np.uint8, np.int32, np.uint32, np.int64, np.uint64)}
    return {np.dtype(np.float16): 1e-1, np.dtype(np.float32): 1e-3, np.dtype(np.float64): 1e-20, **exact}


def default_numeric_eps():
    """The finite-difference step of each float dtype, a power of two so ``x + eps`` is exact."""
    return {np.dtype(np.float16): 1.0 / 2 ** 6, np.dtype(np.float32): 1.0 / 2 ** 9, np.dtype(np.float64): 1.0 / 2 ** 14}


def effective_dtype(dat):
    """The dtype whose tolerance applies to ``dat``. MXNet counts float32 results of GPUs that
    compute in TF32 as float16; rmx's kernels never compute in TF32, so this is ``dat``'s dtype."""
    return np.dtype(dat.dtype)


def get_tolerance(dat, tol, default_tol):
    """``tol`` when it is a number, else its entry for ``dat``'s dtype (``tol`` a dict) or
    ``default_tol``'s."""
    if isinstance(tol, numbers.Number):
        return tol
    dtype = effective_dtype(dat)
    return (tol or {}).get(dtype, default_tol[dtype])


def get_tols(x, y, rtol, atol):
    """``(rtol, atol)`` for comparing ``x`` and ``y``: the larger of the two arrays' values."""
    x = np.array(x) if isinstance(x, numbers.Number) else x
    y = np.array(y) if isinstance(y, numbers.Number) else y
    return (max(get_tolerance(x, rtol, default_rtols()), get_tolerance(y, rtol, default_rtols())),
            max(get_tolerance(x, atol, default_atols()), get_tolerance(y, atol, default_atols())))


def get_atol(atol=None, dtype=np.dtype(np.float64)):
    """``atol``, or the default of ``dtype`` (float64's: 1e-20) when None."""
    return default_atols()[dtype] if atol is None else atol


def get_rtol(rtol=None, dtype=np.dtype(np.float64)):
    """``rtol``, or the default of ``dtype`` (float64's: 1e-5) when None."""
    return default_rtols()[dtype] if rtol is None else rtol


def get_etol(etol=None):
    """``etol`` (a tolerated fraction of mismatching elements), 0 when None."""
    return 0 if etol is None else etol


def same(a, b):
    """Whether two arrays are equal in shape and every element."""
    return np.array_equal(_numpy(a), _numpy(b))


def checkShapes(a, b):  # noqa: N802 - MXNet's name
    """``AssertionError`` when the two arrays' shapes differ."""
    if a.shape != b.shape:
        raise AssertionError(npt.build_err_msg([a, b], err_msg=f"a.shape = {a.shape} and b.shape = {b.shape} are not equal"))


def almost_equal(a, b, rtol=None, atol=None, equal_nan=False, use_broadcast=True):
    """Whether ``|a - b| <= atol + rtol * |b|`` everywhere; None tolerances are float64's
    defaults, as in MXNet (``assert_almost_equal`` is the one that follows the dtypes)."""
    if not use_broadcast:
        checkShapes(a, b)
    return bool(np.allclose(_numpy(a), _numpy(b), rtol=get_rtol(rtol), atol=get_atol(atol), equal_nan=equal_nan))


def locationError(a, b, index, names, maxError=False):  # noqa: N802, N803 - MXNet's names
    """One line naming the element ``index`` of ``a`` and ``b``."""
    maximum = "maximum " if maxError else ""
    return "Location of %serror: %s, %s=%.8f, %s=%.8f" % (maximum, str(index), names[0], a[index], names[1], b[index])


def _find_max_violation(a, b, rtol, atol):
    """The index of the element furthest outside the tolerance, and how many tolerances out."""
    diff = np.where(np.equal(a, b), 0, np.abs(a - b))  # equal infinities count as no difference
    violation = diff / (atol + rtol * np.abs(b) + 1e-20)
    idx = tuple(int(i) for i in np.unravel_index(np.argmax(violation), violation.shape))
    return idx, np.max(violation)


def _mismatch_error(a, b, rtol, atol, names, equal_nan, mismatches):
    """The ``AssertionError`` of :func:`assert_almost_equal`: the worst elements, worst first."""
    a64, b64 = np.broadcast_arrays(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))
    index, worst = _find_max_violation(a64, b64, rtol, atol)
    bad = ~np.isclose(a64, b64, rtol=rtol, atol=atol, equal_nan=equal_nan)
    lines = []
    if index != ():
        err = np.where(bad, np.abs(a64 - b64) / (atol + rtol * np.abs(b64) + 1e-20), -1.0)
        err = np.where(np.isnan(err), np.inf, err)
        for rank, flat in enumerate(np.argsort(-err, axis=None, kind="stable")[: mismatches[0]], start=1):
            idx = tuple(int(i) for i in np.unravel_index(flat, err.shape))
            if not bad[idx]:
                break
            lines.append("%3d: Error %f  %s" % (rank, err[idx], locationError(a64, b64, idx, names)))
        head = "Error %f exceeds tolerance rtol=%e, atol=%e (mismatch %f%%).\n%s" % (
            worst, rtol, atol, 100.0 * bad.sum() / max(bad.size, 1), locationError(a64, b64, index, names, maxError=True))
    else:
        head = "Error %f exceeds tolerance rtol=%e, atol=%e.\n" % (worst, rtol, atol)
    with np.printoptions(threshold=4, suppress=True):
        return AssertionError(npt.build_err_msg([a, b], err_msg=head + "\n" + "\n".join(lines), names=names))


def assert_almost_equal(a, b, rtol=None, atol=None, names=("a", "b"), equal_nan=False, use_broadcast=True, mismatches=(10, 10)):
    """``AssertionError`` unless ``|a - b| <= atol + rtol * |b|`` everywhere, with tolerances
    from the two dtypes when None (see :func:`get_tols`); the message names the worst elements
    (``mismatches[0]`` of them). Bool arrays must be equal.

    >>> import numpy as np
    >>> from rmx.test_utils import assert_almost_equal
    >>> assert_almost_equal(np.float32([1, 2]), np.float32([1, 2.0001]))
    >>> assert_almost_equal(np.float32([1, 2]), np.float32([1, 2.1]))
    Traceback (most recent call last):
    ...
    AssertionError: ...Error 82.644550 exceeds tolerance rtol=1.000000e-04, atol=1.000000e-03 (mismatch 50.000000%)...
    """
    if not use_broadcast:
        checkShapes(a, b)
    rtol, atol = get_tols(a, b, rtol, atol)
    a, b = _numpy(a), _numpy(b)
    if a.dtype == np.bool_ and b.dtype == np.bool_:
        np.testing.assert_equal(a, b)
        return
    if almost_equal(a, b, rtol, atol, equal_nan=equal_nan):
        return
    raise _mismatch_error(a, b, rtol, atol, names, equal_nan, mismatches)


def assert_allclose(a, b, rtol=1e-07, atol=0, equal_nan=True):
    """:func:`assert_almost_equal` with NumPy's ``assert_allclose`` defaults."""
    assert_almost_equal(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


def assert_almost_equal_with_err(a, b, rtol=None, atol=None, etol=None, names=("a", "b"), equal_nan=False, mismatches=(10, 10)):
    """:func:`assert_almost_equal` that tolerates a fraction ``etol`` of elements outside the
    tolerance (``etol`` 0 or None: none)."""
    etol = get_etol(etol)
    if etol <= 0:
        assert_almost_equal(a, b, rtol=rtol, atol=atol, names=names, equal_nan=equal_nan, mismatches=mismatches)
        return
    rtol, atol = get_tols(a, b, rtol, atol)
    a, b = _numpy(a), _numpy(b)
    close = np.isclose(a, b, rtol=rtol, atol=atol)
    if 1 - np.count_nonzero(close) / close.size > etol:
        raise _mismatch_error(a, b, rtol, atol, names, equal_nan, mismatches)


def assert_almost_equal_ignore_nan(a, b, rtol=None, atol=None, names=("a", "b")):
    """:func:`assert_almost_equal` after zeroing the elements where either array is NaN."""
    a, b = np.copy(_numpy(a)), np.copy(_numpy(b))
    nan = np.logical_or(np.isnan(a), np.isnan(b))
    a[nan] = 0
    b[nan] = 0
    assert_almost_equal(a, b, rtol, atol, names)


def assert_exception(f, exception_type, *args, **kwargs):
    """``AssertionError`` unless ``f(*args, **kwargs)`` raises ``exception_type``."""
    try:
        f(*args, **kwargs)
    except exception_type:
        return
    raise AssertionError(f"{getattr(f, '__name__', f)} did not raise {getattr(exception_type, '__name__', exception_type)}")


def compare_ndarray_tuple(t1, t2, rtol=None, atol=None):
    """:func:`assert_almost_equal` over two (nested) tuples of arrays; nothing when either is None."""
    if t1 is None or t2 is None:
        return
    if isinstance(t1, tuple):
        for s1, s2 in zip(t1, t2):
            compare_ndarray_tuple(s1, s2, rtol, atol)
    else:
        assert_almost_equal(t1, t2, rtol=rtol, atol=atol)


def collapse_sum_like(a, shape):
    """``a`` summed over the axes that ``shape`` lacks or has as 1 (``shape`` broadcasts to
    ``a``'s), giving ``shape``: the gradient of a broadcast.

    >>> import numpy as np
    >>> from rmx.test_utils import collapse_sum_like
    >>> collapse_sum_like(np.ones((2, 3, 4)), (3, 1)).tolist()
    [[8.0], [8.0], [8.0]]
    """
    assert len(a.shape) >= len(shape)
    if np.prod(shape) == 0 or a.size == 0:
        return np.zeros(shape, dtype=a.dtype)
    lead = len(a.shape) - len(shape)
    axes = list(range(lead))
    for i, s in enumerate(shape):
        if s != a.shape[i + lead]:
            assert s == 1
            axes.append(i + lead)
    return np.sum(a, axis=tuple(axes)).reshape(shape)


def np_reduce(dat, axis, keepdims, numpy_reduce_func):
    """``numpy_reduce_func`` over ``axis`` (int, tuple or None) with ``keepdims``, one axis at a time."""
    if isinstance(axis, int):
        axis = [axis]
    else:
        axis = list(axis) if axis is not None else range(len(dat.shape))
    ret = dat
    for i in reversed(sorted(axis)):
        ret = numpy_reduce_func(ret, axis=i)
    if keepdims:
        shape = list(dat.shape)
        for i in axis:
            shape[i] = 1
        ret = ret.reshape(tuple(shape))
    return ret
