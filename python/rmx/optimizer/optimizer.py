"""The optimizer base class: learning rates and weight decays per parameter (multipliers,
schedulers), update counts per device, multi-precision states, pickling, and the registry
(``register``, ``create``). Also MXNet's ``Test`` optimizer."""

import warnings
from collections.abc import Mapping

import numpy

from .. import ndarray as nd
from .. import registry
from ..ndarray import zeros

NDabs = nd.abs


class _Registered(Mapping):
    """``Optimizer.opt_registry``: a live, read-only view of the registered optimizers."""

    def __getitem__(self, name):
        return registry.get_registry(Optimizer)[name]

    def __iter__(self):
        return iter(registry.get_registry(Optimizer))

    def __len__(self):
        return len(registry.get_registry(Optimizer))

    def __repr__(self):
        return repr(registry.get_registry(Optimizer))


class Optimizer(object):
    """The base of all optimizers.

    Parameters
    ----------
    rescale_grad : float, default 1.0
        Every gradient is multiplied by this first (often ``1.0/batch_size``).
    param_idx2name : dict of int to str, optional
        Parameter names by index; names not ending in ``_weight``/``_gamma`` get ``wd_mult`` 0.
    wd : float, default 0.0
        Weight decay (L2 regularization).
    clip_gradient : float, optional
        Rescaled gradients are clipped to ``[-clip_gradient, clip_gradient]``.
    learning_rate : float, optional
        The learning rate; overrides ``lr_scheduler.base_lr`` when both are given; 0.01 when
        neither is.
    lr_scheduler : LRScheduler, optional
        Gives the learning rate from the number of updates.
    sym : Symbol, optional
        Its arguments' ``__lr_mult__``/``__wd_mult__`` attributes set the multipliers.
    begin_num_update : int, default 0
        The update count each parameter starts from.
    multi_precision : bool, default False
        Keep a float32 master copy of float16 weights and update that.
    param_dict : dict of int to gluon Parameter, optional
        Where ``lr_mult``/``wd_mult`` are read first (not pickled).
    """

    def __new__(cls, *args, **kwargs):
        # The arguments are kept so that a distributed kvstore can send the optimizer to its
        # servers as a typed description (name and hyperparameters) instead of a pickle.
        self = super().__new__(cls)
        self._init_args = (args, dict(kwargs))
        return self

    def __init__(self, rescale_grad=1., param_idx2name=None, wd=0., clip_gradient=None,
                 learning_rate=None, lr_scheduler=None, sym=None, begin_num_update=0,
                 multi_precision=False, param_dict=None):
        self.rescale_grad = rescale_grad
        self.lr_scheduler = lr_scheduler
        if lr_scheduler is None and learning_rate is None:
            learning_rate = 0.01
        self.lr = learning_rate
        if lr_scheduler is not None and learning_rate is not None \
                and lr_scheduler.base_lr != learning_rate:
            # MXNet prints (does not warn) this, and the optimizer's rate wins.
            print(UserWarning("learning rate from ``lr_scheduler`` has been overwritten by "
                              "``learning_rate`` in optimizer."))
            lr_scheduler.base_lr = learning_rate

        self.wd = wd
        self.lr_mult = {}
        self.wd_mult = {}
        self.begin_num_update = begin_num_update
        self.num_update = begin_num_update
        # Update counts per device (MXNet keeps one table per device id; the Updater picks it).
        self._all_index_update_counts = {0: {}}
        self._index_update_count = self._all_index_update_counts[0]
        self.clip_gradient = clip_gradient
        self.multi_precision = multi_precision
        self.aggregate_num = 0

        if param_idx2name is None:
            param_idx2name = {}
        assert isinstance(param_idx2name, dict), \
            "param_idx2name should be a dict of param indexes to names."
        self.idx2name = param_idx2name.copy()
        self.sym_info = (sym.attr_dict(), sym.list_arguments()) if sym is not None else ()
        self.param_dict = param_dict if param_dict else {}
        self.allow_np_array = False

        self.set_lr_mult({})
        self.set_wd_mult({})

    opt_registry = _Registered()

    # ``register`` and ``create_optimizer`` are set below the class, from ``rmx.registry``.

    @property
    def learning_rate(self):
        """The current learning rate: the scheduler's at ``num_update`` when there is one."""
        if self.lr_scheduler is not None:
            return self.lr_scheduler(self.num_update)
        return self.lr

    def create_state(self, index, weight):
        """The state (momentum, moments ...) ``update`` keeps for ``weight``; None by default."""

    def create_state_multi_precision(self, index, weight):
        """``create_state``, plus a float32 master copy first when ``multi_precision`` is on and
        the weight is float16: ``(weight32, state)``."""
        if self.multi_precision and weight.dtype == numpy.float16:
            master = weight.astype(numpy.float32)
            return (master, self.create_state(index, master))
        if weight.dtype == numpy.float16 and not self.multi_precision:
            warnings.warn("Accumulating with float16 in optimizer can lead to poor accuracy or "
                          "slow convergence. Consider using multi_precision=True option of the "
                          "optimizer")
        return self.create_state(index, weight)

    def update(self, index, weight, grad, state):
        """Updates ``weight`` in place from ``grad`` and ``state``."""
        raise NotImplementedError()

    def update_multi_precision(self, index, weight, grad, state):
        """``update``; with ``multi_precision`` and a float16 weight, updates the float32 master
        copy from the gradient in float32 and writes it back rounded to float16."""
        if self.multi_precision and weight.dtype == numpy.float16:
            master, inner = state
            self.update(index, master, grad.astype(numpy.float32), inner)
            nd.cast(master, dtype=numpy.dtype(weight.dtype).name, out=weight)
        else:
            self.update(index, weight, grad, state)

    def set_learning_rate(self, lr):
        """Sets the learning rate; raises ``UserWarning`` when a scheduler owns it."""
        if self.lr_scheduler is not None:
            raise UserWarning("LRScheduler of the optimizer has already been defined. Note that "
                              "set_learning_rate can mutate the value of the learning rate of the "
                              "optimizer only when the LRScheduler of the optimizer is undefined.")
        self.lr = lr

    def set_lr_scale(self, args_lrscale):  # pylint: disable=unused-argument
        """[DEPRECATED] Use ``set_lr_mult``."""
        raise DeprecationWarning

    def _sym_mults(self, key):
        """``{argument name: float}`` of ``sym``'s ``key`` attributes."""
        found = {}
        if self.sym_info:
            attrs, names = self.sym_info
            for name in names:
                if key in attrs.get(name, {}):
                    found[name] = float(attrs[name][key])
        return found

    def set_lr_mult(self, args_lr_mult):
        """Learning-rate multipliers by parameter name (or index): ``sym``'s ``__lr_mult__``
        attributes, then ``args_lr_mult``."""
        self.lr_mult = self._sym_mults("__lr_mult__")
        self.lr_mult.update(args_lr_mult)

    def set_wd_mult(self, args_wd_mult):
        """Weight-decay multipliers by parameter name (or index): 0 for every named parameter
        not ending in ``_weight`` or ``_gamma``, then ``sym``'s ``__wd_mult__`` attributes, then
        ``args_wd_mult``."""
        self.wd_mult = {}
        for name in self.idx2name.values():
            if not (name.endswith("_weight") or name.endswith("_gamma")):
                self.wd_mult[name] = 0.0
        self.wd_mult.update(self._sym_mults("__wd_mult__"))
        self.wd_mult.update(args_wd_mult)

    def _set_current_context(self, device_id):
        """Selects the update counts of device ``device_id``."""
        self._index_update_count = self._all_index_update_counts.setdefault(device_id, {})

    def _update_count(self, index):
        """Counts one more update of ``index`` (or of each index of a list); ``num_update`` is
        the largest count."""
        for idx in index if isinstance(index, (list, tuple)) else [index]:
            count = self._index_update_count.get(idx, self.begin_num_update) + 1
            self._index_update_count[idx] = count
            self.num_update = max(count, self.num_update)

    def _mult(self, index, table, attr):
        """The multiplier of ``index``: its Gluon parameter's, else ``table``'s by index, else
        by name; 1.0 when none is set (multiplying by it changes nothing)."""
        if index in self.param_dict:
            return getattr(self.param_dict[index], attr)
        if index in table:
            return table[index]
        if index in self.idx2name:
            return table.get(self.idx2name[index], 1.0)
        return 1.0

    def _get_lrs(self, indices):
        """The learning rate of each index (base rate or scheduler's, times ``lr_mult``)."""
        lr = self.lr_scheduler(self.num_update) if self.lr_scheduler is not None else self.lr
        return [lr * self._mult(i, self.lr_mult, "lr_mult") for i in indices]

    def _get_lr(self, index):
        return self._get_lrs([index])[0]

    def _get_wds(self, indices):
        """The weight decay of each index (``wd`` times ``wd_mult``)."""
        return [self.wd * self._mult(i, self.wd_mult, "wd_mult") for i in indices]

    def _get_wd(self, index):
        return self._get_wds([index])[0]

    def __getstate__(self):
        state = self.__dict__.copy()
        del state["param_dict"]  # Gluon parameters are set again by the trainer
        state.pop("_init_args", None)  # may hold them too; only a kvstore description reads it
        return state

    def __setstate__(self, state):
        self.__dict__ = state
        self.param_dict = {}


register = registry.get_register_func(Optimizer, "optimizer")
create = registry.get_create_func(Optimizer, "optimizer")
Optimizer.register = staticmethod(register)
Optimizer.create_optimizer = staticmethod(create)


@register
class Test(Optimizer):
    """MXNet's test optimizer: ``weight += rescale_grad * grad``; its state copies the weight."""

    def __init__(self, **kwargs):
        super(Test, self).__init__(**kwargs)

    def create_state(self, index, weight):
        return zeros(weight.shape, weight.context)

    def update(self, index, weight, grad, state):
        weight[:] += grad * self.rescale_grad
        state[:] = weight
