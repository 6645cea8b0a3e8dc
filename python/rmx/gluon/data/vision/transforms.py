"""Image transforms (``mxnet.gluon.data.vision.transforms``), computed with NumPy.

Each transform is a callable taking an NDArray (or NumPy) image and returning an NDArray on the
input's context. Images are (H x W x C) before ``ToTensor`` and (C x H x W) float32 after it;
most transforms also take a batch with a leading N axis.

    >>> import numpy as np
    >>> import rmx as mx
    >>> from rmx.gluon.data.vision import transforms
    >>> pipeline = transforms.Compose([transforms.Resize(300),
    ...                                transforms.CenterCrop(256),
    ...                                transforms.ToTensor(),
    ...                                transforms.Normalize(0.5, 0.25)])
    >>> image = mx.nd.array(np.random.uniform(0, 255, (224, 224, 3)), dtype='uint8')
    >>> out = pipeline(image)
    >>> out.shape, out.dtype.__name__
    ((3, 256, 256), 'float32')

Deterministic transforms give MXNet 1.9.1's values (resizing reproduces its OpenCV 3.4 arithmetic,
see ``_imresize``). Differences from MXNet:

- these are plain callables, not Gluon ``Block``/``HybridBlock``; ``hybridize()`` is accepted and
  does nothing;
- resizing supports ``interpolation`` 0 (nearest) and 1 (bilinear, the default) only;
- ``RandomFlipLeftRight``/``RandomFlipTopBottom`` draw from Python's ``random`` module (as
  ``RandomResizedCrop`` does in MXNet too), not from MXNet's operator random stream, so
  ``random.seed`` rather than ``mx.random.seed`` makes them repeatable;
- the color jitter, lighting and rotation transforms are not here yet.
"""

import numbers
import random

import numpy as np

from .... import ndarray as nd
from ._imresize import imresize

__all__ = [
    "Compose",
    "Cast",
    "ToTensor",
    "Normalize",
    "Resize",
    "CenterCrop",
    "CropResize",
    "RandomResizedCrop",
    "RandomFlipLeftRight",
    "RandomFlipTopBottom",
    "RandomApply",
]


def _numpy(x):
    return x.asnumpy() if isinstance(x, nd.NDArray) else np.asarray(x)


def _like(out, x):
    """``out`` (NumPy) as an NDArray on ``x``'s context."""
    ctx = x.context if isinstance(x, nd.NDArray) else None
    return nd.array(np.ascontiguousarray(out), ctx=ctx, dtype=out.dtype)


def _pair(size):
    """An int ``size`` as ``(size, size)``; a (W, H) pair as a tuple."""
    if isinstance(size, numbers.Integral):
        return (int(size), int(size))
    return tuple(int(s) for s in size)


class Transform:
    """Base of the transforms here: ``t(x)`` calls ``t.forward(x)``."""

    def __call__(self, x, *args):
        return self.forward(x, *args)

    def forward(self, x, *args):
        raise NotImplementedError

    def hybridize(self, active=True, **kwargs):
        """Accepted for Gluon compatibility; the transforms here have nothing to compile."""

    def __repr__(self):
        args = ", ".join(f"{k.lstrip('_')}={v!r}" for k, v in vars(self).items())
        return f"{type(self).__name__}({args})"


class Compose(Transform):
    """Applies ``transforms`` in order.

    >>> from rmx import nd
    >>> from rmx.gluon.data.vision.transforms import Compose, Cast
    >>> t = Compose([Cast('float16'), Cast('int32')])
    >>> t(nd.array([1.7, 2.2])).asnumpy()
    array([1, 2], dtype=int32)
    """

    def __init__(self, transforms):
        self._transforms = list(transforms)

    def forward(self, x, *args):
        for t in self._transforms:
            x = t(x, *args) if args else t(x)
            args = ()
        return x

    def __getitem__(self, i):
        return self._transforms[i]

    def __len__(self):
        return len(self._transforms)


class Cast(Transform):
    """Casts to ``dtype`` (default ``'float32'``)."""

    def __init__(self, dtype="float32"):
        self._dtype = dtype

    def forward(self, x):
        if isinstance(x, nd.NDArray):
            return x.astype(self._dtype)
        return _like(np.asarray(x).astype(self._dtype), x)


class ToTensor(Transform):
    """(H x W x C) or (N x H x W x C) values in [0, 255] to float32 (C x H x W) or
    (N x C x H x W) in [0, 1], dividing by 255 in float32 as MXNet does.

    >>> from rmx import nd
    >>> from rmx.gluon.data.vision.transforms import ToTensor
    >>> ToTensor()(nd.array([[[0, 51, 255]]], dtype='uint8')).asnumpy()
    array([[[0. ]],
    <BLANKLINE>
           [[0.2]],
    <BLANKLINE>
           [[1. ]]], dtype=float32)
    """

    def forward(self, x):
        a = _numpy(x)
        if a.ndim not in (3, 4):
            raise ValueError(f"ToTensor: input image must have shape (height, width, channels), or (N, height, width, channels) but got {a.shape}")
        out = a.astype(np.float32) / np.float32(255.0)
        out = out.transpose((2, 0, 1) if a.ndim == 3 else (0, 3, 1, 2))
        return _like(out, x)


class Normalize(Transform):
    """``(x[c] - mean[c]) / std[c]`` per channel of a (C x H x W) or (N x C x H x W) tensor
    with 1 or 3 channels; a scalar (or 1-tuple) ``mean``/``std`` applies to every channel. The
    result is float32.

    >>> import numpy as np
    >>> from rmx import nd
    >>> from rmx.gluon.data.vision.transforms import Normalize
    >>> x = nd.array(np.ones((3, 1, 2)))
    >>> Normalize(mean=(0, 1, 2), std=(1, 2, 4))(x).asnumpy()[:, 0, 0]
    array([ 1.  ,  0.  , -0.25], dtype=float32)
    """

    def __init__(self, mean=0.0, std=1.0):
        self._mean = mean
        self._std = std

    def forward(self, x):
        a = _numpy(x).astype(np.float32, copy=False)
        if a.ndim not in (3, 4):
            raise ValueError(f"Normalize: input tensor must have shape (channels, height, width), or (N, channels, height, width), but got {a.shape}")
        channels = a.shape[0] if a.ndim == 3 else a.shape[1]
        if channels not in (1, 3):
            raise ValueError(f"Normalize: the channel dimension must have 1 or 3 elements, but got input with shape {a.shape}")
        mean = self._per_channel(self._mean, channels, "mean", a.shape)
        std = self._per_channel(self._std, channels, "std", a.shape)
        shape = (channels, 1, 1) if a.ndim == 3 else (1, channels, 1, 1)
        return _like((a - mean.reshape(shape)) / std.reshape(shape), x)

    @staticmethod
    def _per_channel(value, channels, name, shape):
        v = np.atleast_1d(np.asarray(value, dtype=np.float32))
        if v.size not in (1, channels):
            raise ValueError(f"Normalize: invalid {name} for input with shape {shape}. {name} must have either 1 or {channels} elements, but got {tuple(v.tolist())}")
        return np.broadcast_to(v, (channels,))


def _resize(a, w, h, interp):
    """Resizes an (H, W, C) or (N, H, W, C) array."""
    if a.ndim == 3:
        return imresize(a, w, h, interp)
    return np.stack([imresize(img, w, h, interp) for img in a])


class Resize(Transform):
    """Resizes an (H x W x C) or (N x H x W x C) image to ``size``: a (W, H) pair, or an int for
    a square, or with ``keep_ratio`` the short edge (the long one scaled with integer division,
    as MXNet does). ``interpolation``: 0 nearest, 1 bilinear (default).

    >>> from rmx import nd
    >>> from rmx.gluon.data.vision.transforms import Resize
    >>> Resize((4, 2))(nd.zeros((8, 8, 3), dtype='uint8')).shape
    (2, 4, 3)
    >>> Resize(4, keep_ratio=True)(nd.zeros((10, 5, 1), dtype='uint8')).shape
    (8, 4, 1)
    """

    def __init__(self, size, keep_ratio=False, interpolation=1):
        self._keep = keep_ratio
        self._size = size
        self._interpolation = interpolation

    def _target(self, h, w):
        if isinstance(self._size, numbers.Integral) or len(self._size) == 1:
            s = int(self._size if isinstance(self._size, numbers.Integral) else self._size[0])
            if s <= 0:
                raise ValueError(f"Resize: size should be greater than 0, but got {s}")
            if not self._keep:
                return s, s
            if h > w:
                return s, h * s // w
            return w * s // h, s
        new_w, new_h = _pair(self._size)
        if new_w <= 0 or new_h <= 0:
            raise ValueError(f"Resize: width and height should be greater than 0, but got {self._size}")
        return new_w, new_h

    def forward(self, x):
        a = _numpy(x)
        if a.ndim not in (3, 4):
            raise ValueError(f"Resize: input image dimension should be 3 or 4 but got {a.ndim}")
        h, w = a.shape[-3], a.shape[-2]
        new_w, new_h = self._target(h, w)
        return _like(_resize(a, new_w, new_h, self._interpolation), x)


def _scale_down(src_size, size):
    """MXNet's ``image.scale_down``: shrinks the crop ``size`` (w, h) to fit ``src_size``,
    keeping its aspect ratio."""
    w, h = size
    sw, sh = src_size
    if sh < h:
        w, h = float(w * sh) / h, sh
    if sw < w:
        w, h = sw, float(h * sw) / w
    return int(w), int(h)


def _fixed_crop(a, x0, y0, w, h, size, interp):
    """MXNet's ``image.fixed_crop`` on an (H, W, C) array: crop, then resize to ``size`` (w, h)
    if given and different."""
    out = a[y0 : y0 + h, x0 : x0 + w]
    if size is not None and (w, h) != tuple(size):
        out = imresize(out, size[0], size[1], interp)
    return out


def _center_crop(a, size, interp):
    h, w = a.shape[:2]
    new_w, new_h = _scale_down((w, h), size)
    x0 = int((w - new_w) / 2)
    y0 = int((h - new_h) / 2)
    return _fixed_crop(a, x0, y0, new_w, new_h, size, interp)


class CenterCrop(Transform):
    """Crops the centre of an (H x W x C) image to ``size`` (an int or a (W, H) pair). A crop
    larger than the image is first shrunk to fit at the same aspect ratio, then resized up.

    >>> import numpy as np
    >>> from rmx import nd
    >>> from rmx.gluon.data.vision.transforms import CenterCrop
    >>> img = nd.array(np.arange(25).reshape(5, 5, 1), dtype='uint8')
    >>> CenterCrop(3)(img).asnumpy()[..., 0]
    array([[ 6,  7,  8],
           [11, 12, 13],
           [16, 17, 18]], dtype=uint8)
    """

    def __init__(self, size, interpolation=1):
        self._size = _pair(size)
        self._interpolation = interpolation

    def forward(self, x):
        return _like(_center_crop(_numpy(x), self._size, self._interpolation), x)


class CropResize(Transform):
    """Crops the (``width`` x ``height``) area at (``x``, ``y``) of an (H x W x C) or
    (N x H x W x C) image, then resizes it to ``size`` (int or (W, H)) if given."""

    def __init__(self, x, y, width, height, size=None, interpolation=None):
        self._x = x
        self._y = y
        self._width = width
        self._height = height
        self._size = size
        self._interpolation = interpolation

    def forward(self, x):
        a = _numpy(x)
        if a.ndim not in (3, 4):
            raise ValueError(f"CropResize: input image dimension should be 3 or 4 but got {a.ndim}")
        h, w = a.shape[-3], a.shape[-2]
        if self._x < 0 or self._y < 0 or self._x + self._width > w or self._y + self._height > h:
            raise ValueError(f"CropResize: the crop (x={self._x}, y={self._y}, width={self._width}, height={self._height}) is outside the {w}x{h} image")
        out = a[..., self._y : self._y + self._height, self._x : self._x + self._width, :]
        if self._size:
            new_w, new_h = _pair(self._size)
            out = _resize(out, new_w, new_h, 1 if self._interpolation is None else self._interpolation)
        return _like(out, x)


class RandomResizedCrop(Transform):
    """Crops a random area (``scale`` of the image's, at an aspect ratio drawn log-uniformly from
    ``ratio``) of an (H x W x C) image and resizes it to ``size``; after 10 failed draws it
    crops the centre. Draws from Python's ``random`` exactly as MXNet's
    ``image.random_size_crop`` does, so a seed gives MXNet's crop.
    """

    def __init__(self, size, scale=(0.08, 1.0), ratio=(3.0 / 4.0, 4.0 / 3.0), interpolation=1):
        self._size = _pair(size)
        self._scale = scale
        self._ratio = ratio
        self._interpolation = interpolation

    def forward(self, x):
        a = _numpy(x)
        h, w = a.shape[:2]
        src_area = h * w
        area = (self._scale, 1.0) if isinstance(self._scale, numbers.Number) else self._scale
        for _ in range(10):
            target_area = random.uniform(area[0], area[1]) * src_area
            log_ratio = (np.log(self._ratio[0]), np.log(self._ratio[1]))
            new_ratio = np.exp(random.uniform(*log_ratio))
            new_w = int(round(np.sqrt(target_area * new_ratio)))
            new_h = int(round(np.sqrt(target_area / new_ratio)))
            if new_w <= w and new_h <= h:
                x0 = random.randint(0, w - new_w)
                y0 = random.randint(0, h - new_h)
                return _like(_fixed_crop(a, x0, y0, new_w, new_h, self._size, self._interpolation), x)
        return _like(_center_crop(a, self._size, self._interpolation), x)


class _RandomFlip(Transform):
    _AXIS = None  # the image axis flipped, counted in (H, W, C)

    def forward(self, x):
        if random.random() < 0.5:
            return x.copy() if isinstance(x, nd.NDArray) else _like(np.asarray(x), x)
        a = _numpy(x)
        axis = self._AXIS + (a.ndim - 3)
        return _like(np.flip(a, axis=axis), x)


class RandomFlipLeftRight(_RandomFlip):
    """Flips an (H x W x C) image (or an N x H x W x C batch, all together) left to right with
    probability 0.5."""

    _AXIS = 1


class RandomFlipTopBottom(_RandomFlip):
    """Flips an (H x W x C) image (or an N x H x W x C batch, all together) top to bottom with
    probability 0.5."""

    _AXIS = 0


class RandomApply(Transform):
    """Applies ``transforms`` (one callable, e.g. a ``Compose``) with probability ``p``."""

    def __init__(self, transforms, p=0.5):
        self.transforms = transforms
        self.p = p

    def forward(self, x):
        if self.p < random.random():
            return x
        return self.transforms(x)
