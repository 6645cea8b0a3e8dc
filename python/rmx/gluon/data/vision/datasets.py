"""Vision datasets (``mxnet.gluon.data.vision.datasets``) read from local files.

rmx never downloads: MNIST, FashionMNIST, CIFAR10 and CIFAR100 read the files MXNet would
download, from ``root`` (default ``$MXNET_HOME/datasets/<name>``, ``MXNET_HOME`` defaulting to
``~/.mxnet`` as in MXNet), and raise ``FileNotFoundError`` naming the missing files and where to
put them. Samples are what MXNet returns: ``(image, label)`` with the image a uint8 (H x W x C)
NDArray and the label a NumPy int32 scalar.

    >>> import os, tempfile
    >>> from rmx.gluon.data.vision import MNIST
    >>> try:
    ...     MNIST(root=os.path.join(tempfile.gettempdir(), 'rmx-no-such-dir'))
    ... except FileNotFoundError as e:
    ...     print(str(e).splitlines()[0])
    MNIST: train-images-idx3-ubyte.gz (or train-images-idx3-ubyte) not found in ...

``ImageFolderDataset`` (a folder per class) and ``ImageRecordDataset`` (a RecordIO file made by
im2rec) decode JPEG and PNG with rmx's Rust decoder.
"""

import gzip
import os
import pickle
import struct
import tarfile
import warnings

import numpy as np

from .... import ndarray as nd
from .. import dataset

__all__ = ["MNIST", "FashionMNIST", "CIFAR10", "CIFAR100", "ImageRecordDataset", "ImageFolderDataset"]


def _data_dir():
    """MXNet's ``base.data_dir()``: ``$MXNET_HOME``, else ``~/.mxnet``."""
    return os.getenv("MXNET_HOME", os.path.join(os.path.expanduser("~"), ".mxnet"))


def _missing(dataset_name, wanted, root, files, source):
    listing = "\n".join(f"  {name}" for name in files)
    return FileNotFoundError(
        f"{dataset_name}: {wanted} not found in {root}\n"
        f"rmx does not download datasets. Put these files in that directory (or pass root=):\n{listing}\n"
        f"({source})"
    )


class MNIST(dataset._DownloadedDataset):
    """MNIST handwritten digits (http://yann.lecun.com/exdb/mnist) from its idx files.

    Each sample is an image NDArray of shape (28, 28, 1), uint8, and an int32 label.

    Parameters
    ----------
    root : str, default $MXNET_HOME/datasets/mnist
        The directory holding ``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
        ``t10k-images-idx3-ubyte.gz`` and ``t10k-labels-idx1-ubyte.gz`` (or the same names
        uncompressed, without ``.gz``).
    train : bool, default True
        Whether to load the training or the test set.
    transform : function, default None
        A callback that transforms each sample, for example::

            transform=lambda data, label: (data.astype(np.float32)/255, label)
    """

    _NAME = "MNIST"
    _SOURCE = "the four files of http://yann.lecun.com/exdb/mnist, names as published"

    def __init__(self, root=os.path.join(_data_dir(), "datasets", "mnist"), train=True, transform=None):
        self._train = train
        self._train_data = "train-images-idx3-ubyte.gz"
        self._train_label = "train-labels-idx1-ubyte.gz"
        self._test_data = "t10k-images-idx3-ubyte.gz"
        self._test_label = "t10k-labels-idx1-ubyte.gz"
        super().__init__(root, transform)

    def _find(self, name):
        for candidate in (name, name[: -len(".gz")]):
            path = os.path.join(self._root, candidate)
            if os.path.isfile(path):
                return path
        files = [self._train_data, self._train_label, self._test_data, self._test_label]
        raise _missing(self._NAME, f"{name} (or {name[:-3]})", self._root, files, self._SOURCE)

    def _get_data(self):
        if self._train:
            data_name, label_name = self._train_data, self._train_label
        else:
            data_name, label_name = self._test_data, self._test_label
        data_path, label_path = self._find(data_name), self._find(label_name)
        label = _read_idx(label_path, 2049).astype(np.int32)
        data = _read_idx(data_path, 2051)
        if len(data) != len(label):
            raise ValueError(f"{self._NAME}: {data_name} has {len(data)} images but {label_name} has {len(label)} labels")
        data = data.reshape(data.shape + (1,))
        self._data = nd.array(data, dtype=data.dtype)
        self._label = label


def _read_idx(path, magic):
    """The uint8 array of an idx file (gzip-compressed or not), shape from its header."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as fin:
        head = fin.read(4)
        if len(head) < 4 or struct.unpack(">I", head)[0] != magic:
            raise ValueError(f"{path} is not an idx file with magic number {magic}")
        ndim = magic & 0xFF
        shape = struct.unpack(">" + "I" * ndim, fin.read(4 * ndim))
        data = np.frombuffer(fin.read(), dtype=np.uint8)
    if data.size != int(np.prod(shape)):
        raise ValueError(f"{path}: the header says shape {shape} but the file has {data.size} values")
    return data.reshape(shape)


class FashionMNIST(MNIST):
    """Zalando's Fashion-MNIST (https://github.com/zalandoresearch/fashion-mnist), a drop-in
    replacement of MNIST with the same file names and sample format.

    Parameters
    ----------
    root : str, default $MXNET_HOME/datasets/fashion-mnist
        The directory holding the four idx files (see ``MNIST``).
    train : bool, default True
        Whether to load the training or the test set.
    transform : function, default None
        A callback that transforms each sample.
    """

    _NAME = "FashionMNIST"
    _SOURCE = "the four files of https://github.com/zalandoresearch/fashion-mnist, names as published"

    def __init__(self, root=os.path.join(_data_dir(), "datasets", "fashion-mnist"), train=True, transform=None):
        super().__init__(root, train, transform)


class CIFAR10(dataset._DownloadedDataset):
    """CIFAR10 (https://www.cs.toronto.edu/~kriz/cifar.html).

    Each sample is an image NDArray of shape (32, 32, 3), uint8, and an int32 label.

    Reads the binary version's ``data_batch_1.bin`` ... ``data_batch_5.bin`` and
    ``test_batch.bin`` from ``root`` or its ``cifar-10-batches-bin`` folder, extracting
    ``cifar-10-binary.tar.gz`` from ``root`` first if only the archive is there (as MXNet does
    after downloading it); failing that, the Python version's pickled batches in
    ``cifar-10-batches-py`` (only read files you trust: they are pickles).

    Parameters
    ----------
    root : str, default $MXNET_HOME/datasets/cifar10
        The directory holding the files.
    train : bool, default True
        Whether to load the training or the test set.
    transform : function, default None
        A callback that transforms each sample.
    """

    _NAME = "CIFAR10"
    _ARCHIVE = "cifar-10-binary.tar.gz"
    _BIN_DIR = "cifar-10-batches-bin"
    _PY_DIR = "cifar-10-batches-py"
    _TRAIN = ["data_batch_%d.bin" % i for i in range(1, 6)]
    _TEST = ["test_batch.bin"]
    _LABEL_BYTES = 1

    def __init__(self, root=os.path.join(_data_dir(), "datasets", "cifar10"), train=True, transform=None):
        self._train = train
        super().__init__(root, transform)

    def _label_column(self):
        return 0

    def _py_label_key(self):
        return b"labels"

    def _py_files(self):
        return ["data_batch_%d" % i for i in range(1, 6)] if self._train else ["test_batch"]

    def _read_batch(self, filename):
        record = 3072 + self._LABEL_BYTES
        with open(filename, "rb") as fin:
            raw = np.frombuffer(fin.read(), dtype=np.uint8)
        if raw.size % record:
            raise ValueError(f"{filename}: size {raw.size} is not a multiple of the {record}-byte CIFAR record")
        raw = raw.reshape(-1, record)
        images = raw[:, self._LABEL_BYTES :].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return images, raw[:, self._label_column()].astype(np.int32)

    def _read_py_batch(self, filename):
        with open(filename, "rb") as fin:
            batch = pickle.load(fin, encoding="bytes")
        images = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return images, np.asarray(batch[self._py_label_key()]).astype(np.int32)

    def _locate(self):
        """The list of batch files to read and the reader for them."""
        names = self._TRAIN if self._train else self._TEST
        for folder in (self._root, os.path.join(self._root, self._BIN_DIR)):
            if all(os.path.isfile(os.path.join(folder, n)) for n in names):
                return [os.path.join(folder, n) for n in names], self._read_batch
        archive = os.path.join(self._root, self._ARCHIVE)
        if os.path.isfile(archive):
            with tarfile.open(archive) as tar:
                try:
                    tar.extractall(self._root, filter="data")
                except TypeError:  # Python without extraction filters
                    tar.extractall(self._root)
            return self._locate_extracted(names)
        py_dir = os.path.join(self._root, self._PY_DIR)
        py_names = self._py_files()
        if all(os.path.isfile(os.path.join(py_dir, n)) for n in py_names):
            return [os.path.join(py_dir, n) for n in py_names], self._read_py_batch
        raise _missing(
            self._NAME,
            ", ".join(names),
            self._root,
            self._TRAIN + self._TEST,
            f"the binary version from https://www.cs.toronto.edu/~kriz/cifar.html; the files may also sit in "
            f"{self._BIN_DIR}/, or be left in {self._ARCHIVE}; the python version's {self._PY_DIR}/ is read too",
        )

    def _locate_extracted(self, names):
        for folder in (self._root, os.path.join(self._root, self._BIN_DIR)):
            if all(os.path.isfile(os.path.join(folder, n)) for n in names):
                return [os.path.join(folder, n) for n in names], self._read_batch
        raise FileNotFoundError(f"{self._NAME}: {self._ARCHIVE} in {self._root} does not hold {', '.join(names)}")

    def _get_data(self):
        files, reader = self._locate()
        data, label = zip(*(reader(f) for f in files))
        data = np.ascontiguousarray(np.concatenate(data))
        self._data = nd.array(data, dtype=data.dtype)
        self._label = np.concatenate(label)


class CIFAR100(CIFAR10):
    """CIFAR100 (https://www.cs.toronto.edu/~kriz/cifar.html).

    Each sample is an image NDArray of shape (32, 32, 3), uint8, and an int32 label: the fine
    (100 classes) label with ``fine_label``, else the coarse one (20 super-classes).

    Reads ``train.bin``/``test.bin`` from ``root`` or its ``cifar-100-binary`` folder (or
    ``cifar-100-binary.tar.gz``), else ``cifar-100-python/train``/``test``.

    Parameters
    ----------
    root : str, default $MXNET_HOME/datasets/cifar100
        The directory holding the files.
    fine_label : bool, default False
        Whether to load the fine-grained (100 classes) or coarse-grained (20 super-classes) labels.
    train : bool, default True
        Whether to load the training or the test set.
    transform : function, default None
        A callback that transforms each sample.
    """

    _NAME = "CIFAR100"
    _ARCHIVE = "cifar-100-binary.tar.gz"
    _BIN_DIR = "cifar-100-binary"
    _PY_DIR = "cifar-100-python"
    _TRAIN = ["train.bin"]
    _TEST = ["test.bin"]
    _LABEL_BYTES = 2

    def __init__(self, root=os.path.join(_data_dir(), "datasets", "cifar100"), fine_label=False, train=True, transform=None):
        self._fine_label = fine_label
        super().__init__(root, train, transform)

    def _label_column(self):
        return 0 + self._fine_label

    def _py_label_key(self):
        return b"fine_labels" if self._fine_label else b"coarse_labels"

    def _py_files(self):
        return ["train"] if self._train else ["test"]


class ImageRecordDataset(dataset.RecordFileDataset):
    """Images and labels from a RecordIO file made by im2rec: samples are (uint8 NDArray of
    height x width x channels, label), RGB for ``flag=1``, gray (one channel) for 0."""

    def __init__(self, filename, flag=1, transform=None):
        super().__init__(filename)
        self._flag = flag
        self._transform = transform

    def __getitem__(self, idx):
        from .... import image, recordio
        record = super().__getitem__(idx)
        header, img = recordio.unpack(record)
        img = image.imdecode(img, self._flag)
        label = header.label
        if self._transform is not None:
            return self._transform(img, label)
        return img, label


class ImageFolderDataset(dataset.Dataset):
    """Images in one folder per class::

        root/car/0001.jpg
        root/car/xxxa.jpg
        root/bus/123.jpg

    Labels number the class folders in sorted order. JPEG and PNG files are decoded by rmx's
    Rust decoder (as ``mx.image.imread``).

    Parameters
    ----------
    root : str
        Path to root directory.
    flag : {0, 1}, default 1
        If 0, always convert loaded images to greyscale (1 channel).
        If 1, always convert loaded images to colored (3 channels).
    transform : callable, default None
        A function that takes data and label and transforms them.

    Attributes
    ----------
    synsets : list
        List of class names. ``synsets[i]`` is the name for the integer label ``i``.
    items : list of tuples
        List of all images in (filename, label) pairs.
    """

    def __init__(self, root, flag=1, transform=None):
        self._root = os.path.expanduser(root)
        self._flag = flag
        self._transform = transform
        self._exts = [".jpg", ".jpeg", ".png"]
        self._list_images(self._root)

    def _list_images(self, root):
        self.synsets = []
        self.items = []
        for folder in sorted(os.listdir(root)):
            path = os.path.join(root, folder)
            if not os.path.isdir(path):
                warnings.warn("Ignoring %s, which is not a directory." % path, stacklevel=3)
                continue
            label = len(self.synsets)
            self.synsets.append(folder)
            for filename in sorted(os.listdir(path)):
                filename = os.path.join(path, filename)
                ext = os.path.splitext(filename)[1]
                if ext.lower() not in self._exts:
                    warnings.warn("Ignoring %s of type %s. Only support %s" % (filename, ext, ", ".join(self._exts)))
                    continue
                self.items.append((filename, label))

    def __getitem__(self, idx):
        img = _imread(self.items[idx][0], self._flag)
        label = self.items[idx][1]
        if self._transform is not None:
            return self._transform(img, label)
        return img, label

    def __len__(self):
        return len(self.items)


def _imread(filename, flag):
    """An image file as a uint8 (H x W x C) NDArray: RGB for ``flag=1``, greyscale for 0."""
    from .... import image
    return image.imread(filename, flag=flag)
