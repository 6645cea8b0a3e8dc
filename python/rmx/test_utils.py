"""``mx.test_utils``: the checking helpers MXNet's own tests and users' tests rely on, with MXNet
1.9.1's names, signatures and default tolerances.

The helpers live in four files, all reached from here: ``_test_utils_compare`` (per-dtype
tolerances, array comparisons), ``_test_utils_check`` (symbolic forward/backward, numeric
gradients, ``check_consistency``, ``check_speed``, optimizer and Gluon checks),
``_test_utils_random`` (random data, generator statistics, test matrices) and
``_test_utils_data`` (downloads, MNIST/CIFAR-10, ``DummyIter``). As in MXNet,
``from rmx.test_utils import *`` also brings ``np``, ``os``, ``sys`` and the other modules MXNet's
test_utils imports. Names for what rmx lacks raise a clear error when used: sparse arrays
(``rand_sparse_ndarray``...), the NumPy interface (``use_np``, ``np_symbol``) and packages that are
not installed (``ss`` for ``scipy.stats``, ``requests``).

    >>> import numpy as np
    >>> from rmx.test_utils import assert_almost_equal, default_rtols
    >>> assert_almost_equal(np.float32([1.0, 2.0]), np.float64([1.00001, 2.0]))
    >>> default_rtols()[np.dtype(np.float32)]
    0.0001
"""

import bz2  # noqa: F401 - these modules are names of MXNet's test_utils, which tests star-import
import errno  # noqa: F401
import gzip  # noqa: F401
import json  # noqa: F401
import logging  # noqa: F401
import numbers  # noqa: F401
import os
import platform
import struct  # noqa: F401
import sys
import time  # noqa: F401
import traceback  # noqa: F401
import zipfile  # noqa: F401
from collections import OrderedDict  # noqa: F401
from contextlib import contextmanager

import numpy as np
import numpy.random as rnd
import numpy.testing as npt  # noqa: F401

import rmx as mx  # noqa: F401 - MXNet's test_utils has ``mx``

from .context import Context, current_context  # noqa: F401
from .ndarray import array  # noqa: F401
from .ndarray import ndarray as _nd
from .runtime import Features
from .symbol import Symbol  # noqa: F401
from .util import get_cuda_compute_capability, getenv, setenv, use_np  # noqa: F401
from ._test_utils_compare import (  # noqa: F401
    almost_equal, assert_allclose, assert_almost_equal, assert_almost_equal_ignore_nan, assert_almost_equal_with_err,
    assert_exception, checkShapes, collapse_sum_like, compare_ndarray_tuple, default_atols, default_numeric_eps,
    default_rtols, effective_dtype, get_atol, get_etol, get_rtol, get_tolerance, get_tols, locationError, np_reduce, same)
from ._test_utils_check import (  # noqa: F401
    check_consistency, check_gluon_hybridize_consistency, check_numeric_gradient, check_speed, check_symbolic_backward,
    check_symbolic_forward, compare_optimizer, default_context, default_dtype, numeric_grad, retry, same_array,
    same_symbol_structure, set_default_context, simple_forward)
from ._test_utils_random import (  # noqa: F401
    _MissingModule, assign_each, assign_each2, chi_square_check, create_2d_tensor, create_sparse_array,
    create_sparse_array_zd, create_vector, gen_buckets_probs_with_ppf, get_identity_mat, get_identity_mat_batch,
    mean_check, new_matrix_with_real_eigvals_2d, new_matrix_with_real_eigvals_nd, new_orthonormal_matrix_2d,
    new_sym_matrix_with_real_eigvals_2d, new_sym_matrix_with_real_eigvals_nd, rand_coord_2d, rand_sparse_ndarray,
    random_uniform_arrays, shuffle_csr_column_indices, ss, var_check, verify_generator)
from ._test_utils_data import (  # noqa: F401
    DummyIter, download, download_model, get_bz2_data, get_cifar10, get_im2rec_path, get_mnist, get_mnist_iterator,
    get_mnist_pkl, get_mnist_ubyte, get_zip_data)

try:
    import requests  # noqa: F401
except ImportError:
    requests = _MissingModule("requests", "requests")


class np_symbol:  # noqa: N801 - MXNet's name (mxnet.symbol.numpy._Symbol)
    """MXNet's symbol class of its NumPy interface. rmx has no ``mx.np``: making one raises
    ``MXNetError``."""

    def __new__(cls, *args, **kwargs):
        from .util import _numpy_interface_error

        raise _numpy_interface_error("np_symbol")


def random_arrays(*shapes):
    """Standard-normal float32 arrays of the given shapes (a 0-d array for ``()``); one array
    when one shape is given, else a list."""
    arrays = [np.array(np.random.randn(), dtype=default_dtype()) if len(s) == 0 else np.random.randn(*s).astype(default_dtype())
              for s in shapes]
    return arrays[0] if len(arrays) == 1 else arrays


def random_sample(population, k):
    """``k`` elements of ``population`` in random order (NumPy's generator, so ``np.random.seed``
    repeats it)."""
    assert 0 <= k <= len(population)
    copy = population[:]
    np.random.shuffle(copy)
    return copy[0:k]


def rand_shape_2d(dim0=10, dim1=10, allow_zero_size=False):
    """A random 2-d shape with sizes up to ``dim0``, ``dim1`` (from 0 with ``allow_zero_size``)."""
    low = 0 if allow_zero_size else 1
    return rnd.randint(low, dim0 + 1), rnd.randint(low, dim1 + 1)


def rand_shape_3d(dim0=10, dim1=10, dim2=10, allow_zero_size=False):
    """A random 3-d shape (see :func:`rand_shape_2d`)."""
    low = 0 if allow_zero_size else 1
    return rnd.randint(low, dim0 + 1), rnd.randint(low, dim1 + 1), rnd.randint(low, dim2 + 1)


def rand_shape_nd(num_dim, dim=10, allow_zero_size=False):
    """A random ``num_dim``-d shape with sizes up to ``dim``."""
    low = 0 if allow_zero_size else 1
    return tuple(rnd.randint(low, dim + 1, size=num_dim))


def rand_ndarray(shape, stype="default", density=None, dtype=None, modifier_func=None, shuffle_csr_indices=False,
                 distribution=None, ctx=None):
    """A standard-normal NDArray of ``shape`` (``dtype``, default float32) on ``ctx``. Sparse
    ``stype``s raise ``MXNetError``: rmx has dense storage only."""
    if stype != "default":
        rand_sparse_ndarray(shape, stype, density=density, dtype=dtype, distribution=distribution)
    return _nd.array(random_arrays(shape), dtype=dtype, ctx=ctx or default_context())


def list_gpus():
    """``range(number of GPUs)``: empty without one."""
    return range(mx.util.get_gpu_count())


@contextmanager
def environment(*args):
    """Sets environment variables for the block — ``environment('NAME', 'value')`` or
    ``environment({'NAME': 'value', ...})``, ``None`` unsets — and restores them afterwards.

    >>> import os
    >>> from rmx.test_utils import environment
    >>> with environment('RMX_DOC_ENV', '1'):
    ...     os.environ['RMX_DOC_ENV']
    '1'
    >>> 'RMX_DOC_ENV' in os.environ
    False
    """
    if len(args) == 1 and isinstance(args[0], dict):
        pairs = args[0]
    else:
        assert len(args) == 2, "Expecting one dict arg or two args: env var name and value"
        pairs = {args[0]: args[1]}

    def apply(values):
        for name, value in values.items():
            setenv(name, None if value is None else str(value))

    saved = {name: os.environ.get(name) for name in pairs}
    apply(pairs)
    try:
        yield
    finally:
        _nd.waitall()  # work pushed in the block may still read the variables
        apply(saved)


@contextmanager
def discard_stderr():
    """Sends file descriptor 2, the process's standard error (where Rust and C code write, and
    ``sys.stderr`` unless it was replaced), to ``/dev/null`` for the block."""
    fd = 2
    sys.stderr.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), fd)
            try:
                yield
            finally:
                sys.stderr.flush()
                os.dup2(saved, fd)
    finally:
        os.close(saved)


def is_cd_run():
    """Whether the tests run in a continuous-delivery job (``CD_JOB=1``)."""
    return os.environ.get("CD_JOB", 0) == "1"


def is_aarch64_run():
    """Whether the machine is aarch64."""
    return platform.machine() == "aarch64"


def has_tvm_ops():
    """Whether operators generated by TVM are built in: never in rmx (see ``Features``)."""
    return Features().is_enabled("TVM_OP")


def is_op_runnable():
    """Whether operators can run in the current context: always, as rmx has no TVM operators
    (MXNet's only restriction is TVM operators on GPUs before sm_53)."""
    return True
