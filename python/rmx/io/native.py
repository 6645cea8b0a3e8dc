"""The iterators that MXNet implements in C++, here in NumPy: ``MNISTIter`` and ``CSVIter``.

They take keyword arguments only, ignore the ones they do not know (as MXNet's C++ iterators do,
e.g. ``input_shape``, ``prefetch_buffer``, ``ctx``) and give the batches MXNet 1.9.1 gives:

* ``MNISTIter`` scales the pixels by 1/256, drops a trailing partial batch, shards with
  ``num_parts``/``part_index`` as MXNet does, and shuffles once, at construction, in the very
  order of MXNet's ``std::shuffle`` with ``std::mt19937(seed)`` (reproduced below);
* ``CSVIter`` reads numbers exactly as MXNet's csv parser does (its own float parser, not
  correctly rounded, and ``strtoll`` for integers; see ``_csvparse``) and batches rows with
  MXNet's ``BatchLoader`` rules: with ``round_batch`` the last batch wraps around to the start
  and the next epoch starts after the wrapped rows; without it the padded rows hold what the
  previous batch left in the buffer.
"""

import gzip
import logging
import os
import struct

import numpy as np

from ..base import FileError, InvalidArgumentError, MXNetError
from ..ndarray import array
from ._csvparse import parse_csv_bytes
from .io import MXDataIter

_U32 = 0xFFFFFFFF


# --- parameters, parsed the way dmlc::Parameter reads MXNet's string kwargs ------------------------
def _bool(name, v):
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return v != 0
    s = str(v).strip().lower()
    if s in ("1", "true"):
        return True
    if s in ("0", "false"):
        return False
    raise InvalidArgumentError("Invalid Parameter format for %s expect boolean but value='%s'"
                               % (name, v))


def _int(name, v):
    if isinstance(v, (bool, np.bool_)):
        return int(v)
    try:
        return int(v) if not isinstance(v, str) else int(v.strip())
    except (TypeError, ValueError):
        raise InvalidArgumentError("Invalid Parameter format for %s expect int but value='%s'"
                                   % (name, v)) from None


def _shape(name, v):
    if isinstance(v, str):
        s = v.strip().strip("()[]").strip()
        try:
            return tuple(int(x) for x in s.split(",") if x.strip())
        except ValueError:
            raise InvalidArgumentError("Invalid Parameter format for %s expect Shape(tuple) but "
                                       "value='%s'" % (name, v)) from None
    if isinstance(v, (int, np.integer)):
        return (int(v),)
    return tuple(int(x) for x in v)


def _no_positional(name, args):
    if args:
        raise TypeError("%s can only accept keyword arguments" % name)


def _open_bytes(path):
    """The bytes of ``path``, gunzipped when it is gzip (by content); ``path + '.gz'`` is tried
    when ``path`` is missing."""
    path = os.fspath(path)
    if not os.path.exists(path) and os.path.exists(path + ".gz"):
        path = path + ".gz"
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as err:
        raise FileError("Check failed: fp != nullptr: cannot open %s (%s)" % (path, err)) from None
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw


# --- std::shuffle(first, last, std::mt19937(seed)) as MXNet 1.9.1's libstdc++ does it ---------------
def std_shuffle_permutation(n, seed):
    """The order ``std::shuffle`` with ``std::mt19937(seed)`` gives to ``0..n-1``.

    It is the libstdc++ that MXNet 1.9.1's wheel was built with: one engine draw per position
    ``i = 1..n-1`` through ``uniform_int_distribution(0, i)`` by division with rejection (scale
    ``2^32-1 // (i+1)``, redraw when the draw is at or past ``(i+1) * scale``), then swap ``i``
    with the drawn position. NumPy's legacy ``RandomState(seed)`` is the same mt19937 stream.
    """
    perm = list(range(n))
    if n < 2:
        return np.arange(n)
    rs = np.random.RandomState(int(seed) & _U32)
    bound = np.arange(2, n + 1, dtype=np.uint64)  # i + 1 for i = 1..n-1
    scaling = np.uint64(_U32) // bound
    past = bound * scaling
    draws = rs.randint(0, 2 ** 32, size=n - 1, dtype=np.uint32).astype(np.uint64)
    picks = np.empty(n - 1, dtype=np.uint64)
    start = 0
    while True:
        sl = slice(start, n - 1)
        rejected = np.flatnonzero(draws >= past[sl])
        if rejected.size == 0:
            picks[sl] = draws // scaling[sl]
            break
        r = int(rejected[0])
        picks[start:start + r] = draws[:r] // scaling[start:start + r]
        # position start + r is drawn again, from the next engine output on
        extra = rs.randint(0, 2 ** 32, size=1, dtype=np.uint32).astype(np.uint64)
        draws = np.concatenate([draws[r + 1:], extra])
        start += r
    for i, j in enumerate(picks.tolist(), start=1):
        perm[i], perm[j] = perm[j], perm[i]
    return np.array(perm, dtype=np.int64)


def _part(count, num_parts, part_index):
    """MXNet's ``[start, end)`` of part ``part_index`` of ``count`` items (double arithmetic)."""
    if part_index < 0 or num_parts <= 0 or part_index >= num_parts:
        raise InvalidArgumentError("Check failed: num_parts > part_index >= 0 (num_parts=%d, "
                                   "part_index=%d)" % (num_parts, part_index))
    start = int(float(count) / num_parts * part_index)
    end = int(float(count) / num_parts * (part_index + 1))
    return start, end


def read_idx(path, expect_magic=None):
    """An idx(-ubyte) file (raw or gzip) as a uint8 array of its dimensions."""
    raw = _open_bytes(path)
    if len(raw) < 4:
        raise MXNetError("invalid mnist format: %s" % path)
    magic = struct.unpack(">I", raw[:4])[0]
    ndim = magic & 0xFF
    if (magic >> 8) != 0x08 or ndim < 1 or (expect_magic is not None and magic != expect_magic):
        raise MXNetError("invalid mnist format: %s (magic %d)" % (path, magic))
    header = 4 + 4 * ndim
    dims = struct.unpack(">%dI" % ndim, raw[4:header])
    size = int(np.prod(dims))
    if len(raw) < header + size:
        raise MXNetError("invalid mnist format: %s is truncated" % path)
    return np.frombuffer(raw, dtype=np.uint8, count=size, offset=header).reshape(dims)


class MNISTIter(MXDataIter):
    """Batches of the MNIST idx files (raw or gzip).

    ``image``, ``label``: the idx files; ``batch_size`` (128); ``shuffle`` (True: once, with
    ``seed``, in MXNet's order); ``flat`` (False: ``(N, 1, 28, 28)``, True: ``(N, 784)``);
    ``num_parts``/``part_index``: read only that contiguous part of the files; ``silent``.
    Pixels are ``byte / 256`` in float32, labels float32 of shape ``(N,)``. A trailing partial
    batch is dropped, so ``pad`` is always 0. Other keywords are accepted and ignored.
    """

    def __init__(self, *args, image="./train-images-idx3-ubyte",
                 label="./train-labels-idx1-ubyte", batch_size=128, shuffle=True, flat=False,
                 seed=0, silent=False, num_parts=1, part_index=0, **kwargs):
        _no_positional("MNISTIter", args)
        self._batch = _int("batch_size", batch_size)
        if self._batch < 1:
            raise InvalidArgumentError("value %d for Parameter batch_size should be greater "
                                       "equal to 1" % self._batch)
        shuffle = _bool("shuffle", shuffle)
        flat = _bool("flat", flat)
        seed = _int("seed", seed)
        silent = _bool("silent", silent)
        num_parts = _int("num_parts", num_parts)
        part_index = _int("part_index", part_index)

        img = read_idx(image)
        if img.ndim != 3:
            raise MXNetError("invalid mnist format: %s is not a 3-d image file" % image)
        start, end = _part(img.shape[0], num_parts, part_index)
        img = img[start:end]
        lab = read_idx(label)
        lstart, lend = _part(lab.shape[0], num_parts, part_index)
        lab = lab.reshape(lab.shape[0], -1)[lstart:lend, 0]
        if lab.shape[0] < img.shape[0]:
            raise MXNetError("MNISTIter: %d labels for %d images" % (lab.shape[0], img.shape[0]))
        lab = lab[:img.shape[0]]
        if shuffle:
            order = std_shuffle_permutation(img.shape[0], seed)
            img = img[order]
            lab = lab[order]
        rows, cols = img.shape[1], img.shape[2]
        self._images = np.ascontiguousarray(img)  # uint8; scaled batch by batch
        self._labels = lab.astype(np.float32)
        self._shape = (rows * cols,) if flat else (1, rows, cols)
        self._loc = 0
        self._cur = None
        if not silent:
            shape = (self._batch,) + self._shape
            logging.info("MNISTIter: load %d images, shuffle=%d, shape=%s", img.shape[0],
                         int(shuffle), "(" + ",".join(str(s) for s in shape) + ")")
        super().__init__(**kwargs)

    def _before_first(self):
        self._loc = 0

    def _next(self):
        lo = self._loc
        hi = lo + self._batch
        if hi > self._images.shape[0]:
            return False
        data = self._images[lo:hi].astype(np.float32)
        data *= np.float32(1.0 / 256.0)  # exact: byte / 256, as MXNet's `img_ *= 1.0f / 256.0f`
        data = data.reshape((self._batch,) + self._shape)
        self._cur = (array(data), array(self._labels[lo:hi]), 0,
                     np.zeros(self._batch, dtype=np.uint64))
        self._loc = hi
        return True

    def _value(self):
        return self._cur

    def __len__(self):
        """Batches per epoch: the partial last batch is dropped."""
        return self.num_examples // self._batch

    @property
    def num_examples(self):
        """How many images this iterator (its part) holds."""
        return int(self._images.shape[0])


_CSV_DTYPES = {None: np.float32, "float32": np.float32, "int32": np.int32, "int64": np.int64}


def _parse_csv(path, row_size, dtype, shape):
    """The rows of a csv file as an ``(rows, row_size)`` array of ``dtype``, read as MXNet reads
    them (see ``_csvparse``); a row of another length is MXNet's error."""
    kind = "i" if np.dtype(dtype).kind == "i" else "f"
    values, lengths = parse_csv_bytes(_open_bytes(path), kind)
    bad = np.flatnonzero(lengths != row_size)
    if bad.size:
        n = int(lengths[bad[0]])
        raise MXNetError("Check failed: row.length == shape.Size() (%d vs. %d) : The data size "
                         "in CSV do not match size of shape: specified shape=[%s], the csv "
                         "row-length=%d" % (n, row_size, ",".join(str(d) for d in shape), n))
    return values.astype(dtype).reshape(lengths.shape[0], row_size)


class CSVIter(MXDataIter):
    """Batches of the rows of csv files.

    ``data_csv`` with ``data_shape`` (each row, reshaped); ``label_csv`` (``'NULL'``: labels are
    zeros) with ``label_shape`` (``(1,)``); ``batch_size``; ``round_batch`` (True: the last batch
    wraps around to the start, ``pad`` counts the wrapped rows and the next epoch starts after
    them); ``dtype`` None/float32, int32 or int64. A label of one value per row has shape
    ``(N,)``. Other keywords are accepted and ignored.
    """

    def __init__(self, *args, data_csv=None, data_shape=None, label_csv="NULL",
                 label_shape=(1,), batch_size=None, round_batch=True, dtype=None, **kwargs):
        _no_positional("CSVIter", args)
        if data_csv is None:
            raise InvalidArgumentError("Required parameter data_csv of string is not presented")
        if data_shape is None:
            raise InvalidArgumentError("Required parameter data_shape of Shape(tuple) is not "
                                       "presented")
        if batch_size is None:
            raise InvalidArgumentError("Required parameter batch_size of int is not presented")
        try:
            dname = None if dtype is None or str(dtype) == "None" else np.dtype(dtype).name
        except TypeError:
            dname = str(dtype)
        if dname not in _CSV_DTYPES:
            raise InvalidArgumentError("Invalid Input: '%s', valid values are: {None, 'float32', "
                                       "'int32', 'int64'}" % dtype)
        dt = _CSV_DTYPES[dname]
        self._batch = _int("batch_size", batch_size)
        self._round = _bool("round_batch", round_batch)
        dshape = _shape("data_shape", data_shape)
        lshape = _shape("label_shape", label_shape)
        dsize = int(np.prod(dshape))
        lsize = int(np.prod(lshape))
        self._data = _parse_csv(data_csv, dsize, dt, dshape)
        n = self._data.shape[0]
        if label_csv is not None and str(label_csv) != "NULL":
            labels = _parse_csv(label_csv, lsize, dt, lshape)
            if labels.shape[0] < n:
                raise MXNetError("Check failed: label_parser_->Next(): Data CSV's row is smaller "
                                 "than the number of rows in label_csv")
            self._labels = labels[:n]
            self._lshape = () if lsize == 1 else lshape
        else:
            self._labels = np.zeros((n, 1), dtype=dt)
            self._lshape = ()
        self._dshape = dshape
        # BatchLoader state: the row the base iterator reads next, the rows a round_batch wrap
        # took from the next epoch, and the batch buffers (kept between batches, as in MXNet)
        self._pos = 0
        self._overflow = 0
        self._epoch_pos = 0  # the row the current epoch starts at, for __len__
        self._buf_data = np.zeros((self._batch,) + dshape, dtype=dt)
        self._buf_label = np.zeros((self._batch,) + self._lshape, dtype=dt)
        self._buf_index = np.zeros(self._batch, dtype=np.uint64)
        self._cur = None
        super().__init__(**kwargs)

    def _before_first(self):
        if not self._round or self._overflow == 0:
            self._pos = 0
        else:
            self._overflow = 0
        self._epoch_pos = self._pos

    def __len__(self):
        """Batches of the current epoch: ``ceil`` of its rows over ``batch_size`` (an epoch
        after a ``round_batch`` wrap starts after the wrapped rows)."""
        return -(-(self._data.shape[0] - self._epoch_pos) // self._batch)

    def _take(self, top):
        i = self._pos
        self._buf_data[top] = self._data[i].reshape(self._dshape)
        self._buf_label[top] = self._labels[i].reshape(self._lshape)
        self._buf_index[top] = i
        self._pos += 1

    def _next(self):
        if self._overflow != 0:
            return False
        n = self._data.shape[0]
        top = min(self._batch, n - self._pos)
        if top <= 0:
            return False
        lo = self._pos
        self._buf_data[:top] = self._data[lo:lo + top].reshape((top,) + self._dshape)
        self._buf_label[:top] = self._labels[lo:lo + top].reshape((top,) + self._lshape)
        self._buf_index[:top] = np.arange(lo, lo + top, dtype=np.uint64)
        self._pos += top
        pad = 0
        if top < self._batch:
            if self._round:
                self._pos = 0
                for t in range(top, self._batch):
                    if self._pos >= n:
                        raise MXNetError("Check failed: base_->Next(): number of input must be "
                                         "bigger than batch size")
                    self._take(t)
                    self._overflow += 1
                pad = self._overflow
            else:
                pad = self._batch - top
        self._cur = (array(self._buf_data.copy(), dtype=self._buf_data.dtype),
                     array(self._buf_label.copy(), dtype=self._buf_label.dtype), pad,
                     self._buf_index.copy())
        return True

    def _value(self):
        return self._cur
