"""``mx.gluon.ParameterDict``: the named, prefixed collection of parameters a block owns, with
MXNet 1.9.1's ``get``/``get_constant`` (create or share), bulk ``initialize``/``zero_grad`` and the
``save``/``load`` file format of ``mx.nd.save``.
"""

from collections import OrderedDict

import numpy as np

from .. import initializer, ndarray
from ..ndarray.sparse import check_stype
from .parameter import Constant, Parameter
from .utils import _brief_print_list, _indent

__all__ = ["ParameterDict"]


class ParameterDict(object):
    """An ordered dictionary of parameters whose ``get`` creates them under ``prefix``;
    ``shared`` is a dictionary to look names up in first (sharing weights between blocks).

    >>> import rmx as mx
    >>> params = mx.gluon.ParameterDict('net_')
    >>> w = params.get('weight', shape=(2, 2))
    >>> list(params.keys())
    ['net_weight']
    >>> params.get('weight') is w
    True
    """

    def __init__(self, prefix="", shared=None):
        self._prefix = prefix
        self._params = OrderedDict()
        self._shared = shared

    def __repr__(self):
        name = self._prefix + " " if self._prefix else ""
        return "{name}(\n{content}\n)".format(
            name=name, content="\n".join([_indent("  {0}".format(v), 2) for v in self.values()]))

    def __getitem__(self, key):
        return self._params[key]

    def __iter__(self):
        return iter(self._params)

    def __len__(self):
        return len(self._params)

    def __contains__(self, key):
        return key in self._params

    def items(self):
        return self._params.items()

    def keys(self):
        return self._params.keys()

    def values(self):
        return self._params.values()

    @property
    def prefix(self):
        """What ``get`` prepends to the names it is given."""
        return self._prefix

    def _get_impl(self, name):
        if name in self._params:
            return self._params[name]
        if self._shared is not None and name in self._shared._params:
            self._params[name] = self._shared._params[name]
            return self._shared._params[name]
        return None

    def get(self, name, **kwargs):
        """The parameter ``prefix + name``: found here, else in the shared dictionary, else
        created with ``kwargs``. For a found one, ``kwargs`` must agree with it (unknown
        dimensions of its shape are filled in; unset attributes are set). ``stype`` and
        ``grad_stype`` other than ``'default'`` raise ``SparseStorageError``."""
        name = self.prefix + name
        for k in ("stype", "grad_stype"):
            check_stype(f"ParameterDict.get({name!r})", kwargs.get(k), k)
        param = self._get_impl(name)
        if param is None:
            param = Parameter(name, **kwargs)
            self._params[name] = param
            return param
        for k, v in kwargs.items():
            if hasattr(param, k) and getattr(param, k) is not None:
                existing = getattr(param, k)
                if k == "shape" and len(v) == len(existing):
                    inferred, matched = [], True
                    for dim1, dim2 in zip(v, existing):
                        if dim1 != dim2 and dim1 > 0 and dim2 > 0:
                            matched = False
                            break
                        inferred.append(dim2 if dim1 == 0 else dim1)
                    if matched:
                        param._shape = tuple(inferred)
                        continue
                elif k == "dtype" and np.dtype(v) == np.dtype(existing):
                    continue
                assert v is None or v == existing, \
                    "Cannot retrieve Parameter '%s' because desired attribute does not match " \
                    "with stored for attribute '%s': desired '%s' vs stored '%s'." % (
                        name, k, str(v), str(getattr(param, k)))
            else:
                setattr(param, k, v)
        return param

    def get_constant(self, name, value=None):
        """The :class:`Constant` ``prefix + name``, created from ``value`` if absent."""
        name = self.prefix + name
        param = self._get_impl(name)
        if param is None:
            if value is None:
                raise KeyError("No constant named '{}'. Please specify value if you want to "
                               "create a new constant.".format(name))
            param = Constant(name, value)
            self._params[name] = param
        elif value is not None:
            assert isinstance(param, Constant), \
                "Parameter '{}' already exists but it is not a constant.".format(name)
            if isinstance(value, ndarray.NDArray):
                value = value.asnumpy()
            value = np.asarray(value)
            assert param.shape == value.shape and (param.value.asnumpy() == value).all(), \
                "Constant '{}' already exists but it's value doesn't match new value".format(name)
        return param

    def update(self, other):
        """Adds every parameter of ``other`` (a name may not name two different parameters)."""
        for k, v in other.items():
            if k in self._params:
                assert self._params[k] is v, "Cannot update self with other because they have " \
                    "different Parameters with the same name '%s'" % k
        for k, v in other.items():
            self._params[k] = v

    def initialize(self, init=initializer.Uniform(), ctx=None, verbose=False, force_reinit=False):
        """Initializes every parameter (``init`` is the default for those without their own)."""
        if verbose:
            init.set_verbosity(verbose=verbose)
        for _, v in self.items():
            v.initialize(None, ctx, init, force_reinit=force_reinit)

    def zero_grad(self):
        """Sets every gradient buffer to 0."""
        for p in self.values():
            p.zero_grad()

    def reset_ctx(self, ctx):
        """Moves every parameter to ``ctx``."""
        for i in self.values():
            i.reset_ctx(ctx)

    def list_ctx(self):
        """Every context some parameter lives on."""
        s = set()
        for i in self.values():
            s.update(i.list_ctx())
        return list(s)

    def setattr(self, name, value):
        """Sets attribute ``name`` (``grad_req``, ``lr_mult`` ...) of every parameter."""
        for i in self.values():
            setattr(i, name, value)

    def save(self, filename, strip_prefix=""):
        """Writes the parameters (names without ``strip_prefix``) in the NDArray file format."""
        arg_dict = {}
        for param in self.values():
            weight = param._reduce()
            if not param.name.startswith(strip_prefix):
                raise ValueError(
                    "Prefix '%s' is to be striped before saving, but Parameter's name '%s' does "
                    "not start with '%s'. this may be due to your Block shares parameters from "
                    "other Blocks or you forgot to use 'with name_scope()' when creating child "
                    "blocks." % (strip_prefix, param.name, strip_prefix))
            arg_dict[param.name[len(strip_prefix):]] = weight
        ndarray.save(filename, arg_dict)

    def load(self, filename, ctx=None, allow_missing=False, ignore_extra=False, restore_prefix="",
             cast_dtype=False, dtype_source="current"):
        """Loads what ``save`` wrote (names get ``restore_prefix`` in front)."""
        if restore_prefix:
            for name in self.keys():
                assert name.startswith(restore_prefix), \
                    "restore_prefix is '%s' but Parameters name '%s' does not start with '%s'." \
                    % (restore_prefix, name, restore_prefix)
        self.load_dict(ndarray.load(filename), ctx, allow_missing, ignore_extra, restore_prefix,
                       filename, cast_dtype, dtype_source)

    def load_dict(self, param_dict, ctx=None, allow_missing=False, ignore_extra=False,
                  restore_prefix="", filename=None, cast_dtype=False, dtype_source="current"):
        """Loads from a dict of name to NDArray (``arg:``/``aux:`` prefixes dropped)."""
        lprefix = len(restore_prefix)
        loaded = [(k[4:] if k.startswith("arg:") or k.startswith("aux:") else k, v)
                  for k, v in param_dict.items()] if isinstance(param_dict, dict) else param_dict
        arg_dict = {restore_prefix + k: v for k, v in loaded}
        error_str = "file: %s" % (filename) if filename else "param_dict"
        if not allow_missing:
            for name in self.keys():
                assert name in arg_dict, \
                    "Parameter '%s' is missing in %s, which contains parameters: %s. Please make " \
                    "sure source and target networks have the same prefix." % (
                        name[lprefix:], error_str, _brief_print_list(arg_dict.keys()))
        for name in arg_dict:
            if name not in self._params:
                assert ignore_extra, \
                    "Parameter '%s' loaded from %s is not present in ParameterDict, choices are: " \
                    "%s. Set ignore_extra to True to ignore. Please make sure source and target " \
                    "networks have the same prefix." % (
                        name[lprefix:], error_str, _brief_print_list(self._params.keys()))
                continue
            self[name]._load_init(arg_dict[name], ctx, cast_dtype=cast_dtype, dtype_source=dtype_source)
