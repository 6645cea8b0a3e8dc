"""MXNet's ``mxnet.util``: the NumPy-semantics switches, environment access and GPU queries.

rmx follows MXNet's legacy ``mx.nd``/``mx.sym`` API and does not implement MXNet's NumPy interface
(``mx.np``, ``mx.npx``). So the NumPy *shape* flag is kept as state (per thread, as MXNet keeps
it), while turning NumPy *array* semantics on (``set_np()``, ``np_array(True)``, calling a
``use_np``-decorated function) raises ``MXNetError`` saying rmx lacks that interface. Turning both
off (``set_np(False, False)``, ``reset_np()``) works.

    >>> import rmx as mx
    >>> mx.util.is_np_shape()
    False
    >>> with mx.np_shape(True):
    ...     mx.util.is_np_shape()
    True
    >>> mx.util.is_np_shape()
    False
"""

import ctypes
import functools
import inspect
import os
import threading

from .base import MXNetError, c_str, check_call, py_str  # noqa: F401 - c_str, check_call, py_str: MXNet's util has them

__all__ = ["is_np_shape", "set_np_shape", "np_shape", "use_np_shape", "is_np_array", "np_array", "use_np_array",
           "use_np", "set_np", "reset_np", "getenv", "setenv", "get_gpu_count", "get_gpu_memory",
           "get_cuda_compute_capability", "set_module", "np_ufunc_legal_option", "wrap_np_unary_func",
           "wrap_np_binary_func"]

# The keyword arguments of NumPy's ufuncs and the values MXNet's NumPy operators accept.
_np_ufunc_default_kwargs = {"where": True, "casting": "same_kind", "order": "K", "dtype": None, "subok": True}

_state = threading.local()


def _numpy_interface_error(what):
    return MXNetError(f"{what}: rmx does not implement MXNet's NumPy interface (mx.np, mx.npx), so NumPy-array "
                      "semantics cannot be turned on; use the mx.nd / mx.sym API")


def get_gpu_count():
    """The number of GPUs rmx can use (0 without a CUDA driver)."""
    from .context import num_gpus

    return num_gpus()


def get_gpu_memory(gpu_dev_id):
    """``(free, total)`` bytes of memory of GPU ``gpu_dev_id``."""
    from .context import gpu_memory_info

    return gpu_memory_info(gpu_dev_id)


def is_np_shape():
    """Whether NumPy shape semantics is on in this thread (``()`` a scalar's shape, ``0`` a
    zero-size axis). Off unless :func:`set_np_shape` or :func:`np_shape` turns it on."""
    return getattr(_state, "np_shape", False)


def set_np_shape(active):
    """Turns NumPy shape semantics on or off in this thread; returns the previous state.

    >>> import rmx as mx
    >>> mx.set_np_shape(True)
    False
    >>> mx.is_np_shape()
    True
    >>> mx.set_np_shape(False)
    True
    """
    if not active and is_np_array():
        raise ValueError("NumPy shape semantics cannot be turned off while NumPy array semantics is on; "
                         "call reset_np() to turn both off")
    prev = is_np_shape()
    _state.np_shape = bool(active)
    return prev


class _NumpyShapeScope:
    """The ``with`` block of :func:`np_shape`: sets the flag on entry, restores it on exit."""

    def __init__(self, is_np_shape):  # noqa: F811 - MXNet's parameter name
        self._enter_is_np_shape = is_np_shape
        self._prev_is_np_shape = None

    def __enter__(self):
        if self._enter_is_np_shape is not None:
            self._prev_is_np_shape = set_np_shape(self._enter_is_np_shape)

    def __exit__(self, *exc):
        if self._enter_is_np_shape is not None and self._prev_is_np_shape != self._enter_is_np_shape:
            set_np_shape(self._prev_is_np_shape)


def np_shape(active=True):
    """A ``with`` scope in which NumPy shape semantics is ``active`` (restored afterwards)."""
    return _NumpyShapeScope(active)


def _decorate(func, scope, decorator_name):
    """Wraps a function (or each method and property of a class) to run inside ``scope()``."""
    if inspect.isclass(func):
        members = inspect.getmembers(func, lambda f: inspect.isfunction(f) or inspect.ismethod(f) or isinstance(f, property))
        for name, member in members:
            if isinstance(member, property):
                wrapped = property(_decorate(member.__get__, scope, decorator_name), member.__set__, member.__delete__, member.__doc__)
            else:
                wrapped = _decorate(member, scope, decorator_name)
            setattr(func, name, wrapped)
        return func
    if callable(func):
        @functools.wraps(func)
        def scoped(*args, **kwargs):
            with scope():
                return func(*args, **kwargs)

        return scoped
    raise TypeError(f"{decorator_name} can only decorate classes and callable objects, while received a {type(func)}")


def use_np_shape(func):
    """Decorates a function (or every method and property of a class) to run with NumPy shape
    semantics on.

    >>> import rmx as mx
    >>> @mx.use_np_shape
    ... def inside():
    ...     return mx.util.is_np_shape()
    >>> inside(), mx.util.is_np_shape()
    (True, False)
    """
    return _decorate(func, lambda: np_shape(True), "use_np_shape")


class _NumpyArrayScope:
    """The ``with`` block of :func:`np_array`; only the inactive scope exists in rmx."""

    _current = threading.local()

    def __init__(self, is_np_array):  # noqa: F811 - MXNet's parameter name
        if is_np_array:
            raise _numpy_interface_error("np_array(True)")
        self._old_scope = None
        self._is_np_array = False

    def __enter__(self):
        self._old_scope = getattr(_NumpyArrayScope._current, "value", None)
        _NumpyArrayScope._current.value = self
        return self

    def __exit__(self, *exc):
        _NumpyArrayScope._current.value = self._old_scope


def np_array(active=True):
    """A ``with`` scope of NumPy array semantics. ``np_array(False)`` works; ``np_array(True)``
    raises ``MXNetError``: rmx has no ``mx.np`` arrays to create."""
    return _NumpyArrayScope(active)


def is_np_array():
    """Whether NumPy array semantics is on: always ``False`` in rmx (see :func:`np_array`)."""
    scope = getattr(_NumpyArrayScope._current, "value", None)
    return bool(scope and scope._is_np_array)


def use_np_array(func):
    """MXNet: run ``func`` (or a class's methods) with NumPy array semantics. In rmx the
    decorated callable raises ``MXNetError`` when called (no ``mx.np``)."""
    return _decorate(func, lambda: np_array(True), "use_np_array")


def use_np(func):
    """:func:`use_np_shape` and :func:`use_np_array` together; a decorated callable raises
    ``MXNetError`` when called, as rmx has no ``mx.np``.

    >>> import rmx as mx
    >>> @mx.util.use_np
    ... def f():
    ...     return 1
    >>> f()
    Traceback (most recent call last):
    ...
    rmx.base.MXNetError: np_array(True): rmx does not implement MXNet's NumPy interface (mx.np, mx.npx), so NumPy-array semantics cannot be turned on; use the mx.nd / mx.sym API
    """
    return use_np_shape(use_np_array(func))


def set_np(shape=True, array=True):
    """Sets NumPy shape and array semantics together. ``set_np(False, False)`` and
    ``set_np(True, False)`` work; ``array=True`` raises ``MXNetError`` (no ``mx.np`` in rmx)."""
    if array and not shape:
        raise ValueError("NumPy Shape semantics is required in using NumPy array semantics.")
    if array:
        raise _numpy_interface_error("set_np(array=True)")
    _NumpyArrayScope._current.value = _NumpyArrayScope(False)
    set_np_shape(shape)


def reset_np():
    """Turns NumPy shape and array semantics off."""
    set_np(shape=False, array=False)


def set_module(module):
    """A decorator setting ``__module__`` of a function or class (when ``module`` is not None).

    >>> import rmx as mx
    >>> @mx.util.set_module("rmx.example")
    ... def f():
    ...     pass
    >>> f.__module__
    'rmx.example'
    """
    def decorator(func):
        if module is not None:
            func.__module__ = module
        return func

    return decorator


def np_ufunc_legal_option(key, value):
    """Whether ``key=value`` is a ufunc keyword argument with a value MXNet's NumPy operators
    understand (``where``, ``casting``, ``order``, ``dtype``, ``subok``).

    >>> import rmx as mx
    >>> mx.util.np_ufunc_legal_option("casting", "unsafe"), mx.util.np_ufunc_legal_option("casting", "x")
    (True, False)
    """
    import numpy as np

    if key == "where":
        return True
    if key == "casting":
        return value in {"no", "equiv", "safe", "same_kind", "unsafe"}
    if key == "order":
        return isinstance(value, str)
    if key == "dtype":
        return value in {np.int8, np.uint8, np.int32, np.int64, np.float16, np.float32, np.float64,
                         "int8", "uint8", "int32", "int64", "float16", "float32", "float64"}
    if key == "subok":
        return isinstance(value, bool)
    return False


def _check_ufunc_kwargs(name, kwargs, not_implemented):
    for key, value in kwargs.items():
        if key not in _np_ufunc_default_kwargs:
            raise TypeError(f"{key} is an invalid keyword to function '{name}'")
        if value != _np_ufunc_default_kwargs[key]:
            if np_ufunc_legal_option(key, value):
                raise NotImplementedError(not_implemented.format(key=key, value=value, name=name))
            raise TypeError(f"{key}={value} not understood for operator {name}")


def wrap_np_unary_func(func):
    """Wraps ``func(x, out=None)`` to accept NumPy's ufunc keywords at their defaults: an unknown
    keyword is a ``TypeError``, a legal but non-default value ``NotImplementedError``.

    >>> import rmx as mx
    >>> neg = mx.util.wrap_np_unary_func(lambda x, out=None: -x)
    >>> neg(2, casting="same_kind")
    -2
    >>> neg(2, casting="unsafe")
    Traceback (most recent call last):
    ...
    NotImplementedError: casting=unsafe is not implemented yet for operator <lambda>
    """
    @functools.wraps(func)
    def wrapped(x, out=None, **kwargs):
        _check_ufunc_kwargs(func.__name__, kwargs, "{key}={value} is not implemented yet for operator {name}")
        return func(x, out=out)

    return wrapped


def wrap_np_binary_func(func):
    """:func:`wrap_np_unary_func` for ``func(x1, x2, out=None)``."""
    @functools.wraps(func)
    def wrapped(x1, x2, out=None, **kwargs):
        _check_ufunc_kwargs(func.__name__, kwargs, "{key}={value} is not implemented yet")
        return func(x1, x2, out=out)

    return wrapped


def get_cuda_compute_capability(ctx):
    """The CUDA compute capability of GPU context ``ctx`` as an int (``80`` for sm_80), asked of
    the CUDA driver. ``ValueError`` for a non-GPU context, ``OSError`` without a driver."""
    if ctx.device_type != "gpu":
        raise ValueError(f"Expecting a gpu context to get cuda compute capability, while received ctx {ctx}")
    for name in ("libcuda.so.1", "libcuda.so", "libcuda.dylib", "nvcuda.dll"):
        try:
            cuda = ctypes.CDLL(name)
            break
        except OSError:
            continue
    else:
        raise OSError("could not load the CUDA driver (libcuda.so)")

    def call(fn, *args):
        ret = fn(*args)
        if ret != 0:
            msg = ctypes.c_char_p()
            cuda.cuGetErrorString(ret, ctypes.byref(msg))
            raise RuntimeError(f"{fn.__name__} failed with error code {ret}: {py_str(msg.value or b'')}")

    device, major, minor = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
    call(cuda.cuInit, 0)
    call(cuda.cuDeviceGet, ctypes.byref(device), ctx.device_id)
    # CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75, _MINOR = 76 (cuda.h).
    call(cuda.cuDeviceGetAttribute, ctypes.byref(major), 75, device)
    call(cuda.cuDeviceGetAttribute, ctypes.byref(minor), 76, device)
    return major.value * 10 + minor.value


def getenv(name):
    """The value of environment variable ``name``, or ``None`` when unset. rmx's core reads the
    process environment, so this is ``os.environ`` (MXNet asks its C runtime)."""
    return os.environ.get(name)


def setenv(name, value):
    """Sets environment variable ``name`` to ``value`` (``None`` unsets it).

    >>> import rmx as mx
    >>> mx.util.setenv("RMX_DOC_EXAMPLE", "1"); mx.util.getenv("RMX_DOC_EXAMPLE")
    '1'
    >>> mx.util.setenv("RMX_DOC_EXAMPLE", None); mx.util.getenv("RMX_DOC_EXAMPLE") is None
    True
    """
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value
