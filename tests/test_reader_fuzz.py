"""Fuzzing the two file readers at the crate edge: MXNet's NDArray file format (``mx.nd.save`` /
``.params``: ``mx.nd.load`` on a file and ``mx.nd.load_frombuffer`` on bytes) and symbol JSON
(``mx.sym.load_json``).

Every case must either return a value or raise an ``MXNetError`` subclass (``FileError``
included), ``ValueError`` or ``TypeError``: never ``PanicException``, ``MemoryError`` or
``SystemError``, never a crash, never a long pause (a case must finish in well under a second: a
length field must be checked against the bytes that remain before anything is allocated). A
returned value must be usable: every loaded array must fit in the file it came from (its byte
size at most the file's) and reads back; a loaded symbol serializes, lists its arguments,
outputs and aux states and infers (partially) without error.

Cases are deterministic: case ``i`` of a kind is made from ``random.Random(f"{seed}:{kind}:{i}")``
(after the kind's exhaustive cases: truncation at every offset of each small seed file, and each
length field of each seed set to each huge value). The fuzz loop runs in a child process, which
logs each case number before running it, so a crash names the case and the parent can rebuild
its input. ``benches/fuzz_readers.py`` runs the same kinds with many more cases.

The format (``ndarray_file.rs``, MXNet's ``NDArray::Save``): u64 0x112, u64 0, u64 count; per
array u32 magic (0xF993FAC9 for V2), i32 storage type, i32 ndim, ndim x i64 dims, i32 device
type, i32 device id, i32 dtype flag, the raw data; then u64 name count and per name u64 length and
the bytes. Little-endian.
"""

import copy
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest

import rmx as mx

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "fixtures")
PKG_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(mx.__file__)))

SEED = 20240601
SLOW_S = 0.5  # "well under a second"
V1, V2, V3 = 0xF993FAC8, 0xF993FAC9, 0xF993FACA
FLAG_SIZE = {0: 4, 1: 8, 2: 2, 3: 1, 4: 4, 5: 1, 6: 8, 7: 1}
HUGE_U64 = [2**32 - 1, 2**63, 2**64 - 1, 2**62, 2**40, 2**31, 2**32, 0x7FFFFFFFFFFFFFFF]
HUGE_U32 = [2**32 - 1, 2**31 - 1, 2**31, 2**16, 0, 33, 1]
SMALL_SEED_BYTES = 512  # seeds up to this size are truncated at every offset

# ------------------------------------------------------------------------------------------------
# Seeds


def params_seeds():
    """(name, bytes) of valid NDArray files: rmx's own saves and MXNet's fixtures."""
    seeds = []

    def saved(name, data):
        path = os.path.join(tempfile.mkdtemp(prefix="rmx-fuzz-"), "x.params")
        mx.nd.save(path, data)
        with open(path, "rb") as f:
            seeds.append((name, f.read()))
        os.remove(path)
        os.rmdir(os.path.dirname(path))

    dtypes = ["float32", "float64", "float16", "uint8", "int8", "int32", "int64", "bool"]
    arrays = [mx.nd.array(np.arange(int(np.prod(s))).reshape(s) % 5, dtype=d) for d, s in zip(dtypes, [(2, 3), (3,), (1, 2, 2), (4,), (2, 1), (1,), (2, 2), (3,)])]
    saved("list_dtypes", arrays)
    saved("dict_two", {"arg:w": arrays[0], "aux:m": arrays[6]})
    saved("one_array", arrays[1])
    saved("empty_list", [])
    saved("zero_size", [mx.nd.zeros((0,)), mx.nd.zeros((2, 0, 3))])
    saved("dict_unicode_names", {"arg:é": arrays[3], "": arrays[5]})
    saved("rank4", [mx.nd.array(np.arange(24).reshape(1, 2, 3, 4))])
    for fname in sorted(os.listdir(FIXTURES)):
        if fname.endswith(".params"):
            with open(os.path.join(FIXTURES, fname), "rb") as f:
                seeds.append((fname, f.read()))
    return seeds


def json_seeds():
    """(name, text) of valid symbol JSON: rmx's own tojson and the fixtures (incl. legacy)."""
    seeds = []
    x = mx.sym.var("data")
    fc = mx.sym.FullyConnected(x, num_hidden=4, name="fc")
    seeds.append(("tiny_fc", fc.tojson()))
    bn = mx.sym.BatchNorm(mx.sym.Activation(fc, act_type="relu", name="relu"), name="bn")
    seeds.append(("fc_relu_bn_softmax", mx.sym.SoftmaxOutput(bn, name="sm").tojson()))
    c = mx.sym.Concat(mx.sym.var("a"), mx.sym.var("b"), dim=1, name="cat")
    seeds.append(("group_concat", mx.sym.Group([c, mx.sym.split(c, num_outputs=2, axis=1, name="sp")[1]]).tojson()))
    conv = mx.sym.Convolution(x, kernel=(3, 3), num_filter=2, name="conv")
    seeds.append(("conv_pool", mx.sym.Pooling(conv, kernel=(2, 2), pool_type="max", name="pool").tojson()))
    for fname in sorted(os.listdir(FIXTURES)):
        if fname.endswith("-symbol.json") or fname.startswith("legacy_") and fname.endswith(".json"):
            with open(os.path.join(FIXTURES, fname), encoding="utf-8") as f:
                seeds.append((fname, f.read()))
    return seeds


# ------------------------------------------------------------------------------------------------
# The params format's fields, for length mutations


def params_fields(b):
    """(offset, width, what) of every integer field of a valid NDArray file."""
    u32 = lambda at: struct.unpack_from("<I", b, at)[0]  # noqa: E731
    i32 = lambda at: struct.unpack_from("<i", b, at)[0]  # noqa: E731
    u64 = lambda at: struct.unpack_from("<Q", b, at)[0]  # noqa: E731
    fields = [(0, 8, "magic"), (8, 8, "reserved"), (16, 8, "count")]
    at = 24
    for _ in range(u64(16)):
        magic = u32(at)
        fields.append((at, 4, "array_magic"))
        at += 4
        if magic in (V2, V3):
            fields.append((at, 4, "stype"))
            at += 4
        ndim = i32(at)
        fields.append((at, 4, "ndim"))
        at += 4
        dims = []
        for _ in range(ndim):
            fields.append((at, 8, "dim"))
            dims.append(u64(at))
            at += 8
        if ndim == 0:
            continue
        fields += [(at, 4, "dev_type"), (at + 4, 4, "dev_id"), (at + 8, 4, "dtype")]
        flag = i32(at + 8)
        at += 12 + int(np.prod(dims, dtype=object)) * FLAG_SIZE[flag]
    fields.append((at, 8, "name_count"))
    n = u64(at)
    at += 8
    for _ in range(n):
        fields.append((at, 8, "name_len"))
        at += 8 + u64(at)
    assert at == len(b), f"field walk ended at {at} of {len(b)}"
    return fields


def set_field(b, offset, width, value):
    b = bytearray(b)
    b[offset:offset + width] = (value % (1 << (8 * width))).to_bytes(width, "little")
    return bytes(b)


# ------------------------------------------------------------------------------------------------
# Mutators


def mutate_bytes(rng, b, others=()):
    """One to four random edits: bit flips, byte sets, inserts, deletes, duplications, splices."""
    b = bytearray(b)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(8)
        n = len(b)
        if op == 0 and n:  # bit flips
            for _ in range(rng.randint(1, 8)):
                i = rng.randrange(n)
                b[i] ^= 1 << rng.randrange(8)
        elif op == 1 and n:  # set a byte to an interesting value
            b[rng.randrange(n)] = rng.choice([0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)])
        elif op == 2:  # insert bytes
            i = rng.randint(0, n)
            b[i:i] = bytes(rng.randrange(256) for _ in range(rng.choice([1, 2, 4, 8, rng.randint(1, 64)])))
        elif op == 3 and n:  # delete a range
            i = rng.randrange(n)
            del b[i:i + rng.choice([1, 2, 4, 8, rng.randint(1, 64)])]
        elif op == 4 and n:  # duplicate a chunk
            i = rng.randrange(n)
            chunk = b[i:i + rng.randint(1, 64)]
            j = rng.randint(0, n)
            b[j:j] = chunk
        elif op == 5 and n >= 8:  # overwrite an aligned 4 or 8 byte word with an extreme value
            w = rng.choice([4, 8])
            i = rng.randrange(0, n - w + 1)
            v = rng.choice(HUGE_U64 + [0, 1, 2**64 - 2**63, rng.getrandbits(64)])
            b[i:i + w] = (v % (1 << (8 * w))).to_bytes(w, "little")
        elif op == 6 and n:  # truncate
            del b[rng.randrange(n):]
        elif op == 7 and others:  # splice with another seed
            o = rng.choice(others)
            i, j = rng.randint(0, n), rng.randint(0, len(o))
            b = b[:i] + bytearray(o[j:])
    return bytes(b)


JSON_VALUES = [2**32 - 1, 2**63, 2**64, 2**64 + 1, -1, -(2**63), 10**30, 1e308, -1e308, 0.5, 0, 1, 3, "", "x", None, True, False, [], {}, [0], [0, 0, 0], [2**63, 0, 0], [0, 2**63, 0],
               [0, 0, 2**63], [-1, 0, 0], [0, 99, 0], "4611686018427387904", "(4611686018427387904, 4)", "(4294967296, 4294967296)", "99999999999999999999", "-1", "nan", "inf", "(0,)", "()",
               "FullyConnected", "null", "BatchNorm", "Concat", "_zeros", "SoftmaxOutput", {"mxnet_version": ["int", 10901]}, {"mxnet_version": ["int", 2**63]}]


def _paths(doc, prefix=()):
    out = [prefix]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, prefix + (i,))
    return out


def mutate_json_struct(rng, text):
    """Edits the parsed document: values replaced (huge numbers, wrong types), keys or list
    elements deleted, list elements duplicated or swapped."""
    doc = json.loads(text)
    for _ in range(rng.randint(1, 3)):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = rng.choice(paths)
        parent = doc
        for k in path[:-1]:
            parent = parent[k]
        key = path[-1]
        op = rng.randrange(5)
        if op <= 1:
            parent[key] = copy.deepcopy(rng.choice(JSON_VALUES))
        elif op == 2:
            del parent[key]
        elif op == 3 and isinstance(parent, list):
            parent.insert(rng.randint(0, len(parent)), json.loads(json.dumps(parent[key])))
        elif op == 4 and isinstance(parent, list) and len(parent) > 1:
            j = rng.randrange(len(parent))
            parent[key], parent[j] = parent[j], parent[key]
        else:
            parent[key] = copy.deepcopy(rng.choice(JSON_VALUES))
    return json.dumps(doc)


# ------------------------------------------------------------------------------------------------
# Cases


KINDS = ["params-directed", "params-random", "params-truncate", "params-length", "params-mutate", "json-directed", "json-random", "json-truncate", "json-mutate", "json-struct"]


def _array_v2(dims, flag=0, data=b""):
    return struct.pack("<Iii", V2, 0, len(dims)) + b"".join(struct.pack("<Q", d % 2**64) for d in dims) + struct.pack("<iii", 1, 0, flag) + data


def _params_file(arrays, names=None, count=None):
    n = len(arrays) if count is None else count
    body = struct.pack("<QQQ", 0x112, 0, n) + b"".join(arrays)
    names = names or []
    return body + struct.pack("<Q", len(names)) + b"".join(struct.pack("<Q", len(x)) + x for x in names)


def params_directed():
    """Handmade files aimed at each length field and at size arithmetic."""
    f32 = struct.pack("<f", 1.0)
    cases = [
        ("count 2**32-1, no arrays", struct.pack("<QQQ", 0x112, 0, 2**32 - 1)),
        ("count 2**63, no arrays", struct.pack("<QQQ", 0x112, 0, 2**63)),
        ("count 2**64-1, no arrays", struct.pack("<QQQ", 0x112, 0, 2**64 - 1)),
        ("dims 2**32 x 2**32 f32: 2**66 bytes wraps to 0", _params_file([_array_v2([2**32, 2**32])])),
        ("dims 2**62 x 4 u8: 2**64 bytes wraps to 0", _params_file([_array_v2([2**62, 4], flag=3)])),
        ("dims 7 x INV7 f32: count wraps to 1", _params_file([_array_v2([7, 0x6DB6DB6DB6DB6DB7], data=f32)])),
        ("dim 2**63 with a 0 dim", _params_file([_array_v2([2**63, 0])])),
        ("dim -1 (2**64-1)", _params_file([_array_v2([2**64 - 1])])),
        ("dim 2**40 f64, no data", _params_file([_array_v2([2**40], flag=1)])),
        ("dim 2**31 f32, 4 bytes of data", _params_file([_array_v2([2**31], data=f32)])),
        ("ndim 2**31-1", struct.pack("<QQQIii", 0x112, 0, 1, V2, 0, 2**31 - 1)),
        ("ndim -1", struct.pack("<QQQIii", 0x112, 0, 1, V2, 0, -1)),
        ("pre-V1 ndim 2**32-2", struct.pack("<QQQI", 0x112, 0, 1, 2**32 - 2) + b"\x01\x00\x00\x00" * 8),
        ("pre-V1 dims 2**16 x 2**16 x 2**16 x 2**16", struct.pack("<QQQI", 0x112, 0, 1, 4) + struct.pack("<IIII", 2**16, 2**16, 2**16, 2**16) + struct.pack("<iii", 1, 0, 0)),
        ("V1 dims 2**32 x 2**32", struct.pack("<QQQIi", 0x112, 0, 1, V1, 2) + struct.pack("<QQ", 2**32, 2**32) + struct.pack("<iii", 1, 0, 0)),
        ("V3 ndim 0", struct.pack("<QQQIii", 0x112, 0, 1, V3, 0, 0) + struct.pack("<iii", 1, 0, 0) + f32 + struct.pack("<Q", 0)),
        ("name count 2**63", _params_file([_array_v2([1], data=f32)]) [:-8] + struct.pack("<Q", 2**63)),
        ("name length 2**63", _params_file([_array_v2([1], data=f32)], [b"w"])[:-9] + struct.pack("<Q", 2**63) + b"w"),
        ("name length 2**64-1", _params_file([_array_v2([1], data=f32)], [b"w"])[:-9] + struct.pack("<Q", 2**64 - 1) + b"w"),
        ("name not UTF-8", _params_file([_array_v2([1], data=f32)], [b"\xff\xfe"])),
        ("dtype flag 12", _params_file([_array_v2([1], flag=12, data=f32)])),
        ("device type 2 (gpu)", _params_file([struct.pack("<Iii", V2, 0, 1) + struct.pack("<Q", 1) + struct.pack("<iii", 2, 0, 0) + f32])),
        ("sparse storage type", _params_file([struct.pack("<Iii", V2, 1, 1) + struct.pack("<Q", 1) + struct.pack("<iii", 1, 0, 0) + f32])),
    ]
    return cases


def json_directed(seeds):
    """Handmade symbol JSON aimed at indices, counts and sizes."""
    doc = json.loads(dict(seeds)["group_concat"])  # a, b, Concat(a, b), SliceChannel(cat, 2); heads cat, sp[1]

    def edit(f):
        d = copy.deepcopy(doc)
        f(d)
        return json.dumps(d)

    def setk(path, v):
        def f(d):
            x = d
            for k in path[:-1]:
                x = x[k]
            x[path[-1]] = v
        return f

    cases = [
        ("head output index 2 of a 2-output node", edit(setk(["heads", 1], [3, 2, 0]))),
        ("head output index 1 of a variable", edit(setk(["heads", 0], [0, 1, 0]))),
        ("head output index 2**63", edit(setk(["heads", 0], [2, 2**63, 0]))),
        ("head node 2**63", edit(setk(["heads", 0], [2**63, 0, 0]))),
        ("head node -1", edit(setk(["heads", 0], [-1, 0, 0]))),
        ("input node 2**64-1", edit(setk(["nodes", 2, "inputs", 0], [2**64 - 1, 0, 0]))),
        ("input output index 2**63", edit(setk(["nodes", 3, "inputs", 0], [2, 2**63, 0]))),
        ("input version 2**63", edit(setk(["nodes", 3, "inputs", 0], [2, 0, 2**63]))),
        ("SliceChannel num_outputs 2**32-1", edit(setk(["nodes", 3, "attrs", "num_outputs"], str(2**32 - 1)))),
        ("SliceChannel num_outputs 2**63", edit(setk(["nodes", 3, "attrs", "num_outputs"], str(2**63)))),
        ("SliceChannel num_outputs -1", edit(setk(["nodes", 3, "attrs", "num_outputs"], "-1"))),
        ("Concat num_args 2**32-1", edit(setk(["nodes", 2, "attrs", "num_args"], str(2**32 - 1)))),
        ("Concat num_args 0", edit(setk(["nodes", 2, "attrs", "num_args"], "0"))),
        ("mxnet_version 2**63", edit(setk(["attrs", "mxnet_version"], ["int", 2**63]))),
        ("mxnet_version -1 (legacy path)", edit(setk(["attrs", "mxnet_version"], ["int", -1]))),
        ("node_row_ptr huge", edit(setk(["node_row_ptr"], [0, 2**63, 2**64 - 1]))),
        ("arg_nodes huge", edit(setk(["arg_nodes"], [2**63]))),
        ("nesting 100000 deep", "[" * 100000 + "]" * 100000),
        ("name of 1 MB", edit(setk(["nodes", 0, "name"], "a" * (1 << 20)))),
        ("100000 heads", edit(setk(["heads"], [[2, 0, 0]] * 100000))),
    ]
    return cases


class Corpus:
    """The seeds and each kind's exhaustive cases; ``case(kind, i)`` builds case ``i``."""

    def __init__(self, seed=SEED, json_truncate_stride=1):
        self.seed = seed
        self.params = params_seeds()
        self.json = json_seeds()
        self.params_bytes = [b for _, b in self.params]
        small_p = [(n, b) for n, b in self.params if len(b) <= SMALL_SEED_BYTES]
        small_j = [(n, t) for n, t in self.json if len(t.encode()) <= 2600]
        self.exhaustive = {
            "params-directed": params_directed(),
            "json-directed": json_directed(self.json),
            "params-truncate": [(f"{n}[:{k}]", b[:k]) for n, b in small_p for k in range(len(b))],
            "params-length": [(f"{n} {what}@{off}={v}", set_field(b, off, w, v)) for n, b in self.params if len(b) <= 4096
                              for off, w, what in params_fields(b) for v in (HUGE_U64 if w == 8 else HUGE_U32)],
            "json-truncate": [(f"{n}[:{k}]", t.encode()[:k].decode("utf-8", "replace")) for n, t in small_j for k in range(0, len(t.encode()), json_truncate_stride)],
        }

    def n_exhaustive(self, kind):
        return len(self.exhaustive.get(kind, []))

    def case(self, kind, i):
        """(description, payload): bytes for params kinds, str for json kinds."""
        ex = self.exhaustive.get(kind, [])
        if i < len(ex):
            return ex[i]
        if kind.endswith("-directed"):
            return ex[i % len(ex)]
        rng = random.Random(f"{self.seed}:{kind}:{i}")
        if kind == "params-random":
            n = rng.choice([0, 1, 7, 8, 24, 28, 40, 64, rng.randint(0, 300)])
            body = bytes(rng.getrandbits(8) for _ in range(n))
            prefix = rng.choice([b"", struct.pack("<QQ", 0x112, 0), struct.pack("<QQQ", 0x112, 0, rng.choice([1, 2, 2**63])),
                                 struct.pack("<QQQIi", 0x112, 0, 1, V2, 0), struct.pack("<QQQI", 0x112, 0, 1, rng.choice([V1, V3, 3, 2**31]))])
            return f"random {len(prefix)}+{n}", prefix + body
        if kind == "params-truncate":
            name, b = rng.choice(self.params)
            k = rng.randrange(len(b))
            return f"{name}[:{k}]", b[:k]
        if kind == "params-length":
            name, b = rng.choice([s for s in self.params if len(s[1]) <= 4096])
            fields = params_fields(b)
            desc = [name]
            for _ in range(rng.randint(1, 3)):
                off, w, what = rng.choice([f for f in fields if f[2] in ("dim", "count", "ndim", "name_count", "name_len")] or fields)
                v = rng.choice((HUGE_U64 if w == 8 else HUGE_U32) + [rng.getrandbits(8 * w)])
                b = set_field(b, off, w, v)
                desc.append(f"{what}@{off}={v}")
            return " ".join(desc), b
        if kind == "params-mutate":
            name, b = rng.choice(self.params)
            return f"mutate {name}", mutate_bytes(rng, b, self.params_bytes)
        if kind == "json-random":
            tokens = ['{', '}', '[', ']', ',', ':', '"nodes"', '"heads"', '"op"', '"name"', '"inputs"', '"attrs"', '"null"', '"x"', "0", "1", "-1", "18446744073709551616", "1e999", "null", "true", '"\\u0000"', '"\\ud800"', " "]
            if rng.random() < 0.5:
                text = "".join(rng.choice(tokens) for _ in range(rng.randint(0, 40)))
            else:
                text = "".join(chr(rng.choice([rng.randrange(32, 127), rng.randrange(0, 0x110000)])) for _ in range(rng.randint(0, 80)))
            return "random text", text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        if kind == "json-truncate":
            name, t = rng.choice(self.json)
            raw = t.encode()
            k = rng.randrange(len(raw))
            return f"{name}[:{k}]", raw[:k].decode("utf-8", "replace")
        if kind == "json-mutate":
            name, t = rng.choice(self.json)
            raw = mutate_bytes(rng, t.encode(), [s.encode() for _, s in self.json])
            return f"mutate {name}", raw.decode("utf-8", "replace")
        if kind == "json-struct":
            name, t = rng.choice(self.json)
            return f"struct {name}", mutate_json_struct(rng, t)
        raise ValueError(kind)


# ------------------------------------------------------------------------------------------------
# Running a case


def _allowed(e):
    return isinstance(e, (mx.base.MXNetError, ValueError, TypeError)) and type(e).__name__ not in ("PanicException",)


class Problems(list):
    """The problems found; with ``stream``, each is also printed at once as a ``PROBLEM`` line,
    so the parent sees those found before a crash."""

    stream = False

    def append(self, q):
        super().append(q)
        if self.stream:
            print("PROBLEM " + json.dumps(q), flush=True)


def _fail(problems, kind, i, desc, what, detail):
    problems.append({"kind": kind, "case": i, "desc": desc[:160], "what": what, "detail": str(detail)[:300]})


def check_params(payload, kind, i, desc, problems, tmpdir=None):
    t0 = time.perf_counter()
    try:
        if tmpdir is not None:
            path = os.path.join(tmpdir, "case.params")
            with open(path, "wb") as f:
                f.write(payload)
            result = mx.nd.load(path)
        else:
            result = mx.nd.load_frombuffer(payload)
    except BaseException as e:  # noqa: B036 - PanicException derives from BaseException
        if isinstance(e, KeyboardInterrupt):
            raise
        if not _allowed(e):
            _fail(problems, kind, i, desc, type(e).__name__, e)
        result = None
    elapsed = time.perf_counter() - t0
    if elapsed > SLOW_S:
        _fail(problems, kind, i, desc, "slow", f"{elapsed:.2f} s")
    if result is None:
        return
    try:
        arrays = list(result.values()) if isinstance(result, dict) else list(result)
        if isinstance(result, dict):
            assert all(isinstance(k, str) for k in result)
        for a in arrays:
            shape = tuple(a.shape)
            nbytes = int(np.prod(shape, dtype=object)) * np.dtype(a.dtype).itemsize
            if any(d < 0 for d in shape) or nbytes > len(payload):
                _fail(problems, kind, i, desc, "impossible array", f"loaded shape {shape} {np.dtype(a.dtype).name} ({nbytes} bytes) from {len(payload)} bytes")
                continue
            if any(d >= 2**63 for d in shape):
                # The format stores dims as int64 (MXNet's TShape): such a dim is negative there.
                _fail(problems, kind, i, desc, "dim beyond int64", f"loaded shape {shape}")
                continue
            if nbytes:  # NumPy cannot make some empty shapes with huge dims; nothing to read anyway
                a.asnumpy()
    except BaseException as e:  # noqa: B036
        if isinstance(e, KeyboardInterrupt):
            raise
        _fail(problems, kind, i, desc, f"using the result: {type(e).__name__}", e)


def check_json(text, kind, i, desc, problems):
    t0 = time.perf_counter()
    try:
        sym = mx.sym.load_json(text)
    except BaseException as e:  # noqa: B036
        if isinstance(e, KeyboardInterrupt):
            raise
        if not _allowed(e):
            _fail(problems, kind, i, desc, type(e).__name__, e)
        sym = None
    elapsed = time.perf_counter() - t0
    if elapsed > SLOW_S:
        _fail(problems, kind, i, desc, "slow", f"{elapsed:.2f} s")
    if sym is None:
        return
    step = "tojson"
    try:
        sym.tojson()
        step = "list_arguments"
        sym.list_arguments()
        step = "list_outputs"
        sym.list_outputs()
        step = "list_auxiliary_states"
        sym.list_auxiliary_states()
        step = "get_internals"
        sym.get_internals().list_outputs()
        step = "infer_shape_partial"
        try:
            sym.infer_shape_partial()
        except mx.base.MXNetError:
            pass  # a mutated graph may not infer; it must fail cleanly
    except BaseException as e:  # noqa: B036
        if isinstance(e, KeyboardInterrupt):
            raise
        _fail(problems, kind, i, desc, f"using the result ({step}): {type(e).__name__}", e)


def run_range(corpus, kind, start, stop, log_fd=None, file_every=16, stream=False):
    """Runs cases [start, stop) of ``kind``; returns the problems found."""
    problems = Problems()
    problems.stream = stream
    tmpdir = tempfile.mkdtemp(prefix="rmx-fuzz-")
    try:
        for i in range(start, stop):
            desc, payload = corpus.case(kind, i)
            if log_fd is not None:
                os.write(log_fd, f"{i}\n".encode())
            if kind.startswith("params"):
                check_params(payload, kind, i, desc, problems, tmpdir if i % file_every == 0 else None)
            else:
                check_json(payload, kind, i, desc, problems)
    finally:
        for f in os.listdir(tmpdir):
            os.remove(os.path.join(tmpdir, f))
        os.rmdir(tmpdir)
    return problems


def child_main(kind, start, stop, seed, log_path, json_truncate_stride=1):
    """A child process's entry point: prints ``RESULT {json}`` with the problems."""
    corpus = Corpus(seed, json_truncate_stride)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    problems = run_range(corpus, kind, start, stop, fd, stream=True)
    os.close(fd)
    print("RESULT " + json.dumps({"kind": kind, "start": start, "stop": stop, "count": len(problems)}), flush=True)


# The child's address space is limited (RLIMIT_AS): an over-allocation from a huge length field
# then fails at once (today: the process aborts, reported as a crash) instead of depending on the
# machine's overcommit policy or eating its memory. rmx itself needs well under 1 GiB.
CHILD_MEMORY = 4 << 30


def limit_memory():
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # crashes are expected; no core files


def run_in_child(kind, start, stop, seed=SEED, log_path=None, timeout=300, json_truncate_stride=1):
    """Runs cases in a fresh interpreter. Returns (problems, crash): crash is None or
    (case number, exit description) when the child died or hung."""
    own_log = log_path is None
    if own_log:
        fd, log_path = tempfile.mkstemp(prefix="rmx-fuzz-log-")
        os.close(fd)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([PKG_ROOT, HERE] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env["RUST_BACKTRACE"] = "0"
    code = f"import test_reader_fuzz as t\nt.child_main({kind!r}, {start}, {stop}, {seed}, {log_path!r}, {json_truncate_stride})\n"
    try:
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env, cwd=HERE, preexec_fn=limit_memory)
        hung, out = False, p.stdout
    except subprocess.TimeoutExpired as e:
        p, hung = None, True
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
    with open(log_path) as f:
        logged = f.read().split()
    if own_log:
        os.remove(log_path)
    last = int(logged[-1]) if logged else start
    problems = [json.loads(line[8:]) for line in out.splitlines() if line.startswith("PROBLEM ")]
    if hung:
        return problems, (last, f"hung (over {timeout} s)")
    results = [json.loads(line[7:]) for line in out.splitlines() if line.startswith("RESULT ")]
    if p.returncode != 0 or not results:
        rc = p.returncode
        how = f"killed by signal {-rc}" if rc < 0 else f"exit status {rc}"
        tail = "\n".join(line for line in p.stderr.splitlines() if line.strip())[-800:]
        return problems, (last, f"{how}; stderr tail:\n{tail}")
    return problems, None


# ------------------------------------------------------------------------------------------------
# Tests

# Cases per kind in this file (about 35,000 in all with the exhaustive ones, some 15 s); the
# exhaustive kinds run all their exhaustive cases.
CASES = {"params-random": 3000, "params-mutate": 10000, "json-random": 1500, "json-mutate": 4000, "json-struct": 3000}
JSON_TRUNCATE_STRIDE = 1


@pytest.fixture(scope="module")
def corpus():
    return Corpus(SEED, JSON_TRUNCATE_STRIDE)


def test_seeds_are_valid_and_load(corpus):
    assert len(corpus.params) >= 10 and len(corpus.json) >= 6
    for name, b in corpus.params:
        r = mx.nd.load_frombuffer(b)
        assert isinstance(r, (list, dict)), name
        params_fields(b)  # the field walk covers the file exactly
    for name, t in corpus.json:
        mx.sym.load_json(t).list_outputs()


def test_params_field_walk_finds_length_fields(corpus):
    name, b = next(s for s in corpus.params if s[0] == "dict_two")
    whats = [w for _, _, w in params_fields(b)]
    assert whats.count("dim") == 4 and whats.count("name_len") == 2 and "count" in whats and "name_count" in whats


def _report(kind, problems, crashes, corpus):
    msgs = []
    for i, how in crashes:
        desc, payload = corpus.case(kind, i)
        preview = payload[:96].hex() if isinstance(payload, bytes) else repr(payload[:160])
        first, *rest = [x for x in how.splitlines() if x.strip() and not x.startswith("note:")]
        how = " | ".join([first.split(";")[0]] + rest[-2:])[:300]
        msgs.append(f"{kind} case {i} ({desc}) took the process down: {how}\n  input ({len(payload)}): {preview}")
    if problems:
        by_what = {}
        for q in problems:
            by_what.setdefault(q["what"], []).append(q)
        msgs.append(f"{len(problems)} problems: " + ", ".join(f"{w} x{len(v)}" for w, v in by_what.items()))
        for w, v in by_what.items():
            for q in v[:3]:
                msgs.append(f"  [{q['what']}] case {q['case']} ({q['desc']}): {q['detail'][:200]}")
    return "\n".join(msgs)


def _run_kind(kind, n, corpus, max_crashes=10):
    """Runs cases [0, n); after a crash, a new child continues with the next case."""
    t0 = time.perf_counter()
    start, problems, crashes = 0, [], []
    while start < n and len(crashes) < max_crashes:
        got, crash = run_in_child(kind, start, n, json_truncate_stride=JSON_TRUNCATE_STRIDE)
        problems += got
        if crash is None:
            break
        crashes.append(crash)
        start = crash[0] + 1
    assert not crashes and not problems, _report(kind, problems, crashes, corpus)
    assert time.perf_counter() - t0 < 120


@pytest.mark.parametrize("kind", ["params-random", "params-mutate", "json-random", "json-mutate", "json-struct"])
def test_reader_random_cases(kind, corpus):
    _run_kind(kind, CASES[kind], corpus)


@pytest.mark.parametrize("kind", ["params-truncate", "params-length", "json-truncate"])
def test_reader_exhaustive_cases(kind, corpus):
    n = corpus.n_exhaustive(kind)
    assert n > 100
    _run_kind(kind, n, corpus)


@pytest.mark.parametrize("kind", ["params-directed", "json-directed"])
def test_reader_directed_cases(kind, corpus):
    """Handmade inputs aimed at each length field, index and size computation."""
    _run_kind(kind, corpus.n_exhaustive(kind), corpus)


def test_params_load_missing_file_raises_file_error(tmp_path):
    with pytest.raises(mx.base.FileError):
        mx.nd.load(str(tmp_path / "missing.params"))
    with pytest.raises(mx.base.FileError):
        mx.nd.load(str(tmp_path))
