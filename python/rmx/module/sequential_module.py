"""``SequentialModule``: modules in a chain, each one's outputs the next one's data. Forward runs
them in order; backward runs them in reverse, each module's input gradients becoming the
previous module's output gradients (so every module but the first is bound with
``inputs_need_grad``)."""

import copy
import logging

from ..initializer import Uniform
from .base_module import BaseModule


class SequentialModule(BaseModule):
    """``SequentialModule(logger=logging)``; ``add(module, take_labels=False, auto_wiring=False)``
    appends a module (and returns ``self``, so calls chain). ``take_labels`` hands it the batch's
    labels (its metric is then the one updated); ``auto_wiring`` renames the previous outputs to
    its ``data_names``.

    >>> import rmx as mx
    >>> fc = mx.sym.FullyConnected(mx.sym.var('data'), num_hidden=4, name='fc')
    >>> head = mx.sym.SoftmaxOutput(mx.sym.var('data'), name='softmax')
    >>> seq = mx.mod.SequentialModule()
    >>> seq = seq.add(mx.mod.Module(fc, label_names=None)).add(mx.mod.Module(head), take_labels=True, auto_wiring=True)
    >>> seq.bind(data_shapes=[('data', (2, 3))], label_shapes=[('softmax_label', (2,))])
    >>> seq.output_shapes
    [('softmax_output', (2, 4))]
    """

    META_TAKE_LABELS = "take_labels"
    META_AUTO_WIRING = "auto_wiring"

    def __init__(self, logger=logging):
        super().__init__(logger=logger)
        self._modules = []
        self._metas = []
        self._label_shapes = None
        self._data_shapes = None
        self._meta_keys = {getattr(SequentialModule, x) for x in dir(SequentialModule) if x.startswith("META_")}

    def add(self, module, **kwargs):
        """Appends ``module`` with its meta flags (``take_labels``, ``auto_wiring``); the chain
        must be bound and initialized again after."""
        self._modules.append(module)
        for key in kwargs:
            assert key in self._meta_keys, f'Unknown meta "{key}", a typo?'
        self._metas.append(kwargs)
        self.binded = False
        self.params_initialized = False
        self.optimizer_initialized = False
        return self

    @property
    def data_names(self):
        return self._modules[0].data_names if self._modules else []

    @property
    def output_names(self):
        return self._modules[-1].output_names if self._modules else []

    @property
    def data_shapes(self):
        assert self.binded
        return self._modules[0].data_shapes

    @property
    def label_shapes(self):
        assert self.binded
        return self._label_shapes

    @property
    def output_shapes(self):
        assert self.binded
        return self._modules[-1].output_shapes

    def _takes_labels(self, i):
        return bool(self._metas[i].get(SequentialModule.META_TAKE_LABELS, False))

    # --- parameters -----------------------------------------------------------------------
    def get_params(self):
        """Every module's parameters in one pair of dicts."""
        assert self.binded and self.params_initialized
        arg_params, aux_params = {}, {}
        for module in self._modules:
            arg, aux = module.get_params()
            arg_params.update(arg)
            aux_params.update(aux)
        return arg_params, aux_params

    def init_params(self, initializer=Uniform(0.01), arg_params=None, aux_params=None, allow_missing=False,
                    force_init=False, allow_extra=False):
        """Initializes every module; a parameter name used by two modules is an error."""
        if self.params_initialized and not force_init:
            return
        assert self.binded, "call bind before initializing the parameters"
        for module in self._modules:
            module.init_params(initializer=initializer, arg_params=arg_params, aux_params=aux_params,
                               allow_missing=allow_missing, force_init=force_init, allow_extra=allow_extra)
        seen_arg, seen_aux = {}, {}
        for i, module in enumerate(self._modules):
            arg, aux = module.get_params()
            for seen, names in ((seen_arg, arg), (seen_aux, aux)):
                for name in names:
                    assert name not in seen, (f'Duplicated parameter names: name "{name}" in layer {i} '
                                              f"({type(module)}) is already used in layer {seen[name]} "
                                              f"({type(self._modules[seen[name]])}).")
                    seen[name] = i
        self.params_initialized = True

    # --- binding --------------------------------------------------------------------------
    def bind(self, data_shapes, label_shapes=None, for_training=True, inputs_need_grad=False, force_rebind=False,
             shared_module=None, grad_req="write"):
        """Binds each module on the previous one's output shapes."""
        if self.binded and not force_rebind:
            self.logger.warning("Already bound, ignoring bind()")
            return
        if inputs_need_grad:
            assert for_training is True
        assert shared_module is None, "Shared module is not supported"
        assert len(self._modules) > 0, "Attempting to bind an empty SequentialModule"
        self.binded = True
        self._label_shapes = label_shapes
        shapes = data_shapes
        anybody_needs_label = False
        for i, module in enumerate(self._modules):
            labels = None
            if self._takes_labels(i):
                labels = label_shapes
                anybody_needs_label = True
            needs_grad = bool(inputs_need_grad or (for_training and i > 0))
            if self._metas[i].get(SequentialModule.META_AUTO_WIRING, False):
                names = module.data_names
                assert len(names) == len(shapes)
                shapes = [(new, shape) for new, (_, shape) in zip(names, shapes)]
            module.bind(data_shapes=shapes, label_shapes=labels, for_training=for_training, inputs_need_grad=needs_grad,
                        force_rebind=force_rebind, shared_module=None, grad_req=grad_req)
            shapes = module.output_shapes
        if not anybody_needs_label:
            self._label_shapes = None

    def init_optimizer(self, kvstore="local", optimizer="sgd", optimizer_params=(("learning_rate", 0.01),), force_init=False):
        assert self.binded and self.params_initialized
        if self.optimizer_initialized and not force_init:
            self.logger.warning("optimizer already initialized, ignoring.")
            return
        for module in self._modules:
            module.init_optimizer(kvstore=kvstore, optimizer=optimizer, optimizer_params=optimizer_params,
                                  force_init=force_init)
        self.optimizer_initialized = True

    # --- computation ----------------------------------------------------------------------
    def forward(self, data_batch, is_train=None):
        assert self.binded and self.params_initialized
        data_batch = copy.copy(data_batch)
        for i, module in enumerate(self._modules):
            module.forward(data_batch, is_train=is_train)
            if i + 1 == len(self._modules):
                break
            data_batch.data = module.get_outputs()
            if hasattr(data_batch, "provide_data"):
                names = [x[0] for x in module.output_shapes]
                assert len(names) == len(data_batch.data)
                data_batch.provide_data = [(n, x.shape) for n, x in zip(names, data_batch.data)]

    def backward(self, out_grads=None):
        assert self.binded and self.params_initialized
        for i in reversed(range(len(self._modules))):
            module = self._modules[i]
            module.backward(out_grads=out_grads)
            if i == 0:
                break
            out_grads = module.get_input_grads()

    def update(self):
        assert self.binded and self.params_initialized and self.optimizer_initialized
        for module in self._modules:
            module.update()

    def get_outputs(self, merge_multi_context=True):
        assert self.binded and self.params_initialized
        return self._modules[-1].get_outputs(merge_multi_context=merge_multi_context)

    def get_input_grads(self, merge_multi_context=True):
        assert self.binded and self.params_initialized and self.inputs_need_grad
        return self._modules[0].get_input_grads(merge_multi_context=merge_multi_context)

    def update_metric(self, eval_metric, labels, pre_sliced=False):
        """Updates ``eval_metric`` from each module that takes labels."""
        assert self.binded and self.params_initialized
        for i, module in enumerate(self._modules):
            if self._takes_labels(i):
                module.update_metric(eval_metric, labels, pre_sliced)

    def install_monitor(self, mon):
        assert self.binded
        for module in self._modules:
            module.install_monitor(mon)
