"""MXNet's ``mxnet.libinfo``, for a framework without ``libmxnet.so``.

rmx's core is the Python extension ``rmx._rmx`` (Rust), not MXNet's C library, so there is no
``libmxnet.so``, include directory or TVM configuration to find: those functions raise
``MXNetError`` saying so. ``__version__`` is the MXNet API version rmx follows.

    >>> import rmx as mx
    >>> mx.libinfo.find_lib_path()
    Traceback (most recent call last):
    ...
    rmx.base.MXNetError: rmx has no libmxnet.so: its core is the Python extension rmx._rmx (Rust), not MXNet's C library
"""

import os

from .base import MXNetError

__version__ = "1.9.1"

__all__ = ["find_lib_path", "find_include_path", "find_conf_path", "features", "extension_path"]


def _no_library(what):
    return MXNetError(f"rmx has no {what}: its core is the Python extension rmx._rmx (Rust), not MXNet's C library")


def find_lib_path(prefix="libmxnet"):
    """MXNet: the paths of ``libmxnet.so``. rmx has none: raises ``MXNetError``."""
    raise _no_library(f"{prefix}.so")


def find_include_path():
    """MXNet: the directory of MXNet's C headers. rmx has none: raises ``MXNetError``."""
    raise _no_library("C API headers")


def find_conf_path(prefix="tvmop"):
    """MXNet: the TVM operator configuration. rmx has none: raises ``MXNetError``."""
    raise _no_library(f"{prefix}.conf")


def extension_path():
    """The file of rmx's compiled core (``rmx/_rmx.abi3.so``), what ``libmxnet.so`` is to MXNet."""
    from . import _rmx

    return os.path.abspath(_rmx.__file__)


def features():
    """The names of the features rmx has enabled (see :mod:`rmx.runtime`)."""
    from .runtime import Features

    return [name for name, f in Features().items() if f.enabled]
