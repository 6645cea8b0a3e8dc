"""``Block.summary``: runs the block once with forward hooks on every layer and prints MXNet
1.9.1's table of output shapes and parameter counts.

    >>> import rmx as mx
    >>> from rmx.gluon import nn
    >>> net = nn.Sequential()
    >>> net.add(nn.Dense(3, in_units=4))
    >>> net.initialize()
    >>> net.summary(mx.nd.ones((2, 4)))  # doctest: +ELLIPSIS
    --------------------------------------------------------------------------------
            Layer (type)                                Output Shape         Param #
    ================================================================================
                   Input                                      (2, 4)               0
                 Dense-1                                      (2, 3)              15
    ================================================================================
    ...
"""

from collections import OrderedDict

from .. import ndarray


def _flatten(args):
    if not isinstance(args, (list, tuple)):
        return [args], 0
    flat, fmts = [], []
    for i in args:
        arg, fmt = _flatten(i)
        flat.extend(arg)
        fmts.append(fmt)
    return flat, fmts


def _regroup(args, fmt):
    if isinstance(fmt, int):
        if fmt == 0:
            return args[0], args[1:]
        return args[:fmt], args[fmt:]
    ret = []
    for i in fmt:
        res, args = _regroup(args, i)
        ret.append(res)
    return ret, args


def _get_shape_str(args):
    flat_args, fmts = _flatten(args)
    flat_shapes = [x.shape if isinstance(x, ndarray.NDArray) else x for x in flat_args]
    shapes = _regroup(flat_shapes, fmts)[0]
    shape_str = str(shapes)[1:-1] if isinstance(shapes, list) else str(shapes)
    return shape_str.replace("L", "")


def print_summary(block, inputs):
    """Prints the summary of ``block`` run on ``inputs`` (it must be initialized and not
    hybridized)."""
    from .block import HybridBlock
    from .nn.basic_layers import HybridSequential, Sequential

    summary = OrderedDict()
    seen = set()
    hooks = []

    def _summary_hook(blk, _, outputs):
        m_key = "%s-%i" % (blk.__class__.__name__, len(summary))
        entry = summary[m_key] = OrderedDict()
        entry["output_shape"] = _get_shape_str(outputs)
        params = 0
        entry["trainable"] = 0
        entry["shared"] = 0
        for p in blk.params.values():
            params += p.data().size
            entry["trainable"] += 0 if p.grad_req == "null" else p.data().size
            if p in seen:
                entry["shared"] += p.data().size
            else:
                seen.add(p)
        entry["n_params"] = params

    def _register_summary_hook(blk):
        assert not isinstance(blk, HybridBlock) or not blk._active, \
            '"{}" must not be hybridized to print summary.'.format(blk.name)
        if not isinstance(blk, (Sequential, HybridSequential)):
            hooks.append(blk.register_forward_hook(_summary_hook))

    summary["Input"] = OrderedDict(output_shape=_get_shape_str(inputs), n_params=0, trainable=0, shared=0)
    try:
        block.apply(_register_summary_hook)
        block(*inputs)
        line_format = "{:>20}  {:>42} {:>15}"
        print("-" * 80)
        print(line_format.format("Layer (type)", "Output Shape", "Param #"))
        print("=" * 80)
        total_params = trainable_params = shared_params = 0
        for layer in summary:
            print(line_format.format(layer, str(summary[layer]["output_shape"]), summary[layer]["n_params"]))
            total_params += summary[layer]["n_params"]
            trainable_params += summary[layer]["trainable"]
            shared_params += summary[layer]["shared"]
        print("=" * 80)
        print("Parameters in forward computation graph, duplicate included")
        print("   Total params: " + str(total_params))
        print("   Trainable params: " + str(trainable_params))
        print("   Non-trainable params: " + str(total_params - trainable_params))
        print("Shared params in forward computation graph: " + str(shared_params))
        print("Unique parameters in model: " + str(total_params - shared_params))
        print("-" * 80)
    finally:
        for h in hooks:
            h.detach()
