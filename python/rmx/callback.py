"""Training callbacks (``mx.callback``), as in MXNet 1.9.1.

Batch-end callbacks receive a :data:`BatchEndParam` (``epoch``, ``nbatch``, ``eval_metric``,
``locals``); epoch-end callbacks receive ``(epoch, symbol, arg_params, aux_params)``. The log
lines are MXNet's, which users and tools grep:

* ``Epoch[%d] Batch [%d-%d]\\tSpeed: %.2f samples/sec\\t%s=%f`` (``Speedometer``, auto-reset)
* ``Epoch[%d] Batch [0-%d]\\tSpeed: %.2f samples/sec\\t%s=%f`` (``Speedometer``, cumulative)
* ``Iter[%d] Batch[%d] Train-%s=%f`` (``log_train_metric``)
* ``Epoch[%d] Validation-%s=%f`` (``LogValidationMetricsCallback``)
"""

import logging
import math
import time
from collections import namedtuple

__all__ = ["BatchEndParam", "module_checkpoint", "do_checkpoint", "log_train_metric",
           "Speedometer", "ProgressBar", "LogValidationMetricsCallback"]

# What batch-end callbacks receive (MXNet defines it in ``mx.model``; the type name is MXNet's).
BatchEndParam = namedtuple("BatchEndParams", ["epoch", "nbatch", "eval_metric", "locals"])


def module_checkpoint(mod, prefix, period=1, save_optimizer_states=False):
    """An epoch-end callback that calls ``mod.save_checkpoint(prefix, epoch + 1,
    save_optimizer_states)`` every ``period`` epochs."""
    period = int(max(1, period))

    def _callback(iter_no, sym=None, arg=None, aux=None):
        if (iter_no + 1) % period == 0:
            mod.save_checkpoint(prefix, iter_no + 1, save_optimizer_states)
    return _callback


def do_checkpoint(prefix, period=1):
    """An epoch-end callback that saves ``prefix-symbol.json`` and ``prefix-%04d.params`` with
    ``mx.model.save_checkpoint(prefix, epoch + 1, sym, arg, aux)`` every ``period`` epochs."""
    period = int(max(1, period))

    def _callback(iter_no, sym, arg, aux):
        if (iter_no + 1) % period == 0:
            from .model import save_checkpoint
            save_checkpoint(prefix, iter_no + 1, sym, arg, aux)
    return _callback


def log_train_metric(period, auto_reset=False):
    """A batch-end callback that logs the training metric every ``period`` batches
    (``Iter[%d] Batch[%d] Train-%s=%f``), resetting its local statistics when ``auto_reset``."""
    def _callback(param):
        if param.nbatch % period == 0 and param.eval_metric is not None:
            for name, value in param.eval_metric.get_name_value():
                logging.info("Iter[%d] Batch[%d] Train-%s=%f",
                             param.epoch, param.nbatch, name, value)
            if auto_reset:
                param.eval_metric.reset_local()
    return _callback


class Speedometer(object):
    """A batch-end callback that logs training speed and the metric every ``frequent`` batches.

    The first call of an epoch (or a call whose ``nbatch`` is below the previous one) starts the
    clock; each later call whose ``nbatch`` is a multiple of ``frequent`` logs
    ``frequent * batch_size`` samples over the time since the last log. With ``auto_reset``
    the metric's local statistics are reset after each log and the line names the batch range
    ``[nbatch-frequent-nbatch]``; without it the range is ``[0-nbatch]``.

    Parameters
    ----------
    batch_size : int
    frequent : int
    auto_reset : bool
    """

    def __init__(self, batch_size, frequent=50, auto_reset=True):
        self.batch_size = batch_size
        self.frequent = frequent
        self.init = False
        self.tic = 0
        self.last_count = 0
        self.auto_reset = auto_reset

    def __call__(self, param):
        count = param.nbatch
        if self.last_count > count:
            self.init = False
        self.last_count = count

        if not self.init:
            self.init = True
            self.tic = time.time()
            return
        if count % self.frequent != 0:
            return
        try:
            speed = self.frequent * self.batch_size / (time.time() - self.tic)
        except ZeroDivisionError:
            speed = float("inf")
        if param.eval_metric is not None:
            name_value = param.eval_metric.get_name_value()
            flat = [x for pair in name_value for x in pair]
            if self.auto_reset:
                param.eval_metric.reset_local()
                msg = "Epoch[%d] Batch [%d-%d]\tSpeed: %.2f samples/sec"
                msg += "\t%s=%f" * len(name_value)
                logging.info(msg, param.epoch, count - self.frequent, count, speed, *flat)
            else:
                msg = "Epoch[%d] Batch [0-%d]\tSpeed: %.2f samples/sec"
                msg += "\t%s=%f" * len(name_value)
                logging.info(msg, param.epoch, count, speed, *flat)
        else:
            logging.info("Iter[%d] Batch [%d]\tSpeed: %.2f samples/sec",
                         param.epoch, count, speed)
        self.tic = time.time()


class ProgressBar(object):
    """A batch-end callback that logs a text progress bar ``[====----] 50%`` of ``length``
    characters, ``total`` batches being 100%."""

    def __init__(self, total, length=80):
        self.bar_len = length
        self.total = total

    def __call__(self, param):
        count = param.nbatch
        filled_len = int(round(self.bar_len * count / float(self.total)))
        percents = math.ceil(100.0 * count / float(self.total))
        prog_bar = "=" * filled_len + "-" * (self.bar_len - filled_len)
        logging.info("[%s] %s%s\r", prog_bar, percents, "%")


class LogValidationMetricsCallback(object):
    """An eval-end callback that logs each validation metric as
    ``Epoch[%d] Validation-%s=%f``."""

    def __call__(self, param):
        if not param.eval_metric:
            return
        for name, value in param.eval_metric.get_name_value():
            logging.info("Epoch[%d] Validation-%s=%f", param.epoch, name, value)
