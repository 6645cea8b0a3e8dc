"""The exception family every rmx error belongs to, as MXNet's ``mxnet.base.MXNetError``.

Rust errors become these classes in exactly one place (``src/errors.rs``), by error variant.
Code written for MXNet that catches ``MXNetError`` keeps working; the subclasses also derive from
the natural built-in class (``ValueError``, ``TypeError``) where one fits.
"""

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


class KVStoreError(MXNetError):
    """A distributed kvstore failed: a process of the job died or stopped answering (the message
    names it: ``server 1 (10.0.0.2:41234) was lost: ...``), or a peer broke the protocol."""


__all__ += ["ParameterError", "IndexError", "FileError", "DataError", "OutOfMemoryError", "UnsupportedKVStoreError",
            "KVStoreError"]


class NotImplementedForSymbol(MXNetError):
    """An NDArray operation that a Symbol cannot do (``bool(symbol)``)."""

    def __init__(self, function, alias=None, *args):
        super().__init__(f"Function {getattr(function, '__name__', function)} (namely operator \"{alias}\") is not implemented for Symbol and only available in NDArray.")


integer_types = (int,)
string_types = (str,)


def py_str(x):
    """Bytes from the library as ``str``."""
    return x.decode("utf-8") if isinstance(x, bytes) else x
