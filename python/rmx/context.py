"""Devices, as MXNet's ``mxnet.context``: ``Context``, ``cpu(i)``, ``gpu(i)`` and the default scope.

    >>> import rmx as mx
    >>> mx.cpu(1)
    cpu(1)
    >>> with mx.cpu(1):
    ...     mx.context.current_context()
    cpu(1)
"""

import ctypes  # noqa: F401 - MXNet's context module has these names
import threading
import warnings  # noqa: F401

from .base import check_call, classproperty, with_metaclass  # noqa: F401

__all__ = [
    "Context",
    "cpu",
    "gpu",
    "cpu_pinned",
    "current_context",
    "num_gpus",
    "gpu_memory_info",
    "gpu_memory_pool_stats",
]


class Context:
    """A device: ``device_type`` ('cpu', 'gpu', 'cpu_pinned', 'cpu_shared') and ``device_id``.

    Used as a context manager it becomes the default device of the block, per thread.
    """

    devtype2str = {1: "cpu", 2: "gpu", 3: "cpu_pinned", 5: "cpu_shared"}
    devstr2type = {v: k for k, v in devtype2str.items()}
    _scope = threading.local()

    def __init__(self, device_type, device_id=0):
        if isinstance(device_type, Context):
            device_type, device_id = device_type.device_type, device_type.device_id
        if device_type not in self.devstr2type:
            from .base import InvalidArgumentError

            raise InvalidArgumentError(
                f"Context: unknown device_type {device_type!r}; expected one of {sorted(self.devstr2type)}"
            )
        self.device_typeid = self.devstr2type[device_type]
        self.device_id = int(device_id)
        self._old = []

    @property
    def device_type(self):
        return self.devtype2str[self.device_typeid]

    def __hash__(self):
        return hash((self.device_typeid, self.device_id))

    def __eq__(self, other):
        return (
            isinstance(other, Context)
            and self.device_typeid == other.device_typeid
            and self.device_id == other.device_id
        )

    def __repr__(self):
        return f"{self.device_type}({self.device_id})"

    __str__ = __repr__

    def __enter__(self):
        self._old.append(current_context())
        Context._scope.value = self
        return self

    def __exit__(self, *exc):
        Context._scope.value = self._old.pop()

    def empty_cache(self):
        """Gives the buffers the device's memory pool keeps for reuse back to the driver, as
        MXNet's. Host memory has no pool, so on a CPU this does nothing."""
        if self.device_type == "gpu":
            from . import _rmx

            _rmx.gpu_empty_cache(self.device_id)


def cpu(device_id=0):
    """The CPU device ``device_id``. Several CPU contexts are distinct devices, as in MXNet."""
    return Context("cpu", device_id)


def gpu(device_id=0):
    """The GPU device ``device_id``."""
    return Context("gpu", device_id)


def num_gpus():
    """The number of GPUs the CUDA driver reports (0 on a machine without one)."""
    from . import _rmx

    return _rmx.num_gpus()


def gpu_memory_info(device_id=0):
    """``(free, total)`` bytes of memory on GPU ``device_id``, as MXNet's."""
    from . import _rmx

    return _rmx.gpu_memory_info(device_id)


def gpu_memory_pool_stats(device_id=0):
    """What GPU ``device_id``'s memory pool holds (an rmx addition, not in MXNet): a dict of
    ``in_use`` and ``pooled`` bytes (rounded sizes), and counts of ``device_allocations``,
    ``reuses`` of kept buffers and ``releases`` (the pool emptied back to the driver)."""
    from . import _rmx

    return _rmx.gpu_pool_stats(device_id)


def cpu_pinned(device_id=0):
    """Page-locked host memory, for fast copies to a GPU."""
    return Context("cpu_pinned", device_id)


def current_context():
    """The default device of this thread: ``cpu(0)`` unless a ``with ctx:`` block says otherwise."""
    return getattr(Context._scope, "value", None) or Context("cpu", 0)
