"""MXNet 1.x's array functions that are Python over registered operators: ``moveaxis``,
``split_v2``, ``histogram``, ``linspace`` and the legacy ``onehot_encode``. ``install`` adds
them to ``mx.nd`` and (those MXNet's ``mx.sym`` has) to ``mx.sym``, over each one's operators.

    >>> import rmx as mx
    >>> x = mx.nd.arange(6)
    >>> [p.asnumpy().tolist() for p in mx.nd.split_v2(x, (2, 3))]
    [[0.0, 1.0], [2.0], [3.0, 4.0, 5.0]]
    >>> counts, edges = mx.nd.histogram(mx.nd.array([0, 1, 2, 3, 4.5]), bins=3, range=(0, 5))
    >>> counts.asnumpy().tolist()
    [2, 2, 1]
    >>> mx.nd.moveaxis(mx.nd.zeros((2, 3, 4)), 0, -1).shape
    (3, 4, 2)
"""

import numbers

from ..base import InvalidArgumentError


def _normalize(axis, ndim, what):
    if not -ndim <= axis < ndim:
        raise InvalidArgumentError(f"moveaxis: {what} {axis} is out of range for {ndim} axes")
    return axis % ndim


def install(namespace, op, symbolic):
    """Defines the functions in ``namespace`` (a module's globals), calling operators through
    ``op(name)``."""

    def split_v2(ary, indices_or_sections, axis=0, squeeze_axis=False):
        """Splits ``ary`` along ``axis`` into equal sections (an int) or at indices (a tuple),
        as NumPy's ``split``."""
        if isinstance(indices_or_sections, numbers.Integral):
            return op("_split_v2")(ary, sections=indices_or_sections, axis=axis, squeeze_axis=squeeze_axis)
        if isinstance(indices_or_sections, (tuple, list)):
            return op("_split_v2")(ary, indices=(0,) + tuple(indices_or_sections), axis=axis, squeeze_axis=squeeze_axis)
        raise InvalidArgumentError(f"split_v2: indices_or_sections must be an int or a tuple of ints, got {type(indices_or_sections).__name__}")

    def histogram(a, bins=10, range=None):  # noqa: A002 (MXNet's name)
        """Counts of ``a``'s elements in ``bins`` equal bins over ``range``, or between the
        edges of an array ``bins``; returns (counts, edges)."""
        if isinstance(bins, numbers.Integral):
            if range is None:
                if symbolic:
                    raise InvalidArgumentError("histogram: a symbol needs range=(lo, hi) with an int bins")
                lo, hi = float(a.min().asscalar()), float(a.max().asscalar())
                range = (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)  # noqa: A001 (NumPy's widening)
            return op("_histogram")(a, bin_cnt=bins, range=tuple(float(v) for v in range))
        return op("_histogram")(a, bins)

    def linspace(start, stop, num, endpoint=True, ctx=None, dtype="float32", **kwargs):
        """``num`` evenly spaced values from ``start`` to ``stop`` (excluded unless ``endpoint``)."""
        if not symbolic:
            kwargs["ctx"] = ctx
        return op("_linspace")(start=start, stop=stop, num=num, endpoint=endpoint, dtype=dtype, **kwargs)

    namespace.update(split_v2=split_v2, histogram=histogram, linspace=linspace)
    if symbolic:
        return

    def moveaxis(tensor, source, destination):
        """``tensor`` with axis ``source`` moved to ``destination``, the others in order."""
        ndim = len(tensor.shape)
        src, dst = _normalize(source, ndim, "source"), _normalize(destination, ndim, "destination")
        order = [i for i in range(ndim) if i != src]
        order.insert(dst, src)
        return op("transpose")(tensor, axes=tuple(order))

    def onehot_encode(indices, out):
        """Writes the one-hot rows of ``indices`` into ``out`` (deprecated; use ``one_hot``)."""
        return op("one_hot")(indices, depth=out.shape[1], dtype=out.dtype, out=out)

    namespace.update(moveaxis=moveaxis, onehot_encode=onehot_encode)
