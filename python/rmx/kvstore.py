"""Key-value stores (``mx.kv``, also ``mx.kvstore``) for one machine, as MXNet 1.9.1's ``local``
and ``device`` stores behave.

A store holds one array per key (an int or a str; one kind per store). ``push`` sums the values
given for a key (one per device) and then either runs the updater on the stored array (after
``set_optimizer``) or makes the sum the stored value; ``pull`` copies the stored value into one
or several arrays, on any devices.

    >>> import rmx as mx
    >>> kv = mx.kv.create('local')
    >>> kv.init(3, mx.nd.ones((2, 3)) * 2)
    >>> kv.push(3, [mx.nd.ones((2, 3), ctx=mx.cpu(i)) for i in range(4)])
    >>> out = mx.nd.zeros((2, 3)); kv.pull(3, out=out); out.asnumpy()[0]
    array([4., 4., 4.], dtype=float32)

The store is Rust (crate ``rmx-kvstore``, bound as ``rmx._rmx.KVStoreHandle``); this module checks
and flattens the arguments and keeps the updater, which is Python like the optimizers.

Everything is queued on the engine (copies, additions, the updater's operations): ``push`` and
``pull`` never wait. Numbers match MXNet's, including the order of the summation: ``local`` adds
the values as MXNet's CPU reduction does (``v0 + (v1 + v2 + v3 + v4) + (v5 + ...)``), ``device``
left to right, in the key's initial dtype. As in MXNet, a single pushed value is not copied: without
an updater the store keeps that very array, and an updater receives it as the gradient. Keys given
to an updater are ints, or bytes for str keys (what MXNet's C callback hands Python).

Differences: stored values live on ``cpu(0)`` (MXNet: ``cpu_pinned(0)``, the same device id for
the optimizer's per-device counts); a merged gradient on another device is copied to the stored
value's device before the updater runs (rmx operators need their inputs on one device). The
distributed stores (``dist_sync``, ``dist_device_sync``, ``dist_async``) are in
``rmx.kvstore_dist``. Not here: ``nccl``, ``horovod``, ``byteps``, and row-sparse pulls.
"""

import warnings

from . import _rmx
from . import optimizer as opt
from .base import MXNetError, UnsupportedKVStoreError
from .ndarray import NDArray

__all__ = ["KVStore", "KVStoreBase", "create"]


class KVStoreBase(object):
    """The interface of a key-value store for data-parallel training, and the registry of the
    store types written in Python (``KVStoreBase.register``)."""

    OPTIMIZER = "optimizer"
    kv_registry = {}

    @staticmethod
    def register(klass):
        """Registers a store class under its lowercased name for ``create``."""
        assert isinstance(klass, type)
        name = klass.__name__.lower()
        if name in KVStoreBase.kv_registry:
            old = KVStoreBase.kv_registry[name]
            warnings.warn("WARNING: New kvstore %s.%s is overriding existing kvstore %s.%s"
                          % (klass.__module__, klass.__name__, old.__module__, old.__name__))
        KVStoreBase.kv_registry[name] = klass
        return klass

    def broadcast(self, key, value, out, priority=0):
        raise NotImplementedError()

    def pushpull(self, key, value, out=None, priority=0):
        raise NotImplementedError()

    def set_optimizer(self, optimizer):
        raise NotImplementedError()

    @staticmethod
    def is_capable(capability):
        raise NotImplementedError()

    def save_optimizer_states(self, fname, dump_optimizer=False):
        raise NotImplementedError()

    def load_optimizer_states(self, fname):
        raise NotImplementedError()

    @property
    def type(self):
        raise NotImplementedError()

    @property
    def rank(self):
        raise NotImplementedError()

    @property
    def num_workers(self):
        raise NotImplementedError()


def _key_value(keys, vals):
    """``[(key, NDArray), ...]`` and whether the keys are strings, from MXNet's accepted forms:
    a key with an array or a list of arrays, or lists of those."""
    if isinstance(keys, (tuple, list)):
        assert len(keys) == len(vals)
        pairs, use_str = [], None
        for key, val in zip(keys, vals):
            more, is_str = _key_value(key, val)
            pairs += more
            use_str = is_str if use_str is None else use_str
            assert use_str == is_str, "inconsistent types of keys detected."
        return pairs, use_str
    assert isinstance(keys, (int, str)), "unexpected type for keys: " + str(type(keys))
    if isinstance(vals, NDArray):
        return [(keys, vals)], isinstance(keys, str)
    for val in vals:
        assert isinstance(val, NDArray)
    return [(keys, val) for val in vals], isinstance(keys, str)


def _handles(pairs):
    return [(key, val.handle) for key, val in pairs]


class KVStore(KVStoreBase):
    """A single-machine store: ``local`` (sums on the CPU) or ``device`` (sums on one of the
    pushing devices). Made by ``create``. The store itself is Rust (``rmx._rmx.KVStoreHandle``,
    crate ``rmx-kvstore``); this class checks and flattens the arguments and holds the updater."""

    def __init__(self, name="local"):
        self._type = name
        self._handle = _rmx.KVStoreHandle(name)
        self._device_comm = self._handle.device_comm
        self._updater = None

    # --- the data path ----------------------------------------------------------------------
    def init(self, key, value):
        """Stores a copy of ``value`` under ``key`` (or of each value under each key of lists);
        a key may be initialized once."""
        pairs, _ = _key_value(key, value)
        self._handle.init(_handles(pairs))

    def push(self, key, value, priority=0):
        """Sums the values of each key and updates the stored value with the sum (the updater,
        or assignment without one)."""
        pairs, _ = _key_value(key, value)
        self._handle.push(_handles(pairs))

    def pull(self, key, out=None, priority=0, ignore_sparse=True):
        """Copies the stored value of each key into its output array(s)."""
        assert out is not None
        pairs, _ = _key_value(key, out)
        self._handle.pull(_handles(pairs))

    def pushpull(self, key, value, out=None, priority=0):
        """``push`` then ``pull`` (into ``value`` itself when ``out`` is None)."""
        pairs, _ = _key_value(key, value)
        outs = pairs if out is None else _key_value(key, out)[0]
        self._handle.pushpull(_handles(pairs), _handles(outs))

    def broadcast(self, key, value, out, priority=0):
        """``init`` with ``value``, then ``pull`` into ``out`` (a key is broadcast once)."""
        outs, _ = _key_value(key, out)  # MXNet checks both before doing anything
        pairs, _ = _key_value(key, value)
        self._handle.broadcast(_handles(pairs), _handles(outs))

    def row_sparse_pull(self, key, out=None, priority=0, row_ids=None):
        raise UnsupportedKVStoreError("row_sparse_pull needs row_sparse storage, which rmx does not "
                                      "have yet")

    # --- updater, optimizer -----------------------------------------------------------------
    def set_optimizer(self, optimizer):
        """Runs ``optimizer`` (through ``mx.optimizer.get_updater``) on every push."""
        self._set_updater(opt.get_updater(optimizer))

    def _set_updater(self, updater):
        """Sets ``updater(key, merged_value, stored_value)``, called on every push."""
        self._updater = updater
        if updater is None:
            self._handle.set_updater(None)
            return

        def call(key, merged, stored):
            updater(key, NDArray(merged), NDArray(stored))

        self._handle.set_updater(call)

    set_updater = _set_updater

    def save_optimizer_states(self, fname, dump_optimizer=False):
        """Writes the updater's states (and, with ``dump_optimizer``, the optimizer) to ``fname``."""
        assert self._updater is not None, "Cannot save states for distributed training"
        with open(fname, "wb") as fout:
            fout.write(self._updater.get_states(dump_optimizer))

    def load_optimizer_states(self, fname):
        """Loads what ``save_optimizer_states`` wrote."""
        assert self._updater is not None, "Cannot load states for distributed training"
        with open(fname, "rb") as fin:
            self._updater.set_states(fin.read())

    def set_gradient_compression(self, compression_params):
        """Not available: MXNet compresses only on ``device`` and ``dist`` stores, and rmx has
        neither compression kernel yet."""
        if "device" in self.type or "dist" in self.type:
            raise UnsupportedKVStoreError("gradient compression (%r) is not implemented in rmx"
                                          % (compression_params,))
        raise MXNetError("Gradient compression is not supported for this type of kvstore")

    # --- properties -------------------------------------------------------------------------
    @property
    def type(self):
        return self._type

    @property
    def rank(self):
        return 0

    @property
    def num_workers(self):
        return 1

    @staticmethod
    def is_capable(capability):
        if capability.lower() == KVStoreBase.OPTIMIZER:
            return True
        raise ValueError("Unknown capability: {}".format(capability))

    def _barrier(self):
        """Synchronizes workers: nothing to do on one machine."""

    def _send_command_to_servers(self, head, body):
        """Commands go to servers: a single-machine store has none."""


def create(name="local"):
    """A new store: ``local`` (also any name without ``device``, such as MXNet's legacy
    ``local_allreduce_cpu``) or ``device`` (any name containing ``device``). ``type`` echoes the
    lowercased name; ``dist_sync``, ``dist_device_sync`` and ``dist_async`` join the job the
    ``DMLC_*`` environment describes (``rmx.kvstore_dist``). NCCL stores raise
    ``UnsupportedKVStoreError``."""
    if not isinstance(name, str):
        raise TypeError("name must be a string")
    name = name.lower()
    if name in KVStoreBase.kv_registry:
        return KVStoreBase.kv_registry[name]()
    if "dist" in name:
        from .kvstore_dist import DistKVStore
        return DistKVStore(name)
    return KVStore(name)  # the Rust store refuses the types rmx lacks (UnsupportedKVStoreError)
