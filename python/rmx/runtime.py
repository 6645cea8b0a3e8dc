"""MXNet's ``mxnet.runtime``: which of MXNet's build features this rmx has.

The names are MXNet 1.9.1's, in its order, so code that asks ``Features().is_enabled("CUDA")``
keeps working; an unknown name raises ``RuntimeError`` as in MXNet. The values describe rmx, not
an MXNet build: each one's reason is beside it in ``_FEATURES``.

    >>> import rmx as mx
    >>> features = mx.runtime.Features()
    >>> features.is_enabled("DIST_KVSTORE"), features.is_enabled("mkldnn")
    (True, False)
    >>> features.is_enabled("NO_SUCH_THING")
    Traceback (most recent call last):
    ...
    RuntimeError: Feature 'NO_SUCH_THING' is unknown, known features are: [...]
"""

import collections
import ctypes
import platform

from .base import check_call  # noqa: F401 - MXNet's runtime has it

__all__ = ["Feature", "Features", "feature_list"]


def _cpu_flags():
    """The CPU's feature flags (Linux ``/proc/cpuinfo``; empty elsewhere)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _x86():
    return platform.machine().lower() in ("x86_64", "amd64")


def _gpus():
    from .context import num_gpus

    try:
        return num_gpus() > 0
    except Exception:  # noqa: BLE001 - a broken driver means no usable GPU, not an import failure
        return False


def _profiler():
    import importlib.util

    return importlib.util.find_spec("rmx.profiler") is not None


# MXNet 1.9.1's feature names in its order (mxnet.runtime.feature_list()), each with rmx's value.
_FEATURES = [
    ("CUDA", _gpus),                 # the CUDA driver is loaded at run time; on only where a GPU answers
    ("CUDNN", lambda: False),        # rmx's kernels are its own; no cuDNN
    ("NCCL", lambda: False),         # no NCCL; multi-device reduction goes through the kvstore
    ("CUDA_RTC", lambda: False),     # no NVRTC (mx.rtc)
    ("TENSORRT", lambda: False),
    ("CPU_SSE", _x86),               # SSE and SSE2 are in the x86-64 baseline rmx is compiled for
    ("CPU_SSE2", _x86),
    ("CPU_SSE3", lambda: False),     # compiled for the baseline only (no target-cpu flags) ...
    ("CPU_SSE4_1", lambda: False),
    ("CPU_SSE4_2", lambda: False),
    ("CPU_SSE4A", lambda: False),
    ("CPU_AVX", lambda: False),
    # ... but rmx's hot loops and its gemm choose AVX2/FMA copies at run time where the CPU has them.
    ("CPU_AVX2", lambda: _x86() and {"avx2", "fma"} <= _cpu_flags()),
    ("OPENMP", lambda: False),       # threads are the engine's and rayon's, not OpenMP
    ("SSE", lambda: False),          # mshadow's SSE switch; rmx has no mshadow
    ("F16C", lambda: False),         # float16 conversions are done in software (the half crate)
    ("JEMALLOC", lambda: False),     # the allocator is mimalloc
    ("BLAS_OPEN", lambda: False),    # matrix products are the Rust gemm crate, no BLAS library
    ("BLAS_ATLAS", lambda: False),
    ("BLAS_MKL", lambda: False),
    ("BLAS_APPLE", lambda: False),
    ("LAPACK", lambda: False),       # no LAPACK library
    ("MKLDNN", lambda: False),       # no oneDNN
    ("OPENCV", lambda: False),       # images are decoded and resized by Rust crates, not OpenCV
    ("CAFFE", lambda: False),
    ("PROFILER", _profiler),         # on when rmx.profiler exists
    ("DIST_KVSTORE", lambda: True),  # rmx has its own dist_sync/dist_async kvstore (rmx.kvstore_dist)
    ("CXX14", lambda: False),        # the core is Rust, not C++
    ("INT64_TENSOR_SIZE", lambda: True),  # shapes and offsets are 64-bit (usize) throughout
    ("SIGNAL_HANDLER", lambda: False),    # rmx installs no SIGSEGV backtrace handler
    ("DEBUG", lambda: False),        # the extension is built in release mode
    ("TVM_OP", lambda: False),
]


class Feature(ctypes.Structure):
    """A build feature: ``name`` and ``enabled`` (MXNet's C structure, kept for its layout).

    >>> import rmx as mx
    >>> mx.runtime.Feature(b"DIST_KVSTORE", True)
    ✔ DIST_KVSTORE
    """

    _fields_ = [("_name", ctypes.c_char_p), ("_enabled", ctypes.c_bool)]

    @property
    def name(self):
        """The feature's name."""
        return self._name.decode()

    @property
    def enabled(self):
        """Whether rmx has the feature."""
        return self._enabled

    def __repr__(self):
        return ("✔ " if self.enabled else "✖ ") + self.name


def feature_list():
    """Every feature as a :class:`Feature`, in MXNet's order."""
    return [Feature(name.encode(), bool(enabled())) for name, enabled in _FEATURES]


class Features(collections.OrderedDict):
    """The features by name (one shared instance, as MXNet's), with :meth:`is_enabled`."""

    instance = None

    def __new__(cls):
        if cls.instance is None:
            cls.instance = super().__new__(cls)
            super(Features, cls.instance).__init__((f.name, f) for f in feature_list())
        return cls.instance

    def __init__(self):  # the shared instance is filled once, in __new__
        pass

    def __repr__(self):
        return str(list(self.values()))

    def is_enabled(self, feature_name):
        """Whether feature ``feature_name`` (any case) is on; ``RuntimeError`` for an unknown name."""
        feature_name = feature_name.upper()
        if feature_name not in self:
            raise RuntimeError(f"Feature '{feature_name}' is unknown, known features are: {list(self.keys())}")
        return self[feature_name].enabled
