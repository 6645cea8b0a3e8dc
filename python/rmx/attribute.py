"""``mx.AttrScope``: attributes attached to every symbol made inside a ``with`` block
(``ctx_group`` for model parallelism, ``lr_mult``, any ``__key__``)."""

import threading


class _CurrentMeta(type):
    @property
    def current(cls):
        if not hasattr(AttrScope._local, "value"):
            AttrScope._local.value = AttrScope()
        return AttrScope._local.value


class AttrScope(metaclass=_CurrentMeta):
    _local = threading.local()

    def __init__(self, **kwargs):
        for v in kwargs.values():
            if not isinstance(v, str):
                raise ValueError("attributes need to be strings")
        self._attr = kwargs
        self._old = None

    def get(self, attr):
        """The scope's attributes updated by ``attr``."""
        if not self._attr:
            return dict(attr or {})
        merged = dict(self._attr)
        merged.update(attr or {})
        return merged

    def __enter__(self):
        self._old = AttrScope.current
        merged = dict(self._old._attr)
        merged.update(self._attr)
        self._attr = merged
        AttrScope._local.value = self
        return self

    def __exit__(self, *exc):
        AttrScope._local.value = self._old
