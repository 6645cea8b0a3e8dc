"""The optimizer states of a distributed store, as they cross the network: typed, never pickled.

A server's optimizer keeps, per key, a state that is ``None``, an array of the server's part of
the key (a flat slice of the value), or a tuple or list of such states. A server sends them, with
its update counts, as one body::

    b"RMXS" | JSON length (u64, little-endian) | JSON | raw little-endian elements

where the JSON is ``{"states": {key: tree}, "counts": {key: n}, "num_update": n}`` and a tree is
``null``, ``{"array": [dtype, shape, offset]}`` or ``{"tuple" | "list": [trees]}``. A worker joins
the parts of every key into states of the key's shape (``save_optimizer_states`` then writes
MXNet's file, which a local store also loads), and cuts a loaded file's states back into parts.

    >>> import numpy as np
    >>> from rmx.kvstore_states import pack, unpack
    >>> body = pack({3: (np.arange(4, dtype=np.float32), None)}, {3: 7}, 7)
    >>> states, counts, num_update = unpack(body)
    >>> states[3][0].tolist(), states[3][1], counts, num_update
    ([0.0, 1.0, 2.0, 3.0], None, {3: 7}, 7)
"""

import json
import struct

import numpy as np

from .base import MXNetError

_MAGIC = b"RMXS"


def pack(states, counts, num_update):
    """The body a server sends: ``states`` maps an int key to a tree of NumPy arrays."""
    chunks, offset = [], [0]

    def tree(state):
        if state is None:
            return None
        if isinstance(state, (tuple, list)):
            return {type(state).__name__: [tree(s) for s in state]}
        a = np.ascontiguousarray(state)
        at = offset[0]
        chunks.append(a.tobytes())
        offset[0] += a.nbytes
        return {"array": [a.dtype.name, list(a.shape), at]}

    head = {"states": {str(k): tree(v) for k, v in states.items()},
            "counts": {str(k): int(n) for k, n in counts.items()},
            "num_update": int(num_update)}
    text = json.dumps(head).encode()
    return b"".join([_MAGIC, struct.pack("<Q", len(text)), text] + chunks)


def unpack(body):
    """``(states, counts, num_update)`` of a body ``pack`` wrote; arrays are NumPy copies."""
    body = memoryview(body)
    if bytes(body[:4]) != _MAGIC or len(body) < 12:
        raise MXNetError("optimizer states: not an rmx states message")
    (n,) = struct.unpack("<Q", body[4:12])
    if 12 + n > len(body):
        raise MXNetError("optimizer states: a JSON of %d bytes in a message of %d" % (n, len(body)))
    head = json.loads(bytes(body[12:12 + n]))
    raw = body[12 + n:]

    def tree(t):
        if t is None:
            return None
        if "array" in t:
            dtype, shape, at = t["array"]
            dtype = np.dtype(dtype)
            count = int(np.prod(shape, dtype=np.int64))
            if at < 0 or at + count * dtype.itemsize > len(raw):
                raise MXNetError("optimizer states: an array past the end of the message")
            return np.frombuffer(raw, dtype, count, at).reshape(shape).copy()
        kind, items = next(iter(t.items()))
        items = [tree(s) for s in items]
        return tuple(items) if kind == "tuple" else items

    states = {int(k): tree(v) for k, v in head["states"].items()}
    counts = {int(k): int(v) for k, v in head["counts"].items()}
    return states, counts, int(head["num_update"])


def join(pieces, shape):
    """One state of ``shape`` from the parts' states (flat slices, in element order)."""
    first = pieces[0]
    if first is None:
        if any(p is not None for p in pieces):
            raise MXNetError("optimizer states: a key has states on some servers only")
        return None
    if isinstance(first, (tuple, list)):
        joined = [join([p[i] for p in pieces], shape) for i in range(len(first))]
        return type(first)(joined)
    return np.concatenate([np.ravel(p) for p in pieces]).reshape(shape)


def cut(state, start, end):
    """The part ``[start, end)`` (of the flattened value) of a state, as NumPy arrays."""
    if state is None:
        return None
    if isinstance(state, (tuple, list)):
        return type(state)(cut(s, start, end) for s in state)
    a = state.asnumpy() if hasattr(state, "asnumpy") else np.asarray(state)
    return np.ravel(a)[start:end]
