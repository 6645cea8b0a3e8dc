"""Data iterators: the ``DataIter`` protocol and the Python-side iterators of MXNet's ``mx.io``.

``DataDesc`` and ``DataBatch`` describe what an iterator yields; ``NDArrayIter`` walks in-memory
arrays (with MXNet 1.9.1's exact handling of the last batch), ``ResizeIter`` fixes the number of
batches of an epoch, ``PrefetchingIter`` reads ahead in background threads, and ``MXDataIter`` is
the base of the iterators that MXNet implements in C++ (``MNISTIter``, ``CSVIter``).
"""

import logging
import threading
from collections import deque, namedtuple

import numpy as np

from ..ndarray import NDArray, concat, tile
from .utils import _getdata_by_idx, _init_data, _slice_along_batch_axis

mx_real_t = np.float32


class DataDesc(namedtuple("DataDesc", ["name", "shape"])):
    """Name, shape, dtype and layout of one input of an iterator.

    It is a ``(name, shape)`` namedtuple (it compares and unpacks like one) with ``dtype`` and
    ``layout`` as extra attributes. ``layout`` tells which axis is the batch (``N``).
    """

    def __new__(cls, name, shape, dtype=mx_real_t, layout="NCHW"):
        ret = super(DataDesc, cls).__new__(cls, name, shape)
        ret.dtype = dtype
        ret.layout = layout
        return ret

    def __repr__(self):
        return "DataDesc[%s,%s,%s,%s]" % (self.name, self.shape, self.dtype, self.layout)

    @staticmethod
    def get_batch_axis(layout):
        """The axis of the batch in ``layout`` (0 when ``layout`` is None, -1 without ``N``)."""
        if layout is None:
            return 0
        return layout.find("N")

    @staticmethod
    def get_list(shapes, types):
        """DataDescs from ``[(name, shape)]`` and, optionally, ``[(name, dtype)]``."""
        if types is not None:
            type_dict = dict(types)
            return [DataDesc(x[0], x[1], type_dict[x[0]]) for x in shapes]
        return [DataDesc(x[0], x[1]) for x in shapes]


class DataBatch:
    """One batch: lists of data and label NDArrays, the padding count and more."""

    def __init__(self, data, label=None, pad=None, index=None, bucket_key=None,
                 provide_data=None, provide_label=None):
        if data is not None:
            assert isinstance(data, (list, tuple)), "Data must be list of NDArrays"
        if label is not None:
            assert isinstance(label, (list, tuple)), "Label must be list of NDArrays"
        self.data = data
        self.label = label
        self.pad = pad
        self.index = index
        self.bucket_key = bucket_key
        self.provide_data = provide_data
        self.provide_label = provide_label

    def __str__(self):
        data_shapes = [d.shape for d in self.data]
        label_shapes = [lb.shape for lb in self.label] if self.label else None
        return "{}: data shapes: {} label shapes: {}".format(
            self.__class__.__name__, data_shapes, label_shapes)


class DataIter:
    """Base class of the data iterators.

    ``next()`` returns a ``DataBatch`` built from ``iter_next()``, ``getdata()``, ``getlabel()``,
    ``getpad()`` and ``getindex()``, and raises ``StopIteration`` at the end of the data.
    Iterators that know how many batches the current epoch gives say so with ``len()`` (an rmx
    addition: progress bars show a total); the others have no ``__len__``.
    """

    def __init__(self, batch_size=0):
        self.batch_size = batch_size

    def __iter__(self):
        return self

    def __bool__(self):
        # Iterators that know their length define __len__ (rmx addition, for progress bars);
        # an empty epoch must not make one falsy, as no MXNet iterator is.
        return True

    def reset(self):
        """Back to the beginning of the data."""

    def next(self):
        """The next ``DataBatch``; ``StopIteration`` at the end."""
        if self.iter_next():
            return DataBatch(data=self.getdata(), label=self.getlabel(),
                             pad=self.getpad(), index=self.getindex())
        raise StopIteration

    def __next__(self):
        return self.next()

    def iter_next(self):
        """Moves to the next batch; whether there was one."""

    def getdata(self):
        """The data of the current batch (a list of NDArrays)."""

    def getlabel(self):
        """The label of the current batch (a list of NDArrays)."""

    def getindex(self):
        """The indices of the examples of the current batch, or None."""
        return None

    def getpad(self):
        """How many examples at the end of the current batch are padding."""


class ResizeIter(DataIter):
    """``data_iter`` made to give exactly ``size`` batches per epoch.

    It restarts ``data_iter`` when that runs out within an epoch; ``reset()`` resets it too
    unless ``reset_internal`` is false (then the next epoch continues where this one stopped).
    """

    def __init__(self, data_iter, size, reset_internal=True):
        super().__init__()
        self.data_iter = data_iter
        self.size = size
        self.reset_internal = reset_internal
        self.cur = 0
        self.current_batch = None
        self.provide_data = data_iter.provide_data
        self.provide_label = data_iter.provide_label
        self.batch_size = data_iter.batch_size
        if hasattr(data_iter, "default_bucket_key"):
            self.default_bucket_key = data_iter.default_bucket_key

    def __len__(self):
        return self.size

    def reset(self):
        self.cur = 0
        if self.reset_internal:
            self.data_iter.reset()

    def iter_next(self):
        if self.cur == self.size:
            return False
        try:
            self.current_batch = self.data_iter.next()
        except StopIteration:
            self.data_iter.reset()
            self.current_batch = self.data_iter.next()
        self.cur += 1
        return True

    def getdata(self):
        return self.current_batch.data

    def getlabel(self):
        return self.current_batch.label

    def getindex(self):
        return self.current_batch.index

    def getpad(self):
        return self.current_batch.pad


class _Failure:
    """An exception raised by a wrapped iterator in a prefetching thread."""

    def __init__(self, exc):
        self.exc = exc


class _Prefetcher:
    """The threads of a ``PrefetchingIter``: one per wrapped iterator, each reading up to
    ``capacity`` batches ahead into its own queue.

    The end of an epoch is a ``None`` left at the head of the queue until ``reset()``. The threads
    hold this object, not the ``PrefetchingIter``, so that dropping the iterator stops them.
    """

    def __init__(self, iters, capacity):
        self.iters = iters
        self.capacity = max(1, int(capacity))
        self.cv = threading.Condition()
        self.queues = [deque() for _ in iters]
        self.finished = [False] * len(iters)
        self.busy = [False] * len(iters)
        self.resetting = False
        self.stopped = False
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True,
                                         name="rmx-prefetch-%d" % i) for i in range(len(iters))]
        for t in self.threads:
            t.start()

    def _run(self, i):
        cv = self.cv
        with cv:
            while True:
                while not self.stopped and (self.resetting or self.finished[i]
                                            or len(self.queues[i]) >= self.capacity):
                    cv.wait()
                if self.stopped:
                    return
                self.busy[i] = True
                cv.release()
                try:
                    try:
                        batch = self.iters[i].next()
                    except StopIteration:
                        batch = None
                    except BaseException as exc:  # handed to the consumer
                        batch = _Failure(exc)
                finally:
                    cv.acquire()
                self.busy[i] = False
                self.queues[i].append(batch)
                if batch is None or isinstance(batch, _Failure):
                    self.finished[i] = True
                cv.notify_all()

    def take(self):
        """The next batch of every iterator, or None at the end of the epoch."""
        with self.cv:
            for q in self.queues:
                while not q:
                    self.cv.wait()
            heads = [q[0] for q in self.queues]
            for h in heads:
                if isinstance(h, _Failure):
                    raise h.exc
            if any(h is None for h in heads):
                for h in heads:
                    assert h is None, "Number of entry mismatches between iterators"
                return None
            for q in self.queues:
                q.popleft()
            self.cv.notify_all()
            return heads

    def reset(self):
        with self.cv:
            self.resetting = True
            while any(self.busy):
                self.cv.wait()
            try:
                for it in self.iters:
                    it.reset()
            finally:
                for q in self.queues:
                    q.clear()
                self.finished = [False] * len(self.iters)
                self.resetting = False
                self.cv.notify_all()

    def stop(self):
        with self.cv:
            self.stopped = True
            self.cv.notify_all()
        for t in self.threads:
            if t is not threading.current_thread():
                t.join()


class PrefetchingIter(DataIter):
    """Reads the batches of one or more iterators ahead, in background threads.

    Each step gives the concatenation of one batch of every iterator (their data lists one after
    the other, likewise the labels). ``rename_data``/``rename_label``: one dict per iterator,
    mapping its names to new ones in ``provide_data``/``provide_label``. ``capacity`` (rmx) is
    how many batches each thread may read ahead (MXNet's threads read one).
    """

    def __init__(self, iters, rename_data=None, rename_label=None, capacity=1):
        super().__init__()
        if not isinstance(iters, list):
            iters = [iters]
        self.n_iter = len(iters)
        assert self.n_iter > 0
        self.iters = iters
        self.rename_data = rename_data
        self.rename_label = rename_label
        self.batch_size = self.provide_data[0][1][0]
        self.current_batch = None
        self._prefetcher = _Prefetcher(iters, capacity)

    def __del__(self):
        prefetcher = getattr(self, "_prefetcher", None)
        if prefetcher is not None:
            prefetcher.stop()

    @staticmethod
    def _renamed(descs, renames, iters):
        if renames is None:
            return sum([list(getattr(i, descs)) for i in iters], [])
        return sum([[DataDesc(r[x.name], x.shape, x.dtype) if isinstance(x, DataDesc)
                     else DataDesc(*x) for x in getattr(i, descs)]
                    for r, i in zip(renames, iters)], [])

    @property
    def provide_data(self):
        return self._renamed("provide_data", self.rename_data, self.iters)

    @property
    def provide_label(self):
        return self._renamed("provide_label", self.rename_label, self.iters)

    def __len__(self):
        return len(self.iters[0])  # TypeError when the wrapped iterator cannot say

    def reset(self):
        self._prefetcher.reset()

    def iter_next(self):
        batches = self._prefetcher.take()
        if batches is None:
            return False
        for batch in batches:
            assert batch.pad == batches[0].pad, "Number of entry mismatches between iterators"
        self.current_batch = DataBatch(sum([list(b.data or []) for b in batches], []),
                                       sum([list(b.label or []) for b in batches], []),
                                       batches[0].pad, batches[0].index,
                                       provide_data=self.provide_data,
                                       provide_label=self.provide_label)
        return True

    def next(self):
        if self.iter_next():
            return self.current_batch
        raise StopIteration

    def getdata(self):
        return self.current_batch.data

    def getlabel(self):
        return self.current_batch.label

    def getindex(self):
        return self.current_batch.index

    def getpad(self):
        return self.current_batch.pad


class NDArrayIter(DataIter):
    """Batches of in-memory arrays (NumPy arrays or NDArrays; one, a list, or a dict of them).

    ``last_batch_handle``: ``'pad'`` fills the last batch from the start of the data and reports
    the count in ``pad``; ``'discard'`` drops it; ``'roll_over'`` keeps its examples and puts them
    at the head of the first batch of the next epoch (whose ``pad`` then reports their count, as
    MXNet 1.9.1 does). ``shuffle`` permutes the rows with ``np.random.shuffle`` at every
    ``reset()`` (and at construction); the permutation is in ``idx``.
    """

    def __init__(self, data, label=None, batch_size=1, shuffle=False, last_batch_handle="pad",
                 data_name="data", label_name="softmax_label", layout="NCHW"):
        super().__init__(batch_size)
        self.data = _init_data(data, allow_empty=False, default_name=data_name)
        self.label = _init_data(label, allow_empty=True, default_name=label_name)
        self.idx = np.arange(self.data[0][1].shape[0])
        self.shuffle = shuffle
        self.last_batch_handle = last_batch_handle
        self.batch_size = batch_size
        self.cursor = -self.batch_size
        self.num_data = self.idx.shape[0]
        self.reset()
        self.data_list = [x[1] for x in self.data] + [x[1] for x in self.label]
        self.num_source = len(self.data_list)
        # what a partial last batch left for the next epoch ('roll_over')
        self._cache_data = None
        self._cache_label = None
        self.layout = layout

    def _descs(self, pairs):
        batch_axis = self.layout.find("N")
        return [DataDesc(k, tuple(list(v.shape[:batch_axis]) + [self.batch_size]
                                  + list(v.shape[batch_axis + 1:])), v.dtype, layout=self.layout)
                for k, v in pairs]

    @property
    def provide_data(self):
        """DataDescs of the data (shape with the batch size on the layout's batch axis)."""
        return self._descs(self.data)

    @property
    def provide_label(self):
        """DataDescs of the labels."""
        return self._descs(self.label)

    def __len__(self):
        """Batches of the current epoch: ``ceil(num_data / batch_size)`` with 'pad',
        ``floor`` with 'discard'; with 'roll_over', ``floor`` of the rows left by the previous
        epoch plus ``num_data``."""
        first_row = self._epoch_cursor + self.batch_size  # negative: rows rolled over
        rows = self.num_data - first_row
        if self.last_batch_handle == "pad":
            return -(-rows // self.batch_size)
        return rows // self.batch_size

    def hard_reset(self):
        """Back to the start, forgetting what a 'roll_over' epoch left."""
        if self.shuffle:
            self._shuffle_data()
        self.cursor = -self.batch_size
        self._epoch_cursor = self.cursor
        self._cache_data = None
        self._cache_label = None

    def reset(self):
        if self.shuffle:
            self._shuffle_data()
        if self.last_batch_handle == "roll_over" and \
                self.num_data - self.batch_size < self.cursor < self.num_data:
            # the examples left by the partial last batch open the next epoch
            self.cursor = self.cursor - self.num_data - self.batch_size
        else:
            self.cursor = -self.batch_size
        self._epoch_cursor = self.cursor  # where this epoch starts, for __len__

    def iter_next(self):
        self.cursor += self.batch_size
        return self.cursor < self.num_data

    def next(self):
        if not self.iter_next():
            raise StopIteration
        data = self.getdata()
        label = self.getlabel()
        if data[0].shape[self.layout.find("N")] != self.batch_size:
            # a partial last batch ends the epoch; 'roll_over' uses it in the next one
            self._cache_data = data
            self._cache_label = label
            raise StopIteration
        return DataBatch(data=data, label=label, pad=self.getpad(), index=None)

    def _getdata(self, data_source, start=None, end=None):
        assert start is not None or end is not None, "should at least specify start or end"
        start = start if start is not None else 0
        if end is None:
            end = data_source[0][1].shape[0] if data_source else 0
        s = slice(start, end)
        return [_slice_along_batch_axis(x[1], s, self.layout.find("N")) for x in data_source]

    def _concat(self, first_data, second_data):
        if (not first_data) or (not second_data):
            return first_data if first_data else second_data
        assert len(first_data) == len(second_data), "data source should contain the same size"
        return [concat(first_data[i], second_data[i], dim=self.layout.find("N"))
                for i in range(len(first_data))]

    def _tile(self, data, repeats):
        if not data:
            return []
        res = []
        for datum in data:
            reps = [1] * len(datum.shape)
            reps[0] = repeats
            res.append(tile(datum, reps=tuple(reps)))
        return res

    def _batchify(self, data_source):
        assert self.cursor < self.num_data, "DataIter needs reset."
        if self.last_batch_handle == "roll_over" and -self.batch_size < self.cursor < 0:
            # first batch of an epoch after a 'roll_over' one: the cached rows, then the head
            assert self._cache_data is not None or self._cache_label is not None, \
                "next epoch should have cached data"
            cache_data = self._cache_data if self._cache_data is not None else self._cache_label
            second_data = self._getdata(data_source, end=self.cursor + self.batch_size)
            if self._cache_data is not None:
                self._cache_data = None
            else:
                self._cache_label = None
            return self._concat(cache_data, second_data)
        if self.last_batch_handle == "pad" and self.cursor + self.batch_size > self.num_data:
            pad = self.batch_size - self.num_data + self.cursor
            first_data = self._getdata(data_source, start=self.cursor)
            if pad > self.num_data:
                repeats = pad // self.num_data
                second_data = self._tile(self._getdata(data_source, end=self.num_data), repeats)
                if pad % self.num_data != 0:
                    second_data = self._concat(
                        second_data, self._getdata(data_source, end=pad % self.num_data))
            else:
                second_data = self._getdata(data_source, end=pad)
            return self._concat(first_data, second_data)
        if self.cursor + self.batch_size < self.num_data:
            end_idx = self.cursor + self.batch_size
        else:
            end_idx = self.num_data
        return self._getdata(data_source, self.cursor, end_idx)

    def getdata(self):
        return self._batchify(self.data)

    def getlabel(self):
        return self._batchify(self.label)

    def getpad(self):
        if self.last_batch_handle == "pad" and self.cursor + self.batch_size > self.num_data:
            return self.cursor + self.batch_size - self.num_data
        if self.last_batch_handle == "roll_over" and -self.batch_size < self.cursor < 0:
            return -self.cursor
        return 0

    def _shuffle_data(self):
        np.random.shuffle(self.idx)
        self.data = _getdata_by_idx(self.data, self.idx)
        self.label = _getdata_by_idx(self.label, self.idx)


class MXDataIter(DataIter):
    """Base of the iterators MXNet implements in C++ (``MNISTIter``, ``CSVIter``).

    Subclasses provide ``_before_first()``, ``_next()`` (whether a batch was loaded) and
    ``_value()`` (data NDArray, label NDArray, pad, index of the loaded batch). As in MXNet the
    first batch is loaded at construction, to learn ``provide_data``/``provide_label``, and
    ``getdata()``/``getlabel()`` return one NDArray each (``next()`` wraps them in lists).
    """

    def __init__(self, data_name="data", label_name="softmax_label", **_):
        super().__init__()
        self._debug_skip_load = False
        self._debug_at_begin = True
        self.first_batch = None
        self.first_batch = self.next()
        data = self.first_batch.data[0]
        label = self.first_batch.label[0]
        self.provide_data = [DataDesc(data_name, data.shape, data.dtype)]
        self.provide_label = [DataDesc(label_name, label.shape, label.dtype)]
        self.batch_size = data.shape[0]

    def _before_first(self):
        raise NotImplementedError

    def _next(self):
        raise NotImplementedError

    def _value(self):
        raise NotImplementedError

    def debug_skip_load(self):
        """From now on every batch is the current one (to time a network without the IO)."""
        self._debug_skip_load = True
        logging.info("Set debug_skip_load to be true, will simply return first batch")

    def reset(self):
        self._debug_at_begin = True
        self.first_batch = None
        self._before_first()

    def next(self):
        if self._debug_skip_load and not self._debug_at_begin:
            return DataBatch(data=[self.getdata()], label=[self.getlabel()],
                             pad=self.getpad(), index=self.getindex())
        if self.first_batch is not None:
            batch = self.first_batch
            self.first_batch = None
            return batch
        self._debug_at_begin = False
        if self._next():
            return DataBatch(data=[self.getdata()], label=[self.getlabel()],
                             pad=self.getpad(), index=self.getindex())
        raise StopIteration

    def iter_next(self):
        if self.first_batch is not None:
            # the loaded batch is the first one: hand it out once
            self.first_batch = None
            return True
        return bool(self._next())

    def getdata(self):
        return self._value()[0]

    def getlabel(self):
        return self._value()[1]

    def getindex(self):
        index = self._value()[3]
        return None if index is None or len(index) == 0 else np.array(index, dtype=np.uint64)

    def getpad(self):
        return int(self._value()[2])
