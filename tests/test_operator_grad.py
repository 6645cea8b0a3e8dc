"""Gradients of the differentiable operators through the symbolic path (Symbol -> bind ->
forward -> the executor's gradient pass -> backward), checked against float64 central
differences with ``check_numeric_gradient``; forwards checked against NumPy formulas with
``check_symbolic_forward``, and a few backwards against closed forms with
``check_symbolic_backward`` (grad_req 'write' and 'add'). Loss heads, whose backward ignores the
head gradient, are checked through the executor directly.

Inputs are tiny (the numeric check runs two forwards per input element) and drawn away from
kinks: |x| >= 0.1 around relu-like points, well separated values under max/pooling, values off
the clip bounds, so that a central difference never straddles a non-differentiable point."""

import zlib

import numpy as np
import pytest

import rmx as mx
from rmx.test_utils import check_numeric_gradient, check_symbolic_backward, check_symbolic_forward

RTOL = 1e-5
ATOL = 1e-7
F64 = np.float64


@pytest.fixture
def rng(request):
    """A RandomState seeded from the test id; also seeds NumPy's global generator, which
    ``check_numeric_gradient`` draws its random projection from."""
    seed = zlib.crc32(request.node.name.encode())
    np.random.seed(seed)
    return np.random.RandomState(seed)


def ngrad(sym, location, grad_nodes=None, aux_states=None, rtol=RTOL, atol=ATOL, **kw):
    check_numeric_gradient(sym, location, aux_states=aux_states, grad_nodes=grad_nodes, rtol=rtol, atol=atol, dtype=F64, **kw)


def fwd(sym, location, expected, aux_states=None, rtol=1e-10, atol=1e-12):
    return check_symbolic_forward(sym, location, expected, rtol=rtol, atol=atol, aux_states=aux_states, dtype=F64)


def bwd(sym, location, out_grads, expected, grad_req="write", aux_states=None, rtol=1e-10, atol=1e-12):
    return check_symbolic_backward(sym, location, out_grads, expected, rtol=rtol, atol=atol, aux_states=aux_states, grad_req=grad_req, dtype=F64)


def away(rng, shape, lo=0.1, hi=1.0):
    """Uniform magnitudes in [lo, hi] with random signs: nothing within ``lo`` of zero."""
    return rng.uniform(lo, hi, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def distinct(rng, shape, spacing=0.05):
    """A shuffled ramp: all values differ by at least ``spacing`` (no ties under max)."""
    n = int(np.prod(shape))
    return ((rng.permutation(n) - n / 2.0) * spacing).reshape(shape) + rng.uniform(0, spacing / 4)


def var(name):
    return mx.sym.var(name)


def bind_exec(sym, args, grad_req, grads=None):
    args = {k: mx.nd.array(v, dtype=v.dtype if isinstance(v, np.ndarray) else F64) for k, v in args.items()}
    if grads is None:
        grads = {k: mx.nd.zeros(args[k].shape, dtype=args[k].dtype) for k, r in grad_req.items() if r != "null"}
    return sym.bind(mx.cpu(), args=args, args_grad=grads, grad_req=grad_req), grads


# ----------------------------------------------------------------------------------------------
# NumPy references


def np_softmax(x, axis=-1, temperature=1.0):
    e = np.exp((x - x.max(axis=axis, keepdims=True)) / temperature)
    return e / e.sum(axis=axis, keepdims=True)


def np_conv(x, w, b, stride, pad, dilate, group):
    nd = x.ndim - 2
    x = np.pad(x, [(0, 0), (0, 0)] + [(p, p) for p in pad])
    N, C = x.shape[:2]
    F, k = w.shape[0], w.shape[2:]
    osp = [(x.shape[2 + i] - dilate[i] * (k[i] - 1) - 1) // stride[i] + 1 for i in range(nd)]
    out = np.zeros((N, F) + tuple(osp))
    cg, fg = C // group, F // group
    for g in range(group):
        xs, ws = x[:, g * cg:(g + 1) * cg], w[g * fg:(g + 1) * fg]
        for kidx in np.ndindex(*k):
            sl = tuple(slice(kidx[i] * dilate[i], kidx[i] * dilate[i] + stride[i] * (osp[i] - 1) + 1, stride[i]) for i in range(nd))
            out[:, g * fg:(g + 1) * fg] += np.einsum("nc...,fc->nf...", xs[(slice(None), slice(None)) + sl], ws[(slice(None), slice(None)) + kidx])
    if b is not None:
        out += b.reshape((1, -1) + (1,) * nd)
    return out


def np_deconv(x, w, b, stride, pad, dilate, group, adj):
    nd = x.ndim - 2
    N, C = x.shape[:2]
    fg, k = w.shape[1], w.shape[2:]
    F, cg = fg * group, C // group
    ins = x.shape[2:]
    full = [(ins[i] - 1) * stride[i] + dilate[i] * (k[i] - 1) + 1 + adj[i] for i in range(nd)]
    out = np.zeros((N, F) + tuple(full))
    for g in range(group):
        for kidx in np.ndindex(*k):
            sl = tuple(slice(kidx[i] * dilate[i], kidx[i] * dilate[i] + stride[i] * (ins[i] - 1) + 1, stride[i]) for i in range(nd))
            contrib = np.einsum("nc...,cf->nf...", x[:, g * cg:(g + 1) * cg], w[g * cg:(g + 1) * cg][(slice(None), slice(None)) + kidx])
            out[(slice(None), slice(g * fg, (g + 1) * fg)) + sl] += contrib
    size = [(ins[i] - 1) * stride[i] - 2 * pad[i] + dilate[i] * (k[i] - 1) + 1 + adj[i] for i in range(nd)]
    out = out[(slice(None), slice(None)) + tuple(slice(pad[i], pad[i] + size[i]) for i in range(nd))]
    if b is not None:
        out = out + b.reshape((1, -1) + (1,) * nd)
    return out


def np_pool(x, kernel, stride, pad, pool_type, convention="valid", global_pool=False):
    nd = x.ndim - 2
    sp = x.shape[2:]
    if global_pool:
        kernel, stride, pad = sp, (1,) * nd, (0,) * nd
    if convention == "valid":
        osp = [(sp[i] + 2 * pad[i] - kernel[i]) // stride[i] + 1 for i in range(nd)]
    else:
        osp = [int(np.ceil((sp[i] + 2 * pad[i] - kernel[i]) / stride[i])) + 1 for i in range(nd)]
    out = np.zeros(x.shape[:2] + tuple(osp))
    axes = tuple(range(2, 2 + nd))
    for o in np.ndindex(*osp):
        starts = [o[i] * stride[i] - pad[i] for i in range(nd)]
        ends = [min(starts[i] + kernel[i], sp[i] + pad[i]) for i in range(nd)]
        size = np.prod([ends[i] - starts[i] for i in range(nd)])
        win = x[(slice(None), slice(None)) + tuple(slice(max(starts[i], 0), min(ends[i], sp[i])) for i in range(nd))]
        idx = (slice(None), slice(None)) + o
        if pool_type == "max":
            out[idx] = win.max(axis=axes)
        elif pool_type == "avg":
            out[idx] = win.sum(axis=axes) / size
        else:
            out[idx] = win.sum(axis=axes)
    return out


def np_lrn(x, nsize, alpha, beta, knorm):
    C = x.shape[1]
    sq = x**2
    acc = np.zeros_like(x)
    half = nsize // 2
    for c in range(C):
        acc[:, c] = sq[:, max(0, c - half):min(C, c + half + 1)].sum(axis=1)
    return x * (knorm + alpha / nsize * acc) ** (-beta)


def np_erf(x):
    import math

    return np.vectorize(math.erf)(x)


SELU_ALPHA = 1.6732632423543772848170429916717
SELU_LAMBDA = 1.0507009873554804934193349852946


# ----------------------------------------------------------------------------------------------
# The checker itself


def test_numeric_check_rejects_a_wrong_gradient(rng):
    # BlockGrad's forward is the identity but its gradient is zero: the numeric check must see it.
    x = away(rng, (3, 4))
    with pytest.raises(AssertionError):
        ngrad(mx.sym.BlockGrad(var("x")), {"x": x})


# ----------------------------------------------------------------------------------------------
# FullyConnected


@pytest.mark.parametrize(
    "shape,num_hidden,flatten,no_bias",
    [((3, 4), 5, True, False), ((2, 3, 4), 3, True, False), ((2, 3, 4), 3, False, False), ((2, 3, 4), 3, True, True), ((2, 2, 3), 4, False, True)],
)
def test_fully_connected(rng, shape, num_hidden, flatten, no_bias):
    sym = mx.sym.FullyConnected(var("x"), num_hidden=num_hidden, flatten=flatten, no_bias=no_bias, name="fc")
    in_dim = int(np.prod(shape[1:])) if flatten else shape[-1]
    loc = {"x": rng.randn(*shape), "fc_weight": rng.randn(num_hidden, in_dim)}
    if not no_bias:
        loc["fc_bias"] = rng.randn(num_hidden)
    assert sorted(sym.list_arguments()) == sorted(loc)
    x2 = loc["x"].reshape(shape[0], -1) if flatten else loc["x"]
    out = x2 @ loc["fc_weight"].T + (0 if no_bias else loc["fc_bias"])
    fwd(sym, loc, [out])
    ngrad(sym, loc)


@pytest.mark.parametrize("grad_req", ["write", "add"])
def test_fully_connected_backward_closed_form(rng, grad_req):
    sym = mx.sym.FullyConnected(var("x"), num_hidden=3, name="fc")
    x, w, b = rng.randn(4, 5), rng.randn(3, 5), rng.randn(3)
    og = rng.randn(4, 3)
    bwd(sym, {"x": x, "fc_weight": w, "fc_bias": b}, [og], {"x": og @ w, "fc_weight": og.T @ x, "fc_bias": og.sum(0)}, grad_req=grad_req)


# ----------------------------------------------------------------------------------------------
# Convolution / Deconvolution

CONV_CASES = [
    # (data shape, kernel, num_filter, stride, pad, dilate, num_group, no_bias)
    ((2, 2, 7), (3,), 3, (1,), (0,), (1,), 1, False),
    ((1, 4, 8), (3,), 2, (2,), (1,), (2,), 2, False),
    ((1, 2, 6), (1,), 3, (1,), (0,), (1,), 1, True),
    ((2, 2, 5, 5), (3, 3), 2, (1, 1), (0, 0), (1, 1), 1, False),
    ((1, 2, 6, 5), (3, 2), 3, (2, 1), (1, 1), (1, 1), 1, True),
    ((1, 2, 7, 7), (3, 3), 2, (1, 2), (1, 0), (2, 2), 1, False),
    ((1, 4, 4, 4), (2, 2), 4, (1, 1), (0, 1), (1, 1), 2, False),
    ((2, 3, 3, 4), (1, 1), 2, (1, 1), (0, 0), (1, 1), 1, False),
]


@pytest.mark.parametrize("shape,kernel,nf,stride,pad,dilate,group,no_bias", CONV_CASES)
def test_convolution(rng, shape, kernel, nf, stride, pad, dilate, group, no_bias):
    sym = mx.sym.Convolution(var("x"), kernel=kernel, num_filter=nf, stride=stride, pad=pad, dilate=dilate, num_group=group, no_bias=no_bias, name="conv")
    loc = {"x": rng.randn(*shape), "conv_weight": rng.randn(nf, shape[1] // group, *kernel) * 0.5}
    if not no_bias:
        loc["conv_bias"] = rng.randn(nf)
    assert sorted(sym.list_arguments()) == sorted(loc)
    fwd(sym, loc, [np_conv(loc["x"], loc["conv_weight"], loc.get("conv_bias"), stride, pad, dilate, group)])
    ngrad(sym, loc)


@pytest.mark.parametrize("grad_req", ["write", "add"])
def test_convolution_backward_closed_form(rng, grad_req):
    # 1x1 convolution is a per-pixel matrix product: closed-form gradients.
    sym = mx.sym.Convolution(var("x"), kernel=(1, 1), num_filter=3, name="conv")
    x, w, b = rng.randn(2, 2, 3, 2), rng.randn(3, 2, 1, 1), rng.randn(3)
    og = rng.randn(2, 3, 3, 2)
    wm = w[:, :, 0, 0]
    expected = {"x": np.einsum("nfhw,fc->nchw", og, wm), "conv_weight": np.einsum("nfhw,nchw->fc", og, x)[:, :, None, None], "conv_bias": og.sum(axis=(0, 2, 3))}
    bwd(sym, {"x": x, "conv_weight": w, "conv_bias": b}, [og], expected, grad_req=grad_req)


DECONV_CASES = [
    # (data shape, kernel, num_filter, stride, pad, dilate, adj, num_group, no_bias)
    ((2, 2, 4), (3,), 2, (1,), (0,), (1,), (0,), 1, False),
    ((1, 2, 3), (3,), 3, (2,), (1,), (1,), (1,), 1, True),
    ((1, 2, 3, 3), (3, 3), 2, (1, 1), (0, 0), (1, 1), (0, 0), 1, False),
    ((1, 2, 3, 2), (2, 3), 3, (2, 2), (1, 1), (1, 1), (1, 0), 1, False),
    ((1, 4, 3, 3), (2, 2), 4, (1, 1), (0, 0), (2, 1), (0, 0), 2, True),
]


@pytest.mark.parametrize("shape,kernel,nf,stride,pad,dilate,adj,group,no_bias", DECONV_CASES)
def test_deconvolution(rng, shape, kernel, nf, stride, pad, dilate, adj, group, no_bias):
    sym = mx.sym.Deconvolution(var("x"), kernel=kernel, num_filter=nf, stride=stride, pad=pad, dilate=dilate, adj=adj, num_group=group, no_bias=no_bias, name="dc")
    loc = {"x": rng.randn(*shape), "dc_weight": rng.randn(shape[1], nf // group, *kernel) * 0.5}
    if not no_bias:
        loc["dc_bias"] = rng.randn(nf)
    assert sorted(sym.list_arguments()) == sorted(loc)
    fwd(sym, loc, [np_deconv(loc["x"], loc["dc_weight"], loc.get("dc_bias"), stride, pad, dilate, group, adj)])
    ngrad(sym, loc)


# ----------------------------------------------------------------------------------------------
# Pooling

POOL_CASES = [
    # (shape, kernel, stride, pad, pool_type, convention, global_pool)
    ((2, 2, 4, 4), (2, 2), (2, 2), (0, 0), "max", "valid", False),
    ((1, 2, 5, 5), (3, 3), (2, 2), (1, 1), "max", "valid", False),
    ((1, 2, 5, 4), (2, 2), (2, 2), (0, 0), "max", "full", False),
    ((2, 2, 4, 4), (2, 2), (1, 1), (0, 0), "avg", "valid", False),
    ((1, 2, 5, 5), (3, 3), (2, 2), (1, 1), "avg", "valid", False),
    ((1, 2, 5, 4), (2, 3), (2, 2), (0, 0), "avg", "full", False),
    ((1, 3, 4, 4), (2, 2), (2, 1), (1, 0), "sum", "valid", False),
    ((1, 2, 5, 5), (2, 2), (2, 2), (0, 0), "sum", "full", False),
    ((2, 3, 3, 4), (1, 1), (1, 1), (0, 0), "max", "valid", True),
    ((2, 3, 3, 4), (1, 1), (1, 1), (0, 0), "avg", "valid", True),
    ((2, 3, 3, 4), (1, 1), (1, 1), (0, 0), "sum", "valid", True),
    ((2, 2, 7), (3,), (2,), (1,), "max", "valid", False),
    ((2, 2, 7), (3,), (2,), (0,), "avg", "full", False),
]


@pytest.mark.parametrize("shape,kernel,stride,pad,pool_type,convention,global_pool", POOL_CASES)
def test_pooling(rng, shape, kernel, stride, pad, pool_type, convention, global_pool):
    sym = mx.sym.Pooling(var("x"), kernel=kernel, stride=stride, pad=pad, pool_type=pool_type, pooling_convention=convention, global_pool=global_pool)
    x = distinct(rng, shape, spacing=0.05)
    fwd(sym, {"x": x}, [np_pool(x, kernel, stride, pad, pool_type, convention, global_pool)])
    ngrad(sym, {"x": x})


# ----------------------------------------------------------------------------------------------
# Activations

ACTIVATIONS = {
    "relu": lambda x: np.maximum(x, 0),
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "tanh": np.tanh,
    "softrelu": lambda x: np.log1p(np.exp(x)),
    "softsign": lambda x: x / (1 + np.abs(x)),
}


@pytest.mark.parametrize("act_type", sorted(ACTIVATIONS))
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 2, 2)])
def test_activation(rng, act_type, shape):
    sym = mx.sym.Activation(var("x"), act_type=act_type)
    x = away(rng, shape, 0.1, 2.0)
    fwd(sym, {"x": x}, [ACTIVATIONS[act_type](x)])
    ngrad(sym, {"x": x})


@pytest.mark.parametrize("grad_req", ["write", "add"])
def test_activation_backward_closed_form(rng, grad_req):
    x = away(rng, (3, 4))
    og = rng.randn(3, 4)
    s = 1 / (1 + np.exp(-x))
    bwd(mx.sym.Activation(var("x"), act_type="sigmoid"), {"x": x}, [og], {"x": og * s * (1 - s)}, grad_req=grad_req)
    bwd(mx.sym.Activation(var("x"), act_type="relu"), {"x": x}, [og], {"x": og * (x > 0)}, grad_req=grad_req)


@pytest.mark.parametrize(
    "act_type,slope,ref",
    [
        ("leaky", 0.25, lambda x, s: np.where(x > 0, x, s * x)),
        ("leaky", 0.1, lambda x, s: np.where(x > 0, x, s * x)),
        ("elu", 0.25, lambda x, s: np.where(x > 0, x, s * (np.exp(x) - 1))),
        ("elu", 1.3, lambda x, s: np.where(x > 0, x, s * (np.exp(x) - 1))),
        ("selu", 0.25, lambda x, s: SELU_LAMBDA * np.where(x > 0, x, SELU_ALPHA * (np.exp(x) - 1))),
        ("gelu", 0.25, lambda x, s: 0.5 * x * (1 + np_erf(x / np.sqrt(2)))),
    ],
)
def test_leaky_relu(rng, act_type, slope, ref):
    sym = mx.sym.LeakyReLU(var("x"), act_type=act_type, slope=slope)
    x = away(rng, (3, 2, 4), 0.1, 2.0)
    fwd(sym, {"x": x}, [ref(x, slope)], rtol=1e-7)
    ngrad(sym, {"x": x})


@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 2, 2)])
def test_leaky_relu_prelu(rng, shape):
    sym = mx.sym.LeakyReLU(var("x"), act_type="prelu", name="pr")
    assert sym.list_arguments() == ["x", "pr_gamma"]
    x = away(rng, shape, 0.1, 2.0)
    gamma = rng.uniform(0.1, 0.5, size=(shape[1],))
    g = gamma.reshape((1, -1) + (1,) * (len(shape) - 2))
    loc = {"x": x, "pr_gamma": gamma}
    fwd(sym, loc, [np.where(x > 0, x, g * x)])
    ngrad(sym, loc)


# ----------------------------------------------------------------------------------------------
# BatchNorm (training mode: batch statistics)


@pytest.mark.parametrize("fix_gamma", [False, True])
@pytest.mark.parametrize("shape", [(4, 3), (3, 2, 2, 3)])
def test_batchnorm_training_gradient(rng, fix_gamma, shape):
    sym = mx.sym.BatchNorm(var("x"), fix_gamma=fix_gamma, eps=1e-3, name="bn")
    assert sym.list_arguments() == ["x", "bn_gamma", "bn_beta"]
    assert sym.list_auxiliary_states() == ["bn_moving_mean", "bn_moving_var"]
    C = shape[1]
    loc = {"x": rng.randn(*shape), "bn_gamma": rng.uniform(0.5, 1.5, C), "bn_beta": rng.randn(C)}
    aux = {"bn_moving_mean": rng.randn(C) * 0.1, "bn_moving_var": rng.uniform(0.5, 1.5, C)}
    ngrad(sym, loc, aux_states=aux, use_forward_train=True)


def test_batchnorm_use_global_stats_gradient(rng):
    # With use_global_stats the moving statistics normalize, even in training: an affine map.
    sym = mx.sym.BatchNorm(var("x"), fix_gamma=False, use_global_stats=True, eps=1e-3, name="bn")
    C = 3
    loc = {"x": rng.randn(2, C, 2), "bn_gamma": rng.uniform(0.5, 1.5, C), "bn_beta": rng.randn(C)}
    aux = {"bn_moving_mean": rng.randn(C), "bn_moving_var": rng.uniform(0.5, 1.5, C)}
    ngrad(sym, loc, aux_states=aux)
    og = rng.randn(2, C, 2)
    r = lambda a: a.reshape(1, C, 1)  # noqa: E731
    inv = 1 / np.sqrt(r(aux["bn_moving_var"]) + 1e-3)
    xhat = (loc["x"] - r(aux["bn_moving_mean"])) * inv
    expected = {"x": og * r(loc["bn_gamma"]) * inv, "bn_gamma": (og * xhat).sum(axis=(0, 2)), "bn_beta": og.sum(axis=(0, 2))}
    bwd(sym, loc, [og], expected, aux_states=aux, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("fix_gamma", [False, True])
def test_batchnorm_training_backward_closed_form(rng, fix_gamma):
    sym = mx.sym.BatchNorm(var("x"), fix_gamma=fix_gamma, eps=1e-3, name="bn")
    N, C = 5, 3
    x, gamma, beta = rng.randn(N, C), rng.uniform(0.5, 1.5, C), rng.randn(C)
    aux = {"bn_moving_mean": np.zeros(C), "bn_moving_var": np.ones(C)}
    og = rng.randn(N, C)
    g = np.ones(C) if fix_gamma else gamma
    mu, v = x.mean(0), x.var(0)
    xhat = (x - mu) / np.sqrt(v + 1e-3)
    dxhat = og * g
    dx = (dxhat - dxhat.mean(0) - xhat * (dxhat * xhat).mean(0)) / np.sqrt(v + 1e-3)
    dgamma = np.zeros(C) if fix_gamma else (og * xhat).sum(0)
    expected = {"x": dx, "bn_gamma": dgamma, "bn_beta": og.sum(0)}
    loc = {"x": x, "bn_gamma": gamma, "bn_beta": beta}
    bwd(sym, loc, [og], expected, aux_states=aux, rtol=1e-8, atol=1e-10)
    bwd(sym, loc, [og], expected, grad_req="add", aux_states=aux, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("fix_gamma", [False, True])
def test_batchnorm_inference_forward(rng, fix_gamma):
    sym = mx.sym.BatchNorm(var("x"), fix_gamma=fix_gamma, eps=1e-3, name="bn")
    C = 3
    x, gamma, beta = rng.randn(2, C, 2, 2), rng.uniform(0.5, 1.5, C), rng.randn(C)
    mm, mv = rng.randn(C), rng.uniform(0.5, 1.5, C)
    r = lambda a: a.reshape(1, C, 1, 1)  # noqa: E731
    g = np.ones(C) if fix_gamma else gamma
    expected = (x - r(mm)) / np.sqrt(r(mv) + 1e-3) * r(g) + r(beta)
    fwd(sym, {"x": x, "bn_gamma": gamma, "bn_beta": beta}, [expected], aux_states={"bn_moving_mean": mm, "bn_moving_var": mv})


# ----------------------------------------------------------------------------------------------
# Dropout


def test_dropout_inference_is_identity(rng):
    x = rng.randn(3, 5)
    fwd(mx.sym.Dropout(var("x"), p=0.5), {"x": x}, [x], rtol=0, atol=0)
    fwd(mx.sym.Dropout(var("x"), p=0.3, mode="training"), {"x": x}, [x], rtol=0, atol=0)


@pytest.mark.parametrize("p", [0.5, 0.25])
@pytest.mark.parametrize("grad_req", ["write", "add"])
def test_dropout_always_gradient_is_the_mask_scaling(rng, p, grad_req):
    sym = mx.sym.Dropout(var("x"), p=p, mode="always")
    x = away(rng, (6, 8))
    og = rng.randn(6, 8)
    init = rng.randn(6, 8) if grad_req == "add" else np.zeros((6, 8))
    ex, grads = bind_exec(sym, {"x": x}, {"x": grad_req}, grads={"x": mx.nd.array(init, dtype=F64)})
    # 'always' drops even outside training.
    out = ex.forward(is_train=False)[0].asnumpy()
    assert 0 < (out == 0).sum() < out.size
    out = ex.forward(is_train=True)[0].asnumpy()
    scale = out / x
    assert np.all(np.isclose(scale, 0) | np.isclose(scale, 1 / (1 - p), rtol=1e-12)), np.unique(scale)
    assert 0 < np.isclose(scale, 0).sum() < scale.size
    ex.backward([mx.nd.array(og, dtype=F64)])
    np.testing.assert_allclose(grads["x"].asnumpy(), init + og * scale, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("grad_req", ["write", "add"])
def test_dropout_always_check_symbolic_backward(rng, grad_req):
    # The mask is reproducible under mx.random.seed: take it from one forward, then let
    # check_symbolic_backward (which runs its own training forward) compare og * mask / (1 - p).
    p = 0.4
    sym = mx.sym.Dropout(var("x"), p=p, mode="always")
    x = away(rng, (4, 5))
    og = rng.randn(4, 5)
    mx.random.seed(11)
    ex, _ = bind_exec(sym, {"x": x}, {"x": "null"})
    out = ex.forward(is_train=True)[0].asnumpy()
    scale = out / x
    assert np.all(np.isclose(scale, 0) | np.isclose(scale, 1 / (1 - p), rtol=1e-12))
    mx.random.seed(11)
    bwd(sym, {"x": x}, [og], {"x": og * scale}, grad_req=grad_req)


# ----------------------------------------------------------------------------------------------
# Loss heads: backward ignores the head gradient


def loss_head_grad(sym, data, label, out_grad=None, grad_req="write", init=None):
    init = np.zeros(data.shape) if init is None else init
    grads = {"data": mx.nd.array(init, dtype=F64)}
    args = {"data": mx.nd.array(data, dtype=F64), "label": mx.nd.array(label, dtype=F64)}
    ex = sym.bind(mx.cpu(), args=args, args_grad=grads, grad_req={"data": grad_req, "label": "null"})
    out = ex.forward(is_train=True)[0].asnumpy()
    ex.backward() if out_grad is None else ex.backward([mx.nd.array(out_grad, dtype=F64)])
    return out, grads["data"].asnumpy()


def onehot(label, k):
    return np.eye(k)[label.astype(int)]


@pytest.mark.parametrize(
    "kwargs,norm",
    [({}, lambda lab: 1.0), ({"grad_scale": 2.5}, lambda lab: 1 / 2.5), ({"normalization": "batch"}, lambda lab: lab.shape[0]),
     ({"normalization": "valid", "use_ignore": True, "ignore_label": 1}, lambda lab: max((lab != 1).sum(), 1))],
)
def test_softmax_output(rng, kwargs, norm):
    sym = mx.sym.SoftmaxOutput(var("data"), var("label"), **kwargs)
    x = rng.randn(4, 5)
    label = np.array([0, 1, 3, 4], dtype=F64)
    expected_out = np_softmax(x)
    grad = expected_out - onehot(label, 5)
    if kwargs.get("use_ignore"):
        grad[label == kwargs["ignore_label"]] = 0
    grad = grad / norm(label)
    for og in (None, rng.randn(4, 5)):
        out, got = loss_head_grad(sym, x, label, og)
        np.testing.assert_allclose(out, expected_out, rtol=1e-10)
        np.testing.assert_allclose(got, grad, rtol=1e-10, atol=1e-12)
    init = rng.randn(4, 5)
    _, got = loss_head_grad(sym, x, label, grad_req="add", init=init)
    np.testing.assert_allclose(got, init + grad, rtol=1e-10, atol=1e-12)


def test_softmax_output_multi_output(rng):
    sym = mx.sym.SoftmaxOutput(var("data"), var("label"), multi_output=True)
    x = rng.randn(2, 3, 4)
    label = rng.randint(0, 3, size=(2, 4)).astype(F64)
    sm = np_softmax(x, axis=1)
    # (softmax - onehot) / spatial size, as MXNet's normalization='null' with multi_output.
    grad = (sm - np.moveaxis(onehot(label, 3), -1, 1)) / 4
    out, got = loss_head_grad(sym, x, label)
    np.testing.assert_allclose(out, sm, rtol=1e-10)
    np.testing.assert_allclose(got, grad, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("grad_scale", [1.0, 3.0])
@pytest.mark.parametrize("shape", [(4, 3), (5, 1), (3, 2, 2)])
def test_regression_outputs(rng, grad_scale, shape):
    x = rng.randn(*shape)
    # For (N, 1) data MXNet infers a 1-D label (N,).
    label = rng.randn(*shape).reshape(shape[0]) if shape[1:] == (1,) else rng.randn(*shape)
    num_output = int(np.prod(label.shape[1:]))
    lab = label.reshape(shape)
    sig = 1 / (1 + np.exp(-x))
    cases = [
        (mx.sym.LinearRegressionOutput, x, x - lab),
        (mx.sym.LogisticRegressionOutput, sig, sig - lab),
        (mx.sym.MAERegressionOutput, x, np.sign(x - lab)),
    ]
    for op, out_ref, grad_ref in cases:
        sym = op(var("data"), var("label"), grad_scale=grad_scale)
        for og in (None, rng.randn(*shape)):
            out, got = loss_head_grad(sym, x, label, og)
            np.testing.assert_allclose(out, out_ref, rtol=1e-10, err_msg=op.__name__)
            np.testing.assert_allclose(got, grad_ref * grad_scale / num_output, rtol=1e-10, atol=1e-12, err_msg=op.__name__)
        init = rng.randn(*shape)
        _, got = loss_head_grad(sym, x, label, grad_req="add", init=init)
        np.testing.assert_allclose(got, init + grad_ref * grad_scale / num_output, rtol=1e-10, atol=1e-12, err_msg=op.__name__)


@pytest.mark.parametrize("dshape,lshape", [((5, 1), (5, 1)), ((4, 3, 1), (4, 3)), ((4, 3), (4, 3, 1))])
def test_regression_output_label_shape_as_mxnet(rng, dshape, lshape):
    x, label = rng.randn(*dshape), rng.randn(*lshape)
    num_output = int(np.prod(lshape[1:]))
    sym = mx.sym.LinearRegressionOutput(var("data"), var("label"))
    _, got = loss_head_grad(sym, x, label)
    np.testing.assert_allclose(got, (x - label.reshape(dshape)) / num_output, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kwargs,scale", [({}, 1.0), ({"grad_scale": 0.5}, 0.5), ({"normalization": "batch"}, 1 / 4)])
def test_make_loss(rng, kwargs, scale):
    x = var("x")
    sym = mx.sym.MakeLoss(x * x, **kwargs)
    xv = rng.randn(4, 3)
    ex, grads = bind_exec(sym, {"x": xv}, {"x": "write"})
    out = ex.forward(is_train=True)[0].asnumpy()
    np.testing.assert_allclose(out, xv * xv, rtol=1e-12)
    ex.backward([mx.nd.array(rng.randn(4, 3), dtype=F64)])  # ignored
    np.testing.assert_allclose(grads["x"].asnumpy(), 2 * xv * scale, rtol=1e-12)
    ex.forward(is_train=True)
    ex.backward()
    np.testing.assert_allclose(grads["x"].asnumpy(), 2 * xv * scale, rtol=1e-12)


# ----------------------------------------------------------------------------------------------
# BlockGrad


@pytest.mark.parametrize("grad_req", ["write", "add"])
def test_block_grad(rng, grad_req):
    x, y = var("x"), var("y")
    xv, yv = rng.randn(3, 4), rng.randn(3, 4)
    og = rng.randn(3, 4)
    fwd(mx.sym.BlockGrad(x), {"x": xv}, [xv], rtol=0, atol=0)
    bwd(mx.sym.BlockGrad(x), {"x": xv}, [og], {"x": np.zeros((3, 4))}, grad_req=grad_req)
    bwd(mx.sym.stop_gradient(x), {"x": xv}, [og], {"x": np.zeros((3, 4))}, grad_req=grad_req)
    # Only the unblocked path contributes.
    sym = x * y + mx.sym.BlockGrad(x * x)
    bwd(sym, {"x": xv, "y": yv}, [og], {"x": og * yv, "y": og * xv}, grad_req=grad_req)


# ----------------------------------------------------------------------------------------------
# Softmax family


@pytest.mark.parametrize("axis,temperature", [(-1, None), (1, None), (0, None), (-1, 2.0)])
def test_softmax(rng, axis, temperature):
    kw = {} if temperature is None else {"temperature": temperature}
    x = rng.randn(2, 3, 4)
    sym = mx.sym.softmax(var("x"), axis=axis, **kw)
    fwd(sym, {"x": x}, [np_softmax(x, axis, temperature or 1.0)])
    ngrad(sym, {"x": x})


@pytest.mark.parametrize("axis", [-1, 1])
def test_log_softmax(rng, axis):
    x = rng.randn(2, 3, 4)
    sym = mx.sym.log_softmax(var("x"), axis=axis)
    fwd(sym, {"x": x}, [np.log(np_softmax(x, axis))])
    ngrad(sym, {"x": x})


@pytest.mark.parametrize("grad_req", ["write", "add"])
def test_softmax_backward_closed_form(rng, grad_req):
    x, og = rng.randn(3, 4), rng.randn(3, 4)
    s = np_softmax(x)
    bwd(mx.sym.softmax(var("x")), {"x": x}, [og], {"x": s * (og - (og * s).sum(-1, keepdims=True))}, grad_req=grad_req)
    bwd(mx.sym.log_softmax(var("x")), {"x": x}, [og], {"x": og - s * og.sum(-1, keepdims=True)}, grad_req=grad_req)


@pytest.mark.parametrize("mode,shape", [("instance", (3, 4)), ("instance", (2, 3, 2)), ("channel", (2, 3, 2, 2))])
def test_softmax_activation(rng, mode, shape):
    x = rng.randn(*shape)
    sym = mx.sym.SoftmaxActivation(var("x"), mode=mode)
    if mode == "instance":
        # MXNet flattens with FlatTo2D (all leading axes into one): softmax over the last axis.
        expected = np_softmax(x, axis=-1)
    else:
        expected = np_softmax(x, axis=1)
    fwd(sym, {"x": x}, [expected])
    ngrad(sym, {"x": x})


# ----------------------------------------------------------------------------------------------
# Shape operators


def test_flatten(rng):
    x = rng.randn(2, 3, 2)
    for sym in (mx.sym.Flatten(var("x")), mx.sym.flatten(var("x"))):
        fwd(sym, {"x": x}, [x.reshape(2, 6)], rtol=0, atol=0)
        ngrad(sym, {"x": x})


@pytest.mark.parametrize(
    "shape,target,out_shape",
    [((2, 3, 4), (4, -1), (4, 6)), ((2, 3, 4), (0, -1), (2, 12)), ((2, 3, 4), (-3, -2), (6, 4)), ((2, 3, 4), (-4, 1, 2, -2), (1, 2, 3, 4)), ((2, 3, 4), (6, 2, 2), (6, 2, 2))],
)
def test_reshape(rng, shape, target, out_shape):
    x = rng.randn(*shape)
    sym = mx.sym.Reshape(var("x"), shape=target)
    fwd(sym, {"x": x}, [x.reshape(out_shape)], rtol=0, atol=0)
    ngrad(sym, {"x": x})


@pytest.mark.parametrize("axes", [None, (2, 0, 1), (0, 2, 1)])
def test_transpose(rng, axes):
    x = rng.randn(2, 3, 4)
    sym = mx.sym.transpose(var("x")) if axes is None else mx.sym.transpose(var("x"), axes=axes)
    fwd(sym, {"x": x}, [np.transpose(x, axes)], rtol=0, atol=0)
    ngrad(sym, {"x": x})


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_expand_dims(rng, axis):
    x = rng.randn(3, 4)
    sym = mx.sym.expand_dims(var("x"), axis=axis)
    fwd(sym, {"x": x}, [np.expand_dims(x, axis)], rtol=0, atol=0)
    ngrad(sym, {"x": x})


@pytest.mark.parametrize("dim", [0, 1, 2])
def test_concat(rng, dim):
    shapes = [[2, 3, 2], [2, 3, 2], [2, 3, 2]]
    for i, s in enumerate(shapes):
        s[dim] = i + 1
    vals = [rng.randn(*s) for s in shapes]
    sym = mx.sym.Concat(var("a"), var("b"), var("c"), dim=dim)
    loc = dict(zip("abc", vals))
    fwd(sym, loc, [np.concatenate(vals, axis=dim)], rtol=0, atol=0)
    ngrad(sym, loc)
    og = rng.randn(*np.concatenate(vals, axis=dim).shape)
    parts = np.split(og, np.cumsum([s[dim] for s in shapes])[:-1], axis=dim)
    bwd(sym, loc, [og], dict(zip("abc", parts)), grad_req="add")


@pytest.mark.parametrize("axis,num,squeeze", [(1, 3, False), (0, 2, False), (2, 2, False), (1, 3, True)])
def test_slice_channel(rng, axis, num, squeeze):
    shape = [2, 3, 4]
    if squeeze or shape[axis] % num:
        shape[axis] = num
    x = rng.randn(*shape)
    sym = mx.sym.SliceChannel(var("x"), num_outputs=num, axis=axis, squeeze_axis=squeeze)
    assert len(sym.list_outputs()) == num
    parts = np.split(x, num, axis=axis)
    if squeeze:
        parts = [p.squeeze(axis) for p in parts]
    fwd(sym, {"x": x}, parts, rtol=0, atol=0)
    for i in range(num):
        ngrad(sym[i], {"x": x})
    ngrad(mx.sym.add_n(*[sym[i] * (i + 1) for i in range(num)]), {"x": x})
    ogs = [rng.randn(*p.shape) for p in parts]
    exp = np.concatenate([np.expand_dims(g, axis) if squeeze else g for g in ogs], axis=axis)
    bwd(sym, {"x": x}, ogs, {"x": exp})
    bwd(sym, {"x": x}, ogs, {"x": exp}, grad_req="add")


def test_split_alias(rng):
    x = rng.randn(2, 4)
    sym = mx.sym.split(var("x"), num_outputs=2, axis=1)
    fwd(sym, {"x": x}, np.split(x, 2, axis=1), rtol=0, atol=0)
    ngrad(sym[1], {"x": x})


@pytest.mark.parametrize(
    "begin,end,step",
    [((0, 1), (2, 3), None), ((1, None), (3, None), None), ((None, 1, 0), (None, 4, 3), (1, 2, 2)), ((None, 3), (None, 0), (1, -1)), ((-2,), (None,), None)],
)
def test_slice(rng, begin, end, step):
    x = rng.randn(3, 4, 3)
    kw = {} if step is None else {"step": step}
    sym = mx.sym.slice(var("x"), begin=begin, end=end, **kw)
    sl = tuple(slice(b, e, (None if step is None else step[i])) for i, (b, e) in enumerate(zip(begin, end)))
    fwd(sym, {"x": x}, [x[sl]], rtol=0, atol=0)
    ngrad(sym, {"x": x})


@pytest.mark.parametrize("axis,begin,end", [(1, 1, 3), (0, 0, 1), (-1, 1, None), (2, -2, None)])
def test_slice_axis(rng, axis, begin, end):
    x = rng.randn(2, 4, 3)
    sym = mx.sym.slice_axis(var("x"), axis=axis, begin=begin, end=end)
    sl = [slice(None)] * 3
    sl[axis] = slice(begin, end)
    fwd(sym, {"x": x}, [x[tuple(sl)]], rtol=0, atol=0)
    ngrad(sym, {"x": x})


# ----------------------------------------------------------------------------------------------
# Embedding, LRN, UpSampling, Pad, Cast


@pytest.mark.parametrize("grad_req", ["write", "add"])
def test_embedding(rng, grad_req):
    sym = mx.sym.Embedding(var("data"), input_dim=5, output_dim=3, dtype="float64", name="emb")
    assert sym.list_arguments() == ["data", "emb_weight"]
    idx = np.array([[0, 2, 2], [4, 0, 1]], dtype=F64)  # repeated indices accumulate
    w = rng.randn(5, 3)
    loc = {"data": idx, "emb_weight": w}
    fwd(sym, loc, [w[idx.astype(int)]], rtol=0, atol=0)
    ngrad(sym, loc, grad_nodes=["emb_weight"])
    og = rng.randn(2, 3, 3)
    gw = np.zeros((5, 3))
    np.add.at(gw, idx.astype(int).ravel(), og.reshape(-1, 3))
    check_symbolic_backward(sym, loc, [og], {"emb_weight": gw}, rtol=1e-12, atol=1e-12, grad_req={"data": "null", "emb_weight": grad_req}, dtype=F64)


def test_embedding_weight_dtype_overrides_default_param(rng):
    sym = mx.sym.Embedding(var("data"), input_dim=5, output_dim=3, name="emb")
    idx, w = np.array([[0, 2], [4, 2]], dtype=F64), rng.randn(5, 3)
    out = fwd(sym, {"data": idx, "emb_weight": w}, [w[idx.astype(int)]], rtol=0, atol=0)
    assert out[0].dtype == np.float64


@pytest.mark.parametrize("nsize,alpha,beta,knorm", [(3, 0.3, 0.75, 2.0), (5, 1e-2, 0.5, 1.0), (1, 0.5, 0.6, 1.5)])
def test_lrn(rng, nsize, alpha, beta, knorm):
    x = rng.randn(2, 5, 2, 2)
    sym = mx.sym.LRN(var("x"), nsize=nsize, alpha=alpha, beta=beta, knorm=knorm)
    fwd(sym, {"x": x}, [np_lrn(x, nsize, alpha, beta, knorm)], rtol=1e-8)
    ngrad(sym, {"x": x})


@pytest.mark.parametrize("scale,shape", [(2, (1, 2, 2, 3)), (3, (2, 1, 2, 2))])
def test_upsampling_nearest(rng, scale, shape):
    x = rng.randn(*shape)
    sym = mx.sym.UpSampling(var("x"), scale=scale, sample_type="nearest", num_args=1)
    fwd(sym, {"x": x}, [x.repeat(scale, axis=2).repeat(scale, axis=3)], rtol=0, atol=0)
    ngrad(sym, {"x": x})
    og = rng.randn(shape[0], shape[1], shape[2] * scale, shape[3] * scale)
    exp = og.reshape(shape[0], shape[1], shape[2], scale, shape[3], scale).sum(axis=(3, 5))
    bwd(sym, {"x": x}, [og], {"x": exp})


@pytest.mark.parametrize(
    "mode,pad_width",
    [("constant", (0, 0, 0, 0, 1, 2, 2, 1)), ("edge", (0, 0, 0, 0, 1, 1, 2, 0)), ("reflect", (0, 0, 0, 0, 2, 1, 1, 2))],
)
def test_pad(rng, mode, pad_width):
    x = rng.randn(1, 2, 3, 3)
    kw = {"constant_value": 0.5} if mode == "constant" else {}
    sym = mx.sym.Pad(var("x"), mode=mode, pad_width=pad_width, **kw)
    pw = list(zip(pad_width[::2], pad_width[1::2]))
    np_mode = {"constant": "constant", "edge": "edge", "reflect": "reflect"}[mode]
    exp = np.pad(x, pw, mode=np_mode, **({"constant_values": 0.5} if mode == "constant" else {}))
    fwd(sym, {"x": x}, [exp], rtol=0, atol=0)
    ngrad(sym, {"x": x})


def test_pad_5d(rng):
    x = rng.randn(1, 1, 2, 2, 3)
    sym = mx.sym.Pad(var("x"), mode="edge", pad_width=(0, 0, 0, 0, 1, 0, 0, 1, 1, 1))
    fwd(sym, {"x": x}, [np.pad(x, [(0, 0), (0, 0), (1, 0), (0, 1), (1, 1)], mode="edge")], rtol=0, atol=0)
    ngrad(sym, {"x": x})


@pytest.mark.parametrize("src,dst", [(np.float32, np.float64), (np.float64, np.float32)])
def test_cast(rng, src, dst):
    sym = mx.sym.Cast(var("x"), dtype=np.dtype(dst).name)
    xv = rng.randn(3, 4).astype(src)
    og = rng.randn(3, 4).astype(dst)
    init = rng.randn(3, 4).astype(src)
    for req in ("write", "add"):
        g = mx.nd.array(init if req == "add" else np.zeros((3, 4)), dtype=src)
        ex = sym.bind(mx.cpu(), args={"x": mx.nd.array(xv, dtype=src)}, args_grad={"x": g}, grad_req=req)
        out = ex.forward(is_train=True)[0]
        assert out.dtype == np.dtype(dst)
        np.testing.assert_array_equal(out.asnumpy(), xv.astype(dst))
        ex.backward([mx.nd.array(og, dtype=dst)])
        assert g.dtype == np.dtype(src)
        want = og.astype(src) + (init if req == "add" else 0)
        np.testing.assert_allclose(g.asnumpy(), want, rtol=1e-6 if src == np.float32 else 1e-7)


def test_cast_numeric_gradient(rng):
    # f64 -> f64 cast is the identity; through a nonlinearity to keep the check honest.
    x = rng.randn(3, 4)
    sym = mx.sym.Cast(mx.sym.tanh(var("x")), dtype="float64") * 2
    fwd(sym, {"x": x}, [2 * np.tanh(x)])
    ngrad(sym, {"x": x})


# ----------------------------------------------------------------------------------------------
# Elementwise and scalar arithmetic



@pytest.mark.parametrize(
    "op,ref",
    [
        ("+", lambda a, b: a + b),
        ("-", lambda a, b: a - b),
        ("*", lambda a, b: a * b),
        ("/", lambda a, b: a / b),
    ],
)
@pytest.mark.parametrize("shape", [(5,), (2, 3, 2)])
def test_elementwise_binary(rng, op, ref, shape):
    a, b = var("a"), var("b")
    sym = {"+": a + b, "-": a - b, "*": a * b, "/": a / b}[op]
    loc = {"a": rng.randn(*shape), "b": away(rng, shape, 0.5, 2.0)}
    fwd(sym, loc, [ref(loc["a"], loc["b"])])
    ngrad(sym, loc)


@pytest.mark.parametrize("grad_req", ["write", "add"])
def test_elementwise_backward_closed_form(rng, grad_req):
    a, b = var("a"), var("b")
    av, bv, og = rng.randn(3, 4), away(rng, (3, 4), 0.5, 2.0), rng.randn(3, 4)
    bwd(a * b, {"a": av, "b": bv}, [og], {"a": og * bv, "b": og * av}, grad_req=grad_req)
    bwd(a / b, {"a": av, "b": bv}, [og], {"a": og / bv, "b": -og * av / bv**2}, grad_req=grad_req)
    bwd(a - b, {"a": av, "b": bv}, [og], {"a": og, "b": -og}, grad_req=grad_req)
    # The same variable on both sides: gradients sum.
    bwd(a * a + a, {"a": av}, [og], {"a": og * (2 * av + 1)}, grad_req=grad_req)


@pytest.mark.parametrize(
    "name",
    ["(a+b)*1", "tanh(a+b)", "sum(a+b)", "(a+b)*c", "add_n(a,b,c)*1", "ElementWiseSum(a,b)*1"],
)
def test_elemwise_add_of_variables_feeding_an_op(rng, name):
    a, b, c = var("a"), var("b"), var("c")
    av, bv, cv = rng.randn(2, 3), rng.randn(2, 3), rng.randn(2, 3)
    og = rng.randn(2, 3)
    t = 1 - np.tanh(av + bv) ** 2
    sym, expected = {
        "(a+b)*1": ((a + b) * 1.0, {"a": og, "b": og}),
        "tanh(a+b)": (mx.sym.tanh(a + b), {"a": og * t, "b": og * t}),
        "sum(a+b)": (mx.sym.sum(a + b), {"a": np.ones((2, 3)), "b": np.ones((2, 3))}),
        "(a+b)*c": ((a + b) * c, {"a": og * cv, "b": og * cv, "c": og * (av + bv)}),
        "add_n(a,b,c)*1": (mx.sym.add_n(a, b, c) * 1.0, {"a": og, "b": og, "c": og}),
        "ElementWiseSum(a,b)*1": (mx.sym.ElementWiseSum(a, b) * 1.0, {"a": og, "b": og}),
    }[name]
    loc = {k: v for k, v in {"a": av, "b": bv, "c": cv}.items() if k in sym.list_arguments()}
    out_grads = [np.ones(1)] if name == "sum(a+b)" else [og]
    bwd(sym, loc, out_grads, expected)


def test_elemwise_add_gradient_at_the_head_and_through_non_variables(rng):
    # The cases around the bug above that do work: '+' as the head, or an input that is not a
    # variable.
    a, b = var("a"), var("b")
    av, bv, og = rng.randn(2, 3), rng.randn(2, 3), rng.randn(2, 3)
    bwd(a + b, {"a": av, "b": bv}, [og], {"a": og, "b": og})
    bwd(a + b, {"a": av, "b": bv}, [og], {"a": og, "b": og}, grad_req="add")
    ngrad(mx.sym.tanh(a) + mx.sym.sin(b), {"a": av, "b": bv})
    ngrad((a * 1.0 + b * 1.0) * 1.0, {"a": av, "b": bv})
    ngrad(mx.sym.broadcast_add(a, b) * 1.0, {"a": av, "b": bv})


SCALAR_OPS = [
    ("x + 2.5", lambda x: x + 2.5, lambda x: x + 2.5),
    ("2.5 + x", lambda x: 2.5 + x, lambda x: 2.5 + x),
    ("x - 1.5", lambda x: x - 1.5, lambda x: x - 1.5),
    ("1.5 - x", lambda x: 1.5 - x, lambda x: 1.5 - x),
    ("x * 3", lambda x: x * 3.0, lambda x: x * 3.0),
    ("3 * x", lambda x: 3.0 * x, lambda x: 3.0 * x),
    ("x / 4", lambda x: x / 4.0, lambda x: x / 4.0),
    ("4 / x", lambda x: 4.0 / x, lambda x: 4.0 / x),
    ("x ** 3", lambda x: x**3.0, lambda x: x**3.0),
    ("x ** 2", lambda x: x**2, lambda x: x**2),
    ("1.7 ** x", lambda x: 1.7**x, lambda x: 1.7**x),
    ("-x", lambda x: -x, lambda x: -x),
]


@pytest.mark.parametrize("name,op,ref", SCALAR_OPS, ids=[s[0] for s in SCALAR_OPS])
def test_scalar_ops(rng, name, op, ref):
    x = away(rng, (3, 4), 0.3, 2.0)
    sym = op(var("x"))
    fwd(sym, {"x": x}, [ref(x)])
    ngrad(sym, {"x": x})


BROADCAST = [
    ("broadcast_add", np.add),
    ("broadcast_sub", np.subtract),
    ("broadcast_mul", np.multiply),
    ("broadcast_div", np.divide),
    ("broadcast_plus", np.add),
    ("broadcast_minus", np.subtract),
]


@pytest.mark.parametrize("op,ref", BROADCAST, ids=[b[0] for b in BROADCAST])
@pytest.mark.parametrize("sa,sb", [((2, 3, 4), (1, 3, 1)), ((2, 1, 4), (2, 3, 1)), ((3, 4), (3, 4)), ((1, 1), (2, 3))])
def test_broadcast_binary(rng, op, ref, sa, sb):
    sym = getattr(mx.sym, op)(var("a"), var("b"))
    loc = {"a": rng.randn(*sa), "b": away(rng, sb, 0.5, 2.0)}
    fwd(sym, loc, [ref(loc["a"], loc["b"])])
    ngrad(sym, loc)


@pytest.mark.parametrize("grad_req", ["write", "add"])
def test_broadcast_backward_closed_form(rng, grad_req):
    av, bv = rng.randn(2, 3, 4), away(rng, (1, 3, 1), 0.5, 2.0)
    og = rng.randn(2, 3, 4)
    red = lambda g: g.sum(axis=(0, 2), keepdims=True)  # noqa: E731
    bwd(mx.sym.broadcast_add(var("a"), var("b")), {"a": av, "b": bv}, [og], {"a": og, "b": red(og)}, grad_req=grad_req)
    bwd(mx.sym.broadcast_mul(var("a"), var("b")), {"a": av, "b": bv}, [og], {"a": og * bv, "b": red(og * av)}, grad_req=grad_req)
    bwd(mx.sym.broadcast_div(var("a"), var("b")), {"a": av, "b": bv}, [og], {"a": og / bv, "b": red(-og * av / bv**2)}, grad_req=grad_req)


# ----------------------------------------------------------------------------------------------
# Reductions


REDUCE_CASES = [(None, False), (1, False), (1, True), ((0, 2), False), ((0, 2), True), (-1, True)]


@pytest.mark.parametrize("op", ["sum", "mean", "max", "min", "prod"])
@pytest.mark.parametrize("axis,keepdims", REDUCE_CASES)
def test_reduce(rng, op, axis, keepdims):
    shape = (2, 3, 4)
    if op in ("max", "min"):
        x = distinct(rng, shape, 0.05)
    elif op == "prod":
        x = away(rng, shape, 0.5, 1.5)
    else:
        x = rng.randn(*shape)
    kw = {"keepdims": keepdims}
    if axis is not None:
        kw["axis"] = axis
    sym = getattr(mx.sym, op)(var("x"), **kw)
    expected = getattr(np, op)(x, axis=axis, keepdims=keepdims)
    fwd(sym, {"x": x}, [np.asarray(expected).reshape(np.shape(expected) or (1,))] if axis is None and not keepdims else [expected])
    ngrad(sym, {"x": x})


def test_sum_exclude(rng):
    x = rng.randn(2, 3, 4)
    sym = mx.sym.sum(var("x"), axis=1, exclude=True)
    fwd(sym, {"x": x}, [x.sum(axis=(0, 2))])
    ngrad(sym, {"x": x})


@pytest.mark.parametrize("grad_req", ["write", "add"])
def test_reduce_backward_closed_form(rng, grad_req):
    x = distinct(rng, (3, 4), 0.05)
    og = rng.randn(3)
    bwd(mx.sym.sum(var("x"), axis=1), {"x": x}, [og], {"x": np.repeat(og[:, None], 4, 1)}, grad_req=grad_req)
    bwd(mx.sym.mean(var("x"), axis=1), {"x": x}, [og], {"x": np.repeat(og[:, None], 4, 1) / 4}, grad_req=grad_req)
    mask = x == x.max(axis=1, keepdims=True)
    bwd(mx.sym.max(var("x"), axis=1), {"x": x}, [og], {"x": mask * og[:, None]}, grad_req=grad_req)


# ----------------------------------------------------------------------------------------------
# dot / batch_dot


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
def test_dot(rng, ta, tb):
    a = rng.randn(*((4, 3) if ta else (3, 4)))
    b = rng.randn(*((2, 4) if tb else (4, 2)))
    sym = mx.sym.dot(var("a"), var("b"), transpose_a=ta, transpose_b=tb)
    loc = {"a": a, "b": b}
    am, bm = (a.T if ta else a), (b.T if tb else b)
    fwd(sym, loc, [am @ bm])
    ngrad(sym, loc)
    og = rng.randn(3, 2)
    ga, gb = og @ bm.T, am.T @ og
    bwd(sym, loc, [og], {"a": ga.T if ta else ga, "b": gb.T if tb else gb}, grad_req="add")


def test_dot_vector_and_nd(rng):
    loc = {"a": rng.randn(5), "b": rng.randn(5)}
    sym = mx.sym.dot(var("a"), var("b"))
    fwd(sym, loc, [np.atleast_1d(loc["a"] @ loc["b"])])
    ngrad(sym, loc)
    loc = {"a": rng.randn(2, 3, 2), "b": rng.randn(2, 3)}
    sym = mx.sym.dot(var("a"), var("b"))
    fwd(sym, loc, [np.tensordot(loc["a"], loc["b"], axes=1)])
    ngrad(sym, loc)


@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
def test_batch_dot(rng, ta, tb):
    B, M, K, N = 2, 3, 4, 2
    a = rng.randn(*((B, K, M) if ta else (B, M, K)))
    b = rng.randn(*((B, N, K) if tb else (B, K, N)))
    sym = mx.sym.batch_dot(var("a"), var("b"), transpose_a=ta, transpose_b=tb)
    loc = {"a": a, "b": b}
    am = a.transpose(0, 2, 1) if ta else a
    bm = b.transpose(0, 2, 1) if tb else b
    fwd(sym, loc, [am @ bm])
    ngrad(sym, loc)
    og = rng.randn(B, M, N)
    ga, gb = og @ bm.transpose(0, 2, 1), am.transpose(0, 2, 1) @ og
    bwd(sym, loc, [og], {"a": ga.transpose(0, 2, 1) if ta else ga, "b": gb.transpose(0, 2, 1) if tb else gb})


# ----------------------------------------------------------------------------------------------
# clip / where


@pytest.mark.parametrize("a_min,a_max", [(-0.5, 0.5), (0.0, 1.0), (-2.0, -0.25)])
def test_clip(rng, a_min, a_max):
    # Values on a grid of step 0.1 offset by 0.05: never within 0.05 of either bound.
    x = (rng.randint(-20, 20, size=(4, 5)) * 0.1 + 0.05).astype(F64)
    x = np.where(np.isclose(np.abs(x - a_min), 0) | np.isclose(np.abs(x - a_max), 0), x + 0.03, x)
    assert np.abs(x - a_min).min() > 0.02 and np.abs(x - a_max).min() > 0.02
    sym = mx.sym.clip(var("x"), a_min=a_min, a_max=a_max)
    fwd(sym, {"x": x}, [np.clip(x, a_min, a_max)])
    ngrad(sym, {"x": x})
    og = rng.randn(4, 5)
    bwd(sym, {"x": x}, [og], {"x": og * ((x > a_min) & (x < a_max))}, grad_req="add")


@pytest.mark.parametrize("cond_shape", [(3, 4), (3,)])
def test_where(rng, cond_shape):
    cond = rng.randint(0, 2, size=cond_shape).astype(F64)
    cond.flat[0], cond.flat[-1] = 1, 0
    x, y = rng.randn(3, 4), rng.randn(3, 4)
    sym = mx.sym.where(var("c"), var("x"), var("y"))
    loc = {"c": cond, "x": x, "y": y}
    c = cond.reshape(3, 1) if cond.ndim == 1 else cond
    fwd(sym, loc, [np.where(c != 0, x, y)])
    ngrad(sym, loc, grad_nodes=["x", "y"])
    og = rng.randn(3, 4)
    for req in ("write", "add"):
        check_symbolic_backward(sym, loc, [og], {"x": og * (c != 0), "y": og * (c == 0)}, rtol=1e-12, atol=1e-12,
                                grad_req={"c": "null", "x": req, "y": req}, dtype=F64)
    # The condition gets a zero gradient.
    bwd(sym, loc, [og], {"c": np.zeros(cond_shape), "x": og * (c != 0), "y": og * (c == 0)})


# ----------------------------------------------------------------------------------------------
# A small composite net: the gradient flows through several operators at once


def test_composite_net(rng):
    x = var("x")
    c = mx.sym.Convolution(x, kernel=(2, 2), num_filter=2, pad=(1, 1), name="c")
    c = mx.sym.Activation(c, act_type="tanh")
    p = mx.sym.Pooling(c, kernel=(2, 2), stride=(2, 2), pool_type="avg")
    f = mx.sym.FullyConnected(mx.sym.Flatten(p), num_hidden=3, name="f")
    sym = mx.sym.log_softmax(f)
    loc = {"x": rng.randn(2, 1, 3, 3), "c_weight": rng.randn(2, 1, 2, 2) * 0.5, "c_bias": rng.randn(2), "f_weight": rng.randn(3, 8), "f_bias": rng.randn(3)}
    ngrad(sym, loc)
