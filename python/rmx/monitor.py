"""``mx.monitor.Monitor``: statistics of every operator's outputs (and, with ``monitor_all``,
inputs), then of the arguments and auxiliary states, every ``interval`` batches. Install it on
executors (or ``Module.install_monitor``), call ``tic()`` before a batch's forward and
``toc()``/``toc_print()`` after its update."""

import ctypes  # noqa: F401 (MXNet's module exposes it)
import logging
import re
from math import sqrt

from . import ndarray
from .base import NDArrayHandle, py_str  # noqa: F401 (MXNet's module exposes them)
from .ndarray import NDArray

__all__ = ["Monitor"]


class Monitor:
    """``Monitor(interval, stat_func=None, pattern='.*', sort=False, monitor_all=False)``.

    ``stat_func`` maps an NDArray to an NDArray (or a list of them); the default is
    ``norm(x) / sqrt(x.size)``. Only names that ``pattern`` matches (``re.match``) are kept.
    ``toc()`` returns ``[(step, name, text)]``, the text holding each statistic followed by a tab.

    >>> import rmx as mx
    >>> net = mx.sym.FullyConnected(mx.sym.var('data'), num_hidden=2, name='fc1')
    >>> ex = net.simple_bind(mx.cpu(), data=(1, 4))
    >>> ex.arg_dict['data'][:] = 1
    >>> ex.arg_dict['fc1_weight'][:] = 0.5
    >>> ex.arg_dict['fc1_bias'][:] = 0
    >>> mon = mx.monitor.Monitor(1, pattern='fc1_.*')
    >>> mon.install(ex)
    >>> mon.tic()
    >>> _ = ex.forward()
    >>> for step, name, stat in mon.toc():
    ...     print(step, name, stat)
    1 fc1_output 2.0\t
    1 fc1_weight 0.5\t
    1 fc1_bias 0.0\t
    """

    def __init__(self, interval, stat_func=None, pattern=".*", sort=False, monitor_all=False):
        if stat_func is None:
            def stat_func(x):
                """``norm(x) / sqrt(x.size)``, left to run asynchronously."""
                return ndarray.norm(x) / sqrt(x.size)
        self.stat_func = stat_func
        self.interval = interval
        self.activated = False
        self.queue = []
        self.step = 0
        self.exes = []
        self.re_prog = re.compile(pattern)
        self.sort = sort
        self.monitor_all = monitor_all

        def stat_helper(name, array):
            """The executors' callback: queues the statistic while a batch is monitored."""
            if not self.activated or not self.re_prog.match(name):
                return
            self.queue.append((self.step, name, self.stat_func(array)))

        # rmx's executors skip computing values the monitor would drop.
        stat_helper.monitor_active = lambda: self.activated
        self.stat_helper = stat_helper

    def install(self, exe):
        """Installs the callback on ``exe`` (any number of executors)."""
        exe.set_monitor_callback(self.stat_helper, self.monitor_all)
        self.exes.append(exe)

    def _wait_all(self):
        for exe in self.exes:
            for array in exe.arg_arrays:
                array.wait_to_read()
            for array in exe.aux_arrays:
                array.wait_to_read()

    def tic(self):
        """Starts collecting for this batch when it is one in ``interval``; call before forward."""
        if self.step % self.interval == 0:
            self._wait_all()
            self.queue = []
            self.activated = True
        self.step += 1

    def toc(self):
        """Ends collecting: adds the arguments' and auxiliary states' statistics and returns
        ``[(step, name, text)]`` (empty when this batch was not monitored)."""
        if not self.activated:
            return []
        self._wait_all()
        for exe in self.exes:
            for name, array in zip(exe._symbol.list_arguments(), exe.arg_arrays):
                if self.re_prog.match(name):
                    self.queue.append((self.step, name, self.stat_func(array)))
            for name, array in zip(exe._symbol.list_auxiliary_states(), exe.aux_arrays):
                if self.re_prog.match(name):
                    self.queue.append((self.step, name, self.stat_func(array)))
        self.activated = False
        res = []
        if self.sort:
            self.queue.sort(key=lambda x: x[1])
        for step, name, values in self.queue:
            if isinstance(values, NDArray):
                values = [values]
            assert isinstance(values, list)
            text = ""
            for v in values:
                assert isinstance(v, NDArray)
                text += (str(v.asscalar()) if v.shape == (1,) else str(v.asnumpy())) + "\t"
            res.append((step, name, text))
        self.queue = []
        return res

    def toc_print(self):
        """Ends collecting and logs each statistic (``Batch: <step> <name> <text>``)."""
        for step, name, text in self.toc():
            logging.info("Batch: {:7d} {:30s} {:s}".format(step, name, text))
