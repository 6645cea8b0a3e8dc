"""Distributed key-value stores: ``dist_sync``, ``dist_device_sync`` and ``dist_async``, as
MXNet 1.9.1's parameter server behaves, over rmx's own protocol on TCP (crate ``rmx-kvstore``,
module ``dist``).

A job has one scheduler, ``DMLC_NUM_SERVER`` servers and ``DMLC_NUM_WORKER`` workers, each a
process started with MXNet's environment (``DMLC_ROLE``, ``DMLC_PS_ROOT_URI``,
``DMLC_PS_ROOT_PORT``, ...); ``python -m rmx.launch`` sets it. In a server or scheduler process
``import rmx`` runs that role and exits when the job ends, as ``import mxnet`` does; a worker's
``mx.kv.create('dist_sync')`` joins the job::

    python -m rmx.launch -n 2 -s 2 python train.py        # on one machine
    python -m rmx.launch -n 4 -s 2 -H hosts python train.py   # over ssh

``push`` sums the values of a key over this worker's devices, then sends the sum to the key's
servers; with ``dist_sync`` a server sums every worker's push (in rank order) and applies the
optimizer set by ``set_optimizer``, or stores the sum; ``pull`` returns the result once every
worker's push of that round arrived. ``dist_async`` applies each push alone, at once, and needs
an optimizer. The optimizer travels as a typed description (its registered name and the
arguments it was made with, as JSON), never as a pickle; arguments that are not numbers, strings,
lists of those or an ``mx.lr_scheduler`` schedule raise a clear error.

A process that dies or stops answering for ``RMX_KVSTORE_TIMEOUT`` seconds (default 30) is
reported to every other process as ``rmx.base.KVStoreError`` naming it, at its next kvstore call
or wait, and every process exits non-zero (a worker still running that long after the loss is
ended). Connections must present the job's token (``RMX_KVSTORE_TOKEN``, made by the launcher).

Differences from MXNet: ``row_sparse_pull`` pulls the whole (dense) value; values are float32 or
float64; ``save_optimizer_states`` and ``load_optimizer_states`` work (MXNet 1.9.1 refuses them on
a distributed store): the servers' states travel as arrays (``rmx.kvstore_states``), the file is
the one a local store writes.
"""

import atexit
import copy
import inspect
import json
import os
import sys

from . import _rmx
from . import optimizer as opt
from . import lr_scheduler as lrs
from . import kvstore_states as _states
from .base import MXNetError
from .kvstore import KVStoreBase, _handles, _key_value
from .ndarray import NDArray

__all__ = ["DistKVStore", "describe_optimizer", "build_optimizer"]

_LIVE = []  # strong references: a worker's store finishes at exit, not when collected


def _finish_all():
    """At exit, tells the scheduler each live store's worker is done and waits for the job's
    end (MXNet's finalize); a job that failed makes the process exit non-zero."""
    while _LIVE:
        kv = _LIVE.pop()
        try:
            kv._finish()
        except MXNetError as e:
            print("rmx kvstore worker: %s" % e, file=sys.stderr)
            sys.stderr.flush()
            os._exit(1)


atexit.register(_finish_all)


class DistKVStore(KVStoreBase):
    """A worker's distributed store (made by ``mx.kv.create('dist_sync')`` and friends)."""

    def __init__(self, name="dist_sync"):
        self._type = name
        self._handle = _rmx.DistKVStoreHandle(name)
        self._finished = False
        self._optimizer = None
        _LIVE.append(self)

    def init(self, key, value):
        """Records each key; rank 0's values become the stored values; then a barrier."""
        pairs, _ = _key_value(key, value)
        self._handle.init(_handles(pairs))

    def push(self, key, value, priority=0):
        pairs, _ = _key_value(key, value)
        self._handle.push(_handles(pairs), priority)

    def pull(self, key, out=None, priority=0, ignore_sparse=True):
        assert out is not None
        pairs, _ = _key_value(key, out)
        self._handle.pull(_handles(pairs), priority)

    def pushpull(self, key, value, out=None, priority=0):
        pairs, _ = _key_value(key, value)
        outs = pairs if out is None else _key_value(key, out)[0]
        self._handle.pushpull(_handles(pairs), _handles(outs), priority)

    def broadcast(self, key, value, out, priority=0):
        outs, _ = _key_value(key, out)
        pairs, _ = _key_value(key, value)
        self._handle.broadcast(_handles(pairs), _handles(outs), priority)

    def row_sparse_pull(self, key, out=None, priority=0, row_ids=None):
        """Pulls the whole value (rmx has no row-sparse storage yet, so every row is sent)."""
        self.pull(key, out=out, priority=priority)

    def set_optimizer(self, optimizer):
        """Sends ``optimizer`` to the servers, which then apply it to every push."""
        self._handle.set_optimizer(describe_optimizer(optimizer))
        self._optimizer = optimizer

    def set_gradient_compression(self, compression_params):
        """``{'type': '2bit', 'threshold': t}`` (threshold 0.5 by default): each pushed element
        becomes +t, -t or 0, and what was not sent is kept and added to the next push."""
        params = dict(compression_params)
        kind = params.pop("type", None)
        if kind != "2bit":
            raise MXNetError("Unknown type for gradient compression %r; rmx has '2bit'" % (kind,))
        threshold = float(params.pop("threshold", 0.5))
        if params:
            raise MXNetError("Unknown gradient compression parameters %s" % sorted(params))
        self._handle.set_gradient_compression(threshold)

    def save_optimizer_states(self, fname, dump_optimizer=False):
        """Gathers the servers' optimizer states, joins each key's parts, and writes them as a
        local store does (so ``load_optimizer_states`` of any store reads the file); with
        ``dump_optimizer`` the optimizer goes in too, with the servers' update counts."""
        optimizer = self._need_optimizer("save_optimizer_states")
        bodies = [_states.unpack(b) for b in self._handle.optimizer_states()]
        states, counts = {}, {}
        for key, wid, shape, _, parts in self._handle.layout():
            pieces = [bodies[server][0] for server, _, _ in parts]
            if any(wid in p for p in pieces):  # a key never updated has no state yet
                states[key] = _ndarray_tree(_states.join([p.get(wid) for p in pieces], shape))
            seen = [bodies[server][1][wid] for server, _, _ in parts if wid in bodies[server][1]]
            if seen:
                counts[key] = max(seen)
        updater = opt.get_updater(optimizer)
        if dump_optimizer:
            updater.optimizer = copy.copy(optimizer)
            updater.optimizer._index_update_count = counts
            updater.optimizer._all_index_update_counts = {0: counts}
            updater.optimizer.num_update = max([b[2] for b in bodies] + [optimizer.begin_num_update])
        updater.states = states
        with open(fname, "wb") as fout:
            fout.write(updater.get_states(dump_optimizer))

    def load_optimizer_states(self, fname):
        """Loads a file ``save_optimizer_states`` (of this or a local store) wrote: each server
        gets its parts of the states; an optimizer in the file replaces the servers' first.
        Every worker may call it (as ``Module`` does): the servers take the same states from
        each, before any of the workers' next pushes can complete a round."""
        updater = opt.get_updater(self._optimizer or opt.create("test"))
        before = updater.optimizer
        with open(fname, "rb") as fin:
            updater.set_states(fin.read())
        dumped = updater.optimizer is not before
        if dumped:
            self.set_optimizer(updater.optimizer)
        self._need_optimizer("load_optimizer_states")
        counts = updater.optimizer._index_update_count if dumped else {}
        per_server = [({}, {}) for _ in range(self._handle.num_servers)]
        for key, wid, _, _, parts in self._handle.layout():
            for server, start, end in parts:
                if key in updater.states:
                    per_server[server][0][wid] = _states.cut(updater.states[key], start, end)
                if key in counts:
                    per_server[server][1][wid] = counts[key]
        num_update = updater.optimizer.num_update if dumped else 0
        self._handle.set_optimizer_states([_states.pack(st, ct, num_update) for st, ct in per_server])

    def _need_optimizer(self, what):
        if self._optimizer is None:
            raise MXNetError("%s: the servers have no optimizer; call set_optimizer first" % what)
        return self._optimizer

    @property
    def type(self):
        return self._type

    @property
    def rank(self):
        return self._handle.rank

    @property
    def num_workers(self):
        return self._handle.num_workers

    @staticmethod
    def is_capable(capability):
        if capability.lower() == KVStoreBase.OPTIMIZER:
            return True
        raise ValueError("Unknown capability: {}".format(capability))

    def _barrier(self):
        """Returns once every worker called it."""
        self._handle.barrier()

    barrier = _barrier

    def _finish(self):
        if not self._finished:
            self._finished = True
            self._handle.finish()


# --- the optimizer as a typed description ---------------------------------------------------
def _plain(value, what):
    """``value`` if JSON represents it exactly (numbers, strings, bools, None, lists, str-keyed
    dicts), else a clear error naming the argument."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v, what) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _plain(v, what) for k, v in value.items()}
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        return value.item()
    raise MXNetError("cannot send the optimizer argument %s=%r (%s) to the kvstore servers: only "
                     "numbers, strings, lists and mx.lr_scheduler schedules travel"
                     % (what, value, type(value).__name__))


def _arguments(obj):
    """The arguments ``obj`` was made with, by name; for an unpickled object (which has no
    record of them), its attributes named as its constructors' arguments."""
    if hasattr(obj, "_init_args"):
        args, kwargs = obj._init_args
        bound = inspect.signature(type(obj).__init__).bind_partial(None, *args, **kwargs)
        return {k: v for k, v in bound.arguments.items() if k != "self"}
    found, attrs = {}, vars(obj)
    for cls in type(obj).__mro__:
        init = cls.__dict__.get("__init__")
        if init is None or cls is object:
            continue
        for name, p in inspect.signature(init).parameters.items():
            named = p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            if named and name != "self" and name in attrs:
                found.setdefault(name, attrs[name])
    return found


def describe_optimizer(optimizer):
    """The JSON text a server rebuilds ``optimizer`` from: its registered name, its arguments
    (the learning rate, weight decay, rescaling and clipping as they are now), its learning-rate
    schedule, and its per-parameter multipliers (Gluon parameters' by index) and names.

        >>> import json, rmx as mx
        >>> from rmx.kvstore_dist import describe_optimizer, build_optimizer
        >>> sched = mx.lr_scheduler.FactorScheduler(step=10, factor=0.5, base_lr=0.1)
        >>> sgd = mx.optimizer.SGD(momentum=0.9, lr_scheduler=sched)
        >>> d = json.loads(describe_optimizer(sgd))
        >>> d["optimizer"], d["kwargs"]["momentum"], d["lr_scheduler"]["class"]
        ('sgd', 0.9, 'FactorScheduler')
        >>> again = build_optimizer(describe_optimizer(sgd))
        >>> type(again).__name__, again.momentum, again.lr_scheduler.base_lr
        ('SGD', 0.9, 0.1)
    """
    if not isinstance(optimizer, opt.Optimizer):
        raise MXNetError("set_optimizer needs an mx.optimizer.Optimizer, got %r" % (optimizer,))
    kwargs = _arguments(optimizer)
    kwargs.update(kwargs.pop("kwargs", {}) or {})
    kwargs.pop("sym", None)  # its multipliers are in lr_mult/wd_mult below
    kwargs.pop("param_idx2name", None)
    # Gluon's Parameters stay here: their multipliers travel by index, which is how the
    # optimizer looks them up first.
    params = kwargs.pop("param_dict", None) or optimizer.param_dict
    lr_mult, wd_mult = dict(optimizer.lr_mult), dict(optimizer.wd_mult)
    for idx, p in params.items():
        lr_mult[idx], wd_mult[idx] = p.lr_mult, p.wd_mult
    sched = kwargs.pop("lr_scheduler", None) or optimizer.lr_scheduler
    kwargs.update(rescale_grad=optimizer.rescale_grad, wd=optimizer.wd, clip_gradient=optimizer.clip_gradient)
    if sched is None:
        kwargs["learning_rate"] = optimizer.lr
    else:
        kwargs.pop("learning_rate", None)
    desc = {
        "optimizer": type(optimizer).__name__.lower(),
        "kwargs": {k: _plain(v, k) for k, v in kwargs.items()},
        "lr_scheduler": None if sched is None else {
            "class": type(sched).__name__,
            "kwargs": {k: _plain(v, "lr_scheduler." + k) for k, v in _arguments(sched).items()},
            "base_lr": sched.base_lr,
        },
        "lr_mult": [[k, _plain(v, "lr_mult")] for k, v in lr_mult.items()],
        "wd_mult": [[k, _plain(v, "wd_mult")] for k, v in wd_mult.items()],
        "idx2name": [[k, v] for k, v in optimizer.idx2name.items()],
    }
    return json.dumps(desc, sort_keys=True)


def build_optimizer(description):
    """The optimizer ``describe_optimizer`` described."""
    d = json.loads(description)
    kwargs = dict(d["kwargs"])
    if d.get("lr_scheduler"):
        s = d["lr_scheduler"]
        cls = getattr(lrs, s["class"], None)
        if not (isinstance(cls, type) and issubclass(cls, lrs.LRScheduler)):
            raise MXNetError("unknown learning-rate schedule %r" % s["class"])
        sched = cls(**s["kwargs"])
        sched.base_lr = s["base_lr"]
        kwargs["lr_scheduler"] = sched
    optimizer = opt.create(d["optimizer"], **kwargs)
    optimizer.lr_mult = {k: v for k, v in d["lr_mult"]}
    optimizer.wd_mult = {k: v for k, v in d["wd_mult"]}
    optimizer.idx2name = {k: v for k, v in d["idx2name"]}
    return optimizer


class _ServerUpdater(object):
    """A server's optimizer, rebuilt from a worker's description: ``(key, grad_handle,
    weight_handle)`` updates the weight; its states travel as ``kvstore_states`` bodies."""

    def __init__(self, description):
        self._updater = opt.get_updater(build_optimizer(description))

    def __call__(self, key, grad, weight):
        self._updater(key, NDArray(grad), NDArray(weight))

    def states_to_bytes(self):
        u = self._updater
        return _states.pack({k: _numpy_tree(v) for k, v in u.states.items()},
                            u.optimizer._index_update_count, u.optimizer.num_update)

    def states_from_bytes(self, body):
        states, counts, num_update = _states.unpack(body)
        u = self._updater
        u.states = {k: _ndarray_tree(v) for k, v in states.items()}
        u.states_synced = dict.fromkeys(u.states, False)
        if counts:  # the file held the optimizer: its update counts are this server's now
            u.optimizer._index_update_count.clear()
            u.optimizer._index_update_count.update(counts)
            u.optimizer.num_update = num_update


def _numpy_tree(state):
    if isinstance(state, (tuple, list)):
        return type(state)(_numpy_tree(s) for s in state)
    return None if state is None else state.asnumpy()


def _ndarray_tree(state):
    from .ndarray import array
    if isinstance(state, (tuple, list)):
        return type(state)(_ndarray_tree(s) for s in state)
    return None if state is None else array(state, dtype=state.dtype)


_server_updater = _ServerUpdater
