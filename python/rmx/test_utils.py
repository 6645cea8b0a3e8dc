"""``mx.test_utils``: the checking helpers MXNet's own tests and users' tests rely on, with
MXNet's signatures: comparisons with per-dtype tolerances, symbolic forward/backward checks and
the numeric gradient check (central differences through the executor)."""

import contextlib
import os

import numpy as np

from .context import Context, cpu, current_context
from .ndarray import ndarray as _nd
from .ndarray.ndarray import NDArray

_default_ctx = None

# Default (rtol, atol) by dtype, as MXNet's.
_TOLERANCES = {np.dtype(np.float16): (1e-2, 1e-1), np.dtype(np.float32): (1e-4, 1e-3), np.dtype(np.float64): (1e-5, 1e-20)}


def default_context():
    return _default_ctx or current_context()


def set_default_context(ctx):
    global _default_ctx
    _default_ctx = ctx


def default_dtype():
    return np.float32


def _np(a):
    if isinstance(a, NDArray):
        return a.asnumpy()
    return np.asarray(a)


def _tols(a, b, rtol, atol):
    dts = [np.dtype(x.dtype) for x in (a, b) if np.dtype(x.dtype) in _TOLERANCES]
    # The looser tolerance of the two dtypes.
    r, t = max((_TOLERANCES[d] for d in dts), default=(1e-5, 1e-20))
    return (r if rtol is None else rtol), (t if atol is None else atol)


def almost_equal(a, b, rtol=None, atol=None, equal_nan=False, use_broadcast=True):
    a, b = _np(a), _np(b)
    rtol, atol = _tols(a, b, rtol, atol)
    if not use_broadcast and a.shape != b.shape:
        return False
    return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def assert_almost_equal(a, b, rtol=None, atol=None, names=("a", "b"), equal_nan=False, use_broadcast=True, mismatches=(10, 10)):
    """Raises ``AssertionError`` naming the worst elements when ``|a - b| > atol + rtol * |b|``."""
    a, b = _np(a), _np(b)
    rtol, atol = _tols(a, b, rtol, atol)
    if not use_broadcast and a.shape != b.shape:
        raise AssertionError(f"shapes differ: {names[0]} {a.shape}, {names[1]} {b.shape}")
    a64, b64 = np.broadcast_arrays(a.astype(np.float64), b.astype(np.float64))
    close = np.isclose(a64, b64, rtol=rtol, atol=atol, equal_nan=equal_nan)
    if close.all():
        return
    err = np.abs(a64 - b64) / (atol + rtol * np.abs(b64))
    err = np.where(np.isnan(err), np.inf, err)
    worst = np.argsort(err, axis=None)[::-1][: mismatches[0]]
    lines = [f"Items are not equal (rtol={rtol}, atol={atol}): {int((~close).sum())} of {close.size} differ"]
    for flat in worst:
        idx = np.unravel_index(flat, a64.shape)
        if close[idx]:
            break
        lines.append(f"  at {tuple(int(i) for i in idx)}: {names[0]}={a64[idx]!r} {names[1]}={b64[idx]!r}")
    raise AssertionError("\n".join(lines))


def assert_allclose(a, b, rtol=1e-7, atol=0, equal_nan=True):
    assert_almost_equal(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)


def assert_almost_equal_ignore_nan(a, b, rtol=None, atol=None, names=("a", "b")):
    a, b = np.copy(_np(a)), np.copy(_np(b))
    nan = np.logical_or(np.isnan(a), np.isnan(b))
    a[nan] = 0
    b[nan] = 0
    assert_almost_equal(a, b, rtol, atol, names)


def same(a, b):
    return np.array_equal(_np(a), _np(b))


def assert_exception(f, exception_type, *args, **kwargs):
    try:
        f(*args, **kwargs)
    except exception_type:
        return
    raise AssertionError(f"{getattr(f, '__name__', f)} did not raise {exception_type.__name__}")


def random_arrays(*shapes):
    """Standard-normal float32 arrays of the given shapes (a scalar for shape ())."""
    arrays = [np.array(np.random.randn(), dtype=np.float32) if len(s) == 0 else np.random.randn(*s).astype(np.float32) for s in shapes]
    return arrays[0] if len(arrays) == 1 else arrays


def random_sample(population, k):
    import random

    return random.sample(population, k)


def rand_shape_2d(dim0=10, dim1=10):
    return np.random.randint(1, dim0 + 1), np.random.randint(1, dim1 + 1)


def rand_shape_3d(dim0=10, dim1=10, dim2=10):
    return np.random.randint(1, dim0 + 1), np.random.randint(1, dim1 + 1), np.random.randint(1, dim2 + 1)


def rand_shape_nd(num_dim, dim=10):
    return tuple(np.random.randint(1, dim + 1, size=num_dim))


def rand_ndarray(shape, stype="default", density=None, dtype=None, ctx=None):
    if stype != "default":
        raise NotImplementedError("rmx has dense storage only")
    return _nd.array(np.random.uniform(-1, 1, size=shape), ctx=ctx, dtype=dtype or np.float32)


def np_reduce(dat, axis, keepdims, numpy_reduce_func):
    """``numpy_reduce_func`` over ``axis`` (int, tuple or None) with ``keepdims``."""
    if isinstance(axis, int):
        axis = [axis]
    else:
        axis = list(axis) if axis is not None else range(len(dat.shape))
    ret = dat
    for i in reversed(sorted(axis)):
        ret = numpy_reduce_func(ret, axis=i)
    if keepdims:
        shape = list(dat.shape)
        for i in axis:
            shape[i] = 1
        ret = ret.reshape(tuple(shape))
    return ret


def list_gpus():
    return []


@contextlib.contextmanager
def environment(*args):
    """Sets environment variables (``environment('K', 'v')`` or ``environment({'K': 'v'})``)
    for the block; ``None`` unsets."""
    pairs = args[0] if len(args) == 1 and isinstance(args[0], dict) else {args[0]: args[1]}
    old = {k: os.environ.get(k) for k in pairs}
    try:
        for k, v in pairs.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = str(v)
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


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
    base = {k: np.array(v, dtype=np.float64) for k, v in location.items()}
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
    if numeric_eps is None:
        numeric_eps = 2.0**-14 if dtype == np.float64 else 2.0**-9
    rtol = (1e-4 if dtype == np.float64 else 1e-2) if rtol is None else rtol
    atol = (1e-6 if dtype == np.float64 else 1e-3) if atol is None else atol
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


__all__ = [n for n in dir() if not n.startswith("_") and n not in ("contextlib", "os", "np", "Context", "cpu", "NDArray")]
