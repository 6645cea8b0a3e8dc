"""mx.io.ImageRecordIter / ImageRecordUInt8Iter against MXNet 1.9.1.

`fixtures/recordio/expected.npz.xz` holds, for every case of `ITER_CASES` in
`fixtures/make_recordio_fixtures.py`, what MXNet's iterator returned over the first epoch
(data, labels, pads; labels and pads of later epochs for some), made under the real MXNet from
`images.rec` (JPEG and PNG), `images_png.rec` (all PNG: decoding is exact) and
`images_multi.rec` (three labels per record).

Tolerances: PNG records without resampling must match exactly; JPEG records within the decoder
tolerance below; resampled ones within one level (OpenCV's fixed-point bilinear).

Run against the reference:  MX_MODULE=mxnet PYTHONPATH=python python -m pytest -q tests/test_image_record_iter.py
Run against rmx (default):  python -m pytest -q tests/test_image_record_iter.py

The behaviours MXNet shares with rmx (seeded shuffles, sharding by the .idx, reset in the middle
of an epoch, the same batches for any number of threads) run under both; rmx's error messages
and thread shutdown only under rmx.
"""

import gc
import importlib.util
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pytest

MODULE = os.environ.get("MX_MODULE", "rmx")
mx = __import__(MODULE)
from importlib import import_module  # noqa: E402

recordio = import_module(MODULE + ".recordio")
mxio = import_module(MODULE + ".io")
IS_RMX = MODULE == "rmx"
rmx_only = pytest.mark.skipif(not IS_RMX, reason="rmx's error classes, messages and threads")

HERE = os.path.dirname(os.path.abspath(__file__))
FIXDIR = os.path.join(HERE, "fixtures", "recordio")
_spec = importlib.util.spec_from_file_location(
    "make_recordio_fixtures", os.path.join(HERE, "fixtures", "make_recordio_fixtures.py"))
gen = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen)
EXP, META = gen.load_expected()

# rmx's JPEG decoder (zune-jpeg) against MXNet's (OpenCV 3.4.2's libjpeg), in levels, measured on
# these fixtures: center crops stay off the last row and column, where the two differ most (see
# test_recordio.py), and are within 3 levels, 0.5 on average.
JPEG_MAX = 3
JPEG_MEAN = 0.5
RESIZE_MAX = 0      # bilinear resampling: the same fixed point as OpenCV 3.4, bit for bit
N = len(gen.IMAGES)

PNG_REC = os.path.join(FIXDIR, "images_png.rec")
PNG_IDX = os.path.join(FIXDIR, "images_png.idx")


def make_iter(case, **over):
    uint8, kw = gen.iter_kwargs(case, FIXDIR)
    kw.update(over)
    cls = mxio.ImageRecordUInt8Iter if uint8 else mxio.ImageRecordIter
    return cls(**kw), kw


def np_of(x):
    return x.asnumpy() if hasattr(x, "asnumpy") else np.asarray(x)


def expected_data(case, b, kw):
    key = "iter/%s/" % case
    if key + "pix/%d" % b in EXP:
        pix = EXP[key + "pix/%d" % b].astype(np.float32)
        mean, mult = EXP[key + "mean"], EXP[key + "mult"]
        return (pix - mean[None, :, None, None]) * mult[None, :, None, None], mult
    d = EXP[key + "data/%d" % b]
    return d, np.ones(d.shape[1], np.float32)


def record_tolerance(case, record):
    """Levels a slot holding `record` may be off by, in this case."""
    stem, kw, _ = gen.ITER_CASES[case]
    tol = 0
    if stem in ("images", "images_multi") and gen.IMAGES[record][2] != ".png":
        tol += JPEG_MAX
    if kw.get("resize", -1) > 0 or case == "upsample":
        tol += RESIZE_MAX
    return tol


def record_of(label):
    label = np.atleast_1d(label)
    return int(round(float(label[0])))


def check_batch_data(case, b, got, labels, kw, n_real):
    want, mult = expected_data(case, b, kw)
    got = np_of(got)
    assert got.shape == want.shape, (case, b, got.shape, want.shape)
    assert got.dtype == want.dtype, (case, b, got.dtype, want.dtype)
    for j in range(n_real):
        tol = record_tolerance(case, record_of(labels[j]))
        diff = np.abs(got[j].astype(np.float64) - want[j].astype(np.float64))
        # in levels: divide each channel's difference by its multiplier
        levels = diff / np.abs(mult.astype(np.float64))[:, None, None]
        slack = 1e-4 if got.dtype != np.uint8 else 0
        assert levels.max() <= tol + slack, \
            "%s batch %d slot %d (record %d): max |diff| %.4g levels > %d" % (
                case, b, j, record_of(labels[j]), levels.max(), tol)
        if tol >= JPEG_MAX:
            assert levels.mean() <= JPEG_MEAN, (case, b, j, levels.mean())


CASES = [c for c in gen.ITER_CASES if gen.ITER_CASES[c][2] > 0]


def run_epochs(case, epochs):
    it, kw = make_iter(case)
    out = []
    for e in range(epochs):
        if e:
            it.reset()
        data, labels, pads = [], [], []
        for batch in it:
            data.append(np_of(batch.data[0]))
            labels.append(np_of(batch.label[0]))
            pads.append(batch.pad)
        out.append((data, labels, pads))
    return it, kw, out


@pytest.mark.parametrize("case", CASES)
def test_matches_mxnet(case):
    """The first epoch: descriptions, records in each batch, pads, pixels."""
    it, kw, [(data, labels, pads)] = run_epochs(case, 1)
    m = META["iter"][case]
    assert [[d.name, list(d.shape), np.dtype(d.dtype).name] for d in it.provide_data] \
        == m["provide_data"]
    assert [[d.name, list(d.shape), np.dtype(d.dtype).name] for d in it.provide_label] \
        == m["provide_label"]
    bs = kw["batch_size"]
    round_batch = kw.get("round_batch", True)
    key = "iter/%s/" % case
    want_labels = EXP[key + "label_e0"]
    want_pads = EXP[key + "pad_e0"].tolist()
    if round_batch:
        got_labels = [lab.tolist() for lab in labels]
    else:
        # MXNet leaves stale data in the tail slots of the last batch (and reports pad 0, see
        # test_round_batch_false_pad): compare the real slots only
        got_labels = [lab[:max(0, min(bs, N - b * bs))].tolist() for b, lab in enumerate(labels)]
        want_labels = [w[:len(g)] for w, g in zip(want_labels, got_labels)]
        want_pads, pads = want_pads[:-1], pads[:-1]
    assert got_labels == [np.asarray(w).tolist() for w in want_labels]
    assert pads == want_pads
    assert len(data) == m["num_batches"]
    for b, d in enumerate(data):
        n_real = bs if round_batch else len(got_labels[b])
        check_batch_data(case, b, d, labels[b], kw, n_real)


@pytest.mark.parametrize("case", ["center", "bs5"])
def test_later_epochs(case, request):
    """After a padded last batch MXNet's next epoch starts after the records that padded it
    (labels [2..5], [6..9], then a full epoch again); rmx starts every epoch at record 0
    (documented in rmx.io.image_record)."""
    if IS_RMX and case == "center":
        request.applymarker(pytest.mark.xfail(
            strict=True, reason="rmx starts every epoch from the first record (documented)"))
    epochs = gen.ITER_CASES[case][2]
    _, _, runs = run_epochs(case, epochs)
    for e in range(1, epochs):
        _, labels, pads = runs[e]
        assert [lab.tolist() for lab in labels] == EXP["iter/%s/label_e%d" % (case, e)].tolist(), e
        # MXNet recycles its DataBatch objects without resetting their pad, so after a padded
        # epoch a full batch now and then reports the old pad (seen once in 30 runs): its later
        # epochs' pads are not reliable enough to compare
        if IS_RMX:
            assert pads == EXP["iter/%s/pad_e%d" % (case, e)].tolist(), e


@pytest.mark.xfail(IS_RMX, strict=True,
                   reason="rmx reports the padded slots with round_batch=False (documented)")
def test_round_batch_false_pad():
    # MXNet sets the batch's size to full before computing the pad: the last batch says pad 0
    _, _, [(_, _, pads)] = run_epochs("no_round", 1)
    assert pads == EXP["iter/no_round/pad_e0"].tolist() == [0, 0, 0]


@rmx_only
def test_rmx_epochs_restart_and_pad_counts():
    _, _, runs = run_epochs("center", 3)
    for _, labels, pads in runs:
        assert [lab.tolist() for lab in labels] == EXP["iter/center/label_e0"].tolist()
        assert pads == [0, 0, 2]
    _, _, [(_, labels, pads)] = run_epochs("no_round", 1)
    assert pads == [0, 0, 2]
    assert labels[-1].tolist() == [8, 9, 0, 1]


def test_random_shapes():
    it, kw = make_iter("random")
    m = META["iter"]["random"]
    shapes = []
    for batch in it:
        d = np_of(batch.data[0])
        shapes.append(list(d.shape))
        assert d.dtype == np.float32
        assert np.all(np.isfinite(d)) and d.min() >= 0 and d.max() <= 255
    assert shapes == m["shapes"]


# --- behaviour ------------------------------------------------------------------------------------

def uint8_png(**kw):
    args = dict(path_imgrec=PNG_REC, path_imgidx=PNG_IDX, data_shape=(3, 32, 32), batch_size=5)
    args.update(kw)
    return mxio.ImageRecordUInt8Iter(**args)


def epoch(it):
    labels, data, pads = [], [], []
    for batch in it:
        labels.append(np_of(batch.label[0]).copy())
        data.append(np_of(batch.data[0]).copy())
        pads.append(batch.pad)
    return labels, data, pads


def reference_crops():
    """record -> its (3, 32, 32) uint8 center crop, from MXNet's uint8_png batches."""
    out = {}
    for b in range(3):
        d = EXP["iter/uint8_png/data/%d" % b]
        lab = EXP["iter/uint8_png/label_e0"][b]
        for j in range(4):
            out[int(lab[j])] = d[j]
    return out


def test_shuffle_seeded():
    crops = reference_crops()
    a = uint8_png(shuffle=True, seed=7)
    b = uint8_png(shuffle=True, seed=7)
    c = uint8_png(shuffle=True, seed=8)
    orders = {}
    for name, it in (("a", a), ("b", b), ("c", c)):
        orders[name] = []
        for e in range(3):
            if e:
                it.reset()
            labels, data, pads = epoch(it)
            assert pads == [0, 0]
            order = [int(x) for x in np.concatenate(labels)]
            assert sorted(order) == list(range(N)), order
            for lab, d in zip(labels, data):
                for j, r in enumerate(lab):
                    np.testing.assert_array_equal(d[j], crops[int(r)])
            orders[name].append(order)
    assert orders["a"] == orders["b"]                       # reproducible from the seed
    assert orders["a"][0] != orders["a"][1] or orders["a"][1] != orders["a"][2]  # per epoch
    assert orders["a"] != orders["c"]                       # the seed matters
    assert orders["a"][0] != list(range(N))


def test_same_batches_any_thread_count():
    for extra in ({}, dict(resize=36)):
        runs = []
        for threads in (1, 2):
            it = mxio.ImageRecordIter(path_imgrec=os.path.join(FIXDIR, "images.rec"),
                                      data_shape=(3, 32, 32), batch_size=3,
                                      preprocess_threads=threads, **extra)
            runs.append(epoch(it))
        (l1, d1, p1), (l2, d2, p2) = runs
        assert p1 == p2
        for a, b in zip(l1, l2):
            np.testing.assert_array_equal(a, b)
        for a, b in zip(d1, d2):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("num_parts", [1, 2, 3, 4, 7])
def test_parts_cover_every_record_once(num_parts):
    nstep = -(-N // num_parts)
    seen = []
    for part in range(num_parts):
        lo, hi = part * nstep, min((part + 1) * nstep, N)
        if lo >= hi:
            continue  # an empty part (MXNet cannot make a batch from it)
        it = uint8_png(num_parts=num_parts, part_index=part, batch_size=2)
        labels, _, pads = epoch(it)
        real = []
        for lab, pad in zip(labels, pads):
            real.extend(int(x) for x in lab[:len(lab) - pad])
        assert real == list(range(lo, hi)), (part, real)
        seen.extend(real)
    assert sorted(seen) == list(range(N))


@pytest.mark.skipif(not IS_RMX, reason="MXNet's reset in the middle of an epoch races its "
                    "prefetcher: about 1 run in 40 the next epoch starts at the third record")
def test_reset_mid_epoch():
    it = uint8_png(batch_size=3)
    first = epoch(it)
    it.reset()
    it2 = uint8_png(batch_size=3)
    next(iter(it2))
    it2.reset()
    again = epoch(it2)
    for a, b in zip(first[0], again[0]):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(first[1], again[1]):
        np.testing.assert_array_equal(a, b)
    assert first[2] == again[2]


def test_batch_objects():
    it, kw = make_iter("multi")
    batch = next(iter(it))
    assert len(batch.data) == 1 and len(batch.label) == 1
    assert batch.data[0].shape == (4, 3, 32, 32) and batch.data[0].dtype == np.float32
    assert batch.label[0].shape == (4, 3) and batch.label[0].dtype == np.float32
    it, kw = make_iter("uint8")
    batch = next(iter(it))
    assert batch.data[0].dtype == np.uint8
    assert batch.label[0].shape == (4,)


def test_missing_file(tmp_path):
    with pytest.raises(mx.base.MXNetError):
        mxio.ImageRecordIter(path_imgrec=str(tmp_path / "nope.rec"), data_shape=(3, 32, 32),
                             batch_size=2)


def _corrupt_rec(tmp_path, bad=3):
    r = recordio.MXRecordIO(os.path.join(FIXDIR, "images.rec"), "r")
    recs = [r.read() for _ in range(N)]
    r.close()
    path = str(tmp_path / "corrupt.rec")
    w = recordio.MXRecordIO(path, "w")
    for i, s in enumerate(recs):
        if i == bad:
            s = recordio.pack(recordio.IRHeader(0, float(i), i, 0),
                              b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + b"\x13" * 200)
        w.write(s)
    w.close()
    return path


@rmx_only
def test_corrupt_jpeg_raises(tmp_path):
    path = _corrupt_rec(tmp_path, bad=3)
    it = mxio.ImageRecordIter(path_imgrec=path, data_shape=(3, 32, 32), batch_size=2)
    with pytest.raises(mx.base.DataError) as err:
        epoch(it)
    msg = str(err.value)
    assert "corrupt.rec" in msg, msg
    assert re.search(r"record 3\b", msg), msg


@rmx_only
def test_skip_corrupt_replaces_and_counts(tmp_path):
    path = _corrupt_rec(tmp_path, bad=3)
    it = mxio.ImageRecordIter(path_imgrec=path, data_shape=(3, 32, 32), batch_size=2,
                              skip_corrupt=True)
    labels = np.concatenate([b.label[0].asnumpy() for b in it])
    # Counted as batches are built: the next epoch's first batches are built ahead, and may
    # have met the bad record again by now.
    assert 3.0 not in labels and it.num_skipped in (1, 2)
    assert labels[:5].tolist() == [0.0, 1.0, 2.0, 4.0, 4.0]


@rmx_only
def test_iterating_after_del_and_threads_stop():
    # In a child process, so that a hang fails the test through the timeout and the thread
    # count is not disturbed by other tests.
    code = textwrap.dedent("""
        import gc, os, sys
        sys.path.insert(0, %r)
        import rmx as mx
        import rmx.io
        def nthreads():
            return len(os.listdir('/proc/self/task'))
        kw = dict(path_imgrec=%r, path_imgidx=%r, data_shape=(3, 32, 32), batch_size=2,
                  preprocess_threads=2)
        # warm up whatever rmx starts once per process, then count
        it = mx.io.ImageRecordIter(**kw)
        next(iter(it))
        del it
        gc.collect()
        base = nthreads()
        for k in range(10):
            it = mx.io.ImageRecordIter(**kw)
            g = iter(it)
            next(g)
            del it            # the iterator lives on through g
            n = sum(1 for _ in g)
            assert n == 4, n
            del g
            it = mx.io.ImageRecordIter(**kw)
            next(iter(it))
            del it            # dropped in the middle of an epoch
            gc.collect()
        import time
        for _ in range(50):
            if nthreads() <= base:
                break
            time.sleep(0.1)
        print("threads", base, nthreads())
        assert nthreads() <= base, (base, nthreads())
    """) % (os.path.join(os.path.dirname(HERE), "python"), PNG_REC, PNG_IDX)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr


def test_gc_between_iterators():
    for _ in range(3):
        it = uint8_png()
        next(iter(it))
        del it
        gc.collect()
