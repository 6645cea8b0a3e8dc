"""The exception family every rmx error belongs to, as MXNet's ``mxnet.base.MXNetError``.

Rust errors become these classes in exactly one place (``src/errors.rs``), by error variant.
Code written for MXNet that catches ``MXNetError`` keeps working; the subclasses also derive from
the natural built-in class (``ValueError``, ``TypeError``) where one fits.

The rest of MXNet's ``mxnet.base`` follows the exceptions: the Python 2/3 type tuples, the
ctypes helpers and handle types of MXNet's C API (plain ctypes here: rmx has no C library, see
``rmx.libinfo``), ``check_call`` and the error registry, class properties, ``data_dir``.
"""

import atexit  # noqa: F401 - MXNet's base has it; code reaches it as mx.base.atexit
import ctypes
import inspect
import os
import platform
import re  # noqa: F401 - as above
import sys
import threading

import numpy as _np

__all__ = [
    "MXNetError",
    "EngineError",
    "InvalidArgumentError",
    "ShapeError",
    "DTypeError",
    "DeviceError",
    "OperatorError",
]


class MXNetError(RuntimeError):
    """Base class of every error rmx raises (a ``RuntimeError``, as in MXNet 1.7 and later)."""


class EngineError(MXNetError):
    """An operation failed or panicked inside the engine; raised at the next wait on its result."""


class InvalidArgumentError(MXNetError, ValueError):
    """An argument has a value the function cannot take (the message names it)."""


class ShapeError(MXNetError, ValueError):
    """Shapes do not fit the operator (the message names the operator and the shapes)."""


class DTypeError(MXNetError, TypeError):
    """A dtype is not supported or does not match (the message names the operator and dtypes)."""


class DeviceError(MXNetError):
    """A device is unavailable or arrays live on different devices."""


class OperatorError(MXNetError):
    """An operator is unknown or was given parameters it does not accept."""


class ParameterError(MXNetError, ValueError):
    """An operator parameter is unknown, missing, or does not parse (the message names it)."""


class IndexError(MXNetError, IndexError):  # noqa: A001 - MXNet-style name, also a builtins.IndexError
    """An index is outside the axis it indexes."""


class FileError(MXNetError, OSError):
    """A file cannot be read or written, or is not in the expected format."""


class DataError(MXNetError, ValueError):
    """A malformed data file: a RecordIO record that is truncated or lies about its length, an
    image that cannot be decoded. The message names the file and the record."""


class OutOfMemoryError(MXNetError, MemoryError):
    """A device refused an allocation (the message names the device and the size)."""


class UnsupportedKVStoreError(MXNetError, NotImplementedError):
    """A kvstore type or feature rmx does not have (yet); also ``rmx.kvstore.UnsupportedKVStoreError``."""


class SparseStorageError(MXNetError, NotImplementedError):
    """A sparse storage type (``'row_sparse'``, ``'csr'``) was asked for: rmx stores every array
    densely. The message names the function and the storage type; ``stype='default'`` works."""


class KVStoreError(MXNetError):
    """A distributed kvstore failed: a process of the job died or stopped answering (the message
    names it: ``server 1 (10.0.0.2:41234) was lost: ...``), or a peer broke the protocol."""


__all__ += ["ParameterError", "IndexError", "FileError", "DataError", "OutOfMemoryError", "UnsupportedKVStoreError",
            "KVStoreError", "SparseStorageError"]


# ---------------------------------------------------------------------------------------------
# The rest is MXNet's ``mxnet.base`` toolbox: Python 2/3 names, the ctypes helpers of its C API,
# error registration, class properties and data directories. rmx has no C library (the core is a
# Python extension that raises these exceptions itself), so the ctypes helpers are plain ctypes
# conveniences and ``check_call`` only turns a non-zero return code into an ``MXNetError``.
# ---------------------------------------------------------------------------------------------

basestring = str
long = int
integer_types = (int, _np.int32, _np.int64)
numeric_types = (float, int, _np.generic)
string_types = (str,)

#: Error classes by name, for turning an error message ``"Name: text"`` into an exception.
error_types = {}


def py_str(x):
    """Bytes from a C string as ``str`` (``str`` is returned as it is).

    >>> import rmx as mx
    >>> mx.base.py_str(b"conv0")
    'conv0'
    """
    return x.decode("utf-8") if isinstance(x, bytes) else x


def data_dir_default():
    """The default home of downloaded data: ``%APPDATA%/mxnet`` on Windows, else ``~/.mxnet``."""
    if platform.system() == "Windows":
        return os.path.join(os.environ.get("APPDATA", ""), "mxnet")
    return os.path.join(os.path.expanduser("~"), ".mxnet")


def data_dir():
    """Where data is kept: ``$MXNET_HOME`` when set, else :func:`data_dir_default`."""
    return os.getenv("MXNET_HOME", data_dir_default())


class _NullType:
    """The marker of an operator argument left unset."""

    def __repr__(self):
        return "_Null"


_Null = _NullType()


def register_error(func_name=None, cls=None):
    """Registers an error class under its name (or ``func_name``) in :data:`error_types`, so an
    error message that starts with ``"Name:"`` becomes that class. Used as ``@register_error``,
    ``@register_error("Name")`` or ``register_error("Name", cls)``.

    >>> import rmx as mx
    >>> @mx.base.register_error
    ... class MyError(mx.MXNetError):
    ...     pass
    >>> mx.base.error_types["MyError"] is MyError
    True
    """
    if callable(func_name):
        cls, func_name = func_name, func_name.__name__

    def register(klass):
        error_types[func_name if isinstance(func_name, str) else klass.__name__] = klass
        return klass

    return register if cls is None else register(cls)


for _cls in (MXNetError, EngineError, InvalidArgumentError, ShapeError, DTypeError, DeviceError, OperatorError,
             ParameterError, FileError, DataError, OutOfMemoryError, UnsupportedKVStoreError, KVStoreError):
    register_error(_cls)
error_types["ValueError"] = ValueError
error_types["TypeError"] = TypeError
error_types["AttributeError"] = AttributeError
error_types["IndexError"] = IndexError
error_types["NotImplementedError"] = NotImplementedError


def _error_name(first_line):
    """``Name`` of ``"Name: text"`` when it looks like a (dotted) class name, else ``None``."""
    name = first_line.split(":", 1)[0] if ":" in first_line else ""
    return name if name and all(c.isalnum() or c in "_." for c in name) else None


def c2pyerror(err_msg):
    """Splits a C++ error message into ``(message, error type name or None)``, moving a
    ``Stack trace:`` block to the front as a Python-style traceback, as MXNet does.

    >>> import rmx as mx
    >>> mx.base.c2pyerror("ValueError: bad axis\\n")
    ('ValueError: bad axis', 'ValueError')
    """
    lines = err_msg.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    message, trace, in_trace = [], [], False
    for line in lines:
        if in_trace and not line.startswith("  "):
            in_trace = False
        if in_trace:
            trace.append(line)
        elif line.startswith("Stack trace"):
            in_trace = True
        else:
            message.append(line)
    out = ""
    if trace:
        out = "Traceback (most recent call last):\n" + "\n".join(reversed(trace)) + "\n"
    return out + "\n".join(message), _error_name(lines[0] if lines else "")


_last_error = threading.local()


def _set_last_error(message):
    """Records the message :func:`get_last_ffi_error` reports (MXNet's ``MXGetLastError``)."""
    _last_error.value = message


def get_last_ffi_error():
    """The exception for the last recorded error message, of the class its ``"Name:"`` prefix
    registered (:func:`register_error`), else ``MXNetError``. rmx's core raises its errors as
    exceptions directly, so a message is only recorded by code that calls ``_set_last_error``."""
    message = getattr(_last_error, "value", None) or (
        "an API call returned a failure code (rmx has no C library; no error message was recorded)")
    text, name = c2pyerror(message)
    if name is not None and name.startswith("mxnet.error."):
        name = name[len("mxnet.error."):]
    return error_types.get(name, MXNetError)(text)


def check_call(ret):
    """Raises the last error (:func:`get_last_ffi_error`) when ``ret`` is not 0, as MXNet does
    around each C API call.

    >>> import rmx as mx
    >>> mx.base.check_call(0)
    >>> mx.base.check_call(-1)
    Traceback (most recent call last):
    ...
    rmx.base.MXNetError: an API call returned a failure code (rmx has no C library; no error message was recorded)
    """
    if ret != 0:
        raise get_last_ffi_error()


def _describe_call(what, function, alias, args):
    msg = f"Function {getattr(function, '__name__', function)}"
    if alias:
        msg += f' (namely operator "{alias}")'
    if args:
        msg += " with arguments ({})".format(", ".join(str(type(a)) for a in args))
    return msg + what


@register_error
class NotImplementedForSymbol(MXNetError):
    """An NDArray operation that a Symbol cannot do (``bool(symbol)``)."""

    def __init__(self, function, alias=None, *args):
        super().__init__(_describe_call(" is not implemented for Symbol and only available in NDArray.", function, alias, args))
        self.function = getattr(function, "__name__", function)
        self.alias = alias


class NotSupportedForSparseNDArray(MXNetError):
    """An NDArray operation that sparse arrays cannot do (rmx has dense storage only)."""

    def __init__(self, function, alias=None, *args):
        super().__init__(_describe_call(" is not supported for SparseNDArray and only available in NDArray.", function, alias, args))
        self.function = getattr(function, "__name__", function)
        self.alias = alias


class MXCallbackList(ctypes.Structure):
    """MXNet's C structure of callbacks handed to a custom operator's property."""

    _fields_ = [
        ("num_callbacks", ctypes.c_int),
        ("callbacks", ctypes.POINTER(ctypes.CFUNCTYPE(ctypes.c_int))),
        ("contexts", ctypes.POINTER(ctypes.c_void_p)),
    ]


class _MXClassPropertyDescriptor:
    """A property of the class itself (read, and set through :class:`_MXClassPropertyMetaClass`)."""

    def __init__(self, fget, fset=None):
        self.fget, self.fset = fget, fset

    def __get__(self, obj, klass=None):
        return self.fget.__get__(obj, type(obj) if klass is None else klass)()

    def __set__(self, obj, value):
        if not self.fset:
            raise MXNetError(f"cannot use the setter: {getattr(obj, '__name__', obj)} to set attribute")
        klass, obj = (obj, None) if inspect.isclass(obj) else (type(obj), obj)
        return self.fset.__get__(obj, klass)(value)

    def setter(self, func):
        self.fset = func if isinstance(func, (classmethod, staticmethod)) else classmethod(func)
        return self


class _MXClassPropertyMetaClass(type):
    """Routes ``Class.prop = value`` to a class property's setter."""

    def __setattr__(cls, key, value):
        prop = cls.__dict__.get(key)
        if isinstance(prop, _MXClassPropertyDescriptor):
            return prop.__set__(cls, value)
        return super().__setattr__(key, value)


def with_metaclass(meta, *bases):
    """A base class that gives its subclasses the metaclass ``meta`` (six's helper).

    >>> import rmx as mx
    >>> class Meta(type):
    ...     pass
    >>> class Thing(mx.base.with_metaclass(Meta, object)):
    ...     pass
    >>> type(Thing).__name__, Thing.__bases__
    ('Meta', (<class 'object'>,))
    """

    class _Temporary(type):
        def __new__(cls, name, this_bases, namespace):
            return meta(name, bases, namespace)

        @classmethod
        def __prepare__(cls, name, this_bases):
            return meta.__prepare__(name, bases)

    return type.__new__(_Temporary, "temporary_class", (), {})


def classproperty(func):
    """A read-only property of the class (settable with ``.setter`` on a class whose metaclass
    is ``_MXClassPropertyMetaClass``), as ``Context.default_ctx``.

    >>> import rmx as mx
    >>> class Config:
    ...     @mx.base.classproperty
    ...     def name(cls):
    ...         return cls.__name__.lower()
    >>> Config.name
    'config'
    """
    return _MXClassPropertyDescriptor(func if isinstance(func, (classmethod, staticmethod)) else classmethod(func))


# The C API's types, as MXNet names them.
mx_int = ctypes.c_int
mx_uint = ctypes.c_uint
mx_int64 = ctypes.c_int64
mx_float = ctypes.c_float
mx_float_p = ctypes.POINTER(mx_float)
mx_real_t = _np.float32
NDArrayHandle = ctypes.c_void_p
FunctionHandle = ctypes.c_void_p
OpHandle = ctypes.c_void_p
CachedOpHandle = ctypes.c_void_p
SymbolHandle = ctypes.c_void_p
ExecutorHandle = ctypes.c_void_p
DataIterCreatorHandle = ctypes.c_void_p
DataIterHandle = ctypes.c_void_p
KVStoreHandle = ctypes.c_void_p
RecordIOHandle = ctypes.c_void_p
RtcHandle = ctypes.c_void_p
CudaModuleHandle = ctypes.c_void_p
CudaKernelHandle = ctypes.c_void_p
ProfileHandle = ctypes.c_void_p
DLPackHandle = ctypes.c_void_p


def c_str(string):
    """A ``ctypes.c_char_p`` of ``string`` in UTF-8.

    >>> import rmx as mx
    >>> mx.base.c_str("Hello, World").value
    b'Hello, World'
    """
    return ctypes.c_char_p(string.encode("utf-8"))


def c_str_array(strings):
    """A ``(c_char_p * n)`` array (``const char **``) of the UTF-8 strings.

    >>> import rmx as mx
    >>> list(mx.base.c_str_array(["a", "bc"]))
    [b'a', b'bc']
    """
    arr = (ctypes.c_char_p * len(strings))()
    arr[:] = [s.encode("utf-8") for s in strings]
    return arr


def c_array(ctype, values):
    """A ctypes array of ``ctype`` holding ``values``.

    >>> import rmx as mx
    >>> x = mx.base.c_array(mx.base.mx_float, [1, 2, 3])
    >>> len(x), x[1]
    (3, 2.0)
    """
    out = (ctype * len(values))()
    out[:] = values
    return out


def c_array_buf(ctype, buf):
    """A ctypes array of ``ctype`` over the memory of the writable buffer ``buf`` (no copy).

    >>> import array
    >>> import rmx as mx
    >>> x = mx.base.c_array_buf(mx.base.mx_float, array.array('f', [1, 2, 3]))
    >>> len(x), x[1]
    (3, 2.0)
    """
    return (ctype * len(buf)).from_buffer(buf)


def c_handle_array(objs):
    """A ``(c_void_p * n)`` array of the objects' ``handle`` attributes."""
    arr = (ctypes.c_void_p * len(objs))()
    arr[:] = [o.handle for o in objs]
    return arr


def ctypes2buffer(cptr, length):
    """A ``bytearray`` copy of ``length`` bytes at the ``POINTER(c_char)`` ``cptr``.

    >>> import ctypes
    >>> import rmx as mx
    >>> raw = ctypes.create_string_buffer(b"abc")
    >>> mx.base.ctypes2buffer(ctypes.cast(raw, ctypes.POINTER(ctypes.c_char)), 3)
    bytearray(b'abc')
    """
    if not isinstance(cptr, ctypes.POINTER(ctypes.c_char)):
        raise TypeError("expected char pointer")
    out = bytearray(length)
    if length and not ctypes.memmove((ctypes.c_char * length).from_buffer(out), cptr, length):
        raise RuntimeError("memmove failed")
    return out


def ctypes2numpy_shared(cptr, shape):
    """A float32 NumPy array of ``shape`` over the memory at the ``POINTER(mx_float)`` ``cptr``
    (shared, not copied).

    >>> import ctypes
    >>> import rmx as mx
    >>> buf = mx.base.c_array(mx.base.mx_float, [1, 2, 3, 4])
    >>> a = mx.base.ctypes2numpy_shared(ctypes.cast(buf, mx.base.mx_float_p), (2, 2))
    >>> buf[3] = 9
    >>> a.tolist()
    [[1.0, 2.0], [3.0, 9.0]]
    """
    if not isinstance(cptr, ctypes.POINTER(mx_float)):
        raise RuntimeError("expected float pointer")
    size = int(_np.prod(shape, dtype=_np.int64)) if len(shape) else 1
    buf = (mx_float * size).from_address(ctypes.addressof(cptr.contents))
    return _np.frombuffer(buf, dtype=_np.float32).reshape(shape)


def build_param_doc(arg_names, arg_types, arg_descs, remove_dup=True):
    """The numpydoc ``Parameters`` section for the arguments (``num_args`` left out).

    >>> import rmx as mx
    >>> print(mx.base.build_param_doc(["data", "axis"], ["NDArray", "int"], ["Input.", ""]))
    Parameters
    ----------
    data : NDArray
        Input.
    axis : int
    <BLANKLINE>
    """
    seen, entries = set(), []
    for name, type_info, desc in zip(arg_names, arg_types, arg_descs):
        if (name in seen and remove_dup) or name == "num_args":
            continue
        seen.add(name)
        entries.append(f"{name} : {type_info}" + (f"\n    {desc}" if desc else ""))
    return "Parameters\n----------\n" + "\n".join(entries) + "\n"


def add_fileline_to_docstring(module, incursive=True):
    """Appends ``From:<file>:<line>`` to the docstring of each function (and, with
    ``incursive``, each class's methods) of ``module`` (a module or its name)."""

    def add(obj):
        if obj.__doc__ is None or "From:" in obj.__doc__:
            return
        try:
            fname, line = inspect.getsourcefile(obj), inspect.getsourcelines(obj)[-1]
        except (OSError, TypeError):
            return
        if fname is not None:
            obj.__doc__ += "\n\nFrom:%s:%d" % (fname, line)

    if isinstance(module, str):
        module = sys.modules[module]
    for _, obj in inspect.getmembers(module):
        if inspect.isbuiltin(obj):
            continue
        if inspect.isfunction(obj):
            add(obj)
        if inspect.ismethod(obj):
            add(obj.__func__)
        if inspect.isclass(obj) and incursive:
            add_fileline_to_docstring(obj, False)


def _as_list(obj):
    """``obj`` itself when it is a list or tuple, else ``[obj]``."""
    return obj if isinstance(obj, (list, tuple)) else [obj]


from . import libinfo  # noqa: E402 - MXNet's base exposes its libinfo module
