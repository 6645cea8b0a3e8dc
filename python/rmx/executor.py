"""``Executor``: a symbol bound to arrays (made by ``Symbol.bind``/``simple_bind``). ``forward``
and ``backward`` push every node's kernel to the engine and return at once; the arrays are
ready at their next wait. The gradient graph and the buffers are built at bind time in Rust."""

import numpy as np

from .base import InvalidArgumentError
from .context import Context, current_context
from .ndarray import ndarray as _nd
from .ndarray.ndarray import NDArray, _wrap

__all__ = ["Executor"]


def _ctx(ctx):
    if ctx is None:
        return current_context()
    return ctx if isinstance(ctx, Context) else Context(ctx)


def _grad_reqs(grad_req, names):
    if isinstance(grad_req, str):
        return [grad_req] * len(names)
    if isinstance(grad_req, (list, tuple)):
        if len(grad_req) != len(names):
            raise InvalidArgumentError(f"grad_req has {len(grad_req)} entries for {len(names)} arguments")
        return list(grad_req)
    if isinstance(grad_req, dict):
        unknown = set(grad_req) - set(names)
        if unknown:
            raise InvalidArgumentError(f"grad_req names unknown arguments {sorted(unknown)}")
        return [grad_req.get(n, "null") for n in names]
    raise TypeError("grad_req must be a str, a list or a dict")


def _arrays(given, names, what, allow_missing=False):
    """A list in ``names`` order from a list or a dict of arrays."""
    if given is None:
        return [None] * len(names)
    if isinstance(given, dict):
        unknown = set(given) - set(names)
        if unknown and what != "args_grad":
            raise InvalidArgumentError(f"{what}: unknown names {sorted(unknown)}; expected {names}")
        out = [given.get(n) for n in names]
        if not allow_missing:
            missing = [n for n, a in zip(names, out) if a is None]
            if missing:
                raise InvalidArgumentError(f"{what}: missing arrays for {missing}")
        return out
    given = list(given)
    if len(given) != len(names):
        raise InvalidArgumentError(f"{what}: {len(given)} arrays for {len(names)} names {names}")
    return given


def bind(symbol, ctx, args, args_grad=None, grad_req="write", aux_states=None, memory_strategy=None):
    ctx = _ctx(ctx)
    arg_names, aux_names = symbol.list_arguments(), symbol.list_auxiliary_states()
    args = _arrays(args, arg_names, "args")
    grads = _arrays(args_grad, arg_names, "args_grad", allow_missing=True)
    aux = _arrays(aux_states, aux_names, "aux_states")
    reqs = _grad_reqs(grad_req, arg_names)
    # An argument without a gradient array takes no gradient.
    reqs = [r if g is not None else "null" for r, g in zip(reqs, grads)]
    for n, a in zip(arg_names + aux_names, args + aux):
        if not isinstance(a, NDArray):
            raise TypeError(f"bind: the array for '{n}' must be an NDArray, got {type(a).__name__}")
    handle = symbol.handle.bind(ctx.device_typeid, ctx.device_id, [a.handle for a in args],
                                [g.handle if (g is not None and r != "null") else None for g, r in zip(grads, reqs)],
                                reqs, [a.handle for a in aux], memory_strategy)
    grads = [g if r != "null" else None for g, r in zip(grads, reqs)]
    ex = Executor(handle, symbol, ctx, dict(zip(arg_names, reqs)), args, grads, aux)
    ex._memory_strategy = memory_strategy
    return ex


def _infer_all(symbol, what, shapes, type_dict):
    """Every argument's and aux state's shape and dtype (float32 where nothing decides)."""
    arg_shapes, _, aux_shapes = symbol.infer_shape(**shapes)
    if arg_shapes is None:
        symbol.infer_shape_partial(**shapes)
        raise InvalidArgumentError(f"{what}: the shapes {shapes} do not determine every argument's shape")
    # Partial, so that undecided dtypes default quietly (infer_type warns about them).
    arg_types, _, aux_types = symbol.infer_type_partial(**(type_dict or {}))
    arg_types = [t or np.float32 for t in arg_types]
    aux_types = [t or np.float32 for t in aux_types]
    return arg_shapes, arg_types, aux_shapes, aux_types


def simple_bind(symbol, ctx, grad_req, type_dict, shared_exec, shapes, memory_strategy=None):
    ctx = _ctx(ctx)
    arg_shapes, arg_types, aux_shapes, aux_types = _infer_all(symbol, "simple_bind", shapes, type_dict)
    arg_names = symbol.list_arguments()
    reqs = _grad_reqs(grad_req, arg_names)
    shared = shared_exec.arg_dict if shared_exec is not None else {}
    args, grads = [], []
    for n, s, t, r in zip(arg_names, arg_shapes, arg_types, reqs):
        a = shared.get(n)
        if a is None or a.shape != tuple(s) or a.dtype != t:
            a = _nd.zeros(s, ctx=ctx, dtype=t)
        args.append(a)
        g = shared_exec.grad_dict.get(n) if shared_exec is not None else None
        if r != "null" and (g is None or g.shape != tuple(s)):
            g = _nd.zeros(s, ctx=ctx, dtype=t)
        grads.append(g if r != "null" else None)
    aux = [_nd.zeros(s, ctx=ctx, dtype=t) for s, t in zip(aux_shapes, aux_types)]
    return bind(symbol, ctx, args, grads, reqs, aux, memory_strategy)


def plan_memory(symbol, strategy, grad_req, type_dict, shapes):
    """``Symbol.plan_memory``: what binding would allocate, planned without allocating."""
    arg_shapes, arg_types, aux_shapes, aux_types = _infer_all(symbol, "plan_memory", shapes, type_dict)
    reqs = _grad_reqs(grad_req, symbol.list_arguments())
    name = lambda t: np.dtype(t).name  # noqa: E731
    used, counts = symbol.handle.plan_memory([(list(s), name(t)) for s, t in zip(arg_shapes, arg_types)],
                                             [(list(s), name(t)) for s, t in zip(aux_shapes, aux_types)], reqs, strategy)
    return {"strategy": used, **counts}


class Executor:
    """Runs a bound symbol. ``arg_dict``/``grad_dict``/``aux_dict``/``output_dict`` name the
    arrays; ``forward(is_train, **inputs)`` copies inputs into ``arg_dict`` first."""

    def __init__(self, handle, symbol, ctx, grad_req, args, grads, aux):
        self.handle = handle
        self._symbol = symbol
        self._ctx = ctx
        self._grad_req = grad_req
        # The caller's own arrays (MXNet's executors hold the arrays they were bound to).
        self.arg_arrays = list(args)
        self.grad_arrays = list(grads)
        self.aux_arrays = list(aux)
        self.outputs = [_wrap(h) for h in handle.outputs()]
        self._monitor = None
        self._monitor_all = False
        self._monitor_exec = None
        self._memory_strategy = None

    @property
    def arg_dict(self):
        return dict(zip(self._symbol.list_arguments(), self.arg_arrays))

    @property
    def grad_dict(self):
        return {n: g for n, g in zip(self._symbol.list_arguments(), self.grad_arrays) if g is not None}

    @property
    def aux_dict(self):
        return dict(zip(self._symbol.list_auxiliary_states(), self.aux_arrays))

    @property
    def output_dict(self):
        return dict(zip(self._symbol.list_outputs(), self.outputs))

    def forward(self, is_train=False, **kwargs):
        """Runs the graph (``is_train`` switches Dropout and BatchNorm) and returns ``outputs``."""
        if kwargs:
            arg_dict = self.arg_dict
            for name, value in kwargs.items():
                if name not in arg_dict:
                    raise InvalidArgumentError(f"forward: unknown argument {name!r}; arguments are {list(arg_dict)}")
                dst = arg_dict[name]
                if isinstance(value, NDArray):
                    if value.shape != dst.shape:
                        raise InvalidArgumentError(f"forward: {name!r} has shape {value.shape}, the executor was bound with {dst.shape}")
                    value.copyto(dst)
                else:
                    dst[:] = value
        self.handle.forward(bool(is_train))
        if self._monitor is not None:
            self._call_monitor(bool(is_train))
        return self.outputs

    def backward(self, out_grads=None, is_train=True):
        """Runs the gradient graph; ``out_grads`` may be omitted for loss heads."""
        if out_grads is None:
            out_grads = []
        elif isinstance(out_grads, NDArray):
            out_grads = [out_grads]
        elif isinstance(out_grads, dict):
            out_grads = [out_grads[n] for n in self._symbol.list_outputs()]
        self.handle.backward([g.handle for g in out_grads])

    def copy_params_from(self, arg_params, aux_params=None, allow_extra_params=False):
        """Copies parameter values in by name."""
        arg_dict, aux_dict = self.arg_dict, self.aux_dict
        for name, array in (arg_params or {}).items():
            if name in arg_dict:
                dst = arg_dict[name]
                array.astype(dst.dtype).copyto(dst) if array.dtype != dst.dtype else array.copyto(dst)
            elif not allow_extra_params:
                raise ValueError(f"Find name \"{name}\" that is not in the arguments")
        for name, array in (aux_params or {}).items():
            if name in aux_dict:
                array.copyto(aux_dict[name])
            elif not allow_extra_params:
                raise ValueError(f"Find name {name} that is not in the auxiliary states")

    def reshape(self, partial_shaping=False, allow_up_sizing=False, **kwargs):
        """A new executor for new input shapes, sharing the parameter arrays (arguments whose
        shape does not change) with this one."""
        arg_shapes, _, aux_shapes = self._symbol.infer_shape(**kwargs)
        if arg_shapes is None:
            raise InvalidArgumentError(f"reshape: the shapes {kwargs} do not determine every shape")
        names = self._symbol.list_arguments()
        args, grads = [], []
        for name, shape, arr, grad in zip(names, arg_shapes, self.arg_arrays, self.grad_arrays):
            shape = tuple(shape)
            if shape == arr.shape:
                args.append(arr)
                grads.append(grad)
                continue
            if name not in kwargs and not partial_shaping:
                raise InvalidArgumentError(f"reshape: argument '{name}' changes shape {arr.shape} -> {shape}; pass partial_shaping=True to allow it")
            if int(np.prod(shape)) > arr.size and not allow_up_sizing:
                raise InvalidArgumentError(f"reshape: argument '{name}' grows from {arr.shape} to {shape}; pass allow_up_sizing=True")
            args.append(_nd.zeros(shape, ctx=self._ctx, dtype=arr.dtype))
            grads.append(None if grad is None else _nd.zeros(shape, ctx=self._ctx, dtype=arr.dtype))
        aux = [a if a.shape == tuple(s) else _nd.zeros(s, ctx=self._ctx, dtype=a.dtype) for a, s in zip(self.aux_arrays, aux_shapes)]
        reqs = [self._grad_req.get(n, "null") for n in names]
        ex = bind(self._symbol, self._ctx, args, grads, reqs, aux, self._memory_strategy)
        if self._monitor is not None:
            ex.set_monitor_callback(self._monitor, self._monitor_all)
        return ex

    def set_monitor_callback(self, callback, monitor_all=False):
        """After every forward, calls ``callback(name, array)`` for each operator's outputs in
        graph order, named as MXNet names them (``fc1_output``, ``split0_output1``); with
        ``monitor_all`` each operator's inputs come first (a variable by its own name, then
        every input as ``<operator>_<input>``, e.g. ``fc1_weight``).

        rmx runs a bound graph in Rust without per-node hooks, so the values come from a second,
        gradient-free run of ``symbol.get_internals()`` over the same arguments (auxiliary
        states copied, so moving statistics move once): random operators (Dropout) draw anew
        there, and nodes of the gradient graph (MXNet's ``*_backward_*``) are not reported.
        A callback with a ``monitor_active`` attribute returning False skips that run.
        """
        self._monitor = callback
        self._monitor_all = bool(monitor_all)
        self._monitor_exec = None

    def _call_monitor(self, is_train):
        active = getattr(self._monitor, "monitor_active", None)
        if active is not None and not active():
            return
        if self._monitor_exec is None:
            self._monitor_exec = _MonitorRun(self)
        for name, array in self._monitor_exec.run(is_train, self._monitor_all):
            self._monitor(name, array)

    def debug_str(self):
        return self.handle.debug_str()


# MXNet names the inputs of an operator registered with FListInputNames by those names and of
# any other operator ``input0, input1, ...``. Among one-input (``data``) operators, these are
# the ones with names (found by running MXNet 1.9.1's monitor over each); the others, such as
# Activation, relu, Flatten, Reshape, sum or clip, use ``input0``.
_NAMED_DATA_OPS = {"Dropout", "Pooling", "LeakyReLU", "softmax", "log_softmax", "LRN", "L2Normalization", "SwapAxis",
                   "Pad", "MakeLoss"}


def _op_inputs():
    """Operator name (and alias) -> the input names MXNet's monitor uses, or None for
    ``input{i}``, and whether the operator is variadic (``arg{i}``)."""
    from . import _rmx

    table = {}
    for name, aliases, _doc, inputs, variadic, _params in _rmx.op_list():
        names = list(inputs)
        if names == ["data"] and name not in _NAMED_DATA_OPS:
            names = None
        for n in [name, *aliases]:
            table[n] = (names, variadic)
    return table


class _MonitorRun:
    """The monitor's view of an executor: ``symbol.get_internals()`` bound to the executor's
    own argument arrays (no gradients) and to copies of its auxiliary states."""

    _inputs = None

    def __init__(self, ex):
        import json

        if _MonitorRun._inputs is None:
            _MonitorRun._inputs = _op_inputs()
        internals = ex._symbol.get_internals()
        graph = json.loads(internals.tojson())
        self._nodes = graph["nodes"]
        self._heads = {(h[0], h[1]): k for k, h in enumerate(graph["heads"])}
        self._names = internals.list_outputs()
        self._ex = ex
        self._aux = [a.copy() for a in ex.aux_arrays]
        aux = dict(zip(ex._symbol.list_auxiliary_states(), self._aux))
        self._run = bind(internals, ex._ctx, ex.arg_dict, None, "null", aux, ex._memory_strategy)
        self._var_arrays = {**ex.arg_dict, **ex.aux_dict}

    def _input_names(self, node):
        names, variadic = self._inputs.get(node["op"], (None, False))
        count = len(node["inputs"])
        if variadic:
            return [f"arg{i}" for i in range(count)]
        if names is None or len(names) != count:
            return [f"input{i}" for i in range(count)]
        return names

    def run(self, is_train, monitor_all):
        """``(name, array)`` pairs in MXNet's order."""
        for src, dst in zip(self._ex.aux_arrays, self._aux):
            src.copyto(dst)
        outputs = self._run.forward(is_train=is_train)
        pairs = []
        for nid, node in enumerate(self._nodes):
            if node["op"] == "null":
                continue
            if monitor_all:
                for (src, idx, _), input_name in zip(node["inputs"], self._input_names(node)):
                    src_node = self._nodes[src]
                    if src_node["op"] == "null":
                        value = self._var_arrays.get(src_node["name"])
                        if value is None:
                            continue
                        pairs.append((src_node["name"], value))
                    else:
                        k = self._heads.get((src, idx))
                        if k is None:
                            continue
                        value = outputs[k]
                    pairs.append((f"{node['name']}_{input_name}", value))
            idx = 0
            while (nid, idx) in self._heads:
                k = self._heads[(nid, idx)]
                pairs.append((self._names[k], outputs[k]))
                idx += 1
        return pairs
