"""mx.recordio against files written and read by MXNet 1.9.1.

`fixtures/recordio/` was written by `fixtures/make_recordio_fixtures.py` under the real MXNet:
`mixed.rec`/`.idx` hold raw records chosen to exercise dmlc's writer (empty, 1-3 bytes, the magic
word 0xced7230a at 4-aligned offsets, where the writer splits the record, and unaligned ones,
where it does not, `pack()`ed headers); `images.rec` holds JPEG and PNG images packed by MXNet's
`pack_img`; `expected.npz.xz` holds MXNet's decodes of them.

Run against the reference:  MX_MODULE=mxnet PYTHONPATH=python python -m pytest -q tests/test_recordio.py
Run against rmx (default):  python -m pytest -q tests/test_recordio.py

What MXNet does with malformed files (it raises MXNetError from dmlc's CHECKs) is checked under
both; that rmx raises `DataError` (or `FileError`) naming the file and the record is checked only
under rmx.
"""

import importlib.util
import json
import os
import pickle
import re
import shutil
import struct

import numpy as np
import pytest

MODULE = os.environ.get("MX_MODULE", "rmx")
mx = __import__(MODULE)
from importlib import import_module  # noqa: E402

recordio = import_module(MODULE + ".recordio")
IS_RMX = MODULE == "rmx"
rmx_only = pytest.mark.skipif(not IS_RMX, reason="rmx's error classes and messages")

HERE = os.path.dirname(os.path.abspath(__file__))
FIXDIR = os.path.join(HERE, "fixtures", "recordio")
_spec = importlib.util.spec_from_file_location(
    "make_recordio_fixtures", os.path.join(HERE, "fixtures", "make_recordio_fixtures.py"))
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)

with open(os.path.join(FIXDIR, "mixed.json")) as _f:
    MIXED = json.load(_f)
MIXED_KEYS = MIXED["keys"]
MIXED_PAYLOADS = [bytes.fromhex(h) for h in MIXED["payloads"]]
MIXED_OFFSETS = MIXED["offsets"]
EXP, META = gen.load_expected()

# How far a JPEG decoded by rmx (zune-jpeg) may be from the same file decoded by MXNet (OpenCV
# 3.4.2's libjpeg), in levels, as measured on these fixtures: colour images differ by up to 3
# inside and up to 9 on the last row and column (chroma upsampling at the partial MCU edge), by
# less than 0.5 on average; luma-only decodes (flag 0, grey JPEGs) by at most 1. PNG is exact.
JPEG_MAX = 9
JPEG_MAX_INTERIOR = 3
JPEG_MEAN = 0.5
JPEG_GRAY_MAX = 1



def fix(name):
    return os.path.join(FIXDIR, name)


def read_bytes(name):
    with open(fix(name), "rb") as f:
        return f.read()


def assert_jpeg_close(got, want, what=""):
    got = np.asarray(got.asnumpy() if hasattr(got, "asnumpy") else got)
    assert got.shape == want.shape, (what, got.shape, want.shape)
    assert got.dtype == want.dtype, (what, got.dtype, want.dtype)
    d = np.abs(got.astype(np.int32) - want.astype(np.int32))
    gray = want.ndim == 2 or want.shape[2] == 1
    if gray:
        assert d.max() <= JPEG_GRAY_MAX, "%s: max |diff| %d" % (what, d.max())
    assert d.max() <= JPEG_MAX and d[:-1, :-1].max() <= JPEG_MAX_INTERIOR \
        and d.mean() <= JPEG_MEAN, "%s: max |diff| %d, inside %d, mean %.3f" % (
            what, d.max(), d[:-1, :-1].max(), d.mean())


def is_png(i):
    return gen.IMAGES[i][2] == ".png"


def assert_error_names(err, path, record):
    """rmx's message for a malformed record names the file and the record (0-based)."""
    msg = str(err.value)
    assert os.path.basename(path) in msg, msg
    assert re.search(r"record %d\b" % record, msg), msg


# --- reading MXNet's files --------------------------------------------------------------------

def test_mixed_payloads_match_pack():
    # The records of mixed.rec, as this module's pack() makes them, are byte for byte MXNet's.
    recs = gen.mixed_records(recordio)
    assert [k for k, _ in recs] == MIXED_KEYS
    assert [p for _, p in recs] == MIXED_PAYLOADS


def test_read_sequential():
    r = recordio.MXRecordIO(fix("mixed.rec"), "r")
    got = []
    while True:
        s = r.read()
        if s is None:
            break
        assert isinstance(s, bytes)
        got.append(s)
    assert got == MIXED_PAYLOADS
    assert r.read() is None  # stays at the end
    r.reset()
    assert r.read() == MIXED_PAYLOADS[0]
    r.close()


def test_read_indexed():
    r = recordio.MXIndexedRecordIO(fix("mixed.idx"), fix("mixed.rec"), "r")
    assert list(r.keys) == MIXED_KEYS
    assert r.idx == dict(zip(MIXED_KEYS, MIXED_OFFSETS))
    by_key = dict(zip(MIXED_KEYS, MIXED_PAYLOADS))
    order = sorted(MIXED_KEYS, key=lambda k: (k * 5) % 11)
    for k in order:
        assert r.read_idx(k) == by_key[k], k
    # seek then read; a read continues with the next record in the file
    pos = 6
    r.seek(MIXED_KEYS[pos])
    assert r.read() == MIXED_PAYLOADS[pos]
    assert r.read() == MIXED_PAYLOADS[pos + 1]
    assert r.read_idx(MIXED_KEYS[-1]) == MIXED_PAYLOADS[-1]
    assert r.read() is None
    with pytest.raises(KeyError):
        r.read_idx(1000)
    with pytest.raises(KeyError):
        r.seek(-1)
    r.close()


def test_read_indexed_str_keys():
    r = recordio.MXIndexedRecordIO(fix("mixed.idx"), fix("mixed.rec"), "r", key_type=str)
    assert r.keys == [str(k) for k in MIXED_KEYS]
    assert r.read_idx(str(MIXED_KEYS[3])) == MIXED_PAYLOADS[3]
    with pytest.raises(KeyError):
        r.read_idx(MIXED_KEYS[3])
    r.close()


def test_read_images_rec_headers():
    r = recordio.MXIndexedRecordIO(fix("images.idx"), fix("images.rec"), "r")
    assert r.keys == list(range(10))
    for i in range(10):
        header, payload = recordio.unpack(r.read_idx(i))
        assert header.flag == 0 and header.label == float(i) and header.id == i and header.id2 == 0
        assert payload[:2] == (b"\x89P" if is_png(i) else b"\xff\xd8")
    r.close()
    r = recordio.MXRecordIO(fix("images_multi.rec"), "r")
    for i in range(10):
        header, payload = recordio.unpack(r.read())
        assert header.flag == 3 and header.id == i
        assert isinstance(header.label, np.ndarray) and header.label.dtype == np.float32
        np.testing.assert_array_equal(header.label, np.float32(gen.MULTI_LABEL(i)))
    assert r.read() is None
    r.close()


# --- writing: byte-identical to MXNet ---------------------------------------------------------

def test_write_identical(tmp_path):
    rec, idx = str(tmp_path / "m.rec"), str(tmp_path / "m.idx")
    w = recordio.MXIndexedRecordIO(idx, rec, "w")
    tells = []
    for k, p in zip(MIXED_KEYS, MIXED_PAYLOADS):
        tells.append(w.tell())
        w.write_idx(k, p)
    assert w.keys == MIXED_KEYS
    w.close()
    assert tells == MIXED_OFFSETS
    with open(rec, "rb") as f:
        assert f.read() == read_bytes("mixed.rec")
    with open(idx, "rb") as f:
        assert f.read() == read_bytes("mixed.idx")
    # the plain writer makes the same .rec
    rec2 = str(tmp_path / "p.rec")
    w = recordio.MXRecordIO(rec2, "w")
    for p in MIXED_PAYLOADS:
        w.write(p)
    w.close()
    with open(rec2, "rb") as f:
        assert f.read() == read_bytes("mixed.rec")


def test_write_read_back(tmp_path):
    rec, idx = str(tmp_path / "m.rec"), str(tmp_path / "m.idx")
    w = recordio.MXIndexedRecordIO(idx, rec, "w")
    for k, p in zip(MIXED_KEYS, MIXED_PAYLOADS):
        w.write_idx(k, p)
    w.close()
    r = recordio.MXIndexedRecordIO(idx, rec, "r")
    for k, p in reversed(list(zip(MIXED_KEYS, MIXED_PAYLOADS))):
        assert r.read_idx(k) == p
    r.close()


def test_split_record_layout():
    # dmlc's writer drops the magic word at 4-aligned offsets, splitting the record into pieces
    # with continuation flags 1, 2, ..., 3; this is what MXNet wrote.
    data = read_bytes("mixed.rec")
    k = MIXED_PAYLOADS.index(b"1234" + gen.MAGIC_BYTES + b"xyz")
    off = MIXED_OFFSETS[k]
    magic, lrec = struct.unpack("<II", data[off:off + 8])
    assert magic == gen.MAGIC and lrec >> 29 == 1 and lrec & ((1 << 29) - 1) == 4
    magic, lrec = struct.unpack("<II", data[off + 12:off + 20])
    assert magic == gen.MAGIC and lrec >> 29 == 3 and lrec & ((1 << 29) - 1) == 3
    # unaligned: one whole record
    k = MIXED_PAYLOADS.index(b"12" + gen.MAGIC_BYTES + b"zz")
    magic, lrec = struct.unpack("<II", data[MIXED_OFFSETS[k]:MIXED_OFFSETS[k] + 8])
    assert lrec >> 29 == 0 and lrec == 8


def test_writer_reset_truncates(tmp_path):
    p = str(tmp_path / "t.rec")
    w = recordio.MXRecordIO(p, "w")
    w.write(b"first")
    w.reset()
    w.write(b"second")
    w.close()
    r = recordio.MXRecordIO(p, "r")
    assert r.read() == b"second" and r.read() is None
    r.close()


def test_bad_flag(tmp_path):
    with pytest.raises(ValueError):
        recordio.MXRecordIO(str(tmp_path / "x.rec"), "a")


def test_read_on_writer_and_write_on_reader(tmp_path):
    p = str(tmp_path / "t.rec")
    w = recordio.MXRecordIO(p, "w")
    with pytest.raises(AssertionError):
        w.read()
    w.close()
    r = recordio.MXRecordIO(p, "r")
    with pytest.raises(AssertionError):
        r.write(b"x")
    r.close()
    ri = recordio.MXIndexedRecordIO(fix("mixed.idx"), fix("mixed.rec"), "r")
    with pytest.raises(AssertionError):
        ri.tell()
    ri.close()


# --- pickling ---------------------------------------------------------------------------------

def test_pickle_reader():
    r = recordio.MXRecordIO(fix("mixed.rec"), "r")
    r.read()
    r.read()
    r2 = pickle.loads(pickle.dumps(r))
    # reopened: reads from the first record again
    assert r2.read() == MIXED_PAYLOADS[0]
    assert r2.read() == MIXED_PAYLOADS[1]
    # pickling closed and reopened the original too (MXNet's __getstate__ closes it)
    assert r.is_open is False
    r2.close()
    closed = pickle.loads(pickle.dumps(r))
    assert closed.is_open is False


def test_pickle_indexed():
    r = recordio.MXIndexedRecordIO(fix("mixed.idx"), fix("mixed.rec"), "r")
    r2 = pickle.loads(pickle.dumps(r))
    assert r2.keys == MIXED_KEYS
    assert r2.read_idx(MIXED_KEYS[5]) == MIXED_PAYLOADS[5]
    assert r2.read() == MIXED_PAYLOADS[6]
    r2.close()


def test_pickle_writer(tmp_path):
    p = str(tmp_path / "w.rec")
    w = recordio.MXRecordIO(p, "w")
    w.write(b"abc")
    state = w.__getstate__()
    assert state["uri"] == p and state["is_open"] is True and state["flag"] == "w"
    assert "handle" not in state or state["handle"] is None


# --- IRHeader, pack, unpack ---------------------------------------------------------------------

def test_irheader():
    h = recordio.IRHeader(0, 1.5, 2, 3)
    assert h.flag == 0 and h.label == 1.5 and h.id == 2 and h.id2 == 3
    assert type(h).__name__ == "HEADER"
    assert h._fields == ("flag", "label", "id", "id2")


@pytest.mark.parametrize("label,flag,stored", [
    (2.5, 0, 2.5),
    (np.float32(2.5), 0, 2.5),
    (7, 0, 7.0),
    ([1.0], 1, [1.0]),
    ([1.0, 2.0, -3.5], 3, [1.0, 2.0, -3.5]),
    (np.arange(5, dtype=np.float64), 5, [0, 1, 2, 3, 4]),
])
def test_pack_unpack(label, flag, stored):
    s = recordio.pack(recordio.IRHeader(9, label, 11, 12), b"body")
    # a numeric label forces flag 0 whatever the header said
    assert struct.unpack("<I", s[:4])[0] == flag
    assert len(s) == 24 + 4 * flag + 4
    h, body = recordio.unpack(s)
    assert body == b"body" and h.flag == flag and h.id == 11 and h.id2 == 12
    if flag == 0:
        assert h.label == stored
    else:
        assert h.label.dtype == np.float32
        np.testing.assert_array_equal(h.label, np.float32(stored))


def test_pack_layout():
    # 'IfQQ', native little-endian, 24 bytes; multi-labels follow the header as float32
    s = recordio.pack(recordio.IRHeader(0, [1.0], 1, 2), b"z")
    assert s == (b"\x01\x00\x00\x00" + b"\x00" * 4 + b"\x01" + b"\x00" * 7 + b"\x02" + b"\x00" * 7
                 + b"\x00\x00\x80?" + b"z")
    s = recordio.pack(recordio.IRHeader(0, 0.5, 2 ** 40, 0), b"")
    assert s == struct.pack("<IfQQ", 0, 0.5, 2 ** 40, 0)


# --- images -----------------------------------------------------------------------------------

def _image_records():
    r = recordio.MXRecordIO(fix("images.rec"), "r")
    out = [r.read() for _ in range(10)]
    r.close()
    return out


@pytest.mark.parametrize("i", range(10))
def test_unpack_img_matches_mxnet(i):
    s = _image_records()[i]
    for iscolor in (-1, 0, 1):
        key = "unpack_img/%d/%d" % (iscolor, i)
        if key not in EXP:
            continue
        header, img = recordio.unpack_img(s, iscolor)
        assert header.label == float(i) and header.id == i
        want = EXP[key]
        if is_png(i):
            np.testing.assert_array_equal(img, want, err_msg=key)
        else:
            assert_jpeg_close(img, want, key)


def test_unpack_img_png_is_source():
    # lossless: MXNet's pack_img(PNG) then unpack_img gives the source back
    s = _image_records()
    for i in (3, 9):
        _, img = recordio.unpack_img(s[i])
        np.testing.assert_array_equal(img, gen.source_image(i))


def test_unpack_img_shapes():
    s = _image_records()
    for i in range(10):
        h, w = gen.IMAGES[i][:2]
        gray = gen.IMAGES[i][4]
        assert recordio.unpack_img(s[i])[1].shape == ((h, w) if gray else (h, w, 3))
        assert recordio.unpack_img(s[i], 1)[1].shape == (h, w, 3)
        assert recordio.unpack_img(s[i], 0)[1].shape == (h, w)
        assert recordio.unpack_img(s[i])[1].dtype == np.uint8


# The error MXNet's own JPEG round trip makes on the source images (quality 95): rmx's encoder
# decoded by rmx's decoder may do a little worse than that, not much.
def _mxnet_roundtrip_error(i):
    return np.abs(EXP["unpack_img/-1/%d" % i].astype(np.int32)
                  - gen.source_image(i).astype(np.int32))


@pytest.mark.parametrize("i", [0, 1, 4])
def test_pack_img_jpeg_roundtrip(i):
    src = gen.source_image(i)
    s = recordio.pack_img(recordio.IRHeader(0, 3.0, 17, 1), src, quality=95)
    header, img = recordio.unpack_img(s)
    assert header.flag == 0 and header.label == 3.0 and header.id == 17 and header.id2 == 1
    payload = recordio.unpack(s)[1]
    assert payload[:2] == b"\xff\xd8"
    assert img.shape == src.shape and img.dtype == np.uint8
    err = np.abs(img.astype(np.int32) - src.astype(np.int32))
    ref = _mxnet_roundtrip_error(i)
    assert err.mean() <= ref.mean() * 1.5 + 0.5, (err.mean(), ref.mean())
    assert err.max() <= ref.max() * 1.5 + 4, (err.max(), ref.max())


def test_pack_img_jpeg_quality_matters():
    src = gen.source_image(0)
    small = recordio.pack_img(recordio.IRHeader(0, 0, 0, 0), src, quality=20)
    big = recordio.pack_img(recordio.IRHeader(0, 0, 0, 0), src, quality=98)
    assert len(small) < len(big)
    e_small = np.abs(recordio.unpack_img(small)[1].astype(int) - src).mean()
    e_big = np.abs(recordio.unpack_img(big)[1].astype(int) - src).mean()
    assert e_big < e_small


@pytest.mark.parametrize("i", [0, 1, 4])
def test_pack_img_png_roundtrip(i):
    src = gen.source_image(i)
    s = recordio.pack_img(recordio.IRHeader(0, [1.0, 2.0], 5, 0), src, quality=3, img_fmt=".png")
    header, img = recordio.unpack_img(s)
    assert header.flag == 2
    np.testing.assert_array_equal(header.label, [1.0, 2.0])
    assert recordio.unpack(s)[1][:8] == b"\x89PNG\r\n\x1a\n"
    np.testing.assert_array_equal(img, src)
    # .PNG in capitals is PNG too
    s2 = recordio.pack_img(recordio.IRHeader(0, 0, 0, 0), src, img_fmt=".PNG")
    assert recordio.unpack(s2)[1][:4] == b"\x89PNG"


# --- malformed input --------------------------------------------------------------------------

def _write(tmp_path, name, data):
    p = str(tmp_path / name)
    with open(p, "wb") as f:
        f.write(data)
    return p


def _read_all(path):
    r = recordio.MXRecordIO(path, "r")
    n = 0
    try:
        while r.read() is not None:
            n += 1
    finally:
        r.close()
    return n


def _malformed(tmp_path, case):
    """(path, number of the first bad record) of a damaged copy of mixed.rec."""
    src = read_bytes("mixed.rec")
    if case == "truncated":
        return _write(tmp_path, "trunc.rec", src[:-3]), len(MIXED_PAYLOADS) - 1
    if case == "truncated_header":
        k = 9
        return _write(tmp_path, "trunch.rec", src[:MIXED_OFFSETS[k] + 6]), k
    if case == "length_lies":
        k = 3
        data = bytearray(src)
        data[MIXED_OFFSETS[k] + 4:MIXED_OFFSETS[k] + 8] = struct.pack("<I", 100000)
        return _write(tmp_path, "lie.rec", bytes(data)), k
    if case == "length_short":
        # record 14 (1000 bytes, split in pieces): its first piece claims 8 bytes less, so the
        # next piece's header is looked for inside the payload
        k = 14
        data = bytearray(src)
        o = MIXED_OFFSETS[k] + 4
        lrec = struct.unpack("<I", data[o:o + 4])[0]
        data[o:o + 4] = struct.pack("<I", lrec - 8)
        return _write(tmp_path, "short.rec", bytes(data)), k
    if case == "garbage":
        return _write(tmp_path, "garbage.rec", b"\x01\x02garbage bytes here...." * 3), 0
    if case == "bad_magic":
        k = 5
        data = bytearray(src)
        data[MIXED_OFFSETS[k]] ^= 0xFF
        return _write(tmp_path, "magic.rec", bytes(data)), k
    raise AssertionError(case)


MALFORMED = ["truncated", "truncated_header", "length_lies", "length_short", "garbage",
             "bad_magic"]


@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_raises(tmp_path, case):
    path, k = _malformed(tmp_path, case)
    r = recordio.MXRecordIO(path, "r")
    for i in range(k):
        assert r.read() == MIXED_PAYLOADS[i]
    with pytest.raises(mx.base.MXNetError):
        r.read()
    r.close()


@rmx_only
@pytest.mark.parametrize("case", MALFORMED)
def test_malformed_message(tmp_path, case):
    path, k = _malformed(tmp_path, case)
    with pytest.raises(mx.base.DataError) as err:
        _read_all(path)
    assert_error_names(err, path, k)


@rmx_only
def test_malformed_indexed_message(tmp_path):
    # an .idx entry pointing into the middle of a record
    shutil.copy(fix("mixed.rec"), tmp_path / "m.rec")
    lines = read_bytes("mixed.idx").decode().splitlines()
    key, off = lines[14].split("\t")
    lines[14] = "%s\t%d" % (key, int(off) + 8)
    with open(tmp_path / "m.idx", "w") as f:
        f.write("\n".join(lines) + "\n")
    r = recordio.MXIndexedRecordIO(str(tmp_path / "m.idx"), str(tmp_path / "m.rec"), "r")
    assert r.read_idx(MIXED_KEYS[13]) == MIXED_PAYLOADS[13]
    with pytest.raises(mx.base.DataError) as err:
        r.read_idx(int(key))
    assert "m.rec" in str(err.value)
    r.close()


def test_bad_idx_offset_raises(tmp_path):
    shutil.copy(fix("mixed.rec"), tmp_path / "m.rec")
    lines = read_bytes("mixed.idx").decode().splitlines()
    key, off = lines[14].split("\t")
    lines[14] = "%s\t%d" % (key, int(off) + 8)
    with open(tmp_path / "m.idx", "w") as f:
        f.write("\n".join(lines) + "\n")
    r = recordio.MXIndexedRecordIO(str(tmp_path / "m.idx"), str(tmp_path / "m.rec"), "r")
    with pytest.raises(mx.base.MXNetError):
        r.read_idx(int(key))
    r.close()


def test_missing_files(tmp_path):
    with pytest.raises(mx.base.MXNetError):
        recordio.MXRecordIO(str(tmp_path / "nope.rec"), "r")
    with pytest.raises(OSError):
        recordio.MXIndexedRecordIO(str(tmp_path / "nope.idx"), fix("mixed.rec"), "r")


@rmx_only
def test_missing_files_rmx(tmp_path):
    p = str(tmp_path / "nope.rec")
    with pytest.raises(mx.base.FileError) as err:
        recordio.MXRecordIO(p, "r")
    assert "nope.rec" in str(err.value)
    with pytest.raises(mx.base.FileError) as err:
        recordio.MXIndexedRecordIO(str(tmp_path / "nope.idx"), fix("mixed.rec"), "r")
    assert "nope.idx" in str(err.value)


def test_malformed_idx_line(tmp_path):
    shutil.copy(fix("mixed.rec"), tmp_path / "m.rec")
    with open(tmp_path / "m.idx", "w") as f:
        f.write("3\t0\nnot-a-line\n")
    with pytest.raises((ValueError, IndexError)):
        recordio.MXIndexedRecordIO(str(tmp_path / "m.idx"), str(tmp_path / "m.rec"), "r")


def test_unpack_short_record():
    # a record shorter than the header: MXNet's struct.unpack raises struct.error; rmx DataError
    with pytest.raises((struct.error, ValueError)):
        recordio.unpack(b"\x00" * 10)


@rmx_only
def test_unpack_img_corrupt():
    s = recordio.pack(recordio.IRHeader(0, 1.0, 0, 0), b"\xff\xd8\xff\xe0garbage")
    with pytest.raises(mx.base.DataError):
        recordio.unpack_img(s)
