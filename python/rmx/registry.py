"""Registries of named, serializable classes (``mx.registry``), as MXNet 1.x keeps them.

Each base class (``Initializer``, ``EvalMetric``, ``Optimizer`` ...) owns a table from lowercased
names to subclasses. ``get_register_func`` gives the decorator that fills it, ``get_alias_func``
one that adds extra names, and ``get_create_func`` the factory that builds an instance from a name,
an instance, a dict of keyword arguments or the JSON that ``dumps()`` writes
(``'["xavier", {"magnitude": 2}]'`` or ``'{"<nickname>": "xavier", ...}'``).
"""

import json
import warnings

__all__ = ["get_registry", "get_register_func", "get_alias_func", "get_create_func"]

_REGISTRY = {}


class NotRegisteredError(AssertionError, ValueError):
    """A name that no class was registered under (MXNet raises ``AssertionError`` here; this is
    one, and also a ``ValueError``)."""


def _table(base_class):
    return _REGISTRY.setdefault(base_class, {})


def get_registry(base_class):
    """A copy of the name -> class table of ``base_class``."""
    return dict(_table(base_class))


def get_register_func(base_class, nickname):
    """The decorator ``register(klass, name=None)`` for subclasses of ``base_class``.

    The class is stored under ``name`` (default: the class name), lowercased. Registering a name
    twice replaces the earlier class with a ``UserWarning``.
    """
    table = _table(base_class)

    def register(klass, name=None):
        if not (isinstance(klass, type) and issubclass(klass, base_class)):
            raise AssertionError("Can only register subclass of %s" % base_class.__name__)
        key = (klass.__name__ if name is None else name).lower()
        old = table.get(key)
        if old is not None and old is not klass:
            warnings.warn(
                "New %s %s.%s registered with name %s is overriding existing %s %s.%s"
                % (nickname, klass.__module__, klass.__name__, key,
                   nickname, old.__module__, old.__name__),
                UserWarning, stacklevel=2)
        table[key] = klass
        return klass

    register.__doc__ = "Register %s to the %s factory" % (nickname, nickname)
    return register


def get_alias_func(base_class, nickname):
    """The decorator factory ``alias(*names)``: registers the class under each extra name."""
    register = get_register_func(base_class, nickname)

    def alias(*aliases):
        def reg(klass):
            for name in aliases:
                register(klass, name)
            return klass
        return reg

    return alias


def get_create_func(base_class, nickname):
    """The factory ``create(name_or_instance_or_json, *args, **kwargs)`` for ``base_class``."""
    table = _table(base_class)

    def create(*args, **kwargs):
        if args:
            spec, args = args[0], args[1:]
        else:
            spec = kwargs.pop(nickname)

        if isinstance(spec, base_class):
            if args or kwargs:
                raise AssertionError(
                    "%s is already an instance. Additional arguments are invalid" % nickname)
            return spec
        if isinstance(spec, dict):
            return create(**spec)
        if not isinstance(spec, str):
            raise AssertionError("%s must be of string type" % nickname)

        text = spec.lstrip()
        if text.startswith("["):
            if args or kwargs:
                raise AssertionError("no extra arguments with a JSON %s" % nickname)
            name, params = json.loads(text)
            return create(name, **params)
        if text.startswith("{"):
            if args or kwargs:
                raise AssertionError("no extra arguments with a JSON %s" % nickname)
            return create(**json.loads(text))

        key = spec.lower()
        if key not in table:
            raise NotRegisteredError(
                "%s is not registered. Please register with %s.register first" % (key, nickname))
        return table[key](*args, **kwargs)

    create.__doc__ = (
        "Create a %s instance from a name, an instance, a dict or JSON; extra arguments go to "
        "the constructor." % nickname)
    return create
