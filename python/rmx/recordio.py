"""RecordIO files (``mx.recordio``), byte-compatible with MXNet 1.9.1's.

A ``.rec`` file is a sequence of records (dmlc-core's format: a magic word, a length with a
continuation flag, the bytes, padding to 4 bytes); an ``.idx`` file maps keys to the byte offsets
of records (``key<TAB>offset`` lines). Image records start with an ``IRHeader``. The files are
read and written by rmx's Rust core; this module keeps MXNet's classes and functions. Files are
read from local paths or, through the ``object_store`` crate with range requests, from
``s3://bucket/key`` (credentials, region and endpoint from the ``AWS_*`` environment variables)
and ``http(s)://`` URLs; ``RMX_IO_TIMEOUT`` (seconds, default 30) bounds every request.

>>> import os, tempfile
>>> from rmx import recordio
>>> d = tempfile.mkdtemp()
>>> w = recordio.MXIndexedRecordIO(os.path.join(d, 'x.idx'), os.path.join(d, 'x.rec'), 'w')
>>> for i in range(3):
...     w.write_idx(i, recordio.pack(recordio.IRHeader(0, float(i), i, 0), b'payload%d' % i))
>>> w.close()
>>> r = recordio.MXIndexedRecordIO(os.path.join(d, 'x.idx'), os.path.join(d, 'x.rec'), 'r')
>>> header, body = recordio.unpack(r.read_idx(2))
>>> print(header.label, header.id, body)
2.0 2 b'payload2'
"""

import numbers
import os
import struct
from collections import namedtuple

import numpy as np

from . import _rmx
from .base import DataError, FileError, InvalidArgumentError

__all__ = ["MXRecordIO", "MXIndexedRecordIO", "IRHeader", "pack", "unpack", "pack_img",
           "unpack_img"]


class MXRecordIO:
    """Reads (``flag='r'``) or writes (``flag='w'``) a RecordIO file, one record at a time.

    Parameters
    ----------
    uri : str
        Path of the ``.rec`` file.
    flag : str
        ``'r'`` to read, ``'w'`` to write (the file is truncated).
    """

    def __init__(self, uri, flag):
        self.uri = os.fspath(uri)
        self.flag = flag
        self.handle = None
        self.is_open = False
        self.open()

    def open(self):
        """Opens the file (again: reading restarts at the first record)."""
        if self.flag == "w" and _is_remote(self.uri):
            raise InvalidArgumentError("%s: remote RecordIO files are read-only; write locally "
                                       "and upload" % self.uri)
        if self.flag == "w":
            self.handle = _rmx.RecordWriter(self.uri, False)
            self.writable = True
        elif self.flag == "r":
            self.handle = _rmx.RecordReader(self.uri)
            self.writable = False
            self._pos = 0
            self._count = 0
        else:
            raise ValueError("Invalid flag %s" % self.flag)
        self.pid = os.getpid()
        self.is_open = True

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - never raise from a finalizer
            pass

    def __getstate__(self):
        """Pickles as the path and whether it was open (the handle is reopened on load)."""
        is_open = self.is_open
        self.close()
        d = dict(self.__dict__)
        d["is_open"] = is_open
        d["handle"] = None
        return d

    def __setstate__(self, d):
        self.__dict__ = d
        is_open = d["is_open"]
        self.is_open = False
        self.handle = None
        if is_open:
            self.open()

    def _check_pid(self, allow_reset=False):
        # A forked child must not share the parent's handle (MXNet's rule).
        if self.pid != os.getpid():
            if allow_reset:
                self.reset()
            else:
                raise RuntimeError("Forbidden operation in multiple processes")

    def close(self):
        """Closes the file (flushing what was written)."""
        if not self.is_open:
            return
        if self.writable:
            self.handle.close()
        self.handle = None
        self.is_open = False
        self.pid = None

    def reset(self):
        """Back to the first record (closes and reopens; a writer starts a new file)."""
        self.close()
        self.open()

    def write(self, buf):
        """Appends ``buf`` (bytes) as one record."""
        assert self.writable
        self._check_pid(allow_reset=False)
        self.handle.write(bytes(buf))

    def read(self):
        """The next record as bytes, or ``None`` after the last one."""
        assert not self.writable
        self._check_pid(allow_reset=False)
        got = self.handle.read_at(self._pos, self._count)
        if got is None:
            return None
        buf, self._pos = got
        self._count += 1
        return buf


class MXIndexedRecordIO(MXRecordIO):
    """A RecordIO file with an ``.idx`` file for random access by key.

    Parameters
    ----------
    idx_path : str
        Path of the index file (``key<TAB>offset`` per line).
    uri : str
        Path of the ``.rec`` file.
    flag : str
        ``'r'`` or ``'w'``.
    key_type : type
        How keys read from the index are converted (``int`` by default).
    """

    def __init__(self, idx_path, uri, flag, key_type=int):
        self.idx_path = os.fspath(idx_path)
        self.idx = {}
        self.keys = []
        self.key_type = key_type
        self.fidx = None
        super().__init__(uri, flag)

    def open(self):
        super().open()
        self.idx = {}
        self.keys = []
        self._ordinal = {}
        if self.writable:
            self.fidx = open(self.idx_path, "w")
            return
        for n, line in enumerate(_read_text(self.idx_path).splitlines(), 1):
            fields = line.strip().split("\t")
            if fields == [""]:
                continue
            if len(fields) < 2:
                raise DataError("%s: line %d: expected key<TAB>offset, found %r"
                                % (self.idx_path, n, line))
            key = self.key_type(fields[0])
            self.idx[key] = int(fields[1])
            self._ordinal[key] = len(self.keys)
            self.keys.append(key)

    def close(self):
        if not self.is_open:
            return
        super().close()
        if self.fidx is not None:
            self.fidx.close()
        self.fidx = None

    def __getstate__(self):
        d = super().__getstate__()
        d["fidx"] = None
        return d

    def seek(self, idx):
        """Positions the reader at the record of key ``idx``."""
        assert not self.writable
        self._check_pid(allow_reset=True)
        if idx not in self.idx:
            raise KeyError("%r is not a key of %s" % (idx, self.idx_path))
        self._pos = self.idx[idx]
        self._count = self._ordinal.get(idx, 0)

    def tell(self):
        """The byte offset the next written record will start at."""
        assert self.writable
        self._check_pid(allow_reset=False)
        return self.handle.tell()

    def read_idx(self, idx):
        """The record of key ``idx``."""
        self.seek(idx)
        return self.read()

    def write_idx(self, idx, buf):
        """Writes ``buf`` as the record of key ``idx``."""
        key = self.key_type(idx)
        pos = self.tell()
        self.write(buf)
        self.fidx.write("%s\t%d\n" % (str(key), pos))
        self.idx[key] = pos
        self.keys.append(key)


def _is_remote(uri):
    return uri.startswith(("s3://", "http://", "https://"))


def _read_text(path):
    """The text of a local or remote (``s3://``, ``http(s)://``) file."""
    if _is_remote(path):
        return _rmx.read_file(path).decode()
    try:
        with open(path, "r") as f:
            return f.read()
    except OSError as err:
        raise FileError("cannot open %s (%s)" % (path, err)) from None


IRHeader = namedtuple("HEADER", ["flag", "label", "id", "id2"])
IRHeader.__doc__ = """The header of an image record.

flag : int
    0 for one label in ``label``; otherwise the number of float32 labels stored after the header.
label : float or numpy.ndarray
    The label(s).
id : int
    The record's id (im2rec writes the image's index in the list).
id2 : int
    A second id (usually 0).
"""

_IR_FORMAT = "IfQQ"
_IR_SIZE = struct.calcsize(_IR_FORMAT)


def pack(header, s):
    """A record's bytes: ``header`` then ``s``. A label that is an array (of any length) is
    stored after the header, with ``flag`` its length."""
    header = IRHeader(*header)
    if isinstance(header.label, numbers.Number):
        header = header._replace(flag=0)
    else:
        label = np.asarray(header.label, dtype=np.float32)
        header = header._replace(flag=label.size, label=0)
        s = label.tobytes() + s
    return struct.pack(_IR_FORMAT, *header) + s


def unpack(s):
    """``(IRHeader, payload)`` of a record made by ``pack``."""
    if len(s) < _IR_SIZE:
        raise DataError("a record of %d bytes is too short for the %d-byte image record header"
                        % (len(s), _IR_SIZE))
    header = IRHeader(*struct.unpack(_IR_FORMAT, s[:_IR_SIZE]))
    s = s[_IR_SIZE:]
    if header.flag > 0:
        if len(s) < header.flag * 4:
            raise DataError("the record's header announces %d labels; only %d bytes follow"
                            % (header.flag, len(s)))
        header = header._replace(label=np.frombuffer(s, np.float32, header.flag))
        s = s[header.flag * 4:]
    return header, s


def unpack_img(s, iscolor=-1):
    """``(IRHeader, image)``: the image decoded as OpenCV's ``imdecode`` gives it, a
    (height, width, 3) uint8 array in BGR order, or (height, width) for gray.

    ``iscolor``: 1 colour, 0 gray, -1 as stored (colour for colour files, gray for gray ones).
    """
    header, s = unpack(s)
    return header, _decode_cv(s, iscolor)


def _decode_cv(s, iscolor):
    if iscolor == 0:
        buf, h, w, _ = _rmx.imdecode(s, 1)
        return np.frombuffer(buf, np.uint8).reshape(h, w)
    buf, h, w, c = _rmx.imdecode(s, 3)
    img = np.frombuffer(buf, np.uint8).reshape(h, w, 3)[:, :, ::-1]
    if iscolor < 0 and _is_gray(s):
        return np.ascontiguousarray(img[:, :, 0])
    return np.ascontiguousarray(img)


def _is_gray(s):
    """Whether a JPEG or PNG file stores one channel."""
    if s[:8] == b"\x89PNG\r\n\x1a\n":
        return len(s) > 25 and s[25] in (0, 4)
    i = 2
    while i + 9 < len(s) and s[i] == 0xFF:
        marker, size = s[i + 1], int.from_bytes(s[i + 2:i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            return s[i + 9] == 1
        i += 2 + size
    return False


def pack_img(header, img, quality=95, img_fmt=".jpg"):
    """``pack`` with ``img`` (a uint8 array in OpenCV's BGR order, or gray) encoded as JPEG
    (``quality`` 1-100) or PNG (``quality`` is the compression level 0-9)."""
    img = np.asarray(img)
    if img.dtype != np.uint8:
        raise InvalidArgumentError("pack_img: images are uint8, not %s" % img.dtype)
    if img.ndim == 3 and img.shape[2] == 3:
        rgb = np.ascontiguousarray(img[:, :, ::-1])
    elif img.ndim == 2 or (img.ndim == 3 and img.shape[2] == 1):
        rgb = np.ascontiguousarray(img.reshape(img.shape[0], img.shape[1], 1))
    else:
        raise InvalidArgumentError("pack_img: expected (h, w, 3) or (h, w) pixels, got shape %s"
                                   % (img.shape,))
    fmt = img_fmt.lower()
    if fmt not in (".jpg", ".jpeg", ".png"):
        raise InvalidArgumentError("pack_img: img_fmt must be .jpg, .jpeg or .png, not %r"
                                   % img_fmt)
    buf = _rmx.imencode(rgb.tobytes(), rgb.shape, fmt, int(quality))
    return pack(header, buf)
