"""Weight initializers (``mx.init`` / ``mx.initializer``), as in MXNet 1.9.1.

An initializer is called as ``init(desc, arr)`` and fills the NDArray ``arr`` in place.

* With an :class:`InitDesc` (what Module and FeedForward pass), an ``__init__`` attribute in
  ``desc.attrs`` (set by ``mx.sym.Variable(init=...)`` or by an operator for its auxiliary
  states) names the initializer to use. Otherwise the name's suffix decides: ``weight`` ->
  the class's own rule, ``bias``/``beta``/``min`` -> 0, ``gamma``/``max`` -> 1, anything else
  is a ``ValueError``.
* With a plain string (the deprecated legacy call) the rules are wider: ``upsampling*`` ->
  bilinear, ``stn_loc*`` weight/bias, and ``moving_mean``/``moving_var``/``moving_inv_var``/
  ``moving_avg`` as well.

Random initializers draw through ``mx.random`` into ``arr`` itself, so ``mx.random.seed``
makes them reproducible.
"""

import json
import logging
import re
import warnings
from math import sqrt

import numpy as np

from . import registry
from .ndarray import NDArray
from .ndarray import random as _random

__all__ = [
    "InitDesc", "Initializer", "register", "alias", "create", "Load", "Mixed", "Zero", "One",
    "Constant", "Uniform", "Normal", "Orthogonal", "Xavier", "MSRAPrelu", "Bilinear", "LSTMBias",
]


class InitDesc(str):
    """The name of a variable to initialize, with its attributes.

    Parameters
    ----------
    name : str
        Name of the variable.
    attrs : dict of str to str
        Attributes of the variable (from ``Symbol.attr_dict()``).
    global_init : Initializer
        The initializer to fall back to (set to the calling initializer when None).
    """

    def __new__(cls, name, attrs=None, global_init=None):
        desc = super().__new__(cls, name)
        desc.attrs = attrs or {}
        desc.global_init = global_init
        return desc


class Initializer(object):
    """The base class of initializers; subclasses override ``_init_weight`` (and may override
    the other ``_init_*`` rules)."""

    def __init__(self, **kwargs):
        self._kwargs = kwargs
        self._verbose = False
        self._print_func = None

    def set_verbosity(self, verbose=False, print_func=None):
        """Log every initialized array with ``print_func(arr)`` (default: its norm divided by
        the square root of its size). Returns ``self``."""
        self._verbose = verbose
        if print_func is None:
            def print_func(x):
                return str(float(x.norm().asnumpy().reshape(-1)[0]) / sqrt(x.size))
        self._print_func = print_func
        return self

    def _verbose_print(self, desc, init, arr):
        if self._verbose and self._print_func:
            logging.info("Initialized %s as %s: %s", desc, init, self._print_func(arr))

    def dumps(self):
        """The initializer as JSON: ``'["<lowercased class name>", {<constructor kwargs>}]'``."""
        return json.dumps([self.__class__.__name__.lower(), self._kwargs])

    def __call__(self, desc, arr):
        """Fill ``arr`` according to ``desc`` (an :class:`InitDesc`, or a plain name)."""
        if not isinstance(desc, InitDesc):
            self._legacy_init(desc, arr)
            return
        if desc.global_init is None:
            desc.global_init = self
        spec = desc.attrs.get("__init__", "")
        if spec:
            create(spec)._init_weight(desc, arr)
            self._verbose_print(desc, spec, arr)
            return
        # The same order as MXNet: the first matching suffix wins.
        for suffix, rule in (("weight", self._init_weight), ("bias", self._init_bias),
                             ("gamma", self._init_gamma), ("beta", self._init_beta),
                             ("min", self._init_zero), ("max", self._init_one),
                             ("weight_quantize", self._init_quantized_weight),
                             ("bias_quantize", self._init_quantized_bias)):
            if desc.endswith(suffix):
                rule(desc, arr)
                self._verbose_print(desc, suffix, arr)
                return
        self._init_default(desc, arr)

    def _legacy_init(self, name, arr):
        """``init(str, NDArray)``: deprecated, with the wider pre-InitDesc name rules."""
        warnings.warn(
            "Calling initializer with init(str, NDArray) has been deprecated."
            "please use init(mx.init.InitDesc(...), NDArray) instead.",
            DeprecationWarning, stacklevel=3)
        if not isinstance(name, str):
            raise TypeError("name must be string")
        if not isinstance(arr, NDArray):
            raise TypeError("arr must be NDArray")
        if name.startswith("upsampling"):
            self._init_bilinear(name, arr)
        elif name.startswith("stn_loc") and name.endswith("weight"):
            self._init_zero(name, arr)
        elif name.startswith("stn_loc") and name.endswith("bias"):
            self._init_loc_bias(name, arr)
        else:
            for suffix, rule in (("bias", self._init_bias), ("gamma", self._init_gamma),
                                 ("beta", self._init_beta), ("weight", self._init_weight),
                                 ("moving_mean", self._init_zero),
                                 ("moving_var", self._init_one),
                                 ("moving_inv_var", self._init_zero),
                                 ("moving_avg", self._init_zero),
                                 ("min", self._init_zero), ("max", self._init_one)):
                if name.endswith(suffix):
                    rule(name, arr)
                    return
            self._init_default(name, arr)

    # The fixed rules -----------------------------------------------------------------------

    def _init_bilinear(self, _, arr):
        arr[:] = _bilinear_kernel(arr.shape)

    def _init_loc_bias(self, _, arr):
        if arr.shape[0] != 6:
            raise AssertionError("stn_loc bias must have 6 elements, got shape %s" % (arr.shape,))
        arr[:] = np.array([1.0, 0, 0, 0, 1.0, 0])

    def _init_zero(self, _, arr):
        arr[:] = 0.0

    def _init_one(self, _, arr):
        arr[:] = 1.0

    def _init_bias(self, _, arr):
        arr[:] = 0.0

    def _init_quantized_bias(self, _, arr):
        arr[:] = 0

    def _init_gamma(self, _, arr):
        arr[:] = 1.0

    def _init_beta(self, _, arr):
        arr[:] = 0.0

    def _init_weight(self, name, arr):
        raise NotImplementedError("Must override it")

    def _init_quantized_weight(self, _, arr):
        # MXNet 1.9.1 draws a single int in [-127, 127) and broadcasts it over the array.
        arr[:] = np.int8(_random.randint(-127, 127, dtype="int32").asnumpy())

    def _init_default(self, name, _):
        raise ValueError(
            "Unknown initialization pattern for %s. "
            "Default initialization is now limited to "
            '"weight", "bias", "gamma" (1.0), and "beta" (0.0).'
            "Please use mx.sym.Variable(init=mx.init.*) to set initialization pattern" % name)

    def __eq__(self, other):
        if not isinstance(other, Initializer):
            return NotImplemented
        return type(self) is type(other) and self._kwargs == other._kwargs

    __hash__ = object.__hash__

    def __repr__(self):
        return "%s(%s)" % (self.__class__.__name__,
                           ", ".join("%s=%r" % kv for kv in self._kwargs.items()))


_register = registry.get_register_func(Initializer, "initializer")
alias = registry.get_alias_func(Initializer, "initializer")
create = registry.get_create_func(Initializer, "initializer")


def register(klass):
    """Register an :class:`Initializer` subclass under its lowercased class name, so that
    ``mx.init.create(name)``, JSON ``dumps()`` strings and ``Variable(init=...)`` find it."""
    return _register(klass)


def _fill_uniform(arr, low, high):
    _random.uniform(low, high, arr.shape, dtype=arr.dtype, out=arr)


def _fill_normal(arr, loc, scale):
    _random.normal(loc, scale, arr.shape, dtype=arr.dtype, out=arr)


def _bilinear_kernel(shape):
    """The bilinear upsampling kernel MXNet writes: every (k, c) slice of the 4-D weight is the
    same separable ``(1 - |y/f - c|) * (1 - |x/f - c|)`` with ``f = ceil(width / 2)``."""
    if len(shape) != 4:
        raise ValueError("Bilinear initialization needs a 4-D weight, got shape %s" % (shape,))
    f = np.ceil(shape[3] / 2.0)
    c = (2 * f - 1 - f % 2) / (2.0 * f)
    wx = 1 - np.abs(np.arange(shape[3]) / f - c)
    wy = 1 - np.abs(np.arange(shape[2]) / f - c)
    kernel = (wy[:, None] * wx[None, :]).astype(np.float32)
    return np.broadcast_to(kernel, shape).copy()


class Load(object):
    """Initialize variables from a saved parameter file or a dict of NDArrays.

    ``arg:``/``aux:`` prefixes are dropped from the loaded names. Names not found are handed to
    ``default_init`` (an error when there is none).

    Parameters
    ----------
    param : str or dict of str to NDArray
    default_init : Initializer
    verbose : bool
        Log where each variable came from.
    """

    def __init__(self, param, default_init=None, verbose=False):
        if isinstance(param, str):
            from .ndarray import load
            param = load(param)
        if not isinstance(param, dict):
            raise AssertionError("Load needs a dict of name to NDArray (or a file holding one)")
        self.param = {}
        for name, arr in param.items():
            if name.startswith("arg:") or name.startswith("aux:"):
                name = name[4:]
            self.param[name] = arr
        self.default_init = default_init
        self.verbose = verbose

    def __call__(self, name, arr):
        if name in self.param:
            src = self.param[name]
            if tuple(arr.shape) != tuple(src.shape):
                raise AssertionError(
                    "Parameter %s cannot be initialized from loading. "
                    "Shape mismatch, target %s vs loaded %s" % (name, arr.shape, src.shape))
            arr[:] = src
            if self.verbose:
                logging.info("Initialized %s by loading", name)
        else:
            if self.default_init is None:
                raise AssertionError(
                    "Cannot Initialize %s. Not found in loaded param "
                    "and no default Initializer is provided." % name)
            self.default_init(name, arr)
            if self.verbose:
                logging.info("Initialized %s by default", name)


class Mixed(object):
    """Use the initializer of the first regular expression that matches the name (``re.match``,
    so anchored at the start); a name no pattern matches is a ``ValueError``.

    Parameters
    ----------
    patterns : list of str
    initializers : list of Initializer
    """

    def __init__(self, patterns, initializers):
        if len(patterns) != len(initializers):
            raise AssertionError("Mixed needs as many initializers as patterns")
        self.map = [(re.compile(p), init) for p, init in zip(patterns, initializers)]

    def __call__(self, name, arr):
        for prog, init in self.map:
            if prog.match(name):
                init(name, arr)
                return
        raise ValueError(
            "Parameter name %s did not match any pattern. Consider "
            'add a ".*" pattern at the and with default Initializer.' % name)


@register
@alias("zeros")
class Zero(Initializer):
    """Weights = 0."""

    def __init__(self):
        super().__init__()

    def _init_weight(self, _, arr):
        arr[:] = 0


@register
@alias("ones")
class One(Initializer):
    """Weights = 1."""

    def __init__(self):
        super().__init__()

    def _init_weight(self, _, arr):
        arr[:] = 1


@register
class Constant(Initializer):
    """Weights = ``value`` (a scalar, or an array/list that fits the weight's shape)."""

    def __init__(self, value):
        super().__init__(value=value)
        self.value = value

    def _init_weight(self, _, arr):
        arr[:] = self.value

    def dumps(self):
        val = self._kwargs["value"]
        if not np.isscalar(val):
            if isinstance(val, np.ndarray):
                val = val.tolist()
            elif isinstance(val, NDArray):
                val = val.asnumpy().tolist()
            self._kwargs["value"] = val
        return json.dumps([self.__class__.__name__.lower(), self._kwargs])


@register
class Uniform(Initializer):
    """Weights ~ U(-scale, scale)."""

    def __init__(self, scale=0.07):
        super().__init__(scale=scale)
        self.scale = scale

    def _init_weight(self, _, arr):
        _fill_uniform(arr, -self.scale, self.scale)


@register
class Normal(Initializer):
    """Weights ~ N(0, sigma^2)."""

    def __init__(self, sigma=0.01):
        super().__init__(sigma=sigma)
        self.sigma = sigma

    def _init_weight(self, _, arr):
        _fill_normal(arr, 0, self.sigma)


@register
class Orthogonal(Initializer):
    """An orthogonal matrix (Saxe et al. 2013) times ``scale``: the orthonormal factor of the
    SVD of a (rows x everything-else) matrix of U(-1, 1) (``rand_type='uniform'``) or N(0, 1)
    (``'normal'``) draws, reshaped to the weight."""

    def __init__(self, scale=1.414, rand_type="uniform"):
        super().__init__(scale=scale, rand_type=rand_type)
        self.scale = scale
        self.rand_type = rand_type

    def _init_weight(self, _, arr):
        nout = int(arr.shape[0])
        nin = int(np.prod(arr.shape[1:]))
        if self.rand_type == "uniform":
            tmp = _random.uniform(-1.0, 1.0, shape=(nout, nin)).asnumpy()
        elif self.rand_type == "normal":
            tmp = _random.normal(0.0, 1.0, shape=(nout, nin)).asnumpy()
        else:
            raise ValueError("Unknown rand_type %r (expected 'uniform' or 'normal')"
                             % (self.rand_type,))
        u, _, v = np.linalg.svd(tmp, full_matrices=False)
        res = u if u.shape == tmp.shape else v
        arr[:] = self.scale * res.reshape(arr.shape)


def _fans(shape):
    """``(fan_in, fan_out)`` as MXNet computes them: ``shape[1]`` and ``shape[0]``, each times
    the product of the remaining (spatial) dimensions."""
    hw_scale = float(np.prod(shape[2:])) if len(shape) > 2 else 1.0
    return shape[1] * hw_scale, shape[0] * hw_scale


@register
class Xavier(Initializer):
    """"Xavier" (Glorot) initialization.

    ``scale = sqrt(magnitude / factor)``, where ``factor`` is ``(fan_in + fan_out) / 2``
    (``factor_type='avg'``), ``fan_in`` (``'in'``) or ``fan_out`` (``'out'``); the weights are
    U(-scale, scale) (``rnd_type='uniform'``) or N(0, scale^2) (``'gaussian'``). The weight
    must have at least 2 dimensions.
    """

    def __init__(self, rnd_type="uniform", factor_type="avg", magnitude=3):
        super().__init__(rnd_type=rnd_type, factor_type=factor_type, magnitude=magnitude)
        self.rnd_type = rnd_type
        self.factor_type = factor_type
        self.magnitude = float(magnitude)

    def _scale(self, name, shape):
        if len(shape) < 2:
            raise ValueError("Xavier initializer cannot be applied to vector {0}. It requires at"
                             " least 2D.".format(name))
        fan_in, fan_out = _fans(shape)
        if self.factor_type == "avg":
            factor = (fan_in + fan_out) / 2.0
        elif self.factor_type == "in":
            factor = fan_in
        elif self.factor_type == "out":
            factor = fan_out
        else:
            raise ValueError("Incorrect factor type")
        return float(np.sqrt(self.magnitude / factor))

    def _init_weight(self, name, arr):
        scale = self._scale(name, arr.shape)
        if self.rnd_type == "uniform":
            _fill_uniform(arr, -scale, scale)
        elif self.rnd_type == "gaussian":
            _fill_normal(arr, 0, scale)
        else:
            raise ValueError("Unknown random type")


@register
class MSRAPrelu(Xavier):
    """He et al. (2015) initialization: Xavier with gaussian draws and
    ``magnitude = 2 / (1 + slope^2)``."""

    def __init__(self, factor_type="avg", slope=0.25):
        super().__init__("gaussian", factor_type, 2.0 / (1 + slope ** 2))
        self._kwargs = {"factor_type": factor_type, "slope": slope}


@register
class Bilinear(Initializer):
    """The bilinear kernel for upsampling (deconvolution) weights."""

    def __init__(self):
        super().__init__()

    def _init_weight(self, _, arr):
        arr[:] = _bilinear_kernel(arr.shape)


@register
class LSTMBias(Initializer):
    """Zero biases, except the forget gate (the second of the four LSTM gates) at
    ``forget_bias``."""

    def __init__(self, forget_bias=1.0):
        super().__init__(forget_bias=forget_bias)
        self.forget_bias = forget_bias

    def _init_weight(self, name, arr):
        arr[:] = 0.0
        num_hidden = int(arr.shape[0] / 4)
        arr[num_hidden:2 * num_hidden] = self.forget_bias
