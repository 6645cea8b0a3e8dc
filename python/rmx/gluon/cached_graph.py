"""A hybridized block's graph, run through the executor (MXNet's ``CachedOp``).

The graph ``HybridBlock`` traced with ``mx.sym`` is bound once per input signature (shapes,
dtypes, context, and whether autograd records), with the executor's memory plan. Parameters are
bound as they are, so optimizer updates reach the graph, and BatchNorm's moving statistics are
the parameters' own arrays; inputs are copied into the graph's arguments on each call and the
outputs copied out (a later call reuses the graph's buffers). While recording, the whole call is
one node of the autograd tape whose backward is the executor's backward pass, so parameter
gradients land in the parameters' ``.grad`` as their ``grad_req`` says.
"""

from .. import _rmx, autograd, ndarray
from .parameter import DeferredInitializationError


class CachedGraph:
    def __init__(self, inputs, out, params, finish_deferred_init):
        self._inputs = [v.name for v in inputs]
        self._out = out
        self._params = {p.name: p for p in params.values()}
        self._finish_deferred_init = finish_deferred_init
        self.bindings = {}

    def __call__(self, ctx, flat):
        """Runs the graph on the flat list of input arrays; returns the flat list of outputs."""
        recording = autograd.is_recording()
        key = (tuple((a.shape, a.dtype) for a in flat), ctx, recording)
        if key not in self.bindings:
            self.bindings[key] = self._bind(ctx, flat, recording)
        exe, tracked = self.bindings[key]
        for name, a in zip(self._inputs, flat):
            a.copyto(exe.arg_dict[name])
        exe.forward(is_train=autograd.is_training())
        outs = [o.copy() for o in exe.outputs]
        if recording:
            sources = flat + [exe.arg_dict[n] for n in tracked]
            names = self._inputs + tracked

            def backward(out_grads):
                from ..ndarray.ndarray import _wrap
                exe.backward([_wrap(g) for g in out_grads])
                return [exe.grad_dict[n].handle for n in names]

            _rmx.record_custom([a.handle for a in sources], [o.handle for o in outs], backward)
        return outs

    def _bind(self, ctx, flat, recording):
        try:
            for p in self._params.values():
                p.data(ctx)
        except DeferredInitializationError:
            self._finish_deferred_init()
            for p in self._params.values():
                p._finish_deferred_init()
        args, grads, reqs = {}, {}, {}
        for name in self._out.list_arguments():
            if name in self._inputs:
                a = flat[self._inputs.index(name)]
                args[name] = ndarray.zeros(a.shape, ctx=ctx, dtype=a.dtype)
                req = "write" if recording else "null"
            else:
                args[name] = self._params[name].data(ctx)
                req = self._params[name].grad_req if recording else "null"
            reqs[name] = req
            if req != "null":
                grads[name] = ndarray.zeros(args[name].shape, ctx=ctx, dtype=args[name].dtype)
        aux = {name: self._params[name].data(ctx) for name in self._out.list_auxiliary_states()}
        exe = self._out.bind(ctx, args, args_grad=grads, grad_req=reqs, aux_states=aux)
        tracked = [n for n in self._out.list_arguments() if n not in self._inputs and reqs[n] != "null"]
        return exe, tracked
