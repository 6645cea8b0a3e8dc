"""``mx.image``: decoding, resizing, cropping and augmenting images (NDArrays of height, width,
channels), and ``ImageIter``. Decoding and resizing run in rmx's Rust core."""

from . import augmenters, image, iter as _iter
from .augmenters import *  # noqa: F401,F403 - MXNet's flat namespace
from .image import *  # noqa: F401,F403
from .image import _get_interp_method  # noqa: F401
from .iter import ImageIter  # noqa: F401

__all__ = image.__all__ + augmenters.__all__ + ["ImageIter"]
