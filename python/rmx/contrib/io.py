"""``mx.contrib.io``: ``DataLoaderIter``, a Gluon ``DataLoader`` as a ``DataIter`` for Module."""

from .. import ndarray as nd  # noqa: F401 (MXNet's module names)
from ..io import DataBatch, DataDesc, DataIter


class DataLoaderIter(DataIter):
    """Iterates a Gluon ``DataLoader`` of ``(data, label)`` batches as ``DataBatch`` objects."""

    def __init__(self, loader, data_name="data", label_name="softmax_label", dtype="float32"):
        super().__init__()
        self._loader, self._iter = loader, iter(loader)
        data, label = next(iter(loader))
        self.batch_size = data.shape[0]
        self.dtype = dtype
        self.provide_data = [DataDesc(data_name, data.shape, dtype)]
        self.provide_label = [DataDesc(label_name, label.shape, dtype)]
        self._current = None

    def reset(self):
        self._iter = iter(self._loader)

    def iter_next(self):
        try:
            self._current = next(self._iter)
        except StopIteration:
            self._current = None
        return self._current is not None

    def next(self):
        if not self.iter_next():
            raise StopIteration
        data, label = self._current
        pad = self.batch_size - data.shape[0]
        return DataBatch([data.astype(self.dtype)], [label.astype(self.dtype)], pad=pad)

    def getdata(self):
        return [self._current[0].astype(self.dtype)]

    def getlabel(self):
        return [self._current[1].astype(self.dtype)]

    def getpad(self):
        return self.batch_size - self._current[0].shape[0]

    def getindex(self):
        return None
