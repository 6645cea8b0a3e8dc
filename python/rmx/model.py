"""``mx.model``: checkpoints in MXNet's layout (``prefix-symbol.json`` and
``prefix-%04d.params`` with ``arg:``/``aux:`` keys) and ``FeedForward``, the 2015 training API,
here a thin front end over ``mx.mod.Module``."""

import logging

import numpy as np

from . import ndarray as nd
from . import symbol as sym
from .callback import BatchEndParam  # noqa: F401 (MXNet exposes it here)
from .context import cpu

__all__ = ["save_checkpoint", "load_checkpoint", "load_params", "FeedForward", "BatchEndParam"]


def save_checkpoint(prefix, epoch, symbol, arg_params, aux_params, remove_amp_cast=True):
    """Writes ``prefix-symbol.json`` (when ``symbol`` is given) and ``prefix-%04d.params``."""
    if symbol is not None:
        symbol.save(f"{prefix}-symbol.json", remove_amp_cast=remove_amp_cast)
    save_dict = {f"arg:{k}": v.as_in_context(cpu()) for k, v in arg_params.items()}
    save_dict.update({f"aux:{k}": v.as_in_context(cpu()) for k, v in aux_params.items()})
    param_name = f"{prefix}-{epoch:04d}.params"
    nd.save(param_name, save_dict)
    logging.info('Saved checkpoint to "%s"', param_name)


def load_params(prefix, epoch):
    """``(arg_params, aux_params)`` from ``prefix-%04d.params``."""
    save_dict = nd.load(f"{prefix}-{epoch:04d}.params")
    arg_params, aux_params = {}, {}
    if not save_dict:
        logging.warning("Params file '%s' is empty", f"{prefix}-{epoch:04d}.params")
        return arg_params, aux_params
    for k, v in save_dict.items():
        tp, name = k.split(":", 1)
        if tp == "arg":
            arg_params[name] = v
        if tp == "aux":
            aux_params[name] = v
    return arg_params, aux_params


def load_checkpoint(prefix, epoch):
    """``(symbol, arg_params, aux_params)`` saved by ``save_checkpoint``."""
    symbol = sym.load(f"{prefix}-symbol.json")
    arg_params, aux_params = load_params(prefix, epoch)
    return symbol, arg_params, aux_params


class FeedForward:
    """The 2015 model API: ``FeedForward(symbol, ctx, num_epoch, optimizer='sgd',
    initializer=Uniform(0.01), numpy_batch_size=128, arg_params=None, aux_params=None,
    allow_extra_params=False, begin_epoch=0, **optimizer_params)``, then ``fit``, ``predict``,
    ``score``, ``save``, ``load`` and ``create``."""

    def __init__(self, symbol, ctx=None, num_epoch=None, epoch_size=None, optimizer="sgd", initializer=None,
                 numpy_batch_size=128, arg_params=None, aux_params=None, allow_extra_params=False, begin_epoch=0, **kwargs):
        from .initializer import Uniform

        self.symbol = symbol
        self.ctx = [cpu()] if ctx is None else (ctx if isinstance(ctx, (list, tuple)) else [ctx])
        self.num_epoch = num_epoch
        self.epoch_size = epoch_size
        self.optimizer = optimizer
        self.initializer = initializer or Uniform(0.01)
        self.numpy_batch_size = numpy_batch_size
        self.arg_params = arg_params
        self.aux_params = aux_params
        self.allow_extra_params = allow_extra_params
        self.begin_epoch = begin_epoch
        self.kwargs = dict(kwargs)
        self._module = None

    def _iter(self, X, y=None, shuffle=False, batch_size=None):
        from .io import DataIter, NDArrayIter

        if isinstance(X, DataIter):
            return X
        if y is None:
            y = np.zeros(X.shape[0], dtype=np.float32)
        batch_size = min(X.shape[0], batch_size or self.numpy_batch_size)
        return NDArrayIter(X, y, batch_size, shuffle=shuffle, last_batch_handle="roll_over" if shuffle else "pad")

    def _names(self, data):
        data_names = [d[0] for d in data.provide_data]
        label_names = [d[0] for d in data.provide_label] if data.provide_label else []
        label_names = [n for n in label_names if n in self.symbol.list_arguments()]
        return data_names, label_names

    def fit(self, X, y=None, eval_data=None, eval_metric="acc", epoch_end_callback=None, batch_end_callback=None,
            kvstore="local", logger=None, work_load_list=None, monitor=None, eval_end_callback=None, eval_batch_end_callback=None,
            progress=None):
        """Trains through ``Module.fit`` (same log lines, same progress display; ``progress=False``
        turns the display off)."""
        from .module import Module

        data = self._iter(X, y, shuffle=True)
        if isinstance(eval_data, tuple):
            eval_data = self._iter(eval_data[0], eval_data[1])
        data_names, label_names = self._names(data)
        self._module = Module(self.symbol, data_names=data_names, label_names=label_names, context=self.ctx, logger=logger or logging)
        params = dict(self.kwargs)
        self._module.fit(data, eval_data=eval_data, eval_metric=eval_metric, epoch_end_callback=epoch_end_callback,
                         batch_end_callback=batch_end_callback, kvstore=kvstore, optimizer=self.optimizer, optimizer_params=params,
                         initializer=self.initializer, arg_params=self.arg_params, aux_params=self.aux_params,
                         allow_missing=True, begin_epoch=self.begin_epoch, num_epoch=self.num_epoch, monitor=monitor,
                         eval_end_callback=eval_end_callback, eval_batch_end_callback=eval_batch_end_callback,
                         progress=progress)
        self.arg_params, self.aux_params = self._module.get_params()

    def _bound_module(self, data):
        from .module import Module

        data_names, _ = self._names(data)
        # Loss heads still take a label input; it is bound (and ignored) at prediction.
        label_names = [n for n in self.symbol.list_arguments() if n.endswith("label") and n not in data_names]
        arg_shapes, _, _ = self.symbol.infer_shape(**{d[0]: d[1] for d in data.provide_data})
        shapes = dict(zip(self.symbol.list_arguments(), arg_shapes))
        mod = Module(self.symbol, data_names=data_names, label_names=label_names, context=self.ctx)
        mod.bind(data_shapes=data.provide_data, label_shapes=[(n, shapes[n]) for n in label_names], for_training=False)
        mod.set_params(self.arg_params, self.aux_params, allow_missing=False, allow_extra=True)
        return mod

    def predict(self, X, num_batch=None, return_data=False, reset=True):
        """The outputs for ``X`` (a NumPy array or an iterator) as NumPy arrays."""
        data = self._iter(X)
        if reset:
            data.reset()
        mod = self._bound_module(data)
        outs = mod.predict(data, num_batch=num_batch, merge_batches=True, reset=False)
        outs = outs if isinstance(outs, list) else [outs]
        outs = [o.asnumpy() for o in outs]
        return outs[0] if len(outs) == 1 else outs

    def score(self, X, eval_metric="acc", num_batch=None, batch_end_callback=None, reset=True):
        from . import metric

        data = self._iter(X)
        if reset:
            data.reset()
        from .module import Module

        data_names, label_names = self._names(data)
        mod = Module(self.symbol, data_names=data_names, label_names=label_names, context=self.ctx)
        mod.bind(data_shapes=data.provide_data, label_shapes=data.provide_label, for_training=False)
        mod.set_params(self.arg_params, self.aux_params, allow_extra=True)
        m = metric.create(eval_metric)
        res = mod.score(data, m, num_batch=num_batch, batch_end_callback=batch_end_callback, reset=False)
        return res[0][1]

    def save(self, prefix, epoch=None):
        save_checkpoint(prefix, self.num_epoch if epoch is None else epoch, self.symbol, self.arg_params, self.aux_params)

    @staticmethod
    def load(prefix, epoch, ctx=None, **kwargs):
        symbol, arg_params, aux_params = load_checkpoint(prefix, epoch)
        return FeedForward(symbol, ctx=ctx, arg_params=arg_params, aux_params=aux_params, begin_epoch=epoch, **kwargs)

    @staticmethod
    def create(symbol, X, y=None, ctx=None, num_epoch=None, epoch_size=None, optimizer="sgd", initializer=None,
               eval_data=None, eval_metric="acc", epoch_end_callback=None, batch_end_callback=None, kvstore="local",
               logger=None, work_load_list=None, eval_end_callback=None, eval_batch_end_callback=None, **kwargs):
        model = FeedForward(symbol, ctx=ctx, num_epoch=num_epoch, epoch_size=epoch_size, optimizer=optimizer, initializer=initializer, **kwargs)
        model.fit(X, y, eval_data=eval_data, eval_metric=eval_metric, epoch_end_callback=epoch_end_callback,
                  batch_end_callback=batch_end_callback, kvstore=kvstore, logger=logger, eval_end_callback=eval_end_callback,
                  eval_batch_end_callback=eval_batch_end_callback)
        return model
