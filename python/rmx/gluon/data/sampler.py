"""Samplers: the order in which a ``DataLoader`` visits a dataset (``mxnet.gluon.data.sampler``).

A sampler is an iterable of indices with a length. ``BatchSampler`` groups another sampler's
indices into mini-batches and decides what happens to an incomplete last batch:

    >>> from rmx.gluon.data import SequentialSampler, BatchSampler
    >>> list(BatchSampler(SequentialSampler(10), 3, 'keep'))
    [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    >>> list(BatchSampler(SequentialSampler(10), 3, 'discard'))
    [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    >>> rollover = BatchSampler(SequentialSampler(10), 3, 'rollover')
    >>> list(rollover), list(rollover)
    ([[0, 1, 2], [3, 4, 5], [6, 7, 8]], [[9, 0, 1], [2, 3, 4], [5, 6, 7]])
"""

import numpy as np

__all__ = ["Sampler", "SequentialSampler", "RandomSampler", "FilterSampler", "BatchSampler", "IntervalSampler"]

_LAST_BATCH = ("keep", "discard", "rollover")


class Sampler:
    """Base class for samplers: subclasses define ``__iter__`` and ``__len__``."""

    def __iter__(self):
        raise NotImplementedError

    def __len__(self):
        raise NotImplementedError


class SequentialSampler(Sampler):
    """Samples ``[start, start + length)`` in order.

    >>> from rmx.gluon.data import SequentialSampler
    >>> list(SequentialSampler(4, start=2))
    [2, 3, 4, 5]
    """

    def __init__(self, length, start=0):
        self._length = length
        self._start = start

    def __iter__(self):
        return iter(range(self._start, self._start + self._length))

    def __len__(self):
        return self._length


class RandomSampler(Sampler):
    """Samples ``[0, length)`` in a random order without replacement.

    The permutation comes from NumPy's global generator (``np.random.shuffle``), as in MXNet, so
    ``np.random.seed`` makes it repeatable; the indices are NumPy integers.

    >>> import numpy as np
    >>> from rmx.gluon.data import RandomSampler
    >>> np.random.seed(0)
    >>> [int(i) for i in RandomSampler(5)]
    [2, 0, 1, 3, 4]
    """

    def __init__(self, length):
        self._length = length

    def __iter__(self):
        indices = np.arange(self._length)
        np.random.shuffle(indices)
        return iter(indices)

    def __len__(self):
        return self._length


class FilterSampler(Sampler):
    """Samples the indices of ``dataset`` whose sample ``fn`` accepts (evaluated once, here).

    >>> from rmx.gluon.data import FilterSampler
    >>> list(FilterSampler(lambda x: x % 3 == 0, list(range(10))))
    [0, 3, 6, 9]
    """

    def __init__(self, fn, dataset):
        self._fn = fn
        self._dataset = dataset
        self._indices = [i for i, sample in enumerate(dataset) if fn(sample)]

    def __iter__(self):
        return iter(self._indices)

    def __len__(self):
        return len(self._indices)


class BatchSampler(Sampler):
    """Wraps ``sampler`` and yields lists of ``batch_size`` indices.

    ``last_batch`` handles a length that ``batch_size`` does not divide: ``'keep'`` yields the
    short batch, ``'discard'`` drops it, ``'rollover'`` keeps its indices and puts them first in
    the next pass (see the module example).
    """

    def __init__(self, sampler, batch_size, last_batch="keep"):
        self._sampler = sampler
        self._batch_size = batch_size
        self._last_batch = last_batch
        self._prev = []

    def __iter__(self):
        batch, self._prev = self._prev, []
        for i in self._sampler:
            batch.append(i)
            if len(batch) == self._batch_size:
                yield batch
                batch = []
        if batch:
            if self._last_batch == "keep":
                yield batch
            elif self._last_batch == "discard":
                return
            elif self._last_batch == "rollover":
                self._prev = batch
            else:
                raise ValueError(f"last_batch must be one of 'keep', 'discard', or 'rollover', but got {self._last_batch}")

    def __len__(self):
        if self._last_batch == "keep":
            return (len(self._sampler) + self._batch_size - 1) // self._batch_size
        if self._last_batch == "discard":
            return len(self._sampler) // self._batch_size
        if self._last_batch == "rollover":
            return (len(self._prev) + len(self._sampler)) // self._batch_size
        raise ValueError(f"last_batch must be one of 'keep', 'discard', or 'rollover', but got {self._last_batch}")


class IntervalSampler(Sampler):
    """Samples ``[0, length)`` at a fixed ``interval``; with ``rollover`` it then starts again
    from each skipped offset until every index is visited.

    MXNet 1.9.1 has this class as ``mxnet.gluon.contrib.data.IntervalSampler``. Unlike it,
    ``len()`` with ``rollover=False`` is the number of indices actually yielded, not ``length``.

    >>> from rmx.gluon.data import IntervalSampler
    >>> list(IntervalSampler(13, interval=3))
    [0, 3, 6, 9, 12, 1, 4, 7, 10, 2, 5, 8, 11]
    >>> sampler = IntervalSampler(13, interval=3, rollover=False)
    >>> list(sampler), len(sampler)
    ([0, 3, 6, 9, 12], 5)
    """

    def __init__(self, length, interval, rollover=True):
        assert interval <= length, f"Interval {interval} must be smaller than or equal to length {length}"
        self._length = length
        self._interval = interval
        self._rollover = rollover

    def __iter__(self):
        for i in range(self._interval if self._rollover else 1):
            yield from range(i, self._length, self._interval)

    def __len__(self):
        if self._rollover:
            return self._length
        return len(range(0, self._length, self._interval))
