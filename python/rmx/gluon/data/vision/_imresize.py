"""OpenCV 3.4's ``cv::resize`` in NumPy, as MXNet 1.9.1's image operators call it.

MXNet's pip builds resize images with a static OpenCV 3.4.2; reproducing its arithmetic gives
the same pixels. ``imresize(src, w, h, interp)`` takes an (H, W, C) uint8, float32 or float64
array:

- ``interp=0`` (nearest): source index ``min(floor(d * src / dst), src - 1)``;
- ``interp=1`` (bilinear, MXNet's default): half-pixel centres, edge-clamped. uint8 works in
  OpenCV's fixed point: 11-bit weights, a horizontal pass into int32, then a vertical pass with
  the rounding of OpenCV's SIMD loop (``_vertical_u8``); floats are weighted in their own
  precision. An exact 2x downscale is a 2x2 average, as OpenCV switches to INTER_AREA for it
  (floats summed in the order OpenCV's scalar or SIMD loop uses, see ``_half``).

Other methods (bicubic, area, Lanczos) are not implemented and raise ``NotImplementedError``.

    >>> import numpy as np
    >>> from rmx.gluon.data.vision._imresize import imresize
    >>> img = np.arange(12, dtype=np.uint8).reshape(2, 2, 3) * 20
    >>> imresize(img, 3, 1)[..., 0]
    array([[ 60,  90, 120]], dtype=uint8)
"""

import numpy as np

__all__ = ["imresize"]

_DBL_EPSILON = np.finfo(np.float64).eps
_COEF_BITS = 11
_COEF_SCALE = 1 << _COEF_BITS


def imresize(src, w, h, interp=1):
    """``src`` (H, W, C) resized to (h, w, C), with OpenCV 3.4's ``cv::resize`` arithmetic."""
    src = np.asarray(src)
    if src.ndim != 3:
        raise ValueError(f"imresize expects an (H, W, C) image, got shape {src.shape}")
    if src.dtype not in (np.uint8, np.float32, np.float64):
        raise TypeError(f"imresize supports uint8, float32 and float64 images (as OpenCV does here), got {src.dtype}")
    w, h = int(w), int(h)
    if w <= 0 or h <= 0:
        raise ValueError(f"imresize: the output size must be positive, got (w={w}, h={h})")
    src_h, src_w = src.shape[:2]
    if (w, h) == (src_w, src_h):
        return src.copy()
    if interp == 0:
        return _nearest(src, w, h)
    if interp != 1:
        raise NotImplementedError(f"imresize: interpolation {interp} is not implemented in rmx; use 0 (nearest) or 1 (bilinear)")
    scale_x = 1.0 / (w / src_w)
    scale_y = 1.0 / (h / src_h)
    iscale_x, iscale_y = int(np.rint(scale_x)), int(np.rint(scale_y))
    area_fast = abs(scale_x - iscale_x) < _DBL_EPSILON and abs(scale_y - iscale_y) < _DBL_EPSILON
    if area_fast and iscale_x == 2 and iscale_y == 2:
        return _half(src, w, h)
    return _bilinear(src, w, h, scale_x, scale_y)


def _nearest(src, w, h):
    src_h, src_w = src.shape[:2]
    ifx, ify = 1.0 / (w / src_w), 1.0 / (h / src_h)
    xs = np.minimum(np.floor(np.arange(w) * ifx).astype(np.int64), src_w - 1)
    ys = np.minimum(np.floor(np.arange(h) * ify).astype(np.int64), src_h - 1)
    return src[ys[:, None], xs[None, :]]


def _half(src, w, h):
    """An exact 2x downscale: OpenCV's fast INTER_AREA, the mean of each 2x2 block."""
    s = src[: 2 * h, : 2 * w]
    a, b = s[0::2, 0::2], s[0::2, 1::2]
    c, d = s[1::2, 0::2], s[1::2, 1::2]
    if src.dtype == np.uint8:
        total = a.astype(np.int32) + b + c + d
        return ((total + 2) >> 2).astype(np.uint8)
    # OpenCV's scalar loop sums a block left to right, top to bottom; its float32 SIMD loop (one
    # channel: blocks of 4 output pixels, then the scalar tail; four channels: every pixel)
    # adds the rows' pairs first.
    q = src.dtype.type(0.25)
    out = (((a + b) + c) + d) * q
    cn = src.shape[2]
    if src.dtype == np.float32 and cn in (1, 4):
        n = w if cn == 4 else (w // 4) * 4
        out[:, :n] = (((a + b) + (c + d)) * q)[:, :n]
    return out


def _positions(dst_len, scale):
    """OpenCV's source positions: ``f = (float)((d + 0.5) * scale - 0.5)``, split into the
    integer ``floor(f)`` and the float32 fraction."""
    f = ((np.arange(dst_len) + 0.5) * scale - 0.5).astype(np.float32)
    s = np.floor(f).astype(np.int64)
    return s, f - s.astype(np.float32)


def _bilinear(src, w, h, scale_x, scale_y):
    src_h, src_w, cn = src.shape
    sx, fx = _positions(w, scale_x)
    # Columns are clamped with a zero fraction; rows only have their indices clamped.
    low, high = sx < 0, sx >= src_w - 1
    fx[low | high] = 0
    sx = np.clip(sx, 0, src_w - 1)
    sx1 = np.minimum(sx + 1, src_w - 1)
    sy, fy = _positions(h, scale_y)
    sy0, sy1 = np.clip(sy, 0, src_h - 1), np.clip(sy + 1, 0, src_h - 1)
    one = np.float32(1)
    if src.dtype == np.uint8:
        a0 = np.rint((one - fx) * _COEF_SCALE).astype(np.int32)
        a1 = np.rint(fx * _COEF_SCALE).astype(np.int32)
        b0 = np.rint((one - fy) * _COEF_SCALE).astype(np.int64)
        b1 = np.rint(fy * _COEF_SCALE).astype(np.int64)
        s = src.astype(np.int32)
        rows = s[:, sx, :] * a0[None, :, None] + s[:, sx1, :] * a1[None, :, None]  # (src_h, w, cn)
        out = _vertical_u8(rows[sy0].astype(np.int64), rows[sy1].astype(np.int64), b0[:, None, None], b1[:, None, None])
        return out
    # Float images: the weights are float32; the arithmetic is in the image's precision.
    t = src.dtype.type
    a0, a1 = (one - fx).astype(t), fx.astype(t)
    b0, b1 = (one - fy).astype(t), fy.astype(t)
    rows = src[:, sx, :] * a0[None, :, None] + src[:, sx1, :] * a1[None, :, None]
    return rows[sy0] * b0[:, None, None] + rows[sy1] * b1[:, None, None]


def _vertical_u8(r0, r1, b0, b1):
    """The vertical pass of uint8 bilinear resizing: rows ``r0``, ``r1`` (values scaled by 2048)
    weighted by ``b0``, ``b1`` (also scaled by 2048), back to uint8 the way OpenCV's SIMD loop
    does it: 16-bit products keeping their high halves, saturating adds, then ``(v + 2) >> 2``.
    This rounds differently from the exact ``(r0*b0 + r1*b1 + 2**21) >> 22`` of OpenCV's scalar
    code; MXNet 1.9.1's build takes the SIMD rounding for every pixel, row tails included."""
    t0 = np.clip(r0 >> 4, -32768, 32767)
    t1 = np.clip(r1 >> 4, -32768, 32767)
    acc = np.clip(((t0 * b0) >> 16) + ((t1 * b1) >> 16), -32768, 32767)
    out = np.clip(acc + 2, -32768, 32767) >> 2
    return np.clip(out, 0, 255).astype(np.uint8)
