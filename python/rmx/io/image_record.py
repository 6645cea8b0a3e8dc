"""``ImageRecordIter`` and ``ImageRecordUInt8Iter``: MXNet's image iterators over RecordIO files,
run by rmx's Rust data pipeline.

Records are read, decoded (JPEG or PNG), augmented and normalized on a pool of Rust threads
(``preprocess_threads``, at most the machine's cores), straight into the storage of the batch
arrays, up to ``prefetch_buffer`` batches ahead; Python does no per-image work. The parameters
are MXNet 1.9.1's (see ``help(ImageRecordIter)``); where rmx differs it is on purpose:

* every random choice (shuffle order, crops, mirrors, colour jitter) follows ``seed``: the same
  seed gives the same batches whatever the thread count, and each epoch draws a new order;
* parts (``num_parts``/``part_index``) hold ``ceil(n / num_parts)`` records each, as MXNet splits
  an indexed file, with or without the ``.idx`` file;
* the last batch of an epoch is filled from the start of that epoch's order and ``pad`` counts
  those samples, with ``round_batch`` true or false (MXNet reports 0 when it is false), and every
  epoch starts from the first record;
* ``inter_method`` 2-4 and 9 sample bilinearly (MXNet: cubic, area, Lanczos, auto).

>>> import os, tempfile, numpy as np
>>> import rmx as mx
>>> d = tempfile.mkdtemp()
>>> rec = mx.recordio.MXIndexedRecordIO(os.path.join(d, 'im.idx'), os.path.join(d, 'im.rec'), 'w')
>>> for i in range(5):
...     img = np.full((40, 50, 3), 20 * i, dtype=np.uint8)
...     rec.write_idx(i, mx.recordio.pack_img(mx.recordio.IRHeader(0, i, i, 0), img, img_fmt='.png'))
>>> rec.close()
>>> it = mx.io.ImageRecordIter(path_imgrec=os.path.join(d, 'im.rec'), data_shape=(3, 32, 32),
...                            batch_size=2, scale=1.0 / 255)
>>> for batch in it:
...     print(batch.data[0].shape, batch.label[0].asnumpy(), batch.pad)
(2, 3, 32, 32) [0. 1.] 0
(2, 3, 32, 32) [2. 3.] 0
(2, 3, 32, 32) [4. 0.] 1
"""

import logging
import os

import numpy as np

from .. import _rmx
from ..base import FileError, InvalidArgumentError
from ..ndarray.ndarray import _wrap
from ..recordio import _read_text
from .io import MXDataIter
from .native import _bool, _int, _no_positional, _shape

__all__ = ["ImageRecordIter", "ImageRecordUInt8Iter"]

# Numeric parameters passed to the core: name -> parser (MXNet's names and types).
_FLOAT = ("max_shear_ratio", "max_aspect_ratio", "min_aspect_ratio", "max_random_scale",
          "min_random_scale", "max_random_area", "min_random_area", "max_img_size",
          "min_img_size", "brightness", "contrast", "saturation", "pca_noise", "mean_r",
          "mean_g", "mean_b", "mean_a", "std_r", "std_g", "std_b", "std_a", "scale",
          "max_random_contrast", "max_random_illumination")
_INT = ("batch_size", "label_width", "preprocess_threads", "prefetch_buffer", "seed",
        "num_parts", "part_index", "resize", "max_rotate_angle", "rotate", "max_crop_size",
        "min_crop_size", "pad", "fill_value", "random_h", "random_s", "random_l", "inter_method",
        "seed_aug", "shuffle_chunk_size", "shuffle_chunk_seed", "device_id")
_BOOL = ("shuffle", "rand_crop", "random_resized_crop", "rand_mirror", "mirror", "round_batch",
         "verbose", "skip_corrupt")
# Accepted and without effect here (they tune MXNet's own threading and devices).
_IGNORED = ("ctx", "aug_seq", "data_name", "label_name", "dtype", "path_imglist", "path_imgidx",
            "path_imgrec", "data_shape", "mean_img", "rotate_list")


def _parse(kwargs):
    params = {}
    for name, value in kwargs.items():
        if value is None:
            continue
        if name in _FLOAT:
            try:
                params[name] = float(value)
            except (TypeError, ValueError):
                raise InvalidArgumentError("Invalid Parameter format for %s expect float but "
                                           "value='%s'" % (name, value)) from None
        elif name in _INT:
            params[name] = float(_int(name, value))
        elif name in _BOOL:
            params[name] = float(_bool(name, value))
        elif name not in _IGNORED:
            logging.debug("ImageRecordIter: ignoring unknown parameter %s", name)
    return params


def _read_index(path):
    offsets = []
    lines = _read_text(path).split("\n")
    for n, line in enumerate(lines, 1):
        fields = line.split()
        if not fields:
            continue
        if len(fields) < 2 or not fields[1].isdigit():
            raise InvalidArgumentError("%s: line %d: expected key<TAB>offset, found %r"
                                       % (path, n, line))
        offsets.append(int(fields[1]))
    # MXNet's indexed reader sorts the offsets: records are visited in file order.
    return sorted(offsets)


def _read_imglist(path, label_width):
    labels = {}
    for line in _read_text(path).splitlines():
        fields = line.split()
        if len(fields) < 1 + label_width:
            continue
        labels[int(fields[0])] = [float(x) for x in fields[1:1 + label_width]]
    return labels


def _mean_img(path, data_shape):
    from ..ndarray import load
    if not os.path.exists(path):
        raise FileError("mean_img %s does not exist; rmx does not compute mean images (make one "
                        "with mx.nd.save(path, {'mean_img': mean}) of shape %s)"
                        % (path, data_shape))
    arrays = load(path)
    arrays = list(arrays.values()) if isinstance(arrays, dict) else list(arrays)
    if len(arrays) != 1 or tuple(arrays[0].shape) != tuple(data_shape):
        raise InvalidArgumentError("mean_img %s must hold one array of shape %s"
                                   % (path, tuple(data_shape)))
    return [float(x) for x in arrays[0].asnumpy().reshape(-1)]


class ImageRecordIter(MXDataIter):
    """Batches of images from a RecordIO file (``.rec``), decoded and augmented on Rust threads.

    Parameters (MXNet 1.9.1's; keyword only)
    ----------------------------------------
    path_imgrec : str
        The ``.rec`` file (made by ``rmx.tools.im2rec`` or MXNet's ``im2rec.py``): a local path,
        ``s3://bucket/key`` or an ``http(s)://`` URL (read with range requests).
    path_imgidx : str, optional
        Its ``.idx`` file; without one the file is scanned once to find the records.
    path_imglist : str, optional
        An image list (``index label... path``) whose labels replace the records' labels.
    data_shape : tuple
        (channels, height, width) of a sample; 1 channel decodes to gray, 3 to RGB.
    batch_size : int
    label_width : int, default 1
    shuffle : bool, default False
    seed : int, default 0
    num_parts, part_index : int, default 1, 0
        Read only part ``part_index`` of ``num_parts`` (one per worker in distributed training).
    preprocess_threads : int, default 4
        Decoding threads (capped at the machine's cores).
    prefetch_buffer : int, default 4
        Batches prepared ahead.
    round_batch : bool, default True
    resize : int, default -1
        Resize the shorter edge to this before cropping.
    rand_crop, rand_mirror, mirror : bool
    random_resized_crop : bool
        Inception-style crop by area (``min_random_area``..``max_random_area``) and aspect ratio.
    max_random_scale, min_random_scale, max_aspect_ratio, min_aspect_ratio,
    max_rotate_angle, max_shear_ratio, pad, fill_value, max_crop_size, min_crop_size,
    brightness, contrast, saturation, random_h, random_s, random_l, pca_noise : augmentation
    inter_method : int, default 1 (bilinear); 0 nearest
    mean_r, mean_g, mean_b, std_r, std_g, std_b, scale : float
        Output = (pixel - mean) * scale / std, per channel in RGB order.
    mean_img : str, optional
        An NDArray file holding one (C, H, W) mean image.
    data_name, label_name : str
    skip_corrupt : bool, default False (rmx only)
        A record that cannot be read or decoded raises ``DataError`` naming the file and the
        record; with ``skip_corrupt=True`` it is replaced by the next record instead and counted
        in ``num_skipped``.
    """

    _dtype = "float32"

    def __init__(self, *args, **kwargs):
        _no_positional(type(self).__name__, args)
        path = kwargs.get("path_imgrec")
        if not path:
            raise InvalidArgumentError("%s: path_imgrec is required" % type(self).__name__)
        if "data_shape" not in kwargs or "batch_size" not in kwargs:
            raise InvalidArgumentError("%s: data_shape and batch_size are required"
                                       % type(self).__name__)
        shape = _shape("data_shape", kwargs["data_shape"])
        if len(shape) != 3 or shape[0] not in (1, 3) or min(shape) < 1:
            raise InvalidArgumentError("%s: data_shape must be (1 or 3, height, width), not %s"
                                       % (type(self).__name__, shape))
        params = _parse(kwargs)
        dtype = kwargs.get("dtype") or self._dtype
        if params.get("batch_size", 0) < 1:
            raise InvalidArgumentError("value %s for Parameter batch_size should be greater equal "
                                       "to 1" % kwargs["batch_size"])
        offsets = _read_index(kwargs["path_imgidx"]) if kwargs.get("path_imgidx") else None
        label_map = None
        if kwargs.get("path_imglist"):
            label_map = _read_imglist(kwargs["path_imglist"], int(params.get("label_width", 1)))
        mean_img = _mean_img(kwargs["mean_img"], shape) if kwargs.get("mean_img") else None
        rotate_list = [int(x) for x in str(kwargs.get("rotate_list", "")).split(",") if x.strip()]
        self._core = _rmx.ImageRecordCore(os.fspath(path), offsets, shape, params, str(dtype),
                                          label_map, mean_img, rotate_list)
        self._cur = None
        super().__init__(data_name=kwargs.get("data_name", "data"),
                         label_name=kwargs.get("label_name", "softmax_label"))

    def _before_first(self):
        self._core.reset()

    def _next(self):
        got = self._core.next()
        if got is None:
            return False
        data, label, pad, records = got
        self._cur = (_wrap(data), _wrap(label), pad, records)
        return True

    def _value(self):
        return self._cur

    def __len__(self):
        """Batches per epoch."""
        return self._core.num_batches

    @property
    def num_examples(self):
        """Records in this iterator's part."""
        return self._core.num_samples

    @property
    def num_skipped(self):
        """Records skipped so far because they could not be decoded (``skip_corrupt=True``),
        counted as batches are built (including the next epoch's first batches, built ahead)."""
        return self._core.num_skipped

    def __del__(self):
        # Dropping the core stops and joins its threads.
        self._core = None


class ImageRecordUInt8Iter(ImageRecordIter):
    """``ImageRecordIter`` giving the augmented pixels as uint8, without normalization."""

    _dtype = "uint8"
