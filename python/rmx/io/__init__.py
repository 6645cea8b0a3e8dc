"""Data iterators (``mx.io``): ``DataDesc``, ``DataBatch``, the ``DataIter`` protocol,
``NDArrayIter``, ``ResizeIter``, ``PrefetchingIter``, and ``MNISTIter``/``CSVIter`` (MXNet's C++
iterators, here in NumPy, behind the ``MXDataIter`` interface)."""

from . import io, utils
from .io import (DataBatch, DataDesc, DataIter, MXDataIter, NDArrayIter, PrefetchingIter,
                 ResizeIter)
from .native import CSVIter, MNISTIter

__all__ = ["DataDesc", "DataBatch", "DataIter", "MXDataIter", "NDArrayIter", "PrefetchingIter",
           "ResizeIter", "MNISTIter", "CSVIter"]
