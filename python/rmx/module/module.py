"""``mx.mod.Module``: a symbol bound on one or more devices. Each device gets an executor for
its slice of the batch (data parallelism); gradients meet in a KVStore (or, on one device,
the updater runs directly), and parameters are copied back to every device. All array work
goes through the engine, so the devices' executors run concurrently."""

import logging
import warnings

import numpy as np

from .. import initializer as _init
from .. import kvstore as _kvstore
from .. import model as _model
from .. import ndarray as nd
from .. import optimizer as _optimizer
from ..context import cpu
from .base_module import BaseModule


def _shape_list(shapes):
    """``[(name, shape)]`` from DataDesc objects or tuples."""
    if shapes is None:
        return []
    out = []
    for d in shapes:
        if hasattr(d, "name") and hasattr(d, "shape"):
            out.append((d.name, tuple(d.shape), np.dtype(getattr(d, "dtype", np.float32)).type))
        else:
            out.append((d[0], tuple(d[1]), np.float32))
    return out


def _slices(batch_size, num_device, work_load_list):
    work = work_load_list or [1] * num_device
    total = float(sum(work))
    bounds = np.round(np.cumsum([0] + work) / total * batch_size).astype(int)
    slices = [slice(int(bounds[i]), int(bounds[i + 1])) for i in range(num_device)]
    if any(s.stop <= s.start for s in slices):
        raise ValueError(f"batch size {batch_size} is too small for {num_device} devices")
    return slices


class Module(BaseModule):
    """``Module(symbol, data_names=('data',), label_names=('softmax_label',), logger=logging,
    context=cpu(), work_load_list=None, fixed_param_names=None, state_names=None)``."""

    def __init__(self, symbol, data_names=("data",), label_names=("softmax_label",), logger=logging, context=None,
                 work_load_list=None, fixed_param_names=None, state_names=None, group2ctxs=None, compression_params=None):
        super().__init__(logger=logger)
        context = context if context is not None else cpu()
        self._context = list(context) if isinstance(context, (list, tuple)) else [context]
        self._work_load_list = work_load_list
        self._symbol = symbol
        arg_names = symbol.list_arguments()
        self._data_names = list(data_names or [])
        for n in self._data_names:
            if n not in arg_names:
                raise ValueError(f"You created Module with Module(..., data_names={self._data_names}) but input with name '{n}' is not found in symbol.list_arguments(). Did you mean one of:\n\t" + "\n\t".join(arg_names))
        self._label_names = [n for n in (label_names or []) if n in arg_names]
        for n in label_names or []:
            if n not in arg_names:
                warnings.warn(f"You created Module with Module(..., label_names={list(label_names)}) but input with name '{n}' is not found in symbol.list_arguments().", stacklevel=2)
        self._state_names = list(state_names or [])
        inputs = set(self._data_names + self._label_names + self._state_names)
        self._param_names = [n for n in arg_names if n not in inputs]
        self._fixed_param_names = list(fixed_param_names or [])
        self._aux_names = symbol.list_auxiliary_states()
        self._output_names = symbol.list_outputs()
        self._arg_params = None
        self._aux_params = None
        self._execs = []
        self._slices = []
        self._data_shapes = self._label_shapes = None
        self._optimizer = self._kvstore = self._updater = None
        self._update_on_kvstore = False
        self._preload_opt_states = None
        self._grad_req = "write"

    # --- names and shapes -----------------------------------------------------------------
    data_names = property(lambda self: self._data_names)
    label_names = property(lambda self: self._label_names)
    output_names = property(lambda self: self._output_names)

    @property
    def data_shapes(self):
        from ..io import DataDesc

        return [DataDesc(n, s, t) for n, s, t in self._data_shapes]

    @property
    def label_shapes(self):
        from ..io import DataDesc

        return [DataDesc(n, s, t) for n, s, t in self._label_shapes] if self._label_shapes else []

    @property
    def output_shapes(self):
        return [(n, o.shape) for n, o in zip(self._output_names, self.get_outputs())]

    # --- binding --------------------------------------------------------------------------
    def bind(self, data_shapes, label_shapes=None, for_training=True, inputs_need_grad=False, force_rebind=False,
             shared_module=None, grad_req="write"):
        """Makes one executor per device for its slice of the batch."""
        if self.binded and not force_rebind:
            self.logger.warning("Already bound, ignoring bind()")
            return
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self._grad_req = grad_req
        self._data_shapes = _shape_list(data_shapes)
        self._label_shapes = [d for d in _shape_list(label_shapes) if d[0] in self._label_names]
        batch = self._data_shapes[0][1][0]
        self._slices = _slices(batch, len(self._context), self._work_load_list)
        reqs = {}
        for n in self._symbol.list_arguments():
            if n in self._param_names:
                reqs[n] = grad_req if for_training and n not in self._fixed_param_names else "null"
            elif n in self._data_names:
                reqs[n] = "write" if inputs_need_grad else "null"
            else:
                reqs[n] = "null"
        self._execs = []
        for ctx, sl in zip(self._context, self._slices):
            n = sl.stop - sl.start
            shapes = {name: (n,) + tuple(shape[1:]) for name, shape, _ in self._data_shapes + self._label_shapes}
            types = {name: t for name, _, t in self._data_shapes + self._label_shapes}
            self._execs.append(self._symbol.simple_bind(ctx, grad_req=reqs, type_dict=types, **shapes))
        self.binded = True
        if self.params_initialized:
            self._push_params()

    def reshape(self, data_shapes, label_shapes=None):
        """New input shapes (another batch size), keeping the parameters."""
        assert self.binded
        self._data_shapes = _shape_list(data_shapes)
        self._label_shapes = [d for d in _shape_list(label_shapes) if d[0] in self._label_names]
        self._slices = _slices(self._data_shapes[0][1][0], len(self._context), self._work_load_list)
        new = []
        for ex, sl in zip(self._execs, self._slices):
            n = sl.stop - sl.start
            shapes = {name: (n,) + tuple(shape[1:]) for name, shape, _ in self._data_shapes + self._label_shapes}
            new.append(ex.reshape(allow_up_sizing=True, **shapes))
        self._execs = new

    # --- parameters -----------------------------------------------------------------------
    def init_params(self, initializer=_init.Uniform(0.01), arg_params=None, aux_params=None, allow_missing=False,
                    force_init=False, allow_extra=False):
        """Initializes parameters (given values first, then the initializer by name)."""
        if self.params_initialized and not force_init:
            warnings.warn("Parameters already initialized and force_init=False. init_params call ignored.", stacklevel=2)
            return
        assert self.binded, "call bind before initializing the parameters"
        ex = self._execs[0]
        attrs = self._symbol.attr_dict()

        def fill(name, arr, given):
            if given is not None and name in given:
                src = given[name]
                if src is not arr:
                    (src if src.dtype == arr.dtype else src.astype(arr.dtype)).copyto(arr)
            elif given is not None and not allow_missing:
                raise RuntimeError(f"{name} is not presented")
            elif initializer is not None:
                initializer(_init.InitDesc(name, attrs.get(name, {})), arr)

        if self._arg_params is None or force_init:
            self._arg_params = {n: nd.zeros(ex.arg_dict[n].shape, dtype=ex.arg_dict[n].dtype) for n in self._param_names}
            self._aux_params = {n: nd.zeros(ex.aux_dict[n].shape, dtype=ex.aux_dict[n].dtype) for n in self._aux_names}
        for n in self._param_names:
            fill(n, self._arg_params[n], arg_params)
        for n in self._aux_names:
            fill(n, self._aux_params[n], aux_params)
        if not allow_extra:
            for given, names in ((arg_params, self._param_names), (aux_params, self._aux_names)):
                extra = set(given or {}) - set(names)
                if extra and given is not None and (given is arg_params and extra - set(self._data_names + self._label_names)):
                    raise ValueError(f"found parameters not in the symbol: {sorted(extra)} (pass allow_extra=True to ignore)")
        self.params_initialized = True
        self._push_params()

    def _push_params(self):
        for ex in self._execs:
            for n in self._param_names:
                self._arg_params[n].copyto(ex.arg_dict[n])
            for n in self._aux_names:
                self._aux_params[n].copyto(ex.aux_dict[n])

    def _pull_params(self):
        """Parameters from the devices (averaged, as MXNet does) into the module's copies."""
        for names, store, get in ((self._param_names, self._arg_params, "arg_dict"), (self._aux_names, self._aux_params, "aux_dict")):
            for n in names:
                arrays = [getattr(ex, get)[n] for ex in self._execs]
                if len(arrays) == 1:
                    arrays[0].copyto(store[n])
                else:
                    total = arrays[0].as_in_context(cpu())
                    for a in arrays[1:]:
                        total = total + a.as_in_context(cpu())
                    (total / len(arrays)).copyto(store[n])

    def get_params(self):
        assert self.binded and self.params_initialized
        self._pull_params()
        return self._arg_params, self._aux_params

    def set_params(self, arg_params, aux_params, allow_missing=False, force_init=True, allow_extra=False):
        if not self.params_initialized or force_init:
            self.init_params(initializer=None, arg_params=arg_params, aux_params=aux_params, allow_missing=allow_missing,
                             force_init=True, allow_extra=allow_extra)
            return
        warnings.warn("Parameters already initialized and force_init=False. set_params call ignored.", stacklevel=2)

    def save_params(self, fname):
        arg, aux = self.get_params()
        save = {f"arg:{k}": v for k, v in arg.items()}
        save.update({f"aux:{k}": v for k, v in aux.items()})
        nd.save(fname, save)

    def load_params(self, fname):
        loaded = nd.load(fname)
        arg = {k[4:]: v for k, v in loaded.items() if k.startswith("arg:")}
        aux = {k[4:]: v for k, v in loaded.items() if k.startswith("aux:")}
        self.set_params(arg, aux)

    # --- optimizer ------------------------------------------------------------------------
    def init_optimizer(self, kvstore="local", optimizer="sgd", optimizer_params=(("learning_rate", 0.01),), force_init=False):
        assert self.binded and self.params_initialized
        if self.optimizer_initialized and not force_init:
            self.logger.warning("optimizer already initialized, ignoring...")
            return
        num_device = len(self._context)
        kv = None
        if isinstance(kvstore, _kvstore.KVStoreBase):
            kv = kvstore
        elif isinstance(kvstore, str) and (num_device > 1 or "dist" in kvstore):
            kv = _kvstore.create(kvstore)
        self._update_on_kvstore = kv is not None
        batch_size = self._data_shapes[0][1][0]
        if kv is not None and "dist" in kv.type and "_sync" in kv.type:
            batch_size *= kv.num_workers
        rescale_grad = 1.0 / batch_size
        if self._update_on_kvstore:
            idx2name = dict(enumerate(self._param_names))
        else:
            idx2name = {i * num_device + k: n for i, n in enumerate(self._param_names) for k in range(num_device)}
        if isinstance(optimizer, str):
            params = dict(optimizer_params)
            params.setdefault("rescale_grad", rescale_grad)
            optimizer = _optimizer.create(optimizer, sym=self._symbol, param_idx2name=idx2name, **params)
        elif optimizer.rescale_grad != rescale_grad:
            warnings.warn(f"Optimizer created manually outside Module but rescale_grad is not normalized to 1.0/batch_size/num_workers ({optimizer.rescale_grad} vs. {rescale_grad}). Is this intended?", stacklevel=2)
        self._optimizer, self._kvstore = optimizer, kv
        if kv is not None:
            for i, n in enumerate(self._param_names):
                kv.init(i, self._arg_params[n])
                if "dist" in kv.type:  # every worker starts from rank 0's values (MXNet's rule)
                    kv.pull(i, [ex.arg_dict[n] for ex in self._execs], priority=-i)
            kv.set_optimizer(optimizer)
        else:
            self._updater = _optimizer.get_updater(optimizer)
        self.optimizer_initialized = True
        if self._preload_opt_states is not None:
            self.load_optimizer_states(self._preload_opt_states)
            self._preload_opt_states = None

    def save_optimizer_states(self, fname):
        assert self.optimizer_initialized
        if self._update_on_kvstore:
            self._kvstore.save_optimizer_states(fname)
        else:
            with open(fname, "wb") as f:
                f.write(self._updater.get_states())

    def load_optimizer_states(self, fname):
        assert self.optimizer_initialized
        if self._update_on_kvstore:
            self._kvstore.load_optimizer_states(fname)
        else:
            with open(fname, "rb") as f:
                self._updater.set_states(f.read())

    # --- computation ----------------------------------------------------------------------
    def forward(self, data_batch, is_train=None):
        """Copies each device's slice of the batch in and runs forward on every device."""
        assert self.binded and self.params_initialized
        if is_train is None:
            is_train = self.for_training
        shapes = [tuple(d.shape) for d in data_batch.data]
        if shapes != [s for _, s, _ in self._data_shapes]:
            provide = getattr(data_batch, "provide_data", None) or [(n, s) for (n, _, _), s in zip(self._data_shapes, shapes)]
            label_provide = getattr(data_batch, "provide_label", None) or self._label_shapes
            self.reshape(provide, label_provide if data_batch.label else self._label_shapes)
        labels = data_batch.label or []
        for ex, sl in zip(self._execs, self._slices):
            whole = len(self._execs) == 1
            for name, arr in zip(self._data_names, data_batch.data):
                self._load(arr if whole else arr[sl], ex.arg_dict[name])
            for name, arr in zip(self._label_names, labels):
                if arr is not None:
                    self._load(arr if whole else arr[sl], ex.arg_dict[name])
            ex.forward(is_train=is_train)

    @staticmethod
    def _load(src, dst):
        if isinstance(src, nd.NDArray):
            src.copyto(dst)
        else:
            dst[:] = src

    def backward(self, out_grads=None):
        assert self.binded and self.params_initialized
        for k, (ex, sl) in enumerate(zip(self._execs, self._slices)):
            grads = None
            if out_grads is not None:
                grads = [g if len(self._execs) == 1 else g[sl] for g in out_grads]
            ex.backward(out_grads=grads)

    def update(self):
        """Applies the optimizer: through the KVStore across devices, or directly on one."""
        assert self.binded and self.params_initialized and self.optimizer_initialized
        num_device = len(self._execs)
        for i, n in enumerate(self._param_names):
            if n in self._fixed_param_names:
                continue
            grads = [ex.grad_dict[n] for ex in self._execs]
            weights = [ex.arg_dict[n] for ex in self._execs]
            if self._update_on_kvstore:
                self._kvstore.push(i, grads, priority=-i)
                self._kvstore.pull(i, weights, priority=-i)
            else:
                for k, (w, g) in enumerate(zip(weights, grads)):
                    self._updater(i * num_device + k, g, w)

    def get_outputs(self, merge_multi_context=True):
        outs = [ex.outputs for ex in self._execs]
        if not merge_multi_context:
            return [[o[i] for o in outs] for i in range(len(outs[0]))]
        if len(outs) == 1:
            return list(outs[0])
        return [nd.concat(*[o[i].as_in_context(self._context[0]) for o in outs], dim=0) for i in range(len(outs[0]))]

    def get_input_grads(self, merge_multi_context=True):
        assert self.inputs_need_grad
        grads = [[ex.grad_dict[n] for ex in self._execs] for n in self._data_names]
        if not merge_multi_context:
            return grads
        return [g[0] if len(g) == 1 else nd.concat(*[x.as_in_context(self._context[0]) for x in g], dim=0) for g in grads]

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        eval_metric.update(labels, self.get_outputs())

    def install_monitor(self, mon):
        for ex in self._execs:
            mon.install(ex)

    # --- checkpoints ----------------------------------------------------------------------
    def save_checkpoint(self, prefix, epoch, save_optimizer_states=False, remove_amp_cast=True):
        """``prefix-symbol.json``, ``prefix-%04d.params`` (and ``.states``)."""
        self._symbol.save(f"{prefix}-symbol.json", remove_amp_cast=remove_amp_cast)
        param_name = f"{prefix}-{epoch:04d}.params"
        self.save_params(param_name)
        logging.info('Saved checkpoint to "%s"', param_name)
        if save_optimizer_states:
            state_name = f"{prefix}-{epoch:04d}.states"
            self.save_optimizer_states(state_name)
            logging.info('Saved optimizer state to "%s"', state_name)

    @staticmethod
    def load(prefix, epoch, load_optimizer_states=False, **kwargs):
        """A module from a checkpoint; ``bind`` it next (parameters are set at bind)."""
        sym, args, auxs = _model.load_checkpoint(prefix, epoch)
        mod = Module(symbol=sym, **kwargs)
        mod._arg_params = args
        mod._aux_params = auxs
        mod.params_initialized = True
        if load_optimizer_states:
            mod._preload_opt_states = f"{prefix}-{epoch:04d}.states"
        return mod
