"""The training progress display: one bar per epoch, used by every ``fit``.

``EpochProgress`` owns the display of one epoch. Where it is shown depends on the output:

* a terminal (``sys.stderr.isatty()``): a tqdm bar with the epoch's batches done and total,
  percentage, time left, samples/s and the running metric, then the validation batches; while it
  is shown, log records bound for the same terminal are written above it (``tqdm.write``), so log
  lines and bar never share a line; at the end one summary line that stays::

      Epoch[0] train accuracy=0.9812 validation accuracy=0.9870 time=12.3s

* a notebook (an IPython kernel with ipywidgets): tqdm's widget bar and the summary on stdout;
* anything else (a file, a pipe, CI): nothing at all, so the log is MXNet's own lines, unchanged.

``RMX_PROGRESS=0``, or ``progress=False`` passed to ``fit``, turns the display off.
``num_batches(data)`` is an iterator's length where it knows it (``len()``), else None.
"""

import logging
import os
import sys
import time

__all__ = ["EpochProgress", "num_batches", "enabled"]

_OFF = ("0", "false", "off", "no")
_ON = ("", "1", "true", "on", "yes")


def enabled(progress=None):
    """Whether to show a display: ``progress`` when given, else ``RMX_PROGRESS`` (default on).

    A value of ``RMX_PROGRESS`` that is neither on nor off is reported on stderr and the default
    used, as with the other ``RMX_*`` variables."""
    if progress is not None:
        return bool(progress)
    value = os.environ.get("RMX_PROGRESS", "").strip().lower()
    if value in _OFF:
        return False
    if value not in _ON:
        sys.stderr.write("RMX_PROGRESS=%r is not 0 or 1; using the default (1)\n" % value)
    return True


def num_batches(data):
    """How many batches ``data`` gives this epoch (``len(data)``), or None when it cannot say."""
    try:
        n = len(data)
    except Exception:  # noqa: BLE001 - a display must never stop training
        n = getattr(data, "num_batches", None)
    return n if isinstance(n, int) and n >= 0 else None


def _in_notebook():
    # tqdm.auto picks the widget bar exactly when it is in a kernel with ipywidgets.
    if "ipykernel" not in sys.modules:
        return False
    try:
        import tqdm.auto
        import tqdm.std
    except ImportError:
        return False
    return tqdm.auto.tqdm is not tqdm.std.tqdm


def _tqdm_usable():
    """tqdm is installed and new enough to take extra bar fields (``{samples_rate}``)."""
    try:
        import inspect

        import tqdm.std
    except ImportError:
        return False
    params = inspect.signature(tqdm.std.tqdm.format_meter).parameters.values()
    return any(p.kind is p.VAR_KEYWORD for p in params)


def _isatty(stream):
    try:
        return bool(stream.isatty())
    except Exception:  # noqa: BLE001 - closed or odd streams are not terminals
        return False


_BAR_CLASSES = {}


def _bar_class(base):
    """``base`` (a tqdm class) with a ``{samples_rate}`` field: its rate (batches/s) times the
    batch size, so that the bar counts batches but reports samples/s."""
    if base not in _BAR_CLASSES:
        class Bar(base):
            batch_size = None

            @property
            def format_dict(self):
                d = super().format_dict
                rate = d.get("rate")
                if not rate and d.get("elapsed"):
                    rate = (d["n"] - (d.get("initial") or 0)) / d["elapsed"]
                if rate and self.batch_size:
                    d["samples_rate"] = "%.0f samples/s" % (rate * self.batch_size)
                elif rate:
                    d["samples_rate"] = "%.2f batches/s" % rate
                else:
                    d["samples_rate"] = "? samples/s"
                return d

        _BAR_CLASSES[base] = Bar
    return _BAR_CLASSES[base]


# A known total gives percentage, bar and time left; an unknown one only the count.
_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {samples_rate}{postfix}]"
_FORMAT_NO_TOTAL = "{desc}: {n_fmt} batches [{elapsed}, {samples_rate}{postfix}]"


def _metric_text(name_value):
    return " ".join("%s=%.4f" % (name, value) for name, value in name_value)


def _epoch_values(eval_metric):
    """The metric over the whole epoch so far: its global statistics, which callbacks such as
    ``Speedometer(auto_reset=True)`` leave alone when they reset the local ones."""
    get = getattr(eval_metric, "get_global_name_value", None) or eval_metric.get_name_value
    return list(get())


class _AboveBar(logging.Handler):
    """Stands in for a console handler while a bar is shown: the same level, filters and format,
    written through ``tqdm.write``, which clears the bar, writes the line and redraws the bar."""

    def __init__(self, inner, bar_cls):
        super().__init__(inner.level)
        self.inner = inner
        self.bar_cls = bar_cls

    def emit(self, record):
        if not self.inner.filter(record):
            return
        try:
            self.bar_cls.write(self.inner.format(record), file=self.inner.stream)
        except Exception:  # noqa: BLE001 - logging's own convention
            self.handleError(record)


class _LogsAboveBar:
    """While active, every console handler (of any logger, and logging's last resort) that writes
    to the bar's terminal is swapped for an ``_AboveBar``; on exit the originals are put back.
    (A handler added while the bar is shown is not swapped.)"""

    def __init__(self, stream, bar_cls):
        self.stream = stream
        self.bar_cls = bar_cls
        self.swapped = []  # (logger, original, stand-in)
        self.last_resort = None

    def _on_screen(self, handler):
        # tqdm treats stdout and stderr as one screen; so do we, when both are terminals.
        if not isinstance(handler, logging.StreamHandler):
            return False
        stream = handler.stream  # a FileHandler's is a file: not this stream, not a terminal
        return stream is self.stream or (_isatty(stream) and _isatty(self.stream))

    def __enter__(self):
        if not logging.root.handlers:
            # The first module-level logging call (rmx's own lines use them) would add this
            # stderr handler mid-epoch, out of our reach; add it now, as that call would.
            logging.basicConfig()
        named = list(logging.Logger.manager.loggerDict.values())  # a copy: threads may add loggers
        loggers = [logging.getLogger()] + [lg for lg in named if isinstance(lg, logging.Logger)]
        for lg in loggers:
            for h in list(lg.handlers):
                if self._on_screen(h):
                    stand_in = _AboveBar(h, self.bar_cls)
                    lg.handlers = [stand_in if x is h else x for x in lg.handlers]
                    self.swapped.append((lg, h, stand_in))
        if logging.lastResort is not None and self._on_screen(logging.lastResort):
            self.last_resort = logging.lastResort
            logging.lastResort = _AboveBar(self.last_resort, self.bar_cls)
        return self

    def __exit__(self, *exc):
        for lg, h, stand_in in self.swapped:
            lg.handlers = [h if x is stand_in else x for x in lg.handlers]
        self.swapped = []
        if self.last_resort is not None:
            logging.lastResort = self.last_resort
            self.last_resort = None
        return False


class EpochProgress:
    """The display of one epoch of training (and its validation); a context manager.

    ``total``: the epoch's batches (None: unknown, the bar counts without a percentage);
    ``batch_size``: for samples/s; ``progress``: None follows ``RMX_PROGRESS``, False turns the
    display off; ``stream``: the terminal (default ``sys.stderr`` at ``__enter__``).
    With no display every method is a no-op, so callers need no ``if``.
    """

    POSTFIX_INTERVAL = 0.5  # seconds between running-metric reads (a metric's get() costs)

    def __init__(self, epoch, total=None, batch_size=None, progress=None, stream=None):
        self.epoch = epoch
        self.total = total
        self.batch_size = batch_size
        self.progress = progress
        self.stream = stream
        self.mode = "off"
        self.bar = None
        self._logs = None
        self._tic = None
        self._postfix_at = 0.0
        self._train = []
        self._validation = []

    def _choose_mode(self):
        if not enabled(self.progress):
            return "off"
        if not _tqdm_usable():
            return "off"
        if _in_notebook():
            return "notebook"
        return "terminal" if _isatty(self.stream) else "off"

    def __enter__(self):
        self._tic = time.time()
        if self.stream is None:
            self.stream = sys.stderr
        self.mode = self._choose_mode()
        if self.mode == "off":
            return self
        if self.mode == "notebook":
            import tqdm.auto
            base, kw = tqdm.auto.tqdm, {}
        else:
            import tqdm.std
            base, kw = tqdm.std.tqdm, {"file": self.stream, "dynamic_ncols": True}
        cls = _bar_class(base)
        try:
            # smoothing 0.1 (tqdm: 0.3): batch times jitter (syncs, logging); a steadier rate
            self.bar = cls(total=self.total, desc="Epoch[%d]" % self.epoch, leave=False, smoothing=0.1,
                           bar_format=_FORMAT if self.total else _FORMAT_NO_TOTAL, **kw)
        except Exception:  # noqa: BLE001 - e.g. a notebook without ipywidgets: no display
            self.mode, self.bar = "off", None
            return self
        self.bar.batch_size = self.batch_size
        if self.mode == "terminal":
            self._logs = _LogsAboveBar(self.stream, cls).__enter__()
        return self

    def batch_end(self, eval_metric=None):
        """One batch done; the running metric is read at most every ``POSTFIX_INTERVAL`` s."""
        if self.bar is None:
            return
        now = time.time()
        if eval_metric is not None and now - self._postfix_at >= self.POSTFIX_INTERVAL:
            self._postfix_at = now
            self.bar.set_postfix_str(_metric_text(_epoch_values(eval_metric)), refresh=False)
        self.bar.update(1)

    def train_end(self, eval_metric):
        """The epoch's training is over; ``eval_metric`` holds its result (for the summary)."""
        self._train = _epoch_values(eval_metric) if eval_metric is not None else []
        if self.bar is not None:
            # tqdm redraws at most every 0.1 s: draw the final count and metric now
            self.bar.set_postfix_str(_metric_text(self._train), refresh=False)
            self.bar.refresh()

    def validation(self, eval_data):
        """Turns the bar into the validation bar of ``eval_data``; returns the batch-end
        callbacks to give ``score`` (none without a display)."""
        if self.bar is None:
            return []
        total = num_batches(eval_data)
        self.bar.set_description_str("Epoch[%d] validation" % self.epoch, refresh=False)
        self.bar.bar_format = _FORMAT if total else _FORMAT_NO_TOTAL
        self.bar.batch_size = getattr(eval_data, "batch_size", None) or self.batch_size
        self.bar.set_postfix_str("", refresh=False)
        self.bar.total = total
        self.bar.reset(total=total)
        self._postfix_at = 0.0
        return [lambda param: self.batch_end(getattr(param, "eval_metric", None))]

    def validation_end(self, name_value):
        """The validation result, ``[(name, value)]`` as ``score`` returns it (for the summary)."""
        self._validation = list(name_value)
        if self.bar is not None:
            self.bar.set_postfix_str(_metric_text(self._validation), refresh=False)
            self.bar.refresh()

    def summary(self):
        """The epoch's line: train and validation metrics and its wall time (both phases)."""
        parts = ["Epoch[%d]" % self.epoch]
        parts += ["train %s=%.4f" % nv for nv in self._train]
        parts += ["validation %s=%.4f" % nv for nv in self._validation]
        parts.append("time=%.1fs" % (time.time() - self._tic))
        return " ".join(parts)

    def __exit__(self, exc_type, exc, tb):
        if self.bar is not None:
            self.bar.close()  # leave=False: the bar's line is cleared
        if self._logs is not None:
            self._logs.__exit__(exc_type, exc, tb)
            self._logs = None
        if self.bar is not None and exc_type is None:
            line = self.summary()
            if self.mode == "terminal":
                self.stream.write(line + "\n")
                self.stream.flush()
            else:
                print(line)
        self.bar = None
        return False
