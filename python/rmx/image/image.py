"""Image functions of ``mx.image`` on NDArrays of (height, width, channels) pixels.

Decoding and resizing run in rmx's Rust core (the same code as ``ImageRecordIter``); crops and
normalization are array slicing. ``interp`` takes MXNet's codes; 0 is nearest and every other
code samples bilinearly (MXNet: 2 cubic, 3 area, 4 Lanczos, 9 auto, 10 random).

>>> import numpy as np, rmx as mx
>>> img = mx.nd.array(np.arange(4 * 6 * 3).reshape(4, 6, 3), dtype='uint8')
>>> mx.image.center_crop(img, (2, 2))[1]
(2, 1, 2, 2)
>>> mx.image.resize_short(img, 8).shape
(8, 12, 3)
"""

import os
import random

import numpy as np

from .. import _rmx
from .. import ndarray as nd
from ..base import FileError, InvalidArgumentError

__all__ = ["imread", "imdecode", "imresize", "scale_down", "copyMakeBorder", "resize_short",
           "fixed_crop", "random_crop", "center_crop", "color_normalize", "random_size_crop"]


def _np(src):
    return src.asnumpy() if isinstance(src, nd.NDArray) else np.asarray(src)


def _uint8_nd(a, out=None):
    a = np.ascontiguousarray(a)
    if out is not None:
        out[:] = nd.array(a, dtype=a.dtype)
        return out
    return nd.array(a, dtype=a.dtype)


def imdecode(buf, flag=1, to_rgb=1, out=None):
    """Decodes JPEG or PNG bytes to a uint8 NDArray of (height, width, 3), or (height, width, 1)
    with ``flag=0`` (gray). ``to_rgb=0`` gives OpenCV's BGR order."""
    if isinstance(buf, str):
        raise ValueError("buf must be bytes, bytearray, a numpy array or an NDArray, not str")
    if isinstance(buf, nd.NDArray):
        buf = buf.asnumpy().astype(np.uint8)
    data = bytes(np.asarray(buf, dtype=np.uint8).tobytes() if isinstance(buf, np.ndarray) else buf)
    channels = 1 if flag == 0 else 3
    pixels, h, w, c = _rmx.imdecode(data, channels)
    img = np.frombuffer(pixels, np.uint8).reshape(h, w, c)
    if c == 3 and not to_rgb:
        img = img[:, :, ::-1]
    return _uint8_nd(img, out)


def imread(filename, flag=1, to_rgb=True, out=None):
    """Reads and decodes an image file (see ``imdecode``)."""
    try:
        with open(os.fspath(filename), "rb") as f:
            data = f.read()
    except OSError as err:
        raise FileError("imread: cannot open %s (%s)" % (filename, err)) from None
    return imdecode(data, flag, to_rgb, out)


def imresize(src, w, h, interp=1, out=None):
    """``src`` (height, width, channels) resized to ``h`` by ``w``."""
    a = _np(src)
    squeeze = a.ndim == 2
    if squeeze:
        a = a[:, :, None]
    dtype = a.dtype
    a8 = np.ascontiguousarray(a.astype(np.uint8) if dtype != np.uint8 else a)
    pixels, nh, nw, c = _rmx.imresize(a8.tobytes(), a8.shape, int(h), int(w), int(interp))
    res = np.frombuffer(pixels, np.uint8).reshape(nh, nw, c).astype(dtype)
    return _uint8_nd(res[:, :, 0] if squeeze else res, out)


def scale_down(src_size, size):
    """Shrinks ``size`` (w, h) to fit in ``src_size`` (w, h), keeping its aspect ratio.

    >>> import rmx as mx
    >>> mx.image.scale_down((640, 480), (720, 120))
    (640, 106)
    """
    w, h = size
    sw, sh = src_size
    if sh < h:
        w, h = float(w * sh) / h, sh
    if sw < w:
        w, h = sw, float(h * sw) / w
    return int(w), int(h)


_BORDERS = {0: "constant", 1: "edge", 2: "symmetric", 3: "wrap", 4: "reflect"}


def copyMakeBorder(src, top, bot, left, right, type=0, value=0.0, values=(), out=None):  # noqa: A002,N802 - MXNet's names
    """Pads ``src`` by ``top``/``bot`` rows and ``left``/``right`` columns (OpenCV's border
    types: 0 constant ``value``, 1 replicate, 2 reflect, 3 wrap, 4 reflect-101)."""
    if type not in _BORDERS:
        raise InvalidArgumentError("copyMakeBorder: border type %r is not one of %s"
                                   % (type, sorted(_BORDERS)))
    a = _np(src)
    widths = ((top, bot), (left, right)) + ((0, 0),) * (a.ndim - 2)
    if type == 0:
        res = np.pad(a, widths, mode="constant", constant_values=0)
        fill = np.asarray(values if len(values) else value, dtype=a.dtype)
        mask = np.ones(res.shape[:2], dtype=bool)
        mask[top:top + a.shape[0], left:left + a.shape[1]] = False
        res[mask] = fill
    else:
        res = np.pad(a, widths, mode=_BORDERS[type])
    return _uint8_nd(res, out)


def _get_interp_method(interp, sizes=()):
    """MXNet's interpolation choice: 9 picks by the sizes (oh, ow, nh, nw), 10 at random."""
    if interp == 9:
        if sizes:
            assert len(sizes) == 4
            oh, ow, nh, nw = sizes
            if nh > oh and nw > ow:
                return 2
            if nh < oh and nw < ow:
                return 3
            return 1
        return 2
    if interp == 10:
        return random.randint(0, 4)
    if interp not in (0, 1, 2, 3, 4):
        raise ValueError("Unknown interp method %d" % interp)
    return interp


def resize_short(src, size, interp=2):
    """Resizes the shorter edge to ``size``, keeping the aspect ratio."""
    h, w = src.shape[0], src.shape[1]
    if h > w:
        new_h, new_w = size * h // w, size
    else:
        new_h, new_w = size, size * w // h
    return imresize(src, new_w, new_h, interp=_get_interp_method(interp, (h, w, new_h, new_w)))


def fixed_crop(src, x0, y0, w, h, size=None, interp=2):
    """The (``w``, ``h``) rectangle at (``x0``, ``y0``), resized to ``size`` (w, h) if given."""
    out = src[y0:y0 + h, x0:x0 + w] if isinstance(src, np.ndarray) else \
        nd.array(_np(src)[y0:y0 + h, x0:x0 + w], dtype=src.dtype)
    if size is not None and (w, h) != size:
        sizes = (h, w, size[1], size[0])
        out = imresize(out, *size, interp=_get_interp_method(interp, sizes))
    return out


def random_crop(src, size, interp=2):
    """A random crop of ``size`` (w, h) (scaled down to fit, then resized back): returns
    ``(image, (x0, y0, w, h))``."""
    h, w = src.shape[0], src.shape[1]
    new_w, new_h = scale_down((w, h), size)
    x0 = random.randint(0, w - new_w)
    y0 = random.randint(0, h - new_h)
    out = fixed_crop(src, x0, y0, new_w, new_h, size, interp)
    return out, (x0, y0, new_w, new_h)


def center_crop(src, size, interp=2):
    """The central crop of ``size`` (w, h): returns ``(image, (x0, y0, w, h))``."""
    h, w = src.shape[0], src.shape[1]
    new_w, new_h = scale_down((w, h), size)
    x0 = int((w - new_w) / 2)
    y0 = int((h - new_h) / 2)
    out = fixed_crop(src, x0, y0, new_w, new_h, size, interp)
    return out, (x0, y0, new_w, new_h)


def color_normalize(src, mean, std=None):
    """``(src - mean) / std``."""
    if mean is not None:
        src = src - mean
    if std is not None:
        src = src / std
    return src


def random_size_crop(src, size, area, ratio, interp=2, **kwargs):
    """A crop of random area (a fraction in ``area``, a number or (min, max)) and aspect ratio
    (log-uniform in ``ratio``), resized to ``size``; a centre crop when 10 tries fail. Returns
    ``(image, (x0, y0, w, h))``."""
    h, w = src.shape[0], src.shape[1]
    src_area = h * w
    if "min_area" in kwargs:
        area = kwargs.pop("min_area")
    assert not kwargs, "unexpected keyword arguments for `random_size_crop`."
    if isinstance(area, (int, float)):
        area = (area, 1.0)
    for _ in range(10):
        target_area = random.uniform(area[0], area[1]) * src_area
        log_ratio = (np.log(ratio[0]), np.log(ratio[1]))
        new_ratio = np.exp(random.uniform(*log_ratio))
        new_w = int(round(np.sqrt(target_area * new_ratio)))
        new_h = int(round(np.sqrt(target_area / new_ratio)))
        if new_w <= w and new_h <= h:
            x0 = random.randint(0, w - new_w)
            y0 = random.randint(0, h - new_h)
            out = fixed_crop(src, x0, y0, new_w, new_h, size, interp)
            return out, (x0, y0, new_w, new_h)
    return center_crop(src, size, interp)
