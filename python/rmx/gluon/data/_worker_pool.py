"""The DataLoader's workers: a pool of threads or of processes that load batches by key.

Both pools have one interface: ``submit(key, indices)`` queues the loading of the samples at
``indices``; ``get(key, timeout)`` waits for that batch, re-raising a worker's exception with the
sample index it failed on (as a note on the exception); ``shutdown()`` stops the workers and is
safe to call twice. A pool belongs to one ``DataLoader`` iterator, which shuts it down when it
is exhausted, fails or is dropped.

Processes are started with ``spawn``, never ``fork``: a forked child would inherit rmx's
dependency engine and kernel thread pools without their threads and hang on its first operation.
So the dataset must pickle (no lambdas in its transforms; use ``thread_pool=True`` for those) and a
script that uses process workers needs the usual ``if __name__ == "__main__":`` guard. NDArrays
cross the process boundary as NumPy arrays (the reducer registered below), and the process
workers return the samples; the parent stacks them into the batch.
"""

import multiprocessing
import os
import pickle
import queue
import signal
import threading
import time
import traceback
from multiprocessing.reduction import ForkingPickler

from ... import ndarray as nd

__all__ = []

_POLL_S = 0.25  # how often a waiting parent checks its workers are alive, and workers their parent
_JOIN_S = 2.0  # how long shutdown waits for worker processes before terminating them


def _rebuild_ndarray(array):
    return nd.array(array, dtype=array.dtype)


def _reduce_ndarray(x):
    return _rebuild_ndarray, (x.asnumpy(),)


# Between DataLoader processes (the dataset going to a worker, samples coming back) an NDArray
# travels as a NumPy array and is rebuilt on the CPU on the other side.
ForkingPickler.register(nd.NDArray, _reduce_ndarray)


class _RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker process, shown as its cause."""

    def __init__(self, tb):
        super().__init__(tb)
        self.tb = tb

    def __str__(self):
        return "\n\n" + self.tb


class _Failure:
    """An exception raised in a worker, with where it happened."""

    def __init__(self, exc, where):
        self.exc = exc
        self.where = where
        self.tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))

    def reraise(self, remote):
        exc = self.exc
        note = f"raised in a DataLoader worker {self.where}"
        if hasattr(exc, "add_note"):
            exc.add_note(note)
        if remote:
            raise exc from _RemoteTraceback(self.tb)
        raise exc

    def __reduce__(self):
        # The exception itself when it pickles (its class is importable in the parent), else
        # a RuntimeError with its text.
        exc = self.exc
        try:
            pickle.loads(ForkingPickler.dumps(exc))
        except Exception:
            exc = RuntimeError(f"{type(exc).__name__}: {exc} ({self.where})")
        return _rebuild_failure, (exc, self.where, self.tb)


def _rebuild_failure(exc, where, tb):
    failure = _Failure.__new__(_Failure)
    failure.exc, failure.where, failure.tb = exc, where, tb
    return failure


def load_samples(dataset, indices, key):
    """``[dataset[i] for i in indices]``, or a ``_Failure`` naming the index that raised."""
    samples = []
    for i in indices:
        try:
            samples.append(dataset[i])
        except Exception as exc:
            return _Failure(exc, f"while loading sample index {i} (batch {key})")
    return samples


class ThreadWorkers:
    """``num_workers`` threads that run ``load(key, indices)`` (the batch or a ``_Failure``)."""

    def __init__(self, num_workers, load):
        self._load = load
        self._tasks = queue.Queue()
        self._results = {}
        self._cond = threading.Condition()
        self._closed = False
        self._threads = []
        for i in range(num_workers):
            t = threading.Thread(target=self._loop, name=f"rmx-DataLoader-thread-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def _loop(self):
        while True:
            task = self._tasks.get()
            if task is None:
                return
            key, indices = task
            try:
                out = self._load(key, indices)
            except BaseException as exc:  # a worker thread must never die silently
                out = _Failure(exc, f"while making batch {key}")
            with self._cond:
                if self._closed:
                    return
                self._results[key] = out
                self._cond.notify_all()

    def submit(self, key, indices):
        self._tasks.put((key, indices))

    def get(self, key, timeout):
        with self._cond:
            if not self._cond.wait_for(lambda: key in self._results, timeout):
                raise multiprocessing.TimeoutError(_timeout_message(timeout, threads=True))
            out = self._results.pop(key)
        if isinstance(out, _Failure):
            out.reraise(remote=False)
        return out

    def shutdown(self):
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._results.clear()
        # Drop queued work, then stop each thread after its current task.
        try:
            while True:
                self._tasks.get_nowait()
        except queue.Empty:
            pass
        for _ in self._threads:
            self._tasks.put(None)


def _process_worker_loop(dataset, tasks, results, stop, parent_pid):
    """A worker process: loads the samples of each task and sends them back pickled."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    results.cancel_join_thread()  # exiting must not wait for a parent that stopped reading
    while not stop.is_set():
        try:
            task = tasks.get(timeout=_POLL_S)
        except queue.Empty:
            if os.getppid() != parent_pid:
                return  # orphaned
            continue
        if task is None:
            return
        key, indices = task
        out = load_samples(dataset, indices, key)
        try:
            payload = bytes(ForkingPickler.dumps(out))
        except Exception as exc:
            payload = bytes(ForkingPickler.dumps(_Failure(exc, f"while sending batch {key} to the parent")))
        results.put((key, payload))


class ProcessWorkers:
    """``num_workers`` spawned processes holding a copy of ``dataset``; ``get`` returns the
    samples of a batch (``batchify_fn`` runs in the parent)."""

    def __init__(self, num_workers, dataset):
        ctx = multiprocessing.get_context("spawn")
        self._tasks = ctx.Queue()
        self._results = ctx.Queue()
        self._stop = ctx.Event()
        self._buffer = {}
        self._closed = False
        self._procs = []
        try:
            for i in range(num_workers):
                p = ctx.Process(
                    target=_process_worker_loop,
                    args=(dataset, self._tasks, self._results, self._stop, os.getpid()),
                    name=f"rmx-DataLoader-worker-{i}",
                    daemon=True,
                )
                p.start()
                self._procs.append(p)
        except BaseException as exc:
            self.shutdown()
            if hasattr(exc, "add_note"):
                exc.add_note(
                    "while starting DataLoader worker processes, which get a pickled copy of the dataset; "
                    "a dataset that does not pickle (lambdas, local functions) needs thread_pool=True"
                )
            raise

    def submit(self, key, indices):
        self._tasks.put((key, list(indices)))

    def get(self, key, timeout):
        deadline = time.monotonic() + timeout
        while key not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise multiprocessing.TimeoutError(_timeout_message(timeout, threads=False))
            try:
                k, payload = self._results.get(timeout=min(remaining, _POLL_S))
            except queue.Empty:
                self._check_alive()
                continue
            self._buffer[k] = payload
        out = pickle.loads(self._buffer.pop(key))
        if isinstance(out, _Failure):
            out.reraise(remote=True)
        return out

    def _check_alive(self):
        for p in self._procs:
            if p.exitcode is not None:
                raise RuntimeError(f"DataLoader worker process {p.name} (pid {p.pid}) exited unexpectedly with exit code {p.exitcode}")

    def shutdown(self):
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        for _ in self._procs:
            try:
                self._tasks.put(None)
            except (OSError, ValueError):
                break
        deadline = time.monotonic() + _JOIN_S
        for p in self._procs:
            p.join(max(0.0, deadline - time.monotonic()))
        for p in self._procs:
            if p.is_alive():
                p.terminate()
                p.join(_JOIN_S)
        for q in (self._tasks, self._results):
            q.cancel_join_thread()
            q.close()
        self._buffer.clear()


def _timeout_message(timeout, threads):
    msg = (
        f"DataLoader worker timed out after {timeout} seconds. This might be caused by a slow "
        "transform: increase `timeout` to allow slower data loading in each worker."
    )
    if not threads:
        msg += " A worker may also be stuck: consider fewer `num_workers`."
    return msg
