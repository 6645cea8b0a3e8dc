"""Convolution, transposed convolution, pooling and padding layers (``mx.gluon.nn``), as MXNet
1.9.1: each one ``Convolution``/``Deconvolution``/``Pooling``/``pad`` call. rmx's operators
support the channel-first layouts (NCW, NCHW, NCDHW) only.

    >>> import rmx as mx
    >>> from rmx.gluon import nn
    >>> conv = nn.Conv2D(4, kernel_size=3, padding=1, in_channels=2)
    >>> conv.weight.shape
    (4, 2, 3, 3)
    >>> conv.initialize()
    >>> nn.MaxPool2D()(conv(mx.nd.ones((1, 2, 8, 8)))).shape
    (1, 4, 4, 4)
"""

import numbers

from ..block import HybridBlock
from .activations import Activation

__all__ = ["Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
           "MaxPool1D", "MaxPool2D", "MaxPool3D", "AvgPool1D", "AvgPool2D", "AvgPool3D",
           "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D", "GlobalAvgPool1D", "GlobalAvgPool2D",
           "GlobalAvgPool3D", "ReflectionPad2D"]

_numeric = numbers.Number


def _weight_shape(op_name, channels, in_channels, groups, kernel, layout):
    """The weight's shape, as the operator's shape inference gives it (0 where unknown):
    ``(out, in/groups, *kernel)`` for Convolution, ``(in, out/groups, *kernel)`` for
    Deconvolution; the channel axis goes last for channel-last layouts."""
    if op_name == "Convolution":
        first, second = channels, in_channels // groups
    else:
        first, second = in_channels, channels // groups
    if layout.find("C") == 1:
        return (first, second) + tuple(kernel)
    return (first,) + tuple(kernel) + (second,)


class _Conv(HybridBlock):
    """The shared part of the convolution layers (alias ``conv``: ``conv0_``)."""

    def __init__(self, channels, kernel_size, strides, padding, dilation, groups, layout, in_channels=0,
                 activation=None, use_bias=True, weight_initializer=None, bias_initializer="zeros",
                 op_name="Convolution", adj=None, prefix=None, params=None):
        super(_Conv, self).__init__(prefix=prefix, params=params)
        with self.name_scope():
            self._channels = channels
            self._in_channels = in_channels
            if isinstance(strides, _numeric):
                strides = (strides,) * len(kernel_size)
            if isinstance(padding, _numeric):
                padding = (padding,) * len(kernel_size)
            if isinstance(dilation, _numeric):
                dilation = (dilation,) * len(kernel_size)
            self._op_name = op_name
            self._kwargs = {"kernel": kernel_size, "stride": strides, "dilate": dilation, "pad": padding,
                            "num_filter": channels, "num_group": groups, "no_bias": not use_bias,
                            "layout": layout}
            if adj is not None:
                self._kwargs["adj"] = adj
            wshape = _weight_shape(op_name, channels, in_channels, groups, kernel_size, layout)
            self.weight = self.params.get("weight", shape=wshape, init=weight_initializer,
                                          allow_deferred_init=True)
            if use_bias:
                self.bias = self.params.get("bias", shape=(channels,), init=bias_initializer,
                                            allow_deferred_init=True)
            else:
                self.bias = None
            if activation is not None:
                self.act = Activation(activation, prefix=activation + "_")
            else:
                self.act = None

    def hybrid_forward(self, F, x, weight, bias=None):
        op = getattr(F, self._op_name)
        if bias is None:
            act = op(x, weight, name="fwd", **self._kwargs)
        else:
            act = op(x, weight, bias, name="fwd", **self._kwargs)
        if self.act is not None:
            act = self.act(act)
        return act

    def _alias(self):
        return "conv"

    def __repr__(self):
        s = "{name}({mapping}, kernel_size={kernel}, stride={stride}"
        n = len(self._kwargs["kernel"])
        if self._kwargs["pad"] != (0,) * n:
            s += ", padding={pad}"
        if self._kwargs["dilate"] != (1,) * n:
            s += ", dilation={dilate}"
        if hasattr(self, "out_pad") and self.out_pad != (0,) * n:
            s += ", output_padding={out_pad}".format(out_pad=self.out_pad)
        if self._kwargs["num_group"] != 1:
            s += ", groups={num_group}"
        if self.bias is None:
            s += ", bias=False"
        if self.act:
            s += ", {}".format(self.act)
        s += ")"
        shape = self.weight.shape
        return s.format(name=self.__class__.__name__,
                        mapping="{0} -> {1}".format(shape[1] if shape[1] else None, shape[0]), **self._kwargs)


def _tuple(value, n, what):
    if isinstance(value, _numeric):
        value = (value,) * n
    assert len(value) == n, "%s must be a number or a list of %d ints" % (what, n)
    return value


class Conv1D(_Conv):
    """1-D convolution over (N, C, W) data."""

    def __init__(self, channels, kernel_size, strides=1, padding=0, dilation=1, groups=1, layout="NCW",
                 activation=None, use_bias=True, weight_initializer=None, bias_initializer="zeros",
                 in_channels=0, **kwargs):
        assert layout == "NCW", "Only supports 'NCW' layout for now"
        kernel_size = _tuple(kernel_size, 1, "kernel_size")
        op_name = kwargs.pop("op_name", "Convolution")
        super(Conv1D, self).__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                                     in_channels, activation, use_bias, weight_initializer, bias_initializer,
                                     op_name, **kwargs)


class Conv2D(_Conv):
    """2-D convolution over (N, C, H, W) data."""

    def __init__(self, channels, kernel_size, strides=(1, 1), padding=(0, 0), dilation=(1, 1), groups=1,
                 layout="NCHW", activation=None, use_bias=True, weight_initializer=None,
                 bias_initializer="zeros", in_channels=0, **kwargs):
        assert layout in ("NCHW", "NHWC"), "Only supports 'NCHW' and 'NHWC' layout for now"
        kernel_size = _tuple(kernel_size, 2, "kernel_size")
        op_name = kwargs.pop("op_name", "Convolution")
        super(Conv2D, self).__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                                     in_channels, activation, use_bias, weight_initializer, bias_initializer,
                                     op_name, **kwargs)


class Conv3D(_Conv):
    """3-D convolution over (N, C, D, H, W) data."""

    def __init__(self, channels, kernel_size, strides=(1, 1, 1), padding=(0, 0, 0), dilation=(1, 1, 1),
                 groups=1, layout="NCDHW", activation=None, use_bias=True, weight_initializer=None,
                 bias_initializer="zeros", in_channels=0, **kwargs):
        assert layout in ("NCDHW", "NDHWC"), "Only supports 'NCDHW' and 'NDHWC' layout for now"
        kernel_size = _tuple(kernel_size, 3, "kernel_size")
        op_name = kwargs.pop("op_name", "Convolution")
        super(Conv3D, self).__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                                     in_channels, activation, use_bias, weight_initializer, bias_initializer,
                                     op_name, **kwargs)


class _ConvTranspose(_Conv):
    """The shared part of the transposed convolutions (``Deconvolution``)."""

    def __init__(self, n, layouts, channels, kernel_size, strides, padding, output_padding, dilation, groups,
                 layout, activation, use_bias, weight_initializer, bias_initializer, in_channels, **kwargs):
        assert layout in layouts, "Only supports %s layout for now" % " and ".join("'%s'" % x for x in layouts)
        kernel_size = _tuple(kernel_size, n, "kernel_size")
        output_padding = _tuple(output_padding, n, "output_padding")
        op_name = kwargs.pop("op_name", "Deconvolution")
        super(_ConvTranspose, self).__init__(channels, kernel_size, strides, padding, dilation, groups, layout,
                                             in_channels, activation, use_bias, weight_initializer,
                                             bias_initializer, op_name=op_name, adj=output_padding, **kwargs)
        self.outpad = output_padding


class Conv1DTranspose(_ConvTranspose):
    """1-D transposed convolution."""

    def __init__(self, channels, kernel_size, strides=1, padding=0, output_padding=0, dilation=1, groups=1,
                 layout="NCW", activation=None, use_bias=True, weight_initializer=None,
                 bias_initializer="zeros", in_channels=0, **kwargs):
        super(Conv1DTranspose, self).__init__(1, ("NCW",), channels, kernel_size, strides, padding,
                                              output_padding, dilation, groups, layout, activation, use_bias,
                                              weight_initializer, bias_initializer, in_channels, **kwargs)


class Conv2DTranspose(_ConvTranspose):
    """2-D transposed convolution."""

    def __init__(self, channels, kernel_size, strides=(1, 1), padding=(0, 0), output_padding=(0, 0),
                 dilation=(1, 1), groups=1, layout="NCHW", activation=None, use_bias=True,
                 weight_initializer=None, bias_initializer="zeros", in_channels=0, **kwargs):
        super(Conv2DTranspose, self).__init__(2, ("NCHW", "NHWC"), channels, kernel_size, strides, padding,
                                              output_padding, dilation, groups, layout, activation, use_bias,
                                              weight_initializer, bias_initializer, in_channels, **kwargs)


class Conv3DTranspose(_ConvTranspose):
    """3-D transposed convolution."""

    def __init__(self, channels, kernel_size, strides=(1, 1, 1), padding=(0, 0, 0), output_padding=(0, 0, 0),
                 dilation=(1, 1, 1), groups=1, layout="NCDHW", activation=None, use_bias=True,
                 weight_initializer=None, bias_initializer="zeros", in_channels=0, **kwargs):
        super(Conv3DTranspose, self).__init__(3, ("NCDHW", "NDHWC"), channels, kernel_size, strides, padding,
                                              output_padding, dilation, groups, layout, activation, use_bias,
                                              weight_initializer, bias_initializer, in_channels, **kwargs)


class _Pooling(HybridBlock):
    """The shared part of the pooling layers (alias ``pool``: ``pool0_``)."""

    def __init__(self, pool_size, strides, padding, ceil_mode, global_pool, pool_type, layout,
                 count_include_pad=None, **kwargs):
        super(_Pooling, self).__init__(**kwargs)
        if strides is None:
            strides = pool_size
        if isinstance(strides, _numeric):
            strides = (strides,) * len(pool_size)
        if isinstance(padding, _numeric):
            padding = (padding,) * len(pool_size)
        self._kwargs = {"kernel": pool_size, "stride": strides, "pad": padding, "global_pool": global_pool,
                        "pool_type": pool_type, "layout": layout,
                        "pooling_convention": "full" if ceil_mode else "valid"}
        if count_include_pad is not None:
            self._kwargs["count_include_pad"] = count_include_pad

    def _alias(self):
        return "pool"

    def hybrid_forward(self, F, x):
        layout = self._kwargs["layout"]
        if layout[1] == "C":
            return F.Pooling(x, name="fwd", **self._kwargs)
        # Channels last: rmx's Pooling runs channels first, so the data is transposed around it.
        n = len(layout)
        kwargs = dict(self._kwargs, layout="NC" + layout[1:-1])
        y = F.Pooling(F.transpose(x, axes=(0, n - 1) + tuple(range(1, n - 1))), name="fwd", **kwargs)
        return F.transpose(y, axes=(0,) + tuple(range(2, n)) + (1,))

    def __repr__(self):
        s = "{name}(size={kernel}, stride={stride}, padding={pad}, ceil_mode={ceil_mode}"
        s += ", global_pool={global_pool}, pool_type={pool_type}, layout={layout})"
        return s.format(name=self.__class__.__name__, ceil_mode=self._kwargs["pooling_convention"] == "full",
                        **self._kwargs)


_LAYOUTS = {1: ("NCW", "NWC"), 2: ("NCHW", "NHWC"), 3: ("NCDHW", "NDHWC")}


def _pool_args(n, pool_size, layout):
    assert layout in _LAYOUTS[n], "Only %s and %s layouts are valid for %dD Pooling" % (_LAYOUTS[n] + (n,))
    return _tuple(pool_size, n, "pool_size")


class MaxPool1D(_Pooling):
    """Max pooling over (N, C, W) data (stride defaults to the pool size)."""

    def __init__(self, pool_size=2, strides=None, padding=0, layout="NCW", ceil_mode=False, **kwargs):
        super(MaxPool1D, self).__init__(_pool_args(1, pool_size, layout), strides, padding, ceil_mode, False,
                                        "max", layout, **kwargs)


class MaxPool2D(_Pooling):
    """Max pooling over (N, C, H, W) data."""

    def __init__(self, pool_size=(2, 2), strides=None, padding=0, layout="NCHW", ceil_mode=False, **kwargs):
        super(MaxPool2D, self).__init__(_pool_args(2, pool_size, layout), strides, padding, ceil_mode, False,
                                        "max", layout, **kwargs)


class MaxPool3D(_Pooling):
    """Max pooling over (N, C, D, H, W) data."""

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding=0, ceil_mode=False, layout="NCDHW", **kwargs):
        super(MaxPool3D, self).__init__(_pool_args(3, pool_size, layout), strides, padding, ceil_mode, False,
                                        "max", layout, **kwargs)


class AvgPool1D(_Pooling):
    """Average pooling over (N, C, W) data."""

    def __init__(self, pool_size=2, strides=None, padding=0, layout="NCW", ceil_mode=False,
                 count_include_pad=True, **kwargs):
        super(AvgPool1D, self).__init__(_pool_args(1, pool_size, layout), strides, padding, ceil_mode, False,
                                        "avg", layout, count_include_pad, **kwargs)


class AvgPool2D(_Pooling):
    """Average pooling over (N, C, H, W) data."""

    def __init__(self, pool_size=(2, 2), strides=None, padding=0, ceil_mode=False, layout="NCHW",
                 count_include_pad=True, **kwargs):
        super(AvgPool2D, self).__init__(_pool_args(2, pool_size, layout), strides, padding, ceil_mode, False,
                                        "avg", layout, count_include_pad, **kwargs)


class AvgPool3D(_Pooling):
    """Average pooling over (N, C, D, H, W) data."""

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding=0, ceil_mode=False, layout="NCDHW",
                 count_include_pad=True, **kwargs):
        super(AvgPool3D, self).__init__(_pool_args(3, pool_size, layout), strides, padding, ceil_mode, False,
                                        "avg", layout, count_include_pad, **kwargs)


def _global(cls, n, pool_type, doc):
    def __init__(self, layout=_LAYOUTS[n][0], **kwargs):
        assert layout in _LAYOUTS[n], "Only %s and %s layouts are valid for %dD Pooling" % (_LAYOUTS[n] + (n,))
        _Pooling.__init__(self, (1,) * n, None, 0, True, True, pool_type, layout, **kwargs)

    return type(cls, (_Pooling,), {"__init__": __init__, "__doc__": doc, "__module__": __name__})


GlobalMaxPool1D = _global("GlobalMaxPool1D", 1, "max", "Max over the whole W axis: (N, C, W) -> (N, C, 1).")
GlobalMaxPool2D = _global("GlobalMaxPool2D", 2, "max", "Max over each (H, W) plane: -> (N, C, 1, 1).")
GlobalMaxPool3D = _global("GlobalMaxPool3D", 3, "max", "Max over each (D, H, W) volume: -> (N, C, 1, 1, 1).")
GlobalAvgPool1D = _global("GlobalAvgPool1D", 1, "avg", "Mean over the whole W axis: (N, C, W) -> (N, C, 1).")
GlobalAvgPool2D = _global("GlobalAvgPool2D", 2, "avg", "Mean over each (H, W) plane: -> (N, C, 1, 1).")
GlobalAvgPool3D = _global("GlobalAvgPool3D", 3, "avg", "Mean over each (D, H, W) volume: -> (N, C, 1, 1, 1).")


class ReflectionPad2D(HybridBlock):
    """Pads the H and W axes of (N, C, H, W) data by mirroring (``pad(mode='reflect')``);
    ``padding`` is one number or MXNet's 8-tuple ``pad_width``."""

    def __init__(self, padding=0, **kwargs):
        super(ReflectionPad2D, self).__init__(**kwargs)
        if isinstance(padding, _numeric):
            padding = (0, 0, 0, 0, padding, padding, padding, padding)
        assert len(padding) == 8
        self._padding = padding

    def hybrid_forward(self, F, x):
        return F.pad(x, mode="reflect", pad_width=self._padding)
