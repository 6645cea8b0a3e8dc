"""``mx.gluon.SymbolBlock``: a block made from a symbol graph (a pretrained model's
``-symbol.json``, or a part of another block's graph), as MXNet 1.9.1.

MXNet runs the graph as a cached op. rmx does not have one yet, so on NDArrays the graph is
interpreted: each node, in the JSON's (topological) order, is one imperative call of its
operator with the node's attributes. Results, autograd and the moving statistics of BatchNorm
are those of the imperative calls; there is no speedup from the graph.

    >>> import rmx as mx
    >>> data = mx.sym.var('data')
    >>> out = mx.sym.FullyConnected(data, num_hidden=2, name='fc')
    >>> block = mx.gluon.SymbolBlock(out, data)
    >>> sorted(block.collect_params().keys())
    ['fc_bias', 'fc_weight']
    >>> block.initialize(mx.init.One())
    >>> block(mx.nd.ones((1, 3))).asnumpy()
    array([[4., 4.]], dtype=float32)
"""

import json

import numpy as np

from .. import ndarray, symbol
from ..base import MXNetError
from ..ndarray import NDArray
from ..ndarray.ndarray import invoke
from ..symbol import Symbol
from .block import HybridBlock, _flatten, _regroup
from .parameter import DeferredInitializationError, ParameterDict

__all__ = ["SymbolBlock"]


def _common_prefix(names):
    """The longest prefix all ``names`` share."""
    if not names:
        return ""
    prefix = names[0]
    for name in names:
        i = 0
        while i < len(prefix) and i < len(name) and prefix[i] == name[i]:
            i += 1
        prefix = prefix[:i]
    return prefix


def _infer_param_types(inputs, out, arg_params, aux_params, default_dtype=np.float32):
    """The dtypes of the graph's arguments and auxiliary states from the inputs' (float32 where
    inference cannot tell)."""
    arg_types = aux_types = None
    try:
        known = {}
        for s in inputs:
            t = s.infer_type_partial()[0]
            known[s.name] = t[0] if t and t[0] is not None else default_dtype
        arg_types, _, aux_types = out.infer_type_partial(**known)
    except MXNetError:
        pass
    if arg_types is None or len(arg_types) != len(arg_params):
        arg_types = [default_dtype] * len(arg_params)
    if aux_types is None or len(aux_types) != len(aux_params):
        aux_types = [default_dtype] * len(aux_params)
    arg_types = [default_dtype if t is None else t for t in arg_types]
    aux_types = [default_dtype if t is None else t for t in aux_types]
    return arg_types, aux_types


class _GraphRunner(object):
    """Runs a symbol's JSON graph imperatively: ``run(feed)`` with every variable's array by name
    returns the head arrays."""

    def __init__(self, sym):
        graph = json.loads(sym.tojson())
        self._nodes = graph["nodes"]
        self._heads = graph["heads"]

    def run(self, feed):
        values = []
        for node in self._nodes:
            if node["op"] == "null":
                values.append([feed[node["name"]]])
                continue
            inputs = [values[entry[0]][entry[1]] for entry in node["inputs"]]
            attrs = [(k, v) for k, v in node.get("attrs", {}).items() if not k.startswith("__")]
            values.append(invoke(node["op"], inputs, attrs))
        return [values[entry[0]][entry[1]] for entry in self._heads]


class SymbolBlock(HybridBlock):
    """A block computing ``outputs`` (a Symbol or list) from ``inputs`` (variables); every other
    free variable of the graph is a parameter (``params`` may share existing ones). Parameters
    are named as the graph's variables; their shapes are inferred at the first forward."""

    @staticmethod
    def imports(symbol_file, input_names, param_file=None, ctx=None, allow_missing=False, ignore_extra=False):
        """A SymbolBlock from ``HybridBlock.export``'s (or ``Module.save_checkpoint``'s) files."""
        sym = symbol.load(symbol_file)
        if isinstance(input_names, str):
            input_names = [input_names]
        if param_file is None:
            inputs = [symbol.var(i, dtype=np.float32) for i in input_names]
        else:
            inputs = [symbol.var(i) for i in input_names]
        ret = SymbolBlock(sym, inputs)
        if param_file is not None:
            ret.collect_params().load(param_file, ctx, allow_missing, ignore_extra, cast_dtype=True,
                                      dtype_source="saved")
        return ret

    def __repr__(self):
        return "{name}(\n{block} : {nin} -> {nout}\n)".format(
            name=self.__class__.__name__, block=self._cached_graph[1], nin=len(self._cached_graph[0]),
            nout=len(self._cached_graph[1].list_outputs()))

    def __init__(self, outputs, inputs, params=None):
        super(SymbolBlock, self).__init__(prefix=None, params=None)
        self._prefix = ""
        self._params = ParameterDict("", params)
        if isinstance(inputs, Symbol) and len(inputs.list_outputs()) == 1:
            inputs = [inputs]
        if isinstance(outputs, (list, tuple)) and len(outputs) == 1:
            outputs = outputs[0]
        syms, self._in_format = _flatten(inputs, "input")
        out, self._out_format = _flatten(outputs, "output")
        input_names = set()
        for i in syms:
            assert len(i.get_internals().list_outputs()) == 1, \
                "Input symbols must be variable, but %s is an output of operators" % str(i)
            input_names.add(i.name)
        out = symbol.Group(out) if len(out) > 1 else out[0]
        arg_params = out.list_arguments()
        aux_params = out.list_auxiliary_states()
        arg_types, aux_types = _infer_param_types(syms, out, arg_params, aux_params)
        for i, arg in enumerate(arg_params):
            if arg not in input_names:
                self.params.get(arg, allow_deferred_init=True, dtype=arg_types[i])
        for i, aux in enumerate(aux_params):
            if aux not in input_names:
                self.params.get(aux, grad_req="null", allow_deferred_init=True, dtype=aux_types[i])
        self._cached_graph = syms, out
        self._runner = _GraphRunner(out)
        len_prefix = len(_common_prefix(list(self._params.keys())))
        self._reg_params = {key[len_prefix:]: val for key, val in self._params.items()}

    def forward(self, x, *args):
        if isinstance(x, NDArray):
            with x.context:
                return self._run(x, *args)
        assert isinstance(x, Symbol), \
            "HybridBlock requires the first argument to forward be either Symbol or NDArray, but got %s" % type(x)
        args, in_fmt = _flatten([x] + list(args), "input")
        assert in_fmt == self._in_format, "Invalid input format"
        ret = self._cached_graph[1](**{k.name: v for k, v in zip(self._cached_graph[0], args)})
        return _regroup(list(ret), self._out_format)

    def _run(self, *args):
        flat, fmt = _flatten(list(args), "input")
        assert fmt == self._in_format, "Invalid input format"
        inputs, _ = self._cached_graph
        ctx = flat[0].context
        params = self.collect_params()
        try:
            feed = {name: p.data(ctx) for name, p in params.items()}
        except DeferredInitializationError:
            self._deferred_infer_shape(*args)
            for p in params.values():
                p._finish_deferred_init()
            feed = {name: p.data(ctx) for name, p in params.items()}
        feed.update({s.name: a for s, a in zip(inputs, flat)})
        outs = self._runner.run(feed)
        return outs[0] if self._out_format == 0 else _regroup(outs, self._out_format)

    def _clear_cached_op(self):
        graph = self._cached_graph
        super(SymbolBlock, self)._clear_cached_op()
        self._cached_graph = graph

    def hybrid_forward(self, F, x, *args, **kwargs):
        raise NotImplementedError

    def reset_ctx(self, ctx):
        for p in self.collect_params().values():
            p.reset_ctx(ctx)
