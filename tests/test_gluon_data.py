"""rmx.gluon.data against NumPy references and against what MXNet 1.9.1 produced.

`fixtures/gluon_data/mxnet_gluon_data.{json,npz}` were written by
`fixtures/make_gluon_data_fixtures.py` under the real MXNet 1.9.1: transform outputs (inputs are
regenerated here from their seeds), default_batchify_fn, sampler and dataset orders, DataLoader
batches, MNIST sample facts, CIFAR samples from synthetic files, an ImageFolderDataset listing.
The MNIST tests read $RMX_MNIST_DIR, /work/shared/data/mnist or the repository's data/mnist, and
are skipped where none has the files.
"""

import gzip
import hashlib
import io
import json
import multiprocessing
import os
import pickle
import random
import struct
import tarfile
import threading
import time

import numpy as np
import pytest

import rmx as mx
from rmx.gluon import data as gdata
from rmx.gluon.data import vision
from rmx.gluon.data.dataloader import default_batchify_fn
from rmx.gluon.data.vision import transforms as T
from rmx.gluon.data.vision._imresize import imresize

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "gluon_data")
with open(os.path.join(HERE, "mxnet_gluon_data.json")) as _f:
    FIX = json.load(_f)
ARR = dict(np.load(os.path.join(HERE, "mxnet_gluon_data.npz")))


def _mnist_dir():
    for d in (os.environ.get("RMX_MNIST_DIR"), "/work/shared/data/mnist", os.path.join(os.path.dirname(__file__), "..", "data", "mnist")):
        if d and os.path.isfile(os.path.join(d, "train-images-idx3-ubyte.gz")):
            return d
    return None


MNIST_DIR = _mnist_dir()
needs_mnist = pytest.mark.skipif(MNIST_DIR is None, reason="MNIST files not found")


def describe(batch):
    if isinstance(batch, list):
        return [describe(b) for b in batch]
    a = batch.asnumpy()
    return {"type": type(batch).__name__, "shape": list(a.shape), "dtype": a.dtype.name, "values": a.tolist()}


def make_input(shape, dtype, seed):
    rs = np.random.RandomState(seed)
    if dtype == "uint8":
        return rs.randint(0, 256, size=shape).astype(np.uint8)
    return rs.uniform(0, 255, size=shape).astype(dtype)


# --- samplers ------------------------------------------------------------------------------------
def test_sequential_and_filter_samplers():
    assert list(gdata.SequentialSampler(5)) == [0, 1, 2, 3, 4]
    assert list(gdata.SequentialSampler(3, start=7)) == [7, 8, 9] and len(gdata.SequentialSampler(3, 7)) == 3
    f = gdata.FilterSampler(lambda x: x > 2, [5, 1, 3, 0])
    assert list(f) == [0, 2] and len(f) == 2


def test_random_sampler_matches_mxnet():
    np.random.seed(1)
    assert [int(i) for i in gdata.RandomSampler(10)] == FIX["samplers"]["random_seed1"]
    s = gdata.RandomSampler(100)
    assert sorted(int(i) for i in s) == list(range(100)) and len(s) == 100


@pytest.mark.parametrize("mode", ["keep", "discard", "rollover"])
def test_batch_sampler_last_batch(mode):
    bs = gdata.BatchSampler(gdata.SequentialSampler(10), 4, mode)
    for epoch in FIX["samplers"]["batch_" + mode]:
        assert len(bs) == epoch["len"]
        assert [list(map(int, b)) for b in bs] == epoch["batches"]


def test_batch_sampler_bad_mode():
    bs = gdata.BatchSampler(gdata.SequentialSampler(5), 2, "pad")
    with pytest.raises(ValueError, match="last_batch must be one of"):
        list(bs)
    with pytest.raises(ValueError, match="last_batch must be one of"):
        len(bs)


def test_interval_sampler():
    a, b, c = FIX["samplers"]["interval"]
    assert list(gdata.IntervalSampler(13, 3)) == a and len(gdata.IntervalSampler(13, 3)) == 13
    s = gdata.IntervalSampler(13, 3, rollover=False)
    assert list(s) == b and len(s) == len(b)  # MXNet's len() says 13 here
    assert list(gdata.IntervalSampler(6, 6)) == c
    with pytest.raises(AssertionError):
        gdata.IntervalSampler(3, 4)


# --- datasets ------------------------------------------------------------------------------------
def test_dataset_views_match_mxnet():
    fix = FIX["datasets"]
    ds = gdata.SimpleDataset(list(range(10)))
    assert [[list(ds.shard(3, i)), len(ds.shard(3, i))] for i in range(3)] == fix["shard"]
    assert [list(ds.shard(4, i)) for i in range(4)] == fix["shard_4_of_10"]
    assert [list(ds.take(3)), list(ds.take(None)), list(ds.take(20))] == fix["take"]
    assert list(ds.filter(lambda x: x % 3 == 1)) == fix["filter"]
    assert list(ds.transform(lambda x: x * x, lazy=False)) == fix["transform_eager"]
    tf = gdata.ArrayDataset(np.arange(3), [7, 8, 9]).transform_first(lambda x: x + 100)
    assert [[int(v) for v in s] for s in tf] == fix["transform_first"]
    np.random.seed(3)
    assert list(ds.sample(gdata.RandomSampler(10))) == fix["sample_seed3"]
    with pytest.raises(TypeError, match="Invalid sampler type"):
        ds.sample([1, 2])
    with pytest.raises(AssertionError):
        ds.shard(2, 2)


def test_array_dataset():
    arr = gdata.ArrayDataset(mx.nd.arange(5), mx.nd.ones((5, 2)), [10, 11, 12, 13, 14])
    first = arr[2]
    t0, d0, t1, s1, t2 = FIX["datasets"]["array_types"]
    assert type(first[0]).__name__ == t0 and np.asarray(first[0]).dtype.name == d0
    assert isinstance(first[1], mx.nd.NDArray) and list(first[1].shape) == s1 and type(first[2]).__name__ == t2
    assert len(arr) == 5
    single = gdata.ArrayDataset(np.arange(4))
    assert single[3] == 3 and len(single) == 4
    with pytest.raises(AssertionError, match="same length"):
        gdata.ArrayDataset(np.arange(4), [1, 2])


def test_lazy_transform_runs_per_read():
    calls = []
    ds = gdata.SimpleDataset([1, 2, 3]).transform(lambda x: calls.append(x) or x * 10)
    assert calls == [] and ds[1] == 20 and ds[1] == 20 and calls == [2, 2]
    pairs = gdata.SimpleDataset([(1, "a"), (2, "b")]).transform(lambda x, y: (y, x))
    assert pairs[0] == ("a", 1)


# --- batchify ------------------------------------------------------------------------------------
def test_default_batchify_matches_mxnet():
    fix = FIX["batchify"]
    f = default_batchify_fn
    assert describe(f([mx.nd.array(np.full((2, 3), i), dtype="uint8") for i in range(3)])) == fix["ndarrays"]
    assert describe(f([(np.arange(2, dtype=np.float32) + i, i) for i in range(3)])) == fix["tuple_np_int"]
    assert describe(f([0.5, 1.5, 2.5])) == fix["python_floats"]
    assert describe(f([np.int32(i) for i in range(4)])) == fix["np_int32"]
    assert describe(f([(mx.nd.ones((2,)) * i, (np.float64(i), np.int64(-i))) for i in range(2)])) == fix["nested"]
    assert describe(f([np.ones((2, 2), dtype=np.int8) * i for i in range(3)])) == fix["numpy_arrays"]


# --- DataLoader ----------------------------------------------------------------------------------
def small_dataset():
    return gdata.ArrayDataset(np.arange(10, dtype=np.float32).reshape(5, 2), np.arange(5, dtype=np.int32))


@pytest.mark.parametrize("mode", ["keep", "discard", "rollover"])
def test_loader_batches_match_mxnet(mode):
    dl = gdata.DataLoader(small_dataset(), batch_size=2, last_batch=mode)
    for epoch in FIX["loader"][mode]:
        assert len(dl) == epoch["len"]
        assert [[describe(d), describe(l)] for d, l in dl] == epoch["batches"]


def test_loader_shuffle_matches_mxnet():
    np.random.seed(7)
    dl = gdata.DataLoader(small_dataset(), batch_size=2, shuffle=True)
    assert [l.asnumpy().tolist() for _, l in dl] == FIX["loader"]["shuffle_seed7"]


def test_loader_argument_checks():
    ds = small_dataset()
    with pytest.raises(ValueError, match="batch_size must be specified"):
        gdata.DataLoader(ds)
    with pytest.raises(ValueError, match="shuffle must not be specified"):
        gdata.DataLoader(ds, 2, shuffle=True, sampler=gdata.SequentialSampler(5))
    bs = gdata.BatchSampler(gdata.SequentialSampler(5), 2)
    with pytest.raises(ValueError, match="must not be specified if batch_sampler"):
        gdata.DataLoader(ds, 2, batch_sampler=bs)
    dl = gdata.DataLoader(ds, batch_sampler=bs, batchify_fn=lambda samples: [int(s[1]) for s in samples])
    assert list(dl) == [[0, 1], [2, 3], [4]] and len(dl) == 3


def test_loader_pin_memory_and_auto_reload():
    dl = gdata.DataLoader(small_dataset(), batch_size=4, pin_memory=True)
    data, label = next(iter(dl))
    assert data.context == mx.cpu_pinned(0) and label.context == mx.cpu_pinned(0)
    seen = []
    ds = gdata.SimpleDataset([1, 2, 3]).transform(lambda x: seen.append(x) or x)
    dl = gdata.DataLoader(ds, batch_size=3, num_workers=1, thread_pool=True, auto_reload=True)
    deadline = time.time() + 5
    while len(seen) < 3 and time.time() < deadline:  # prefetched at construction
        time.sleep(0.01)
    assert sorted(seen) == [1, 2, 3]
    assert [b.asnumpy().tolist() for b in dl] == [[1, 2, 3]]
    dl.clean()


class Squares(gdata.Dataset):
    """A picklable dataset (process workers import it): sample i is (i*i as an NDArray, i);
    index ``fail_at`` raises ValueError, index ``die_at`` kills its worker process."""

    def __init__(self, n=23, fail_at=None, die_at=None, sleep=0.0):
        self.n, self.fail_at, self.die_at, self.sleep = n, fail_at, die_at, sleep

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if self.sleep:
            time.sleep(self.sleep)
        if i == self.fail_at:
            raise ValueError(f"bad sample {i}")
        if i == self.die_at:
            os._exit(3)
        return mx.nd.array([i * i, -i], dtype="float32"), np.int32(i)


def _batches(loader):
    return [(d.asnumpy(), l.asnumpy()) for d, l in loader]


def _same(a, b):
    assert len(a) == len(b)
    for (d0, l0), (d1, l1) in zip(a, b):
        assert d0.dtype == d1.dtype and l0.dtype == l1.dtype
        np.testing.assert_array_equal(d0, d1)
        np.testing.assert_array_equal(l0, l1)


def _worker_processes():
    return [p for p in multiprocessing.active_children() if p.name.startswith("rmx-DataLoader-worker")]


def _worker_threads():
    return [t for t in threading.enumerate() if t.name.startswith("rmx-DataLoader-thread")]


def test_thread_workers_match_serial_and_stop():
    ds = Squares()
    serial = _batches(gdata.DataLoader(ds, batch_size=4, last_batch="keep"))
    _same(serial, _batches(gdata.DataLoader(ds, batch_size=4, num_workers=2, thread_pool=True)))
    _same(serial, _batches(gdata.DataLoader(ds, batch_size=4, num_workers=2, thread_pool=True, prefetch=0)))
    loader = gdata.DataLoader(ds, batch_size=4, num_workers=2, thread_pool=True)
    it = iter(loader)
    next(it)
    assert len(_worker_threads()) >= 2
    del it  # dropping a half-read iterator stops its workers
    deadline = time.time() + 5
    while _worker_threads() and time.time() < deadline:
        time.sleep(0.01)
    assert _worker_threads() == []


def test_thread_worker_exception_names_index():
    loader = gdata.DataLoader(Squares(fail_at=9), batch_size=4, num_workers=2, thread_pool=True)
    with pytest.raises(ValueError, match="bad sample 9") as info:
        list(loader)
    assert any("sample index 9" in n for n in getattr(info.value, "__notes__", []))


def test_thread_worker_timeout():
    loader = gdata.DataLoader(Squares(n=4, sleep=1.0), batch_size=2, num_workers=1, thread_pool=True, timeout=0.2)
    with pytest.raises(multiprocessing.TimeoutError, match="timed out"):
        list(loader)


def test_process_workers():
    """One spawn-heavy test: batches equal the serial ones, a half-read iterator's processes stop
    when it is dropped, a worker's exception surfaces with its index, a dead worker is reported."""
    ds = Squares()
    serial = _batches(gdata.DataLoader(ds, batch_size=4))
    loader = gdata.DataLoader(ds, batch_size=4, num_workers=2, timeout=60)
    _same(serial, _batches(loader))
    assert _worker_processes() == []  # exhausted: workers joined

    it = iter(gdata.DataLoader(Squares(fail_at=13), batch_size=4, num_workers=2, timeout=60))
    np.testing.assert_array_equal(next(it)[1].asnumpy(), [0, 1, 2, 3])
    assert len(_worker_processes()) == 2
    with pytest.raises(ValueError, match="bad sample 13") as info:
        list(it)
    assert any("sample index 13" in n for n in getattr(info.value, "__notes__", []))
    assert "bad sample 13" in str(info.value.__cause__)  # the worker's traceback
    assert _worker_processes() == []

    it = iter(gdata.DataLoader(Squares(die_at=2), batch_size=4, num_workers=1, timeout=60))
    with pytest.raises(RuntimeError, match="exited unexpectedly"):
        next(it)
    del it
    assert _worker_processes() == []


def test_process_workers_need_a_picklable_dataset():
    loader = gdata.DataLoader(gdata.SimpleDataset([1, 2]).transform(lambda x: x), batch_size=1, num_workers=1)
    with pytest.raises(Exception) as info:
        list(loader)
    assert any("thread_pool=True" in n for n in getattr(info.value, "__notes__", []))
    assert _worker_processes() == []


# --- MNIST, FashionMNIST, CIFAR, ImageFolderDataset ------------------------------------------------
@needs_mnist
@pytest.mark.parametrize("train", [True, False])
def test_mnist_matches_mxnet(train):
    fix = FIX["mnist"]["train" if train else "test"]
    ds = vision.MNIST(root=MNIST_DIR, train=train)
    assert len(ds) == fix["len"] == (60000 if train else 10000)
    samples = [ds[i] for i in fix["indices"]]
    img, label = samples[0]
    assert type(img).__name__ == fix["image_type"] == "NDArray"
    assert list(img.shape) == fix["image_shape"] == [28, 28, 1] and np.dtype(img.dtype).name == fix["image_dtype"] == "uint8"
    assert type(label).__name__ == fix["label_type"] and np.asarray(label).dtype.name == fix["label_dtype"] == "int32"
    assert [int(s[1]) for s in samples] == fix["labels"]
    assert [int(s[0].asnumpy().astype(np.int64).sum()) for s in samples] == fix["sums"]
    assert type(ds._label).__name__ == fix["label_array_type"]


def _write_idx(path, array, magic):
    payload = struct.pack(">I", magic) + struct.pack(">" + "I" * array.ndim, *array.shape) + array.astype(np.uint8).tobytes()
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(payload)


def test_mnist_files_and_errors(tmp_path):
    images = np.random.RandomState(0).randint(0, 256, size=(3, 28, 28)).astype(np.uint8)
    labels = np.array([7, 0, 9], dtype=np.uint8)
    # uncompressed names, as some copies of MNIST have them
    _write_idx(str(tmp_path / "t10k-images-idx3-ubyte"), images, 2051)
    _write_idx(str(tmp_path / "t10k-labels-idx1-ubyte"), labels, 2049)
    ds = vision.FashionMNIST(root=str(tmp_path), train=False, transform=lambda x, y: (x.astype("float32") / 255, y + 1))
    x, y = ds[2]
    assert len(ds) == 3 and x.dtype == np.float32 and x.shape == (28, 28, 1) and y == 10
    np.testing.assert_allclose(x.asnumpy()[..., 0], images[2] / np.float32(255), rtol=1e-6)
    with pytest.raises(FileNotFoundError) as info:
        vision.MNIST(root=str(tmp_path), train=True)
    msg = str(info.value)
    assert str(tmp_path) in msg and "train-images-idx3-ubyte.gz" in msg and "t10k-labels-idx1-ubyte.gz" in msg and "does not download" in msg
    _write_idx(str(tmp_path / "train-images-idx3-ubyte.gz"), images, 2049)  # wrong magic
    _write_idx(str(tmp_path / "train-labels-idx1-ubyte.gz"), labels, 2049)
    with pytest.raises(ValueError, match="magic number 2051"):
        vision.MNIST(root=str(tmp_path))


def _cifar_bytes(records, label_bytes, seed):
    rs = np.random.RandomState(seed)
    return rs.randint(0, 256, size=(records, 3072 + label_bytes)).astype(np.uint8).tobytes()


def _check_cifar(ds, fix):
    assert len(ds) == fix["len"]
    assert [int(ds[i][1]) for i in range(len(ds))] == fix["labels"]
    assert np.asarray(ds[0][1]).dtype.name == fix["label_dtype"] == "int32"
    assert list(ds[0][0].shape) == fix["image_shape"] and np.dtype(ds[0][0].dtype).name == fix["image_dtype"]
    stacked = np.stack([ds[i][0].asnumpy() for i in range(len(ds))])
    assert hashlib.sha256(stacked.tobytes()).hexdigest() == fix["sha256"]


def test_cifar_binary_matches_mxnet(tmp_path):
    fix = FIX["cifar"]
    d10, d100 = tmp_path / "c10", tmp_path / "c100" / "cifar-100-binary"
    d10.mkdir()
    d100.mkdir(parents=True)
    for name, n, seed in fix["files10"]:
        (d10 / name).write_bytes(_cifar_bytes(n, 1, seed))
    for name, n, seed in fix["files100"]:
        (d100 / name).write_bytes(_cifar_bytes(n, 2, seed))
    _check_cifar(vision.CIFAR10(root=str(d10)), fix["cifar10_train"])
    _check_cifar(vision.CIFAR10(root=str(d10), train=False), fix["cifar10_test"])
    for fine in (False, True):
        for train in (True, False):
            name = "cifar100_%s_%s" % ("train" if train else "test", "fine" if fine else "coarse")
            _check_cifar(vision.CIFAR100(root=str(tmp_path / "c100"), train=train, fine_label=fine), fix[name])


def test_cifar_archive_and_python_version(tmp_path):
    fix = FIX["cifar"]
    # only the archive: extracted on first use, as MXNet does after its download
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, n, seed in fix["files10"]:
            blob = _cifar_bytes(n, 1, seed)
            info = tarfile.TarInfo("cifar-10-batches-bin/" + name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "cifar-10-binary.tar.gz").write_bytes(buf.getvalue())
    _check_cifar(vision.CIFAR10(root=str(tmp_path / "a"), train=False), fix["cifar10_test"])
    # the python version's pickled batches
    py = tmp_path / "b" / "cifar-10-batches-py"
    py.mkdir(parents=True)
    for (name, n, seed), py_name in zip(fix["files10"], ["data_batch_%d" % i for i in range(1, 6)] + ["test_batch"]):
        raw = np.frombuffer(_cifar_bytes(n, 1, seed), dtype=np.uint8).reshape(n, 3073)
        with open(py / py_name, "wb") as f:
            pickle.dump({b"data": raw[:, 1:], b"labels": raw[:, 0].tolist()}, f)
    _check_cifar(vision.CIFAR10(root=str(tmp_path / "b")), fix["cifar10_train"])
    with pytest.raises(FileNotFoundError, match="data_batch_1.bin"):
        vision.CIFAR10(root=str(tmp_path / "nothing"))


def test_image_folder_dataset(tmp_path):
    for cls, files in (("zebra", ["b.png", "a.JPG", "c.txt"]), ("ant", ["x.jpeg"]), ("empty", [])):
        (tmp_path / cls).mkdir()
        for f in files:
            (tmp_path / cls / f).write_bytes(b"")
    (tmp_path / "stray.png").write_bytes(b"")
    with pytest.warns(UserWarning):
        ds = vision.ImageFolderDataset(str(tmp_path))
    assert ds.synsets == FIX["folder"]["synsets"]
    assert [[os.path.relpath(p, tmp_path), label] for p, label in ds.items] == FIX["folder"]["items"]
    rgb = np.random.RandomState(0).randint(0, 256, size=(5, 4, 3)).astype(np.uint8)
    # rmx decodes with its own decoder; pack_img takes OpenCV's BGR order.
    png = mx.recordio.unpack(mx.recordio.pack_img((0, 0, 0, 0), rgb[:, :, ::-1], img_fmt=".png"))[1]
    (tmp_path / "zebra" / "b.png").write_bytes(png)
    img, label = ds[ds.items.index((str(tmp_path / "zebra" / "b.png"), 2))]
    assert img.dtype == np.uint8 and label == 2
    np.testing.assert_array_equal(img.asnumpy(), rgb)
    gray = vision.ImageFolderDataset(str(tmp_path), flag=0)[2][0]
    assert gray.shape == (5, 4, 1)


def test_record_file_and_image_record_datasets(tmp_path):
    rec, idx = str(tmp_path / "d.rec"), str(tmp_path / "d.idx")
    w = mx.recordio.MXIndexedRecordIO(idx, rec, "w")
    imgs = [np.random.RandomState(i).randint(0, 256, size=(6, 7, 3)).astype(np.uint8) for i in range(4)]
    for i, im in enumerate(imgs):
        w.write_idx(i, mx.recordio.pack_img((0, float(10 + i), i, 0), im[:, :, ::-1], img_fmt=".png"))
    w.close()
    raw = gdata.RecordFileDataset(rec)
    assert len(raw) == 4 and mx.recordio.unpack(raw[2])[0].label == 12.0
    ds = vision.ImageRecordDataset(rec)
    img, label = ds[3]
    np.testing.assert_array_equal(img.asnumpy(), imgs[3])
    assert label == 13.0
    loader = gdata.DataLoader(ds.transform_first(lambda x: x.astype("float32")), batch_size=2)
    assert [b[1].asnumpy().tolist() for b in loader] == [[10.0, 11.0], [12.0, 13.0]]


# --- transforms ----------------------------------------------------------------------------------
def _build(spec):
    name, args, kwargs = spec
    args = [tuple(a) if isinstance(a, list) else a for a in args]
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    return getattr(T, name)(*args, **kwargs)


@pytest.mark.parametrize("case", FIX["transforms"]["cases"], ids=lambda c: c["name"])
def test_transform_matches_mxnet(case):
    x = mx.nd.array(make_input(tuple(case["shape"]), case["dtype"], case["seed"]), dtype=case["dtype"])
    out = _build(case["spec"])(x)
    assert isinstance(out, mx.nd.NDArray)
    got = out.asnumpy()
    assert list(got.shape) == case["out_shape"] and got.dtype.name == case["out_dtype"]
    if "sha256" in case:
        assert hashlib.sha256(np.ascontiguousarray(got).tobytes()).hexdigest() == case["sha256"]
    else:
        np.testing.assert_array_equal(got, ARR["t_" + case["name"]])


def test_random_resized_crop_matches_mxnet_with_seed():
    fix = FIX["transforms"]["random_resized_crop"]
    x = mx.nd.array(make_input(tuple(fix["shape"]), fix["dtype"], fix["seed"]), dtype=fix["dtype"])
    t = T.RandomResizedCrop(fix["size"])
    for s in fix["seeds"]:
        random.seed(s)
        np.testing.assert_array_equal(t(x).asnumpy(), ARR["rrc_%d" % s])


def test_totensor_and_normalize_against_numpy():
    a = np.random.RandomState(0).randint(0, 256, size=(2, 6, 5, 3)).astype(np.uint8)
    out = T.ToTensor()(mx.nd.array(a, dtype="uint8")).asnumpy()
    np.testing.assert_array_equal(out, a.transpose(0, 3, 1, 2).astype(np.float32) / np.float32(255))
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    norm = T.Normalize(mean, std)(mx.nd.array(out)).asnumpy()
    ref = (out - np.float32(mean).reshape(1, 3, 1, 1)) / np.float32(std).reshape(1, 3, 1, 1)
    np.testing.assert_array_equal(norm, ref)
    with pytest.raises(ValueError, match="1 or 3 elements"):
        T.Normalize((0, 0), 1)(mx.nd.zeros((3, 2, 2)))
    with pytest.raises(ValueError, match="channel"):
        T.Normalize()(mx.nd.zeros((2, 2, 2)))


def test_resize_nearest_against_numpy():
    a = make_input((9, 13, 2), "uint8", 5)
    out = imresize(a, 20, 4, interp=0)
    ys = np.minimum((np.arange(4) * (9 / 4)).astype(int), 8)
    xs = np.minimum((np.arange(20) * (13 / 20)).astype(int), 12)
    np.testing.assert_array_equal(out, a[ys][:, xs])
    with pytest.raises(NotImplementedError, match="interpolation 2"):
        imresize(a, 4, 4, interp=2)


def test_resize_bilinear_against_float_reference():
    """The uint8 fixed-point path stays within 1 of exact half-pixel bilinear interpolation."""
    a = make_input((11, 17, 3), "uint8", 6)
    out = imresize(a, 29, 7).astype(np.float64)

    def coords(dst, src):
        f = np.clip((np.arange(dst) + 0.5) * src / dst - 0.5, 0, src - 1)
        i0 = np.floor(f).astype(int)
        return i0, np.minimum(i0 + 1, src - 1), f - i0

    y0, y1, fy = coords(7, 11)
    x0, x1, fx = coords(29, 17)
    af = a.astype(np.float64)
    rows = af[:, x0] * (1 - fx)[None, :, None] + af[:, x1] * fx[None, :, None]
    ref = rows[y0] * (1 - fy)[:, None, None] + rows[y1] * fy[:, None, None]
    assert np.abs(out - ref).max() <= 1.0


def test_resize_rounds_as_opencv_simd():
    """Between 255 and 0 at weight 0.5, OpenCV's SIMD vertical pass truncates its two 16-bit
    products and gives 127 where exact rounding gives 128 (127.5); MXNet's build shows the SIMD
    result everywhere."""
    a = np.array([[[255], [0]], [[0], [255]]], dtype=np.uint8)
    out = imresize(a, 3, 3)[..., 0]
    assert out.tolist() == [[255, 127, 0], [128, 128, 128], [0, 127, 255]]
def test_random_flips_and_compose():
    a = make_input((4, 5, 3), "uint8", 7)
    x = mx.nd.array(a, dtype="uint8")
    for t, ref in ((T.RandomFlipLeftRight(), a[:, ::-1]), (T.RandomFlipTopBottom(), a[::-1])):
        random.seed(0)
        outs = [t(x).asnumpy() for _ in range(40)]
        flipped = sum(np.array_equal(o, ref) for o in outs)
        assert all(np.array_equal(o, ref) or np.array_equal(o, a) for o in outs) and 5 < flipped < 35
    batch = np.stack([a, a])
    random.seed(1)
    outs = [T.RandomFlipLeftRight()(mx.nd.array(batch, dtype="uint8")).asnumpy() for _ in range(10)]
    assert any(np.array_equal(o, batch[:, :, ::-1]) for o in outs)
    pipeline = T.Compose([T.Resize(8), T.CenterCrop(6), T.ToTensor(), T.Cast("float16")])
    out = pipeline(x)
    assert out.shape == (3, 6, 6) and out.dtype == np.float16 and len(pipeline) == 4
    pipeline.hybridize()
    random.seed(2)
    never = T.RandomApply(T.Cast("int32"), p=0.0)
    assert never(x).dtype == np.uint8 and T.RandomApply(T.Cast("int32"), p=1.0)(x).dtype == np.int32
