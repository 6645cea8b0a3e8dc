"""``mx.name``: automatic names for symbols, as MXNet gives them. A ``NameManager`` names an
operator ``<hint><n>`` (``fullyconnected0``, ``_plus1``) with one counter per hint; ``Prefix``
also prepends a prefix. Managers nest with ``with``; ``NameManager.current`` is per thread."""

import threading


class _CurrentMeta(type):
    @property
    def current(cls):
        if not hasattr(NameManager._local, "value"):
            NameManager._local.value = NameManager()
        return NameManager._local.value


class NameManager(metaclass=_CurrentMeta):
    """Names symbols that were not given one."""

    _local = threading.local()

    def __init__(self):
        self._counter = {}
        self._old = None

    def get(self, name, hint):
        """``name`` if given, else ``<hint><count>``."""
        if name:
            return name
        n = self._counter.get(hint, 0)
        self._counter[hint] = n + 1
        return f"{hint}{n}"

    def __enter__(self):
        self._old = NameManager.current
        NameManager._local.value = self
        return self

    def __exit__(self, *exc):
        NameManager._local.value = self._old


class Prefix(NameManager):
    """Prepends ``prefix`` to every name, given or automatic."""

    def __init__(self, prefix):
        super().__init__()
        self._prefix = prefix

    def get(self, name, hint):
        return self._prefix + super().get(name, hint)
