"""``mx.contrib.ndarray``: the ``_contrib_*`` operators on NDArrays, by their short names."""

from ..ndarray import contrib as _contrib

globals().update({k: v for k, v in vars(_contrib).items() if not k.startswith("__")})
