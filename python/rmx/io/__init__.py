"""Data iterators (``mx.io``): ``DataDesc``, ``DataBatch``, the ``DataIter`` protocol,
``NDArrayIter``, ``ResizeIter``, ``PrefetchingIter``, ``MNISTIter``/``CSVIter`` (MXNet's C++
iterators, here in NumPy, behind the ``MXDataIter`` interface), and ``ImageRecordIter`` (Rust)."""

from . import io, utils
from .io import (DataBatch, DataDesc, DataIter, MXDataIter, NDArrayIter, PrefetchingIter,
                 ResizeIter)
from .native import CSVIter, MNISTIter
from .image_record import ImageRecordIter, ImageRecordUInt8Iter

__all__ = ["DataDesc", "DataBatch", "DataIter", "MXDataIter", "NDArrayIter", "PrefetchingIter",
           "ResizeIter", "MNISTIter", "CSVIter", "ImageRecordIter", "ImageRecordUInt8Iter"]
