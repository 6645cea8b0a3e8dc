"""Part of ``rmx.test_utils`` (import from there): downloads and the test data sets MXNet's tests
use (MNIST, CIFAR-10), and ``DummyIter``.

MXNet downloads MNIST into the working directory. rmx first looks for copies already on the
machine: the working directory, ``./data``, ``./data/mnist``, ``$MXNET_HOME/datasets/mnist`` and a
source checkout's ``data/mnist`` (raw or ``.gz``); only when none is there does it download from
MXNet's address, which fails without a network with an error listing where it looked.
"""

import bz2
import gzip
import logging
import os
import shutil
import struct
import urllib.request
import zipfile

import numpy as np

from .base import data_dir
from .io import DataIter

_MNIST_URL = "http://data.mxnet.io/data/mnist/"
_MNIST_FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


def download(url, fname=None, dirname=None, overwrite=False, retries=5):
    """Downloads ``url`` (any scheme ``urllib`` opens, ``file://`` too) to ``fname`` (default: the
    URL's last part) in ``dirname`` (created if needed); an existing file is kept unless
    ``overwrite``. Tries up to ``retries`` times (at least once); returns the file name."""
    assert retries >= 0, "Number of retries should be at least 0"
    if fname is None:
        fname = url.split("/")[-1]
    if dirname is None:
        dirname = os.path.dirname(fname)
    else:
        fname = os.path.join(dirname, fname)
    if dirname:
        os.makedirs(dirname, exist_ok=True)
    if not overwrite and os.path.exists(fname):
        logging.info("%s exists, skipping download", fname)
        return fname
    attempts = max(retries, 1)
    for attempt in range(attempts):
        try:
            with urllib.request.urlopen(url) as response, open(fname, "wb") as f:
                shutil.copyfileobj(response, f)
            break
        except Exception:  # noqa: BLE001 - any failure is retried, the last one raised
            if os.path.exists(fname):
                os.remove(fname)
            left = attempts - attempt - 1
            if left == 0:
                raise
            print(f"download failed, retrying, {left} attempt{'s' if left > 1 else ''} left")
    logging.info("downloaded %s into %s successfully", url, fname)
    return fname


def download_model(model_name, dst_dir="./", meta_info=None):
    """Downloads ``<model_name>-symbol.json`` and ``<model_name>-0000.params`` from the URLs
    ``meta_info[model_name] = {'symbol': url, 'params': url}`` (default: MXNet's ImageNet models
    on data.mxnet.io) into ``dst_dir``; returns ``(path prefix, 0)``, or ``(None, 0)`` for an
    unknown name."""
    base = "http://data.mxnet.io/models/"
    if meta_info is None:
        meta_info = {name: {"symbol": base + path + "-symbol.json", "params": base + path + params}
                     for name, path, params in _MODEL_ZOO}
    meta_info = dict(meta_info)
    if model_name not in meta_info:
        return (None, 0)
    os.makedirs(dst_dir, exist_ok=True)
    meta = dict(meta_info[model_name])
    assert "symbol" in meta, "missing symbol url"
    prefix = os.path.join(dst_dir, model_name)
    download(meta["symbol"], prefix + "-symbol.json")
    assert "params" in meta, "missing parameter file url"
    download(meta["params"], prefix + "-0000.params")
    return (prefix, 0)


# (name, path under data.mxnet.io/models/ without "-symbol.json", parameters file suffix)
_MODEL_ZOO = [
    ("imagenet1k-inception-bn", "imagenet/inception-bn/Inception-BN", "-0126.params"),
    ("imagenet1k-resnet-18", "imagenet/resnet/18-layers/resnet-18", "-0000.params"),
    ("imagenet1k-resnet-34", "imagenet/resnet/34-layers/resnet-34", "-0000.params"),
    ("imagenet1k-resnet-50", "imagenet/resnet/50-layers/resnet-50", "-0000.params"),
    ("imagenet1k-resnet-101", "imagenet/resnet/101-layers/resnet-101", "-0000.params"),
    ("imagenet1k-resnet-152", "imagenet/resnet/152-layers/resnet-152", "-0000.params"),
    ("imagenet1k-resnext-50", "imagenet/resnext/50-layers/resnext-50", "-0000.params"),
    ("imagenet1k-resnext-101", "imagenet/resnext/101-layers/resnext-101", "-0000.params"),
    ("imagenet1k-resnext-101-64x4d", "imagenet/resnext/101-layers/resnext-101-64x4d", "-0000.params"),
    ("imagenet11k-resnet-152", "imagenet-11k/resnet-152/resnet-152", "-0000.params"),
    ("imagenet11k-place365ch-resnet-152", "imagenet-11k-place365-ch/resnet-152", "-0000.params"),
    ("imagenet11k-place365ch-resnet-50", "imagenet-11k-place365-ch/resnet-50", "-0000.params"),
]


def _mnist_dirs():
    """Where a copy of the MNIST idx files may already be, in the order searched."""
    here = os.path.dirname(os.path.abspath(__file__))
    return [os.getcwd(), os.path.join(os.getcwd(), "data"), os.path.join(os.getcwd(), "data", "mnist"),
            os.path.join(data_dir(), "datasets", "mnist"), os.path.normpath(os.path.join(here, "..", "..", "data", "mnist"))]


def _find_mnist(name):
    """The path of a local copy of MNIST file ``name`` (raw or ``.gz``), or ``None``."""
    for d in _mnist_dirs():
        for candidate in (name, name + ".gz"):
            path = os.path.join(d, candidate)
            if os.path.isfile(path):
                return path
    return None


def _fetch_mnist(name):
    """A local copy of ``name`` (see :func:`_find_mnist`), else a download of ``name.gz`` into
    the working directory, as MXNet's ``get_mnist`` does."""
    path = _find_mnist(name)
    if path is not None:
        return path
    try:
        return download(_MNIST_URL + name + ".gz")
    except Exception as e:
        raise OSError(f"MNIST file {name}(.gz) is not in any of {_mnist_dirs()} and could not be downloaded "
                      f"from {_MNIST_URL} ({e}); put the four MNIST idx files in one of those directories") from e


def _open(path):
    return gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")


def get_mnist():
    """MNIST as a dict of NumPy arrays: ``train_data``/``test_data`` float32 ``(N, 1, 28, 28)``
    scaled to ``[0, 1]`` (pixel / 255) and ``train_label``/``test_label`` int8 ``(N,)``."""

    def read(label_name, image_name):
        with _open(_fetch_mnist(label_name)) as f:
            struct.unpack(">II", f.read(8))
            label = np.frombuffer(f.read(), dtype=np.int8)
        with _open(_fetch_mnist(image_name)) as f:
            _, _, rows, cols = struct.unpack(">IIII", f.read(16))
            image = np.frombuffer(f.read(), dtype=np.uint8).reshape(len(label), rows, cols)
        return label, image.reshape(image.shape[0], 1, 28, 28).astype(np.float32) / 255

    train_label, train_data = read("train-labels-idx1-ubyte", "train-images-idx3-ubyte")
    test_label, test_data = read("t10k-labels-idx1-ubyte", "t10k-images-idx3-ubyte")
    return {"train_data": train_data, "train_label": train_label, "test_data": test_data, "test_label": test_label}


def get_mnist_pkl():
    """Makes sure ``data/mnist.pkl.gz`` exists in the working directory (downloaded from
    deeplearning.net, as MXNet does, unless already there)."""
    os.makedirs("data", exist_ok=True)
    if not os.path.exists("data/mnist.pkl.gz"):
        download("http://deeplearning.net/data/mnist/mnist.pkl.gz", dirname="data")


def get_mnist_ubyte():
    """Makes sure the four raw MNIST idx files are in ``./data`` (MXNet's ``get_mnist_iterator``
    reads them there): decompressed from a local copy where one exists, else MXNet's zip is
    downloaded and extracted."""
    os.makedirs("data", exist_ok=True)
    for name in _MNIST_FILES:
        target = os.path.join("data", name)
        source = _find_mnist(name)
        if os.path.exists(target) or source is None:
            continue
        with _open(source) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
    if not all(os.path.exists(os.path.join("data", n)) for n in _MNIST_FILES):
        with zipfile.ZipFile(download("http://data.mxnet.io/mxnet/data/mnist.zip", dirname="data")) as zf:
            zf.extractall("data")


def get_cifar10():
    """Makes sure ``data/cifar/{train,test}.{rec,lst}`` exist (MXNet's zip, downloaded and
    extracted into ``./data`` unless already there)."""
    os.makedirs("data", exist_ok=True)
    wanted = ["train.rec", "test.rec", "train.lst", "test.lst"]
    if not all(os.path.exists(os.path.join("data", "cifar", n)) for n in wanted):
        with zipfile.ZipFile(download("http://data.mxnet.io/mxnet/data/cifar10.zip", dirname="data")) as zf:
            zf.extractall("data")


def get_mnist_iterator(batch_size, input_shape, num_parts=1, part_index=0):
    """``(train, val)`` ``MNISTIter``s over ``./data`` (see :func:`get_mnist_ubyte`); the
    images are flat unless ``input_shape`` has three dimensions."""
    from .io import MNISTIter

    get_mnist_ubyte()
    flat = len(input_shape) != 3
    common = dict(input_shape=input_shape, batch_size=batch_size, flat=flat, num_parts=num_parts, part_index=part_index)
    train = MNISTIter(image="data/train-images-idx3-ubyte", label="data/train-labels-idx1-ubyte", shuffle=True, **common)
    val = MNISTIter(image="data/t10k-images-idx3-ubyte", label="data/t10k-labels-idx1-ubyte", **common)
    return train, val


def get_zip_data(data_dir, url, data_origin_name):  # noqa: F811 - MXNet's parameter name
    """Downloads the zip ``url`` as ``data_dir/data_origin_name`` and extracts it into
    ``data_dir``, unless the zip is already there."""
    path = os.path.join(data_dir, data_origin_name)
    if not os.path.exists(path):
        download(url, dirname=data_dir, overwrite=False)
        with zipfile.ZipFile(path) as zf:
            zf.extractall(path=data_dir)


def get_bz2_data(data_dir, data_name, url, data_origin_name):  # noqa: F811
    """Downloads the bz2 file ``url`` as ``data_dir/data_origin_name``, decompresses it into
    ``data_dir/data_name`` and removes the download, unless ``data_name`` already exists."""
    target = os.path.join(data_dir, data_name)
    origin = os.path.join(data_dir, data_origin_name)
    if not os.path.exists(target):
        download(url, fname=origin, dirname=data_dir, overwrite=False)
        with bz2.BZ2File(origin, "rb") as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.remove(origin)


def get_im2rec_path(home_env="MXNET_HOME"):
    """The path of the ``im2rec.py`` tool: under ``$<home_env>`` (``tools/`` or ``../../tools/``)
    when that variable is set, else rmx's own ``rmx/tools/im2rec.py``; ``IOError`` if absent."""
    root = os.environ[home_env] if home_env in os.environ else os.path.dirname(os.path.abspath(__file__))
    for path in (os.path.join(root, "tools", "im2rec.py"), os.path.join(root, "..", "..", "tools", "im2rec.py")):
        if os.path.isfile(path):
            return path
    raise IOError("Could not find path to tools/im2rec.py")


class DummyIter(DataIter):
    """Gives the first batch of ``real_iter`` forever (never ``StopIteration``), for speed tests.

    >>> import numpy as np
    >>> import rmx as mx
    >>> it = mx.test_utils.DummyIter(mx.io.NDArrayIter(np.arange(8.0).reshape(4, 2), batch_size=2))
    >>> [next(it).data[0].asnumpy()[0].tolist() for _ in range(3)]
    [[0.0, 1.0], [0.0, 1.0], [0.0, 1.0]]
    """

    def __init__(self, real_iter):
        super().__init__(real_iter.batch_size)
        self.real_iter = real_iter
        self.provide_data = real_iter.provide_data
        self.provide_label = real_iter.provide_label
        self.the_batch = next(real_iter)

    def __iter__(self):
        return self

    def next(self):
        """The first batch of the real iterator, every time."""
        return self.the_batch
