"""Basic layers (``mx.gluon.nn``): containers, ``Dense``, ``Dropout``, ``BatchNorm``,
``Embedding``, ``Flatten``, ``Lambda``/``HybridLambda``, and ``Concurrent``/``HybridConcurrent``/
``Identity`` (``mx.gluon.contrib.nn`` in MXNet 1.9.1), with MXNet 1.9.1's parameters and names.

    >>> import rmx as mx
    >>> from rmx.gluon import nn
    >>> layer = nn.Dense(2, in_units=3, weight_initializer=mx.init.One())
    >>> layer.initialize()
    >>> layer(mx.nd.ones((1, 3))).asnumpy()
    array([[3., 3.]], dtype=float32)
    >>> layer
    Dense(3 -> 2, linear)
"""

import warnings

import numpy as np

from ... import ndarray as nd, symbol as sym
from ..block import Block, HybridBlock
from ..utils import _indent
from .activations import Activation

__all__ = ["Sequential", "HybridSequential", "Dense", "Dropout", "Embedding", "BatchNorm", "LayerNorm", "InstanceNorm",
           "GroupNorm", "Flatten",
           "Lambda", "HybridLambda", "Concurrent", "HybridConcurrent", "Identity"]


class _SequentialMixin(object):
    """What both sequential containers share: ``add``, indexing, ``len`` and the listing."""

    def add(self, *blocks):
        """Appends blocks."""
        for block in blocks:
            self.register_child(block)

    def __repr__(self):
        modstr = "\n".join(["  ({key}): {block}".format(key=key, block=_indent(block.__repr__(), 2))
                            for key, block in self._children.items()])
        return "{name}(\n{modstr}\n)".format(name=self.__class__.__name__, modstr=modstr)

    def __getitem__(self, key):
        layers = list(self._children.values())[key]
        if isinstance(layers, list):
            net = type(self)(prefix=self._prefix)
            with net.name_scope():
                net.add(*layers)
            return net
        return layers

    def __len__(self):
        return len(self._children)


class Sequential(_SequentialMixin, Block):
    """Runs its children one after the other.

    >>> import rmx as mx
    >>> net = mx.gluon.nn.Sequential()
    >>> with net.name_scope():
    ...     net.add(mx.gluon.nn.Dense(4), mx.gluon.nn.Dense(2))
    >>> len(net), type(net[0]).__name__, len(net[:1])
    (2, 'Dense', 1)
    """

    def __init__(self, prefix=None, params=None):
        super(Sequential, self).__init__(prefix=prefix, params=params)

    def forward(self, x):
        for block in self._children.values():
            x = block(x)
        return x

    def hybridize(self, active=True, **kwargs):
        if self._children and all(isinstance(c, HybridBlock) for c in self._children.values()):
            warnings.warn("All children of this Sequential layer '%s' are HybridBlocks. Consider "
                          "using HybridSequential for the best performance." % self.prefix, stacklevel=2)
        super(Sequential, self).hybridize(active, **kwargs)


class HybridSequential(_SequentialMixin, HybridBlock):
    """Runs its (hybrid) children one after the other."""

    def __init__(self, prefix=None, params=None):
        super(HybridSequential, self).__init__(prefix=prefix, params=params)

    def hybrid_forward(self, F, x):
        for block in self._children.values():
            x = block(x)
        return x


class Dense(HybridBlock):
    """A fully connected layer: ``activation(dot(x, weight.T) + bias)``.

    Parameters
    ----------
    units : int
    activation : str or None
        An ``Activation`` applied to the output.
    use_bias : bool, default True
    flatten : bool, default True
        Collapse all but the first axis of the input (else apply to the last axis).
    dtype : str, default 'float32'
    weight_initializer, bias_initializer : Initializer or str
        ``bias_initializer`` defaults to 'zeros'.
    in_units : int, default 0
        0 defers the weight's shape to the first input.
    """

    def __init__(self, units, activation=None, use_bias=True, flatten=True, dtype="float32",
                 weight_initializer=None, bias_initializer="zeros", in_units=0, **kwargs):
        super(Dense, self).__init__(**kwargs)
        self._flatten = flatten
        with self.name_scope():
            self._units = units
            self._in_units = in_units
            self.weight = self.params.get("weight", shape=(units, in_units), init=weight_initializer,
                                          dtype=dtype, allow_deferred_init=True)
            if use_bias:
                self.bias = self.params.get("bias", shape=(units,), init=bias_initializer, dtype=dtype,
                                            allow_deferred_init=True)
            else:
                self.bias = None
            if activation is not None:
                self.act = Activation(activation, prefix=activation + "_")
            else:
                self.act = None

    def hybrid_forward(self, F, x, weight, bias=None):
        if bias is None:
            act = F.FullyConnected(x, weight, no_bias=True, num_hidden=self._units,
                                   flatten=self._flatten, name="fwd")
        else:
            act = F.FullyConnected(x, weight, bias, no_bias=False, num_hidden=self._units,
                                   flatten=self._flatten, name="fwd")
        if self.act is not None:
            act = self.act(act)
        return act

    def __repr__(self):
        shape = self.weight.shape
        return "{name}({layout}, {act})".format(
            name=self.__class__.__name__, act=self.act if self.act else "linear",
            layout="{0} -> {1}".format(shape[1] if shape[1] else None, shape[0]))


class Dropout(HybridBlock):
    """Zeroes a fraction ``rate`` of the elements in training (scaling the rest by
    ``1 / (1 - rate)``); ``axes`` share one draw along them."""

    def __init__(self, rate, axes=(), **kwargs):
        super(Dropout, self).__init__(**kwargs)
        self._rate = rate
        self._axes = axes

    def hybrid_forward(self, F, x):
        if self._rate > 0:
            return F.Dropout(x, p=self._rate, axes=self._axes, name="fwd", cudnn_off=False)
        return F.identity(x)

    def __repr__(self):
        return "{name}(p = {_rate}, axes={_axes})".format(name=self.__class__.__name__, **self.__dict__)


class BatchNorm(HybridBlock):
    """Batch normalization (Ioffe and Szegedy, 2014) over axis ``axis``.

    In training (``autograd.record()``) the batch statistics normalize and the moving ones
    (``running_mean``/``running_var``, ``grad_req='null'``) are updated as
    ``moving = momentum * moving + (1 - momentum) * batch``; otherwise the moving ones
    normalize. ``scale=False`` fixes gamma at 1, ``center=False`` leaves beta out of training.
    """

    def __init__(self, axis=1, momentum=0.9, epsilon=1e-5, center=True, scale=True, use_global_stats=False,
                 beta_initializer="zeros", gamma_initializer="ones", running_mean_initializer="zeros",
                 running_variance_initializer="ones", in_channels=0, **kwargs):
        super(BatchNorm, self).__init__(**kwargs)
        self._kwargs = {"axis": axis, "eps": epsilon, "momentum": momentum, "fix_gamma": not scale,
                        "use_global_stats": use_global_stats}
        if in_channels != 0:
            self.in_channels = in_channels
        self.gamma = self.params.get("gamma", grad_req="write" if scale else "null", shape=(in_channels,),
                                     init=gamma_initializer, allow_deferred_init=True, differentiable=scale)
        self.beta = self.params.get("beta", grad_req="write" if center else "null", shape=(in_channels,),
                                    init=beta_initializer, allow_deferred_init=True, differentiable=center)
        self.running_mean = self.params.get("running_mean", grad_req="null", shape=(in_channels,),
                                            init=running_mean_initializer, allow_deferred_init=True,
                                            differentiable=False)
        self.running_var = self.params.get("running_var", grad_req="null", shape=(in_channels,),
                                           init=running_variance_initializer, allow_deferred_init=True,
                                           differentiable=False)

    def cast(self, dtype):
        if np.dtype(dtype).name == "float16":
            dtype = "float32"
        super(BatchNorm, self).cast(dtype)

    def hybrid_forward(self, F, x, gamma, beta, running_mean, running_var):
        return F.BatchNorm(x, gamma, beta, running_mean, running_var, name="fwd", **self._kwargs)

    def __repr__(self):
        in_channels = self.gamma.shape[0]
        s = "{name}({content}, in_channels={ch})"
        return s.format(name=self.__class__.__name__, ch=in_channels if in_channels else None,
                        content=", ".join(["=".join([k, v.__repr__()]) for k, v in self._kwargs.items()]))


class LayerNorm(HybridBlock):
    """Layer normalization (Ba et al., 2016) along ``axis``: each slice by its own mean and
    variance, then scaled by ``gamma`` and shifted by ``beta`` (``scale``/``center`` off leave
    them out of training).

    >>> import rmx as mx
    >>> ln = mx.gluon.nn.LayerNorm()
    >>> ln.initialize()
    >>> ln(mx.nd.array([[1, 2, 3]])).asnumpy().round(4)
    array([[-1.2247,  0.    ,  1.2247]], dtype=float32)
    """

    def __init__(self, axis=-1, epsilon=1e-5, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", in_channels=0, prefix=None, params=None):
        super(LayerNorm, self).__init__(prefix=prefix, params=params)
        self._kwargs = {"eps": epsilon, "axis": axis, "center": center, "scale": scale}
        self._axis, self._epsilon = axis, epsilon
        self.gamma, self.beta = _scale_and_shift(self, in_channels, scale, center, gamma_initializer, beta_initializer)

    def hybrid_forward(self, F, data, gamma, beta):
        return F.LayerNorm(data, gamma=gamma, beta=beta, axis=self._axis, eps=self._epsilon)

    def __repr__(self):
        return _norm_repr(self, True)


def _scale_and_shift(block, size, scale, center, gamma_initializer, beta_initializer):
    """The ``gamma`` and ``beta`` of LayerNorm, InstanceNorm and GroupNorm: always applied,
    trained only when ``scale``/``center`` (unlike BatchNorm's, which they then leave out)."""
    gamma = block.params.get("gamma", grad_req="write" if scale else "null", shape=(size,),
                             init=gamma_initializer, allow_deferred_init=True)
    beta = block.params.get("beta", grad_req="write" if center else "null", shape=(size,),
                            init=beta_initializer, allow_deferred_init=True)
    return gamma, beta


def _norm_repr(block, with_channels):
    content = ", ".join("=".join([k, v.__repr__()]) for k, v in block._kwargs.items())
    channels = ", in_channels={0}".format(block.gamma.shape[0]) if with_channels else ""
    return "{name}({content}{channels})".format(name=block.__class__.__name__, content=content, channels=channels)


class InstanceNorm(HybridBlock):
    """Instance normalization (Ulyanov et al., 2016): each channel of each sample by its own mean
    and variance over the spatial axes; ``axis`` is the channel axis. As MXNet 1.9.1, ``gamma``
    is left out of training by default (``scale=False``).

    >>> import rmx as mx
    >>> norm = mx.gluon.nn.InstanceNorm()
    >>> norm.initialize()
    >>> norm(mx.nd.array([[[1, 2, 3]]])).asnumpy().round(3)
    array([[[-1.225,  0.   ,  1.225]]], dtype=float32)
    """

    def __init__(self, axis=1, epsilon=1e-5, center=True, scale=False, beta_initializer="zeros",
                 gamma_initializer="ones", in_channels=0, **kwargs):
        super(InstanceNorm, self).__init__(**kwargs)
        self._kwargs = {"eps": epsilon, "axis": axis, "center": center, "scale": scale}
        self._axis, self._epsilon = axis, epsilon
        self.gamma, self.beta = _scale_and_shift(self, in_channels, scale, center, gamma_initializer, beta_initializer)

    def hybrid_forward(self, F, x, gamma, beta):
        if self._axis == 1:
            return F.InstanceNorm(x, gamma, beta, name="fwd", eps=self._epsilon)
        x = x.swapaxes(1, self._axis)
        return F.InstanceNorm(x, gamma, beta, name="fwd", eps=self._epsilon).swapaxes(1, self._axis)

    def __repr__(self):
        return _norm_repr(self, True)


class GroupNorm(HybridBlock):
    """Group normalization (Wu and He, 2018): the channels of each sample split into
    ``num_groups`` groups, each normalized over its channels and spatial positions. As MXNet
    1.9.1, ``gamma`` and ``beta`` have one element per group.

    >>> import rmx as mx
    >>> norm = mx.gluon.nn.GroupNorm(num_groups=2)
    >>> norm.initialize()
    >>> norm(mx.nd.array([[[1, 3], [5, 5]]])).asnumpy().round(3)
    array([[[-1.,  1.],
            [ 0.,  0.]]], dtype=float32)
    """

    def __init__(self, num_groups=1, epsilon=1e-5, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", prefix=None, params=None):
        super(GroupNorm, self).__init__(prefix=prefix, params=params)
        self._kwargs = {"eps": epsilon, "num_groups": num_groups, "center": center, "scale": scale}
        self._num_groups, self._epsilon = num_groups, epsilon
        self.gamma, self.beta = _scale_and_shift(self, num_groups, scale, center, gamma_initializer, beta_initializer)

    def hybrid_forward(self, F, data, gamma, beta):
        return F.GroupNorm(data, gamma=gamma, beta=beta, num_groups=self._num_groups, eps=self._epsilon)

    def __repr__(self):
        return _norm_repr(self, False)


class Embedding(HybridBlock):
    """Maps integer indices to rows of a ``(input_dim, output_dim)`` weight. ``sparse_grad=True``
    (a row-sparse gradient) raises ``SparseStorageError``: rmx stores arrays densely."""

    def __init__(self, input_dim, output_dim, dtype="float32", weight_initializer=None, sparse_grad=False,
                 **kwargs):
        if sparse_grad:
            from ...base import SparseStorageError

            raise SparseStorageError("gluon.nn.Embedding: sparse_grad=True asks for storage type 'row_sparse' for the "
                                     "weight's gradient, which is not supported: rmx stores arrays densely "
                                     "(use sparse_grad=False, a dense gradient: grad_stype='default')")
        super(Embedding, self).__init__(**kwargs)
        grad_stype = "row_sparse" if sparse_grad else "default"
        self._kwargs = {"input_dim": input_dim, "output_dim": output_dim, "dtype": dtype,
                        "sparse_grad": sparse_grad}
        self.weight = self.params.get("weight", shape=(input_dim, output_dim), init=weight_initializer,
                                      dtype=dtype, allow_deferred_init=True, grad_stype=grad_stype)

    def hybrid_forward(self, F, x, weight):
        return F.Embedding(x, weight, name="fwd", **self._kwargs)

    def __repr__(self):
        return "{block_name}({input_dim} -> {output_dim}, {dtype})".format(
            block_name=self.__class__.__name__, **self._kwargs)


class Flatten(HybridBlock):
    """Collapses all axes but the first: ``(N, a, b, ...) -> (N, a*b*...)``."""

    def __init__(self, **kwargs):
        super(Flatten, self).__init__(**kwargs)

    def hybrid_forward(self, F, x):
        return F.flatten(x)

    def __repr__(self):
        return self.__class__.__name__


class Lambda(Block):
    """Wraps a function of NDArrays (or the name of an ``mx.nd`` operator) as a Block.

    >>> import rmx as mx
    >>> mx.gluon.nn.Lambda('tanh')(mx.nd.zeros((1,))).asnumpy()
    array([0.], dtype=float32)
    """

    def __init__(self, function, prefix=None):
        super(Lambda, self).__init__(prefix=prefix)
        if isinstance(function, str):
            assert hasattr(nd, function), "Function name %s is not found in ndarray." % function
            self._func_impl = getattr(nd, function)
        elif callable(function):
            self._func_impl = function
        else:
            raise ValueError("Unrecognized function in lambda: {} of type {}".format(function, type(function)))

    def forward(self, *args):
        return self._func_impl(*args)

    def __repr__(self):
        return "{name}({function})".format(name=self.__class__.__name__, function=self._func_impl.__name__)


class HybridLambda(HybridBlock):
    """Wraps ``function(F, x, *args)`` (or the name of an operator both ``mx.nd`` and ``mx.sym``
    have) as a HybridBlock."""

    def __init__(self, function, prefix=None):
        super(HybridLambda, self).__init__(prefix=prefix)
        if isinstance(function, str):
            assert hasattr(nd, function) and hasattr(sym, function), \
                "Function name %s is not found in symbol/ndarray." % function
            func_dict = {sym: getattr(sym, function), nd: getattr(nd, function)}
            self._func = lambda F, *args: func_dict[F](*args)
            self._func_name = function
        elif callable(function):
            self._func = function
            self._func_name = function.__name__
        else:
            raise ValueError("Unrecognized function in lambda: {} of type {}".format(function, type(function)))

    def hybrid_forward(self, F, x, *args):
        return self._func(F, x, *args)

    def __repr__(self):
        return "{name}({function})".format(name=self.__class__.__name__, function=self._func_name)


class Concurrent(Sequential):
    """Runs every child on the same input and concatenates their outputs along ``axis``."""

    def __init__(self, axis=-1, prefix=None, params=None):
        super(Concurrent, self).__init__(prefix=prefix, params=params)
        self.axis = axis

    def forward(self, x):
        out = [block(x) for block in self._children.values()]
        return nd.concat(*out, dim=self.axis)


class HybridConcurrent(HybridSequential):
    """``Concurrent`` of HybridBlocks."""

    def __init__(self, axis=-1, prefix=None, params=None):
        super(HybridConcurrent, self).__init__(prefix=prefix, params=params)
        self.axis = axis

    def hybrid_forward(self, F, x):
        out = [block(x) for block in self._children.values()]
        return F.concat(*out, dim=self.axis)


class Identity(HybridBlock):
    """Returns its input."""

    def __init__(self, prefix=None, params=None):
        super(Identity, self).__init__(prefix=prefix, params=params)

    def hybrid_forward(self, F, x):
        return x
