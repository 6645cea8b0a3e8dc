"""``DataLoader``: mini-batches from a dataset, loaded in the caller or by workers
(``mxnet.gluon.data.dataloader``).

    >>> import numpy as np
    >>> from rmx.gluon.data import ArrayDataset, DataLoader
    >>> ds = ArrayDataset(np.arange(10, dtype=np.float32).reshape(5, 2), np.arange(5, dtype=np.int32))
    >>> loader = DataLoader(ds, batch_size=2)
    >>> len(loader)
    3
    >>> for data, label in loader:
    ...     print(data.shape, data.dtype.__name__, label.asnumpy())
    (2, 2) float32 [0 1]
    (2, 2) float32 [2 3]
    (1, 2) float32 [4]

``num_workers > 0`` loads batches in parallel, in ``num_workers`` threads (``thread_pool=True``)
or processes, keeping up to ``prefetch`` batches in flight; batches come out in sampler order,
the same as with no workers. Differences from MXNet 1.9.1, all in how the work is done:

- the workers belong to an iterator, not to the loader: they start when iteration starts (or at
  ``refresh()``, which ``auto_reload`` calls) and stop when the iterator is exhausted, raises or is
  dropped; MXNet keeps one pool for the loader's life;
- processes are spawned, not forked (see ``_worker_pool``), so the dataset must pickle, and they
  return samples as NumPy arrays; the parent runs ``batchify_fn`` (MXNet's workers batchify into
  shared memory). Threads batchify themselves, as in MXNet;
- a worker's exception is re-raised in the parent with its original type and a note naming the
  sample index; a process that dies raises ``RuntimeError`` at once instead of waiting for
  ``timeout``.
"""

import weakref

import numpy as np

from ... import context
from ... import ndarray as nd
from . import sampler as _sampler
from ._worker_pool import ProcessWorkers, ThreadWorkers, load_samples, _Failure

__all__ = ["DataLoader"]


def default_batchify_fn(data):
    """Collates a list of samples into a batch: NDArrays are stacked, tuples are collated
    element by element (into a list), anything else goes through ``np.asarray`` and becomes an
    NDArray of that dtype (so Python ints give int64, Python floats float64).

    >>> import rmx as mx
    >>> from rmx.gluon.data.dataloader import default_batchify_fn
    >>> batch = default_batchify_fn([(mx.nd.ones((2,)), 1), (mx.nd.zeros((2,)), 0)])
    >>> [(b.shape, b.dtype.__name__) for b in batch]
    [((2, 2), 'float32'), ((2,), 'int64')]
    """
    if isinstance(data[0], nd.NDArray):
        return nd.stack(*data)
    if isinstance(data[0], tuple):
        return [default_batchify_fn(i) for i in zip(*data)]
    data = np.asarray(data)
    return nd.array(data, dtype=data.dtype)


def default_mp_batchify_fn(data):
    """MXNet's batchify for worker processes (which builds batches in shared memory); rmx
    builds every batch in the parent, so this is ``default_batchify_fn``."""
    return default_batchify_fn(data)


def _as_in_context(data, ctx):
    """Moves the NDArrays of a (nested) batch to ``ctx``."""
    if isinstance(data, nd.NDArray):
        return data.as_in_context(ctx)
    if isinstance(data, (list, tuple)):
        return [_as_in_context(d, ctx) for d in data]
    return data


class _BatchLoader:
    """What a worker thread runs: a batch's samples through ``batchify_fn``."""

    def __init__(self, dataset, batchify_fn):
        self._dataset = dataset
        self._batchify_fn = batchify_fn

    def __call__(self, key, indices):
        samples = load_samples(self._dataset, indices, key)
        if isinstance(samples, _Failure):
            return samples
        try:
            return self._batchify_fn(samples)
        except Exception as exc:
            return _Failure(exc, f"in batchify_fn (batch {key})")


class _MultiWorkerIter:
    """One pass over the batch sampler with workers; owns and shuts down its worker pool."""

    def __init__(self, workers, batchify_fn, batch_sampler, pin_memory=False, pin_device_id=0, prefetch=0, timeout=120, batchify_here=False):
        self._workers = workers
        self._shutdown = weakref.finalize(self, workers.shutdown)
        self._batchify_fn = batchify_fn
        self._batchify_here = batchify_here
        self._batch_sampler = batch_sampler
        self._iter = iter(batch_sampler)
        self._pin_memory = pin_memory
        self._pin_device_id = pin_device_id
        self._timeout = timeout
        self._rcvd_idx = 0
        self._sent_idx = 0
        try:
            for _ in range(prefetch):
                self._push_next()
        except BaseException:
            self.shutdown()
            raise

    def __len__(self):
        return len(self._batch_sampler)

    def _push_next(self):
        r = next(self._iter, None)
        if r is None:
            return
        self._workers.submit(self._sent_idx, r)
        self._sent_idx += 1

    def __next__(self):
        if not self._shutdown.alive:
            raise StopIteration
        try:
            self._push_next()
            if self._rcvd_idx == self._sent_idx:
                self.shutdown()
                raise StopIteration
            out = self._workers.get(self._rcvd_idx, self._timeout)
            batch = self._batchify_fn(out) if self._batchify_here else out
            if self._pin_memory:
                batch = _as_in_context(batch, context.cpu_pinned(self._pin_device_id))
        except BaseException:
            self.shutdown()
            raise
        self._rcvd_idx += 1
        return batch

    next = __next__

    def __iter__(self):
        return self

    def shutdown(self):
        """Stops the workers now (also done when the iterator is exhausted or dropped)."""
        self._shutdown()


class DataLoader:
    """Loads data from a dataset and returns mini-batches of data.

    Parameters
    ----------
    dataset : Dataset
        Source dataset. NumPy and rmx arrays can be used directly as a dataset.
    batch_size : int
        Size of mini-batch.
    shuffle : bool
        Whether to shuffle the samples (with a ``RandomSampler``).
    sampler : Sampler
        The sampler to use. Either specify sampler or shuffle, not both.
    last_batch : {'keep', 'discard', 'rollover'}, default 'keep'
        How to handle the last batch if batch_size does not evenly divide ``len(dataset)``:
        keep - a batch with fewer samples is returned; discard - it is dropped;
        rollover - its samples are carried over to the next epoch.
    batch_sampler : Sampler
        A sampler that returns mini-batches. Do not specify batch_size, shuffle, sampler, and
        last_batch if batch_sampler is specified.
    batchify_fn : callable
        How to merge a list of samples into a batch; defaults to ``default_batchify_fn``.
    num_workers : int, default 0
        The number of workers (processes, or threads with ``thread_pool``) loading batches; 0
        loads them in the caller.
    pin_memory : bool, default False
        Whether to copy batches into pinned (page-locked) CPU memory.
    pin_device_id : int, default 0
        The device id of that pinned memory.
    prefetch : int, default ``2 * num_workers``
        How many batches workers load ahead of the one being read.
    thread_pool : bool, default False
        Use threads instead of processes.
    timeout : int, default 120
        Seconds to wait for a batch from the workers before raising
        ``multiprocessing.TimeoutError``.
    auto_reload : bool, default False
        Start the next epoch's workers and prefetching as soon as an epoch ends (and at
        construction), rather than when iteration starts.
    """

    def __init__(self, dataset, batch_size=None, shuffle=False, sampler=None, last_batch=None, batch_sampler=None, batchify_fn=None, num_workers=0, pin_memory=False, pin_device_id=0, prefetch=None, thread_pool=False, timeout=120, auto_reload=False):
        self._dataset = dataset
        self._pin_memory = pin_memory
        self._pin_device_id = pin_device_id
        self._thread_pool = thread_pool
        self._timeout = timeout
        assert timeout > 0, "timeout must be positive, given {}".format(timeout)

        if batch_sampler is None:
            if batch_size is None:
                raise ValueError("batch_size must be specified unless batch_sampler is specified")
            if sampler is None:
                if shuffle:
                    sampler = _sampler.RandomSampler(len(dataset))
                else:
                    sampler = _sampler.SequentialSampler(len(dataset))
            elif shuffle:
                raise ValueError("shuffle must not be specified if sampler is specified")
            batch_sampler = _sampler.BatchSampler(sampler, batch_size, last_batch if last_batch else "keep")
        elif batch_size is not None or shuffle or sampler is not None or last_batch is not None:
            raise ValueError("batch_size, shuffle, sampler and last_batch must not be specified if batch_sampler is specified.")

        self._batch_sampler = batch_sampler
        self._num_workers = num_workers if num_workers >= 0 else 0
        self._prefetch = max(0, int(prefetch) if prefetch is not None else 2 * self._num_workers)
        self._batchify_fn = default_batchify_fn if batchify_fn is None else batchify_fn
        self.auto_reload = auto_reload
        if self.auto_reload:
            self.refresh()
        else:
            self.clean()

    def __iter__(self):
        if self._iter is None:
            self.refresh()
        t = self._iter
        self._iter = None  # an iterator is used once
        for item in t:
            yield item
        if self._iter is None and self.auto_reload:
            self.refresh()

    def _prefetch_iter(self):
        if self._num_workers == 0:

            def same_process_iter():
                for batch in self._batch_sampler:
                    ret = self._batchify_fn([self._dataset[idx] for idx in batch])
                    if self._pin_memory:
                        ret = _as_in_context(ret, context.cpu_pinned(self._pin_device_id))
                    yield ret

            return same_process_iter()

        if self._thread_pool:
            workers = ThreadWorkers(self._num_workers, _BatchLoader(self._dataset, self._batchify_fn))
        else:
            workers = ProcessWorkers(self._num_workers, self._dataset)
        return _MultiWorkerIter(
            workers,
            self._batchify_fn,
            self._batch_sampler,
            pin_memory=self._pin_memory,
            pin_device_id=self._pin_device_id,
            prefetch=self._prefetch,
            timeout=self._timeout,
            batchify_here=not self._thread_pool,
        )

    def __len__(self):
        return len(self._batch_sampler)

    def refresh(self):
        """Makes the next epoch's iterator now (starting its workers and prefetching)."""
        self._iter = self._prefetch_iter()

    def clean(self):
        """Drops a prefetched iterator (stopping its workers); the next ``__iter__`` makes one."""
        self._iter = None
