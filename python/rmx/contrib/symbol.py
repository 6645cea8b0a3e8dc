"""``mx.contrib.symbol``: the ``_contrib_*`` operators as symbols, by their short names."""

from ..symbol import contrib as _contrib

globals().update({k: v for k, v in vars(_contrib).items() if not k.startswith("__")})
