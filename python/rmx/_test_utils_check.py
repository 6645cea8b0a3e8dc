"""Part of ``rmx.test_utils`` (import from there): checks that run symbols and networks: forward
and backward against expected values, numeric gradients, consistency across contexts and dtypes,
speed, optimizers against each other, and Gluon's hybridized against imperative results."""

import json
import time
import traceback

import numpy as np

from .context import Context, current_context
from .ndarray import ndarray as _nd
from .ndarray.ndarray import NDArray
from ._test_utils_compare import _numpy as _np, assert_almost_equal, compare_ndarray_tuple, default_numeric_eps, get_tols, same


def default_context():
    """The context tests run on: the current context (``set_default_context`` changes it)."""
    return current_context()


def set_default_context(ctx):
    """Makes ``ctx`` this thread's current (and so the tests') default context."""
    Context._scope.value = ctx


def default_dtype():
    """The dtype of test data: float32."""
    return np.float32


def _as_dict(sym, location, what, names=None):
    names = sym.list_arguments() if names is None else names
    if location is None:
        return {}
    if isinstance(location, dict):
        missing = set(location) - set(names)
        if missing:
            raise ValueError(f"{what}: symbol has no arguments named {sorted(missing)}; arguments: {names}")
        return dict(location)
    location = list(location)
    if len(location) != len(names):
        raise ValueError(f"{what}: {len(location)} arrays for {len(names)} arguments {names}")
    return dict(zip(names, location))


def _nd_dict(d, ctx, dtype):
    return {k: (v.astype(dtype) if isinstance(v, NDArray) else _nd.array(np.asarray(v), ctx=ctx, dtype=dtype)) for k, v in d.items()}


def simple_forward(sym, ctx=None, is_train=False, **inputs):
    """Binds ``inputs`` (NumPy arrays), runs forward, returns NumPy output(s)."""
    ctx = ctx or default_context()
    args = _nd_dict(inputs, ctx, np.float32)
    outs = sym.bind(ctx, args=args, grad_req="null").forward(is_train=is_train)
    outs = [o.asnumpy() for o in outs]
    return outs[0] if len(outs) == 1 else outs


def check_symbolic_forward(sym, location, expected, rtol=None, atol=None, aux_states=None, ctx=None, equal_nan=False, dtype=np.float32):
    """Runs ``sym`` forward (inference) on ``location`` and compares each output with ``expected``."""
    ctx = ctx or default_context()
    args = _nd_dict(_as_dict(sym, location, "location"), ctx, dtype)
    aux = _nd_dict(_as_dict(sym, aux_states, "aux_states", sym.list_auxiliary_states()), ctx, dtype) if aux_states is not None else None
    ex = sym.bind(ctx, args=args, grad_req="null", aux_states=aux)
    outputs = [o.asnumpy() for o in ex.forward(is_train=False)]
    if isinstance(expected, dict):
        expected = [expected[k] for k in sym.list_outputs()]
    for name, out, exp in zip(sym.list_outputs(), outputs, expected):
        assert_almost_equal(out, exp, rtol, atol, ("FORWARD_" + name, "EXPECTED_" + name), equal_nan=equal_nan)
    return outputs


def check_symbolic_backward(sym, location, out_grads, expected, rtol=None, atol=None, aux_states=None, grad_req="write",
                            ctx=None, grad_stypes=None, equal_nan=False, dtype=np.float32):
    """Runs forward (training) and backward with ``out_grads``; compares the gradients with
    ``expected`` (dict by name or list in argument order). ``grad_req='add'`` starts from random
    gradients and checks the sum."""
    ctx = ctx or default_context()
    loc = _as_dict(sym, location, "location")
    args = _nd_dict(loc, ctx, dtype)
    if isinstance(expected, (list, tuple)):
        expected = dict(zip(sym.list_arguments(), expected))
    reqs = {k: (grad_req if isinstance(grad_req, str) else grad_req.get(k, "null")) for k in sym.list_arguments()}
    initial = {k: np.random.normal(size=args[k].shape).astype(dtype) for k in expected}
    grads = {k: _nd.array(initial[k] if reqs[k] == "add" else np.zeros(args[k].shape), ctx=ctx, dtype=dtype) for k in expected if reqs[k] != "null"}
    aux = _nd_dict(_as_dict(sym, aux_states, "aux_states", sym.list_auxiliary_states()), ctx, dtype) if aux_states is not None else None
    ex = sym.bind(ctx, args=args, args_grad=grads, grad_req=reqs, aux_states=aux)
    ex.forward(is_train=True)
    if out_grads is not None:
        if isinstance(out_grads, dict):
            out_grads = [out_grads[k] for k in sym.list_outputs()]
        out_grads = [g if isinstance(g, NDArray) else _nd.array(np.asarray(g), ctx=ctx, dtype=dtype) for g in out_grads]
    ex.backward(out_grads)
    got = {k: g.asnumpy() for k, g in grads.items()}
    for name, exp in expected.items():
        if reqs[name] == "null":
            continue
        want = exp + initial[name] if reqs[name] == "add" else exp
        assert_almost_equal(got[name], want, rtol, atol, ("BACKWARD_" + name, "EXPECTED_" + name), equal_nan=equal_nan)
    return got


def numeric_grad(executor, location, aux_states=None, eps=1e-4, use_forward_train=True, dtype=np.float32):
    """Central differences of ``sum(outputs)`` with respect to every array in ``location``."""
    arg_dict = executor.arg_dict
    # C order, so that the flat view below is the array itself (a transposed input would copy).
    base = {k: np.array(v, dtype=np.float64, order="C") for k, v in location.items()}
    grads = {}
    for name, x in base.items():
        g = np.zeros_like(x)
        flat = x.reshape(-1)
        for i in range(flat.size):
            old = flat[i]
            values = []
            for delta in (eps / 2, -eps / 2):
                flat[i] = old + delta
                arg_dict[name][:] = x.astype(dtype)
                if aux_states is not None:
                    for k, v in aux_states.items():
                        executor.aux_dict[k][:] = v
                executor.forward(is_train=use_forward_train)
                values.append(sum(o.asnumpy().astype(np.float64).sum() for o in executor.outputs))
            flat[i] = old
            g.reshape(-1)[i] = (values[0] - values[1]) / eps
        arg_dict[name][:] = x.astype(dtype)
        grads[name] = g
    return grads


def check_numeric_gradient(sym, location, aux_states=None, numeric_eps=None, rtol=None, atol=None, grad_nodes=None,
                           use_forward_train=True, ctx=None, grad_stype_dict=None, dtype=np.float32):
    """Compares the symbol's gradient with central differences. The (single) output is
    multiplied by a random projection and wrapped in ``make_loss``, as MXNet does, so the
    objective is a scalar sum; ``grad_nodes`` (list, or dict name -> grad_req) picks the
    arguments checked."""
    from . import symbol as _sym

    ctx = ctx or default_context()
    dtype = np.dtype(dtype)
    if not isinstance(numeric_eps, (int, float)):  # None or a dict by dtype, as MXNet's
        numeric_eps = (numeric_eps or {}).get(dtype, default_numeric_eps()[dtype])
    loc = {k: np.asarray(v.asnumpy() if isinstance(v, NDArray) else v, dtype=dtype) for k, v in _as_dict(sym, location, "location").items()}
    aux = None if aux_states is None else {k: np.asarray(_np(v), dtype=dtype) for k, v in _as_dict(sym, aux_states, "aux_states", sym.list_auxiliary_states()).items()}
    if grad_nodes is None:
        grad_nodes = {k: "write" for k in loc}
    elif isinstance(grad_nodes, (list, tuple)):
        grad_nodes = {k: "write" for k in grad_nodes}
    out_shape = sym.infer_shape(**{k: v.shape for k, v in loc.items()})[1][0]
    proj = np.random.uniform(-1, 1, size=out_shape).astype(dtype)
    loss = _sym.make_loss(sym * _sym.Variable("__random_proj"))
    args = dict(loc)
    args["__random_proj"] = proj
    initial = {k: np.random.normal(size=loc[k].shape).astype(dtype) for k in grad_nodes}
    grads = {k: _nd.array(initial[k] if req == "add" else np.zeros(loc[k].shape), ctx=ctx, dtype=dtype) for k, req in grad_nodes.items()}
    reqs = {k: grad_nodes.get(k, "null") for k in loss.list_arguments()}
    aux_nd = None if aux is None else _nd_dict(aux, ctx, dtype)
    ex = loss.bind(ctx, args=_nd_dict(args, ctx, dtype), args_grad=grads, grad_req=reqs, aux_states=aux_nd)
    ex.forward(is_train=use_forward_train)
    ex.backward()
    symbolic = {k: g.asnumpy() - (initial[k] if grad_nodes[k] == "add" else 0) for k, g in grads.items()}
    numeric = numeric_grad(ex, {k: loc[k] for k in grad_nodes}, aux_states=aux, eps=numeric_eps, use_forward_train=use_forward_train, dtype=dtype)
    for name in grad_nodes:
        if grad_nodes[name] == "null":
            continue
        assert_almost_equal(numeric[name], symbolic[name], rtol, atol, (f"NUMERICAL_{name}", f"BACKWARD_{name}"))




def _least_precise(dt1, dt2):
    """The dtype with fewer bytes (``dt1`` when ``dt2`` is None)."""
    return dt1 if dt2 is None or np.dtype(dt1).itemsize < np.dtype(dt2).itemsize else dt2


def _report(raise_on_err, error, header):
    """Prints ``header`` and the failed comparison; re-raises unless ``raise_on_err`` is False."""
    print(header)
    traceback.print_exc()
    if raise_on_err:
        raise error
    print(str(error))


def check_consistency(sym, ctx_list, scale=1.0, grad_req="write", arg_params=None, aux_params=None, rtol=None, atol=None,
                      raise_on_err=True, ground_truth=None, equal_nan=False, use_uniform=False, rand_type=np.float64):
    """Runs ``sym`` (or one symbol per entry) bound by each entry of ``ctx_list`` — a dict of
    ``simple_bind`` keywords: ``ctx``, input shapes by name, ``type_dict`` — on the same random
    inputs (normal with std ``scale``, or uniform within ``0.92 * scale``; ``arg_params`` and
    ``aux_params`` fix some) and compares every output (inference) and then every output and
    gradient (training, when ``grad_req`` is not 'null') with those of the most precise entry.
    Tolerances default by dtype; for a gradient whose dtype is more precise than its executor's
    first output, the output's dtype sets the tolerance. Returns the ground-truth arrays by name.

    >>> import numpy as np
    >>> import rmx as mx
    >>> sym = mx.sym.FullyConnected(mx.sym.Variable('data'), num_hidden=3, name='fc')
    >>> ctx_list = [{'ctx': mx.cpu(0), 'data': (2, 4), 'type_dict': {'data': np.float64}},
    ...             {'ctx': mx.cpu(0), 'data': (2, 4), 'type_dict': {'data': np.float32}}]
    >>> sorted(mx.test_utils.check_consistency(sym, ctx_list))
    ['data', 'fc_bias', 'fc_output', 'fc_weight']
    """
    assert len(ctx_list) > 1
    syms = [sym] * len(ctx_list) if not isinstance(sym, (list, tuple)) else list(sym)
    assert len(syms) == len(ctx_list)
    output_names, arg_names = syms[0].list_outputs(), syms[0].list_arguments()
    exe_list = []
    for s, ctx in zip(syms, ctx_list):
        assert s.list_arguments() == arg_names and s.list_outputs() == output_names
        exe_list.append(s.simple_bind(grad_req=grad_req, **ctx))
    arg_params = {} if arg_params is None else arg_params
    aux_params = {} if aux_params is None else aux_params
    # Drawn in name order, so a seed gives the same inputs whatever the dict order.
    for name, arr in sorted(exe_list[0].arg_dict.items(), key=lambda kv: kv[0]):
        if name not in arg_params:
            if use_uniform:
                arg_params[name] = np.random.uniform(-0.92 * scale, 0.92 * scale, size=arr.shape).astype(rand_type)
            else:
                arg_params[name] = np.random.normal(size=arr.shape, scale=scale).astype(rand_type)
    for name in exe_list[0].aux_dict:
        aux_params.setdefault(name, 0)
    for exe in exe_list:
        for name, arr in exe.arg_dict.items():
            arr[:] = arg_params[name]
        for name, arr in exe.aux_dict.items():
            arr[:] = aux_params[name]
        if grad_req == "add":
            for arr in exe.grad_arrays:
                if arr is not None:
                    arr[:] = 0

    dtypes = [np.dtype(exe.outputs[0].dtype) for exe in exe_list]
    gt_idx = max(range(len(exe_list)), key=lambda i: dtypes[i].itemsize)  # the first of the most precise
    gt = ground_truth
    if gt is None:
        gt = dict(exe_list[gt_idx].output_dict)
        if grad_req != "null":
            gt.update(exe_list[gt_idx].grad_dict)

    for exe in exe_list:
        exe.forward(is_train=False)
    for i, exe in enumerate(exe_list):
        if i == gt_idx:
            continue
        for name, arr in zip(output_names, exe.outputs):
            try:
                assert_almost_equal(arr, gt[name], rtol=rtol, atol=atol, equal_nan=equal_nan)
            except AssertionError as e:
                _report(raise_on_err, e, "Predict Err: ctx %d vs ctx %d at %s" % (i, gt_idx, name))

    if grad_req != "null":
        for exe in exe_list:
            exe.forward(is_train=True)
        # Every executor gets the first one's outputs as head gradients, in the least precise dtype.
        least = [out.dtype for out in exe_list[0].outputs]
        for exe in exe_list:
            least = [_least_precise(out.dtype, dt) for out, dt in zip(exe.outputs, least)]
        heads = [out.astype(dt).asnumpy() for out, dt in zip(exe_list[0].outputs, least)]
        for exe, ctx in zip(exe_list, ctx_list):
            exe.backward([_nd.array(h, ctx=ctx.get("ctx"), dtype=out.dtype) for h, out in zip(heads, exe.outputs)])
        for i, exe in enumerate(exe_list):
            if i == gt_idx:
                continue
            for name, arr in zip(output_names + arg_names, exe.outputs + exe.grad_arrays):
                gtarr = gt.get(name)
                if gtarr is None:
                    assert arr is None
                    continue
                try:
                    rt, at = rtol, atol
                    arr_dt, gt_dt = _least_precise(arr.dtype, dtypes[i]), _least_precise(gtarr.dtype, dtypes[gt_idx])
                    if arr_dt != arr.dtype or gt_dt != gtarr.dtype:
                        rt, at = get_tols(arr.astype(arr_dt), gtarr.astype(gt_dt), rtol, atol)
                    assert_almost_equal(arr, gtarr, rtol=rt, atol=at, equal_nan=equal_nan)
                except AssertionError as e:
                    _report(raise_on_err, e, "Train Err: {} {} ctx {} vs {} {} ctx {} at {}".format(
                        np.dtype(arr.dtype).name, arr.context, i, np.dtype(gtarr.dtype).name, gtarr.context, gt_idx, name))
    return gt


def check_speed(sym, location=None, ctx=None, N=20, grad_req=None, typ="whole", **kwargs):  # noqa: N803 - MXNet's name
    """Seconds per run of ``sym``: forward and backward (``typ='whole'``) or forward only
    (``'forward'``), averaged over ``N`` runs after one warm-up. Inputs are ``location`` (dict
    name -> NumPy array) or, without it, normal noise of the shapes in ``kwargs``."""
    ctx = ctx or default_context()
    grad_req = grad_req or "write"
    if location is None:
        exe = sym.simple_bind(grad_req=grad_req, ctx=ctx, **kwargs)
        location = {k: np.random.normal(size=arr.shape, scale=1.0) for k, arr in exe.arg_dict.items()}
    else:
        assert isinstance(location, dict), f'Expect dict, get "location"={location}'
        exe = sym.simple_bind(grad_req=grad_req, ctx=ctx, **{k: v.shape for k, v in location.items()})
    for name, value in location.items():
        exe.arg_dict[name][:] = value.astype(exe.arg_dict[name].dtype)
    if typ not in ("whole", "forward"):
        raise ValueError('typ can only be "whole" or "forward".')

    def run():
        if typ == "whole":
            exe.forward(is_train=True)
            exe.backward(out_grads=exe.outputs)
        else:
            exe.forward(is_train=False)

    run()
    for out in exe.outputs:
        out.wait_to_read()
    tic = time.time()
    for _ in range(N):
        run()
    _nd.waitall()
    return (time.time() - tic) / N


def compare_optimizer(opt1, opt2, shape, dtype, w_stype="default", g_stype="default", rtol=1e-4, atol=1e-5,
                      compare_states=True, ntensors=1):
    """One update of ``opt1`` and ``opt2`` from the same random weight and gradient; compares
    their states (before and after) and the updated weights. A list of shapes (``ntensors`` of
    them) updates ``opt2`` with all at once and ``opt1`` one by one."""
    from . import ndarray as nd
    from ._test_utils_random import rand_sparse_ndarray

    ctx = default_context()
    if not isinstance(shape, list):
        assert ntensors == 1
        for stype in (w_stype, g_stype):
            if stype != "default":
                rand_sparse_ndarray(shape, stype)  # raises: rmx has dense storage only
        w2 = nd.random.uniform(shape=shape, ctx=ctx, dtype=dtype)
        w1 = w2.copyto(ctx)
        g2 = nd.random.uniform(shape=shape, ctx=ctx, dtype=dtype)
        g1 = g2.copyto(ctx)
        state1 = opt1.create_state_multi_precision(0, w1)
        state2 = opt2.create_state_multi_precision(0, w2)
        if compare_states:
            compare_ndarray_tuple(state1, state2)
        opt1.update_multi_precision(0, w1, g1, state1)
        opt2.update_multi_precision(0, w2, g2, state2)
        if compare_states:
            compare_ndarray_tuple(state1, state2, rtol=rtol, atol=atol)
        assert_almost_equal(w1, w2, rtol=rtol, atol=atol)
        return
    w1 = tuple(nd.random.uniform(shape=s, ctx=ctx, dtype=dtype) for s in shape)
    g1 = tuple(nd.random.uniform(shape=s, ctx=ctx, dtype=dtype) for s in shape)
    w2 = tuple(w.copyto(ctx) for w in w1)
    g2 = tuple(g.copyto(ctx) for g in g1)
    state2 = [opt2.create_state_multi_precision(0, w2[i]) for i in range(ntensors)]
    opt2.update_multi_precision(list(range(ntensors)), w2, g2, state2)
    for i in range(ntensors):
        state1 = opt1.create_state_multi_precision(i, w1[i])
        opt1.update_multi_precision(i, w1[i], g1[i], state1)
        if compare_states:
            compare_ndarray_tuple(state1, state2[i], rtol, atol)
        compare_ndarray_tuple(w1[i], w2[i], rtol, atol)


def check_gluon_hybridize_consistency(net_builder, data_l, numpy_func=None, test_grad=True, rtol=1E-4, atol=1E-4):
    """Builds ``net_builder(prefix='net_')`` four times — imperative and hybridized, with and
    without autograd — on the same parameters and the inputs ``data_l`` (NDArrays), and checks
    the outputs (and input gradients, for ``out.backward(out)``) agree, and with
    ``numpy_func(*inputs)`` when given. The network must not draw random numbers. MXNet runs
    this on ``mx.np`` arrays; rmx has no ``mx.np``, so here it takes ``mx.nd`` arrays."""
    from . import autograd
    from .initializer import Initializer

    class _Saved(Initializer):
        """Gives every parameter the value the first build drew."""

        def __init__(self, values):
            super().__init__()
            self._values = values

        def __call__(self, desc, arr):
            arr[:] = self._values[str(desc)]

    saved_out, saved_grads, init = None, None, None
    for hybridize in (False, True):
        for use_autograd in ((False, True) if test_grad else (False,)):
            net = net_builder(prefix="net_")
            net.initialize(init) if init is not None else net.initialize()
            if hybridize:
                net.hybridize()
            inputs = [x.copy() for x in data_l]
            if use_autograd:
                for x in inputs:
                    x.attach_grad()
                with autograd.record():
                    out = net(*inputs)
                out.backward(out)
            else:
                out = net(*inputs)
            if init is None:
                init = _Saved({k: v.data().asnumpy() for k, v in net.collect_params().items()})
            if saved_out is None:
                saved_out = out.asnumpy()
            else:
                assert_almost_equal(out.asnumpy(), saved_out, rtol=rtol, atol=atol)
            if use_autograd:
                grads = [x.grad.asnumpy() for x in inputs]
                if saved_grads is None:
                    saved_grads = grads
                else:
                    for got, want in zip(grads, saved_grads):
                        assert_almost_equal(got, want, rtol=rtol, atol=atol)
    if numpy_func is not None:
        assert_almost_equal(saved_out, numpy_func(*[x.asnumpy() for x in data_l]), rtol=rtol, atol=atol)


def same_symbol_structure(sym1, sym2):
    """Whether the two symbols' graphs have the same operator at every node position."""
    nodes1, nodes2 = json.loads(sym1.tojson())["nodes"], json.loads(sym2.tojson())["nodes"]
    return all(n1["op"] == n2["op"] for n1, n2 in zip(nodes1, nodes2))


def same_array(array1, array2):
    """Whether two NDArrays share memory: adding 1 to ``array1`` must show in ``array2`` (and is
    undone afterwards)."""
    array1[:] += 1
    if not same(array1.asnumpy(), array2.asnumpy()):
        array1[:] -= 1
        return False
    array1[:] -= 1
    return same(array1.asnumpy(), array2.asnumpy())


def retry(n):
    """A test decorator: reruns the test up to ``n`` times while it fails an assertion."""
    assert n > 0

    def decorate(f):
        def wrapper(*args, **kwargs):
            for i in range(n):
                try:
                    f(*args, **kwargs)
                    return
                except AssertionError:
                    if i == n - 1:
                        raise
                    _nd.waitall()

        return wrapper

    return decorate
