"""Dataset containers (``mxnet.gluon.data.dataset``): indexable collections of samples.

A dataset has ``__getitem__`` and ``__len__``; NumPy and rmx arrays and lists can be used
directly. ``Dataset`` adds lazy views: ``transform``/``transform_first`` map samples,
``filter``, ``shard``, ``take`` and ``sample`` select them.

    >>> import numpy as np
    >>> from rmx.gluon.data import ArrayDataset
    >>> ds = ArrayDataset(np.arange(6).reshape(3, 2), [10, 11, 12])
    >>> len(ds), ds[1]
    (3, (array([2, 3]), 11))
    >>> doubled = ds.transform_first(lambda x: x * 2)
    >>> doubled[2]
    (array([ 8, 10]), 12)
    >>> [label for _, label in ds.filter(lambda s: s[1] != 11)]
    [10, 12]

``RecordFileDataset`` reads the records of a RecordIO ``.rec`` file by index (through its
``.idx`` file).
"""

import os

from ... import ndarray

__all__ = ["Dataset", "SimpleDataset", "ArrayDataset", "RecordFileDataset"]


class Dataset:
    """Abstract dataset: subclasses define ``__getitem__`` (the i-th sample) and ``__len__``.

    .. note:: An rmx NDArray or a NumPy array can be used directly as a dataset.
    """

    def __getitem__(self, idx):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError

    def filter(self, fn):
        """A dataset of the samples for which ``fn(sample)`` is true (evaluated once, now).

        On a lazily transformed dataset ``fn`` sees transformed samples, and the transform runs
        again whenever a sample of the result is read.
        """
        from .sampler import FilterSampler

        return _SampledDataset(self, FilterSampler(fn, self))

    def shard(self, num_shards, index):
        """The ``index``-th of ``num_shards`` contiguous parts; the first ``len % num_shards``
        parts have one sample more.

        >>> from rmx.gluon.data import SimpleDataset
        >>> [list(SimpleDataset(list(range(10))).shard(3, i)) for i in range(3)]
        [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]
        """
        assert index < num_shards, "Shard index of out bound: %d out of %d" % (index, num_shards)
        assert num_shards > 0, "Number of shards must be greater than 0"
        assert index >= 0, "Index must be non-negative"
        length = len(self)
        shard_len = length // num_shards
        rest = length % num_shards
        start = shard_len * index + min(index, rest)
        end = start + shard_len + (index < rest)
        from .sampler import SequentialSampler

        return _SampledDataset(self, SequentialSampler(end - start, start))

    def take(self, count):
        """The first ``count`` samples (all of them if ``count`` is None or too large)."""
        if count is None or count > len(self):
            count = len(self)
        from .sampler import SequentialSampler

        return _SampledDataset(self, SequentialSampler(count))

    def sample(self, sampler):
        """The samples at the indices ``sampler`` yields (a ``gluon.data.Sampler``)."""
        from .sampler import Sampler

        if not isinstance(sampler, Sampler):
            raise TypeError("Invalid sampler type: %s. Expected gluon.data.Sampler instead." % type(sampler))
        return _SampledDataset(self, sampler)

    def transform(self, fn, lazy=True):
        """A dataset of ``fn(sample)`` (``fn(*sample)`` for tuple samples).

        With ``lazy=False`` every sample is transformed now, once; keep ``lazy=True`` for random
        augmentations, or every epoch sees the same result.
        """
        trans = _LazyTransformDataset(self, fn)
        if lazy:
            return trans
        return SimpleDataset([i for i in trans])

    def transform_first(self, fn, lazy=True):
        """Like ``transform``, but ``fn`` sees and replaces only a sample's first element (the
        data, leaving the label as is)."""
        return self.transform(_TransformFirstClosure(fn), lazy)

    def __iter__(self):
        # Python's legacy protocol would do the same through __getitem__, but a dataset whose
        # __getitem__ does not raise IndexError at the end would loop forever; __len__ bounds it.
        for i in range(len(self)):
            yield self[i]


class SimpleDataset(Dataset):
    """A dataset over any object with ``len()`` and ``[]`` (a list, an array, ...)."""

    def __init__(self, data):
        self._data = data

    def __len__(self):
        return len(self._data)

    def __getitem__(self, idx):
        return self._data[idx]


class _LazyTransformDataset(Dataset):
    """``fn`` applied to each sample when it is read."""

    def __init__(self, data, fn):
        self._data = data
        self._fn = fn

    def __len__(self):
        return len(self._data)

    def __getitem__(self, idx):
        item = self._data[idx]
        if isinstance(item, tuple):
            return self._fn(*item)
        return self._fn(item)


class _TransformFirstClosure:
    """A callable object rather than a nested function, so that it pickles (process workers)."""

    def __init__(self, fn):
        self._fn = fn

    def __call__(self, x, *args):
        if args:
            return (self._fn(x),) + args
        return self._fn(x)


class _SampledDataset(Dataset):
    """The samples of ``dataset`` at the indices ``sampler`` yields (taken once, here)."""

    def __init__(self, dataset, sampler):
        self._dataset = dataset
        self._sampler = sampler
        self._indices = list(iter(sampler))

    def __len__(self):
        return len(self._sampler)

    def __getitem__(self, idx):
        return self._dataset[self._indices[idx]]


class ArrayDataset(Dataset):
    """Zips dataset-like objects of one length: sample ``i`` is ``(x1[i], x2[i], ...)``, or
    ``x1[i]`` itself when there is one.

    A 1-D NDArray is kept as NumPy (as MXNet does), so its samples are NumPy scalars rather than
    shape-(1,) NDArrays.

    >>> import rmx as mx
    >>> from rmx.gluon.data import ArrayDataset
    >>> ds = ArrayDataset(mx.nd.ones((4, 2)), mx.nd.array([0, 1, 2, 3]))
    >>> x, y = ds[3]
    >>> x.shape, y.dtype, float(y)
    ((2,), dtype('float32'), 3.0)
    """

    def __init__(self, *args):
        assert len(args) > 0, "Needs at least 1 arrays"
        self._length = len(args[0])
        self._data = []
        for i, data in enumerate(args):
            assert len(data) == self._length, (
                "All arrays must have the same length; array[0] has length %d while array[%d] has %d." % (self._length, i + 1, len(data))
            )
            if isinstance(data, ndarray.NDArray) and len(data.shape) == 1:
                data = data.asnumpy()
            self._data.append(data)

    def __getitem__(self, idx):
        if len(self._data) == 1:
            return self._data[0][idx]
        return tuple(data[idx] for data in self._data)

    def __len__(self):
        return self._length


class RecordFileDataset(Dataset):
    """The records of a RecordIO file as raw bytes, by index (``filename`` with its ``.idx``
    file beside it, as im2rec writes them). Local, ``s3://`` or ``http(s)://`` paths."""

    def __init__(self, filename):
        from ... import recordio
        self.idx_file = os.path.splitext(filename)[0] + ".idx"
        self.filename = filename
        self._record = recordio.MXIndexedRecordIO(self.idx_file, self.filename, "r")

    def __getitem__(self, idx):
        return self._record.read_idx(self._record.keys[idx])

    def __len__(self):
        return len(self._record.keys)


class _DownloadedDataset(Dataset):
    """Base of MNIST, CIFAR10, ...: ``(data[i], label[i])`` through an optional ``transform``.

    Subclasses fill ``_data`` and ``_label`` in ``_get_data``; rmx reads local files only and never
    downloads (see ``rmx.gluon.data.vision``).
    """

    def __init__(self, root, transform):
        super().__init__()
        self._transform = transform
        self._data = None
        self._label = None
        self._root = os.path.expanduser(root)
        self._get_data()

    def __getitem__(self, idx):
        if self._transform is not None:
            return self._transform(self._data[idx], self._label[idx])
        return self._data[idx], self._label[idx]

    def __len__(self):
        return len(self._label)

    def _get_data(self):
        raise NotImplementedError
