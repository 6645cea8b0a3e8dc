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

Everything is queued on the engine (copies, additions, the updater's operations): ``push`` and
``pull`` never wait. Numbers match MXNet's, including the order of the summation: ``local`` adds
the values as MXNet's CPU reduction does (``v0 + (v1 + v2 + v3 + v4) + (v5 + ...)``), ``device``
left to right, in the key's initial dtype. As in MXNet, a single pushed value is not copied: without
an updater the store keeps that very array, and an updater receives it as the gradient. Keys given
to an updater are ints, or bytes for str keys (what MXNet's C callback hands Python).

Differences: stored values live on ``cpu(0)`` (MXNet: ``cpu_pinned(0)``, the same device id for
the optimizer's per-device counts); a merged gradient on another device is copied to the stored
value's device before the updater runs (rmx operators need their inputs on one device). Not here:
distributed stores (``dist_*``), ``nccl``, ``horovod``, ``byteps``, gradient compression and
row-sparse pulls.
"""

import warnings

from . import optimizer as opt
from .base import MXNetError
from .context import cpu
from .ndarray import NDArray, zeros

__all__ = ["KVStore", "KVStoreBase", "create"]


class UnsupportedKVStoreError(MXNetError, NotImplementedError):
    """A kvstore type or feature rmx does not have (yet)."""


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


class _MergeBuffer(object):
    """Where a key's pushed values are summed: ``merged`` and a copy slot per further value
    (None where the value can be read where it is)."""

    __slots__ = ("signature", "merged", "copies")

    def __init__(self, signature, merged, copies):
        self.signature, self.merged, self.copies = signature, merged, copies


class KVStore(KVStoreBase):
    """A single-machine store: ``local`` (sums on the CPU) or ``device`` (sums on one of the
    pushing devices). Made by ``create``."""

    def __init__(self, name="local"):
        self._type = name
        self._device_comm = "device" in name
        self._store = {}        # key id -> stored NDArray
        self._dtypes = {}       # key id -> dtype at init ('device' sums in it)
        self._str_ids = {}      # str key -> key id, in the order of init
        self._key_type = None   # str or int, set by the first key seen
        self._merge = {}        # key id -> _MergeBuffer
        self._grad_bufs = {}    # key id -> the merged gradient moved to the stored value's device
        self._load = {}         # Context -> elements summed there ('device')
        self._updater = None
        self._home = cpu(0)

    # --- keys -------------------------------------------------------------------------------
    def _check_key_type(self, key):
        kind = str if isinstance(key, str) else int
        if self._key_type is None:
            self._key_type = kind
        elif self._key_type is not kind:
            raise MXNetError("Mixed key types are not allowed")

    def _key_id(self, key):
        self._check_key_type(key)
        if isinstance(key, str):
            if key not in self._str_ids:
                raise MXNetError("key %s doesn't exist. Did you init?" % key)
            return self._str_ids[key]
        return key

    def _grouped(self, pairs):
        """``[(key id, key, [arrays])]`` by increasing id, arrays in the order given (MXNet
        groups and sorts a call's pairs so)."""
        groups = {}
        for key, val in pairs:
            kid = self._key_id(key)
            groups.setdefault(kid, (key, []))[1].append(val)
        return [(kid,) + groups[kid] for kid in sorted(groups)]

    def _stored(self, kid, key):
        stored = self._store.get(kid)
        if stored is None:
            raise MXNetError("key %s has not been inited" % (key,))
        return stored

    # --- the data path ----------------------------------------------------------------------
    def init(self, key, value):
        """Stores a copy of ``value`` under ``key`` (or of each value under each key of lists);
        a key may be initialized once."""
        pairs, _ = _key_value(key, value)
        for k, val in pairs:
            self._check_key_type(k)
            if isinstance(k, str):
                if k in self._str_ids:
                    raise MXNetError("duplicate init of key %s" % k)
                self._str_ids[k] = kid = len(self._str_ids)
            else:
                kid = k
                if kid in self._store:
                    raise MXNetError("duplicate init of key %d. Please double check if you called "
                                     "kv.init or kv.broadcast with this key multiple times" % kid)
            self._store[kid] = val.copyto(self._home)
            self._dtypes[kid] = val.dtype

    def push(self, key, value, priority=0):
        """Sums the values of each key and updates the stored value with the sum (the updater,
        or assignment without one)."""
        pairs, _ = _key_value(key, value)
        for kid, k, vals in self._grouped(pairs):
            merged = self._reduce(kid, vals)
            stored = self._stored(kid, k)
            if self._updater is None:
                self._store[kid] = merged
                continue
            if merged.context != stored.context:
                merged = self._moved(kid, merged, stored.context)
            self._updater(k.encode() if isinstance(k, str) else k, merged, stored)

    def pull(self, key, out=None, priority=0, ignore_sparse=True):
        """Copies the stored value of each key into its output array(s)."""
        assert out is not None
        pairs, _ = _key_value(key, out)
        for kid, k, outs in self._grouped(pairs):
            stored = self._stored(kid, k)
            for o in outs:
                stored.copyto(o)

    def pushpull(self, key, value, out=None, priority=0):
        """``push`` then ``pull`` (into ``value`` itself when ``out`` is None)."""
        self.push(key, value, priority)
        self.pull(key, value if out is None else out, priority)

    def broadcast(self, key, value, out, priority=0):
        """``init`` with ``value``, then ``pull`` into ``out`` (a key is broadcast once)."""
        _key_value(key, out)  # MXNet checks both before doing anything
        self.init(key, value)
        self.pull(key, out, priority)

    def row_sparse_pull(self, key, out=None, priority=0, row_ids=None):
        raise UnsupportedKVStoreError("row_sparse_pull needs row_sparse storage, which rmx does not "
                                      "have yet")

    def _reduce(self, kid, vals):
        """The sum of ``vals`` in MXNet's order; a single value is returned as is."""
        if len(vals) == 1:
            return vals[0]
        buf = self._merge_buffer(kid, vals)
        merged = buf.merged
        sources = [val if slot is None else val.copyto(slot) for val, slot in zip(vals[1:], buf.copies)]
        vals[0].copyto(merged)
        if self._device_comm:
            for src in sources:  # ElementwiseSum: left to right
                merged += src
        else:
            # CommCPU's ReduceSumCPU: in_0 += in_1 + in_2 + in_3 + in_4, four at a time.
            for start in range(0, len(sources), 4):
                group = sources[start:start + 4]
                total = group[0]
                for src in group[1:]:
                    total = total + src
                merged += total
        return merged

    def _merge_buffer(self, kid, vals):
        signature = tuple((v.shape, v.dtype, v.context) for v in vals)
        buf = self._merge.get(kid)
        if buf is not None and buf.signature == signature:
            return buf
        shape = vals[0].shape
        if self._device_comm:
            # The least loaded of the pushing devices, in the dtype the key was made with.
            contexts = []
            for v in vals:
                if v.context not in contexts:
                    contexts.append(v.context)
            ctx = min(contexts, key=lambda c: self._load.get(c, 0))
            self._load[ctx] = self._load.get(ctx, 0) + vals[0].size
            dtype = self._dtypes.get(kid, vals[0].dtype)
        else:
            ctx, dtype = self._home, vals[0].dtype
        merged = zeros(shape, ctx, dtype=dtype)
        copies = [None if (v.context == ctx and v.dtype == dtype) else zeros(v.shape, ctx, dtype=dtype)
                  for v in vals[1:]]
        buf = _MergeBuffer(signature, merged, copies)
        self._merge[kid] = buf
        return buf

    def _moved(self, kid, merged, ctx):
        buf = self._grad_bufs.get(kid)
        if buf is None or buf.shape != merged.shape or buf.dtype != merged.dtype or buf.context != ctx:
            buf = self._grad_bufs[kid] = zeros(merged.shape, ctx, dtype=merged.dtype)
        return merged.copyto(buf)

    # --- updater, optimizer -----------------------------------------------------------------
    def set_optimizer(self, optimizer):
        """Runs ``optimizer`` (through ``mx.optimizer.get_updater``) on every push."""
        self._set_updater(opt.get_updater(optimizer))

    def _set_updater(self, updater):
        """Sets ``updater(key, merged_value, stored_value)``, called on every push."""
        self._updater = updater

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
    lowercased name. Distributed and NCCL stores raise ``UnsupportedKVStoreError``."""
    if not isinstance(name, str):
        raise TypeError("name must be a string")
    name = name.lower()
    if name in KVStoreBase.kv_registry:
        return KVStoreBase.kv_registry[name]()
    if "dist" in name:
        raise UnsupportedKVStoreError(
            "kvstore %r: distributed kvstore lands with the KVStore issue" % name)
    if "nccl" in name:
        raise UnsupportedKVStoreError("kvstore %r: NCCL stores need GPUs and NCCL, which rmx does "
                                      "not use; use 'device' or 'local'" % name)
    if name in ("horovod", "byteps"):
        raise UnsupportedKVStoreError("kvstore %r is not available in rmx" % name)
    return KVStore(name)
