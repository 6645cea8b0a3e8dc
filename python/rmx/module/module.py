"""``mx.mod.Module``: a symbol bound on one or more devices through a
``DataParallelExecutorGroup`` (``_exec_group``): each device runs an executor on its slice of the
batch; gradients meet in a KVStore (or, without one, the updater runs on each device's copy),
so every device keeps the same parameters. All array work goes through the engine, so the
devices' executors run concurrently."""

import logging
import warnings

from .. import initializer as _init
from .. import kvstore as _kvstore
from .. import model as _model
from .. import ndarray as nd
from .. import optimizer as _optimizer
from ..context import cpu
from ..io import DataDesc
from ..ndarray.sparse import check_stype_attr
from .base_module import BaseModule, _check_input_names, _parse_data_desc
from .executor_group import DataParallelExecutorGroup


class Module(BaseModule):
    """``Module(symbol, data_names=('data',), label_names=('softmax_label',), logger=logging,
    context=cpu(), work_load_list=None, fixed_param_names=None, state_names=None)``.

    >>> import rmx as mx
    >>> net = mx.sym.SoftmaxOutput(mx.sym.FullyConnected(mx.sym.var('data'), num_hidden=3, name='fc'), name='softmax')
    >>> mod = mx.mod.Module(net, context=[mx.cpu(0), mx.cpu(1)])
    >>> mod.bind(data_shapes=[('data', (8, 5))], label_shapes=[('softmax_label', (8,))])
    >>> mod._exec_group.slices
    [slice(0, 4, None), slice(4, 8, None)]
    >>> mod.output_shapes
    [('softmax_output', (8, 3))]
    """

    def __init__(self, symbol, data_names=("data",), label_names=("softmax_label",), logger=logging, context=None,
                 work_load_list=None, fixed_param_names=None, state_names=None, group2ctxs=None, compression_params=None):
        super().__init__(logger=logger)
        context = context if context is not None else cpu()
        self._context = list(context) if isinstance(context, (list, tuple)) else [context]
        if work_load_list is None:
            work_load_list = [1] * len(self._context)
        assert len(work_load_list) == len(self._context)
        self._work_load_list = list(work_load_list)
        self._group2ctxs = group2ctxs
        self._symbol = symbol
        arg_names = symbol.list_arguments()
        self._data_names = list(data_names or [])
        self._state_names = list(state_names or [])
        self._fixed_param_names = list(fixed_param_names or [])
        _check_input_names(symbol, self._data_names, "data", True)
        _check_input_names(symbol, list(label_names or []), "label", False)
        _check_input_names(symbol, self._state_names, "state", True)
        _check_input_names(symbol, self._fixed_param_names, "fixed_param", True)
        # A label the symbol does not take is dropped (MXNet warns, then fails at bind).
        self._label_names = [n for n in (label_names or []) if n in arg_names]
        inputs = set(self._data_names + self._label_names + self._state_names)
        self._param_names = [n for n in arg_names if n not in inputs]
        self._aux_names = symbol.list_auxiliary_states()
        self._output_names = symbol.list_outputs()
        self._compression_params = compression_params
        self._arg_params = self._aux_params = None
        self._params_dirty = False
        self._optimizer = self._kvstore = self._updater = None
        self._update_on_kvstore = False
        self._preload_opt_states = None
        self._grad_req = None
        self._exec_group = None
        self._data_shapes = self._label_shapes = None

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

    def _reset_bind(self):
        self.binded = False
        self._exec_group = None
        self._data_shapes = self._label_shapes = None

    # --- names and shapes -----------------------------------------------------------------
    data_names = property(lambda self: self._data_names)
    label_names = property(lambda self: self._label_names)
    output_names = property(lambda self: self._output_names)

    @property
    def data_shapes(self):
        assert self.binded
        return self._data_shapes

    @property
    def label_shapes(self):
        assert self.binded
        return self._label_shapes

    @property
    def output_shapes(self):
        assert self.binded
        return self._exec_group.get_output_shapes()

    # --- parameters -----------------------------------------------------------------------
    def get_params(self):
        assert self.params_initialized
        # Always read back when bound: BatchNorm's moving statistics change in a training
        # forward too, not only in update().
        if self.binded:
            self._sync_params_from_devices()
        return self._arg_params, self._aux_params

    def init_params(self, initializer=_init.Uniform(0.01), arg_params=None, aux_params=None, allow_missing=False,
                    force_init=False, allow_extra=False):
        """Initializes parameters (given values first, then the initializer by name, in sorted
        name order as MXNet does) and copies them to every device."""
        if self.params_initialized and not force_init:
            warnings.warn("Parameters already initialized and force_init=False. init_params call ignored.", stacklevel=2)
            return
        assert self.binded, "call bind before initializing the parameters"
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

        for name, arr in sorted(self._arg_params.items()):
            fill(name, arr, arg_params)
        for name, arr in sorted(self._aux_params.items()):
            fill(name, arr, aux_params)
        self.params_initialized = True
        self._params_dirty = False
        self._exec_group.set_params(self._arg_params, self._aux_params, allow_extra=allow_extra)

    def set_params(self, arg_params, aux_params, allow_missing=False, force_init=True, allow_extra=False):
        if not allow_missing:
            self.init_params(initializer=None, arg_params=arg_params, aux_params=aux_params, allow_missing=allow_missing,
                             force_init=force_init, allow_extra=allow_extra)
            return
        if self.params_initialized and not force_init:
            warnings.warn("Parameters already initialized and force_init=False. set_params call ignored.", stacklevel=2)
            return
        self._exec_group.set_params(arg_params, aux_params, allow_extra=allow_extra)
        self._params_dirty = True
        self.params_initialized = True

    def _sync_params_from_devices(self):
        """The devices' parameters (averaged over devices) into ``_arg_params``/``_aux_params``."""
        self._exec_group.get_params(self._arg_params, self._aux_params)
        self._params_dirty = False

    # --- binding --------------------------------------------------------------------------
    def bind(self, data_shapes, label_shapes=None, for_training=True, inputs_need_grad=False, force_rebind=False,
             shared_module=None, grad_req="write"):
        """Binds a ``DataParallelExecutorGroup``: one executor per device for its slice of the
        batch. ``shared_module`` (bucketing) lends its parameter arrays and optimizer."""
        if force_rebind:
            self._reset_bind()
        if self.binded:
            self.logger.warning("Already bound, ignoring bind()")
            return
        self.for_training = for_training
        self.inputs_need_grad = inputs_need_grad
        self._grad_req = grad_req
        if not for_training:
            assert not inputs_need_grad
        check_stype_attr("Module.bind", self._symbol)
        self._data_shapes, self._label_shapes = self._descs(data_shapes, label_shapes)
        shared_group = None
        if shared_module is not None:
            assert isinstance(shared_module, Module) and shared_module.binded and shared_module.params_initialized
            shared_group = shared_module._exec_group
            assert len(shared_group.execs) >= len(self._context)
        self._exec_group = DataParallelExecutorGroup(
            self._symbol, self._context, self._work_load_list, self._data_shapes, self._label_shapes, self._param_names,
            for_training, inputs_need_grad, shared_group, logger=self.logger, fixed_param_names=self._fixed_param_names,
            grad_req=grad_req, group2ctxs=self._group2ctxs, state_names=self._state_names)
        self._total_exec_bytes = self._exec_group._total_exec_bytes
        if shared_module is not None:
            self.params_initialized = True
            self._arg_params = shared_module._arg_params
            self._aux_params = shared_module._aux_params
        elif self.params_initialized:
            self._exec_group.set_params(self._arg_params, self._aux_params)
        else:
            assert self._arg_params is None and self._aux_params is None
            self._arg_params = {n: nd.zeros(b[0].shape, dtype=b[0].dtype) for n, b in zip(self._param_names, self._exec_group.param_arrays)}
            self._aux_params = {n: nd.zeros(b[0].shape, dtype=b[0].dtype) for n, b in zip(self._aux_names, self._exec_group.aux_arrays)}
        if shared_module is not None and shared_module.optimizer_initialized:
            self.borrow_optimizer(shared_module)
        self.binded = True

    def _descs(self, data_shapes, label_shapes):
        """DataDescs for the inputs; labels the symbol does not take are left out."""
        if label_shapes is not None:
            label_shapes = [d for d in label_shapes if d[0] in self._label_names] or None
        return _parse_data_desc(self._data_names, self._label_names, data_shapes, label_shapes)

    def reshape(self, data_shapes, label_shapes=None):
        """New input shapes (another batch size), keeping the parameters."""
        assert self.binded
        self._data_shapes, self._label_shapes = self._descs(data_shapes, label_shapes)
        self._exec_group.reshape(self._data_shapes, self._label_shapes)

    # --- optimizer ------------------------------------------------------------------------
    def init_optimizer(self, kvstore="local", optimizer="sgd", optimizer_params=(("learning_rate", 0.01),), force_init=False):
        assert self.binded and self.params_initialized
        if self.optimizer_initialized and not force_init:
            self.logger.warning("optimizer already initialized, ignoring...")
            return
        if self._params_dirty:
            self._sync_params_from_devices()
        num_device = len(self._context)
        kv = None
        if isinstance(kvstore, _kvstore.KVStoreBase):
            kv = kvstore
        elif isinstance(kvstore, str) and (num_device > 1 or "dist" in kvstore):
            kv = _kvstore.create(kvstore)
        self._update_on_kvstore = kv is not None
        batch_size = self._exec_group.batch_size
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
        self._optimizer, self._kvstore, self._updater = optimizer, kv, None
        if kv is not None:
            param_arrays = self._exec_group.param_arrays
            for i, n in enumerate(self._param_names):
                kv.init(i, self._arg_params[n])
                if "dist" in kv.type:  # every worker starts from rank 0's values (MXNet's rule)
                    kv.pull(i, param_arrays[i], priority=-i)
            kv.set_optimizer(optimizer)
        else:
            self._updater = _optimizer.get_updater(optimizer)
        self.optimizer_initialized = True
        if self._preload_opt_states is not None:
            self.load_optimizer_states(self._preload_opt_states)
            self._preload_opt_states = None

    def borrow_optimizer(self, shared_module):
        """Uses ``shared_module``'s optimizer, kvstore and updater (their states included)."""
        assert shared_module.optimizer_initialized
        self._optimizer = shared_module._optimizer
        self._kvstore = shared_module._kvstore
        self._update_on_kvstore = shared_module._update_on_kvstore
        self._updater = shared_module._updater
        self.optimizer_initialized = True

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
        """Re-shapes the executors when the batch's shapes differ from the bound ones, then
        runs forward on every device with its slice of the batch."""
        assert self.binded and self.params_initialized
        current = tuple(d.shape for d in self._data_shapes)
        if isinstance(data_batch, list):
            new = []
            for i in range(len(data_batch[0].data)):
                shape = data_batch[0].data[i].shape
                assert all(b.data[i].shape == shape for b in data_batch), "All data batches in a list need to have the same shape"
                new.append((len(data_batch) * shape[0],) + tuple(shape[1:]))
            new = tuple(new)
        else:
            new = tuple(tuple(d.shape) for d in data_batch.data)
        if current != new:
            if getattr(data_batch, "provide_data", None):
                dshape = data_batch.provide_data
            else:
                dshape = [DataDesc(d.name, s, d.dtype, d.layout) for d, s in zip(self._data_shapes, new)]
            if getattr(data_batch, "provide_label", None):
                lshape = data_batch.provide_label
            elif getattr(data_batch, "label", None) and self._label_shapes:
                lshape = [DataDesc(d.name, tuple(l.shape), d.dtype, d.layout) for d, l in zip(self._label_shapes, data_batch.label)]
            else:
                lshape = None
            self.reshape(dshape, lshape)
        self._exec_group.forward(data_batch, is_train)

    def backward(self, out_grads=None):
        assert self.binded and self.params_initialized
        self._exec_group.backward(out_grads=out_grads)

    def update(self):
        """Applies the optimizer: through the KVStore across devices, or on each device."""
        assert self.binded and self.params_initialized and self.optimizer_initialized
        self._params_dirty = True
        group = self._exec_group
        if self._update_on_kvstore:
            for i, (weights, grads) in enumerate(zip(group.param_arrays, group.grad_arrays)):
                if grads[0] is None:
                    continue
                self._kvstore.push(i, grads, priority=-i)
                self._kvstore.pull(i, weights, priority=-i)
            return
        # As MXNet's `_update_params`: one updater call per device with all its weights, so an
        # aggregating optimizer (SGD) updates them in a few fused pushes.
        num_device = len(self._context)
        updates = [[] for _ in range(num_device)]
        for i, (weights, grads) in enumerate(zip(group.param_arrays, group.grad_arrays)):
            if grads[0] is None:
                continue
            for k, (w, g) in enumerate(zip(weights, grads)):
                updates[k].append((i * num_device + k, g, w))
        for dev_updates in updates:
            if dev_updates:
                indices, grads, weights = zip(*dev_updates)
                self._updater(list(indices), list(grads), list(weights))

    def get_outputs(self, merge_multi_context=True):
        assert self.binded and self.params_initialized
        return self._exec_group.get_outputs(merge_multi_context=merge_multi_context)

    def get_input_grads(self, merge_multi_context=True):
        assert self.binded and self.params_initialized and self.inputs_need_grad
        return self._exec_group.get_input_grads(merge_multi_context=merge_multi_context)

    def get_states(self, merge_multi_context=True):
        assert self.binded and self.params_initialized
        return self._exec_group.get_states(merge_multi_context=merge_multi_context)

    def set_states(self, states=None, value=None):
        assert self.binded and self.params_initialized
        self._exec_group.set_states(states, value)

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        self._exec_group.update_metric(eval_metric, labels, pre_sliced)

    def install_monitor(self, mon):
        assert self.binded
        self._exec_group.install_monitor(mon)
