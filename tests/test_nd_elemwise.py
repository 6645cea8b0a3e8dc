"""Property tests for ``mx.nd``'s elementwise operators against NumPy: unary math, binary
arithmetic and comparisons (same shape, broadcast, scalar, reflected), in-place updates, clip,
where and ``out=``. Helpers come from ``test_nd_ops.py``."""

import operator

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rmx as mx
from test_nd_ops import ALL, FEW, FLOATS, INTS, NUMERIC, SETTINGS, arrays, check, elements, nd, shapes

PER_OP = settings(max_examples=10, deadline=None)  # per parametrized operator

# --- unary --------------------------------------------------------------------------------------


def _round_half_away(x):
    t = np.trunc(x)
    return np.where(np.abs(x - t) >= 0.5, t + np.sign(x), t)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# name: (reference on float64 input, lo, hi)
UNARY_FLOAT = {
    "abs": (np.abs, -10, 10),
    "sign": (np.sign, -10, 10),
    "negative": (np.negative, -10, 10),
    "square": (np.square, -10, 10),
    "round": (_round_half_away, -10, 10),
    "rint": (np.rint, -10, 10),
    "fix": (np.fix, -10, 10),
    "floor": (np.floor, -10, 10),
    "ceil": (np.ceil, -10, 10),
    "trunc": (np.trunc, -10, 10),
    "exp": (np.exp, -10, 10),
    "expm1": (np.expm1, -10, 10),
    "log": (np.log, -2, 10),
    "log2": (np.log2, -2, 10),
    "log10": (np.log10, -2, 10),
    "log1p": (np.log1p, -2, 10),
    "sqrt": (np.sqrt, -2, 10),
    "rsqrt": (lambda x: 1 / np.sqrt(x), -2, 10),
    "cbrt": (np.cbrt, -10, 10),
    "rcbrt": (lambda x: 1 / np.cbrt(x), -10, 10),
    "reciprocal": (lambda x: 1 / x, -10, 10),
    "sin": (np.sin, -10, 10),
    "cos": (np.cos, -10, 10),
    "tan": (np.tan, -1.5, 1.5),
    "arcsin": (np.arcsin, -1.5, 1.5),
    "arccos": (np.arccos, -1.5, 1.5),
    "arctan": (np.arctan, -10, 10),
    "sinh": (np.sinh, -10, 10),
    "cosh": (np.cosh, -10, 10),
    "tanh": (np.tanh, -10, 10),
    "arcsinh": (np.arcsinh, -10, 10),
    "arccosh": (np.arccosh, 0, 10),
    "arctanh": (np.arctanh, -1.5, 1.5),
    "degrees": (np.degrees, -10, 10),
    "radians": (np.radians, -10, 10),
    "sigmoid": (_sigmoid, -10, 10),
    "relu": (lambda x: np.maximum(x, 0), -10, 10),
    "softsign": (lambda x: x / (1 + np.abs(x)), -10, 10),
    "logical_not": (lambda x: (x == 0).astype(x.dtype), -3, 3),
}


@pytest.mark.parametrize("name", sorted(UNARY_FLOAT))
@PER_OP
@given(st.data())
def test_unary_float_ops_match_numpy(name, data):
    ref, lo, hi = UNARY_FLOAT[name]
    dtype = data.draw(st.sampled_from(FLOATS), label="dtype")
    a = data.draw(arrays(dtype, lo=lo, hi=hi, integral=name == "logical_not" and data.draw(st.booleans())), label="a")
    with np.errstate(all="ignore"):
        want = ref(a.astype(np.float64)).astype(a.dtype)
    check(getattr(mx.nd, name)(nd(a)), want)


@pytest.mark.parametrize("name", sorted(UNARY_FLOAT))
def test_unary_float_ops_all_names_on_a_strided_view(name):
    ref, lo, hi = UNARY_FLOAT[name]
    a = np.linspace(lo, hi, 48).reshape(4, 12).astype(np.float32)
    view = nd(a)[::-1, 1::3]
    with np.errstate(all="ignore"):
        want = ref(a[::-1, 1::3].astype(np.float64)).astype(np.float32)
    check(getattr(mx.nd, name)(view), want)
    if hasattr(view, name):  # fluent method
        check(getattr(view, name)(), want)


def test_rounding_ties():
    a = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49999997, -0.49999997], np.float32)
    check(mx.nd.round(nd(a)), _round_half_away(a.astype(np.float64)).astype(np.float32), rtol=0, atol=0)
    check(mx.nd.rint(nd(a)), np.rint(a), rtol=0, atol=0)
    check(mx.nd.fix(nd(a)), np.fix(a), rtol=0, atol=0)


# Integer inputs: the exactly representable operators.
UNARY_INT = {
    "abs": np.abs,
    "sign": np.sign,
    "negative": np.negative,
    "square": np.square,
    "relu": lambda x: np.maximum(x, np.zeros((), x.dtype)),
    "round": lambda x: x,
    "rint": lambda x: x,
    "fix": lambda x: x,
    "floor": lambda x: x,
    "ceil": lambda x: x,
    "trunc": lambda x: x,
    "logical_not": lambda x: (x == 0).astype(x.dtype),
}


@pytest.mark.parametrize("name", sorted(UNARY_INT))
@PER_OP
@given(st.sampled_from(INTS).flatmap(lambda d: arrays(d, lo=-(2**20), hi=2**20)))
def test_unary_int_ops_are_exact(name, a):
    check(getattr(mx.nd, name)(nd(a)), UNARY_INT[name](a))


@pytest.mark.parametrize("name", ["round", "rint", "fix", "floor", "ceil", "trunc"])
def test_unary_rounding_int64_is_identity_for_large_values(name):
    a = np.array([2**53 + 1, -(2**60) - 1, 3], np.int64)
    check(getattr(mx.nd, name)(nd(a)), a)


# Integer inputs of float math: computed in floating point and truncated toward zero.
UNARY_INT_MATH = {
    "exp": (np.exp, -3, 4),
    "sqrt": (np.sqrt, 0, 100),
    "log": (np.log, 1, 100),
    "sin": (np.sin, -100, 100),
    "tanh": (np.tanh, -3, 3),
    "sigmoid": (_sigmoid, -5, 5),
    "arctan": (np.arctan, -100, 100),
    "reciprocal": (lambda x: 1 / x, 1, 100),
    "cbrt": (np.cbrt, -100, 100),
    "degrees": (np.degrees, -2, 2),
}


@pytest.mark.parametrize("name", sorted(UNARY_INT_MATH))
@PER_OP
@given(st.sampled_from(INTS), st.data())
def test_unary_math_on_ints_truncates(name, dtype, data):
    ref, lo, hi = UNARY_INT_MATH[name]
    a = data.draw(arrays(dtype, lo=lo, hi=hi))
    r = ref(a.astype(np.float64))
    want = np.where(np.abs(r - np.round(r)) < 1e-9, np.round(r), np.trunc(r)).astype(dtype)
    check(getattr(mx.nd, name)(nd(a)), want)


@FEW
@given(arrays("bool"))
def test_logical_not_on_bool(a):
    check(mx.nd.logical_not(nd(a)), ~a)


@FEW
@given(st.sampled_from(["float32", "float64"]), st.data())
def test_unary_special_values(dtype, data):
    a = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0], dtype)
    name = data.draw(st.sampled_from(["abs", "exp", "log", "sqrt", "tanh", "sign", "floor", "negative", "square", "sigmoid"]))
    with np.errstate(all="ignore"):
        want = UNARY_FLOAT[name][0](a.astype(np.float64)).astype(dtype)
    check(getattr(mx.nd, name)(nd(a)), want)


# --- binary -------------------------------------------------------------------------------------


def c_div(a, b):
    """MXNet's integer division: truncates toward zero; x / 0 is 0."""
    dt = a.dtype
    bs = np.where(b == 0, 1, b).astype(dt)
    q = np.floor_divide(a, bs)
    fix = (a - q * bs != 0) & ((a < 0) != (bs < 0))
    return np.where(b == 0, 0, q + fix.astype(dt)).astype(dt)


def c_mod(a, b):
    """MXNet's integer modulo: sign of the divisor (Python's rule); x % 0 is 0."""
    bs = np.where(b == 0, 1, b).astype(a.dtype)
    return np.where(b == 0, 0, np.mod(a, bs)).astype(a.dtype)


def _as(dtype, v):
    return np.asarray(v).astype(dtype)


def ref_div(a, b):
    return c_div(a, b) if a.dtype.kind in "iu" else np.divide(a, b)


def ref_mod(a, b):
    return c_mod(a, b) if a.dtype.kind in "iu" else np.mod(a, b)


def ref_cmp(f):
    return lambda a, b: f(a, b).astype(np.result_type(a, b))


def ref_logic(f):
    return lambda a, b: f(a != 0, b != 0).astype(np.result_type(a, b))


# name: (python operator or None, free function, NumPy reference, kind)
BINARY = {
    "add": (operator.add, "add", np.add, "wrap"),
    "sub": (operator.sub, "subtract", np.subtract, "wrap"),
    "mul": (operator.mul, "multiply", np.multiply, "wrap"),
    "div": (operator.truediv, "divide", ref_div, "div"),
    "mod": (operator.mod, "modulo", ref_mod, "div"),
    "power": (operator.pow, "power", np.power, "power"),
    "maximum": (None, "maximum", np.maximum, "wrap"),
    "minimum": (None, "minimum", np.minimum, "wrap"),
    "equal": (operator.eq, "equal", ref_cmp(np.equal), "cmp"),
    "not_equal": (operator.ne, "not_equal", ref_cmp(np.not_equal), "cmp"),
    "greater": (operator.gt, "greater", ref_cmp(np.greater), "cmp"),
    "greater_equal": (operator.ge, "greater_equal", ref_cmp(np.greater_equal), "cmp"),
    "lesser": (operator.lt, "lesser", ref_cmp(np.less), "cmp"),
    "lesser_equal": (operator.le, "lesser_equal", ref_cmp(np.less_equal), "cmp"),
    "logical_and": (None, "logical_and", ref_logic(np.logical_and), "cmp"),
    "logical_or": (None, "logical_or", ref_logic(np.logical_or), "cmp"),
    "logical_xor": (None, "logical_xor", ref_logic(np.logical_xor), "cmp"),
}
ELEMWISE = {"add": "elemwise_add", "sub": "elemwise_sub", "mul": "elemwise_mul", "div": "elemwise_div"}
BROADCAST = {"add": "broadcast_add", "sub": "broadcast_sub", "mul": "broadcast_mul", "div": "broadcast_div", "mod": "broadcast_mod", "power": "broadcast_power", "maximum": "broadcast_maximum", "minimum": "broadcast_minimum", "equal": "broadcast_equal", "not_equal": "broadcast_not_equal", "greater": "broadcast_greater", "greater_equal": "broadcast_greater_equal", "lesser": "broadcast_lesser", "lesser_equal": "broadcast_lesser_equal", "logical_and": "broadcast_logical_and", "logical_or": "broadcast_logical_or", "logical_xor": "broadcast_logical_xor"}
BOOL_OK = {"equal", "not_equal", "logical_and", "logical_or", "logical_xor"}


def operand_elements(kind, dtype, which):
    """Elements of the ``which`` ('lhs' or 'rhs') operand for operator ``kind`` in ``dtype``."""
    isint = np.dtype(dtype).kind in "iu"
    if kind == "wrap":  # full range for ints: wrapping must match NumPy's
        return elements(dtype, -(2**70), 2**70) if isint else elements(dtype)
    if kind == "div":  # ints exclude the minimum (MIN / -1 overflows)
        return elements(dtype, int(np.iinfo(dtype).min) + 1, 2**70) if isint else elements(dtype)
    if kind == "power":
        if isint:
            return elements(dtype, -3, 3) if which == "lhs" else elements(dtype, 0, 4)
        return elements(dtype, 0, 4) if which == "lhs" else elements(dtype, -2, 3)
    return elements(dtype, -3, 3, integral=True)  # comparisons: small values make ties


def fix_divisor(kind, b):
    """Float divisors stay away from zero (integer x / 0 is defined as 0 and kept)."""
    if kind == "div" and b.dtype.kind == "f":
        b = np.where(np.abs(b) < 0.25, np.ones((), b.dtype), b)
    return b


@st.composite
def binary_case(draw, name, broadcast):
    kind = BINARY[name][3]
    dtype = draw(st.sampled_from(ALL if name in BOOL_OK else NUMERIC))
    if broadcast:
        shp = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=4, min_side=1, max_side=5))
        sa, sb = shp.input_shapes
    else:
        sa = sb = draw(shapes())
    a = draw(hnp.arrays(np.dtype(dtype), sa, elements=operand_elements(kind, dtype, "lhs")))
    b = draw(hnp.arrays(np.dtype(dtype), sb, elements=operand_elements(kind, dtype, "rhs")))
    return name, a, fix_divisor(kind, b)


def binary_want(name, a, b):
    with np.errstate(all="ignore"):
        return np.asarray(BINARY[name][2](a, b)).astype(a.dtype)


@pytest.mark.parametrize("name", sorted(BINARY))
@PER_OP
@given(st.data())
def test_binary_same_shape(name, data):
    name, a, b = data.draw(binary_case(name, broadcast=False))
    pyop, free, _, _ = BINARY[name]
    want = binary_want(name, a, b)
    x, y = nd(a), nd(b)
    check(getattr(mx.nd, free)(x, y), want)
    if pyop is not None:
        check(pyop(x, y), want)
    if name in ELEMWISE:
        check(getattr(mx.nd, ELEMWISE[name])(x, y), want)
    check(getattr(mx.nd, BROADCAST[name])(x, y), want)


@pytest.mark.parametrize("name", sorted(BINARY))
@PER_OP
@given(st.data())
def test_binary_broadcast(name, data):
    name, a, b = data.draw(binary_case(name, broadcast=True))
    pyop, free, _, _ = BINARY[name]
    want = binary_want(name, a, b)
    x, y = nd(a), nd(b)
    check(getattr(mx.nd, BROADCAST[name])(x, y), want)
    check(getattr(mx.nd, free)(x, y), want)
    if pyop is not None:
        check(pyop(x, y), want)


@SETTINGS
@given(st.sampled_from(sorted(BINARY)).flatmap(lambda n: binary_case(n, broadcast=True)))
def test_binary_broadcast_on_strided_views(case):
    name, a, b = case
    # Views with negative steps in every axis: same values, reversed order.
    x = nd(np.flip(a))[(slice(None, None, -1),) * a.ndim]
    y = nd(np.flip(b))[(slice(None, None, -1),) * b.ndim]
    check(getattr(mx.nd, BROADCAST[name])(x, y), binary_want(name, a, b))


def test_binary_hypot():
    a = np.array([[3.0, -5.0, 0.0]], np.float32)
    b = np.array([[4.0], [12.0]], np.float32)
    check(mx.nd.broadcast_hypot(nd(a), nd(b)), np.hypot(a, b))
    check(mx.nd.broadcast_hypot(nd(a), nd(a)), np.hypot(a, a))


def test_int_division_and_modulo_rules():
    a = np.array([-7, 7, -7, 7, 5, 0, -1], np.int32)
    b = np.array([2, -2, -2, 2, 0, 0, 3], np.int32)
    check(nd(a) / nd(b), np.array([-3, -3, 3, 3, 0, 0, 0], np.int32))
    check(nd(a) % nd(b), np.array([1, -1, -1, 1, 0, 0, 2], np.int32))


def test_float_division_by_zero_gives_inf_and_nan():
    a = np.array([1.0, -1.0, 0.0], np.float32)
    b = np.zeros(3, np.float32)
    with np.errstate(all="ignore"):
        check(nd(a) / nd(b), a / b)
        check(nd(a) / 0.0, a / b)


# --- scalars --------------------------------------------------------------------------------------
SCALAR_OPS = ["add", "sub", "mul", "div", "mod", "power", "maximum", "minimum", "equal", "not_equal", "greater", "greater_equal", "lesser", "lesser_equal"]
FLIP = {"greater": "lesser", "lesser": "greater", "greater_equal": "lesser_equal", "lesser_equal": "greater_equal"}


@st.composite
def scalar_case(draw, name):
    dtype = draw(st.sampled_from(NUMERIC))
    kind = BINARY[name][3]
    isint = np.dtype(dtype).kind in "iu"
    a = draw(hnp.arrays(np.dtype(dtype), shapes(), elements=operand_elements(kind, dtype, "lhs")))
    lo = 0 if dtype == "uint8" else -5
    if kind == "power":
        s = draw(st.integers(0, 3) | st.floats(0, 3.5)) if isint else draw(st.floats(-2, 3))
    elif kind == "div" and not isint:
        s = draw(st.floats(0.25, 5) | st.floats(-5, -0.25) | st.integers(1, 5))
    else:
        s = draw(st.integers(lo, 5) | st.floats(lo, 5))
    return name, a, s


def scalar_as(dtype, s):
    """MXNet casts the scalar to the array's dtype first (toward zero for ints)."""
    return np.asarray(np.trunc(s) if np.dtype(dtype).kind in "iu" else s).astype(dtype)


@pytest.mark.parametrize("name", SCALAR_OPS)
@PER_OP
@given(st.data())
def test_binary_with_scalar(name, data):
    name, a, s = data.draw(scalar_case(name))
    pyop, free, ref, _ = BINARY[name]
    sc = scalar_as(a.dtype, s)
    with np.errstate(all="ignore"):
        want = np.asarray(ref(a, np.broadcast_to(sc, a.shape))).astype(a.dtype)
    x = nd(a)
    if pyop is not None:
        check(pyop(x, s), want)
    check(getattr(mx.nd, free)(x, s), want)


@st.composite
def reflected_case(draw, name):
    dtype = draw(st.sampled_from(NUMERIC))
    isint = np.dtype(dtype).kind in "iu"
    kind = BINARY[name][3]
    if kind == "power":
        a = draw(arrays(dtype, lo=0, hi=4) if isint else arrays(dtype, lo=-2, hi=3))
        s = draw(st.integers(0, 3)) if isint else draw(st.floats(0, 3))
    else:
        a = draw(hnp.arrays(np.dtype(dtype), shapes(), elements=operand_elements(kind, dtype, "rhs")))
        a = fix_divisor(kind, a)
        s = draw(st.integers(0 if dtype == "uint8" else -5, 5) | st.floats(0 if dtype == "uint8" else -5, 5))
    return name, a, s


@pytest.mark.parametrize("name", SCALAR_OPS)
@PER_OP
@given(st.data())
def test_reflected_scalar_ops(name, data):
    name, a, s = data.draw(reflected_case(name))
    pyop, free, ref, _ = BINARY[name]
    sc = np.broadcast_to(scalar_as(a.dtype, s), a.shape)
    with np.errstate(all="ignore"):
        want = np.asarray(ref(sc, a)).astype(a.dtype)
    x = nd(a)
    if pyop is not None:
        # s <op> x: Python calls x.__r<op>__(s), or the flipped comparison on x
        got = pyop(s, x) if name not in FLIP and name not in ("equal", "not_equal") else BINARY[FLIP.get(name, name)][0](x, s)
        check(got, want)
    check(getattr(mx.nd, free)(s, x), want)


@FEW
@given(st.sampled_from(["add", "sub", "mul", "div"]), st.sampled_from(NUMERIC), st.data())
def test_binary_with_numpy_array_and_list_operands(name, dtype, data):
    kind = BINARY[name][3]
    a = data.draw(hnp.arrays(np.dtype(dtype), shapes(), elements=operand_elements(kind, dtype, "lhs")))
    b = fix_divisor(kind, data.draw(hnp.arrays(np.dtype(dtype), a.shape[-1:], elements=operand_elements(kind, dtype, "rhs"))))
    pyop = BINARY[name][0]
    check(pyop(nd(a), b), binary_want(name, a, np.broadcast_to(b, a.shape)))
    check(pyop(nd(a), b.tolist()), binary_want(name, a, np.broadcast_to(b, a.shape)))


# --- in-place -------------------------------------------------------------------------------------
IOPS = {"add": operator.iadd, "sub": operator.isub, "mul": operator.imul, "div": operator.itruediv, "mod": operator.imod}


@st.composite
def inplace_case(draw):
    name = draw(st.sampled_from(sorted(IOPS)))
    dtype = draw(st.sampled_from(NUMERIC))
    kind = BINARY[name][3]
    a = draw(hnp.arrays(np.dtype(dtype), shapes(), elements=operand_elements(kind, dtype, "lhs")))
    form = draw(st.sampled_from(["same", "broadcast", "scalar"]))
    if form == "scalar":
        isint = np.dtype(dtype).kind in "iu"
        b = draw(st.integers(1, 5)) if isint or kind != "div" else draw(st.floats(0.25, 5))
    else:
        shape = a.shape if form == "same" else draw(st.sampled_from([a.shape[-1:], (1,) + a.shape[1:], a.shape[:-1] + (1,)]))
        b = fix_divisor(kind, draw(hnp.arrays(np.dtype(dtype), shape, elements=operand_elements(kind, dtype, "rhs"))))
    return name, a, b


@SETTINGS
@given(inplace_case())
def test_inplace_operators(case):
    name, a, b = case
    x = nd(a)
    alias = x[:]  # a view of the same storage sees the update
    rhs = nd(b) if isinstance(b, np.ndarray) else b
    bb = b if isinstance(b, np.ndarray) else scalar_as(a.dtype, b)
    want = binary_want(name, a, np.broadcast_to(bb, a.shape))
    y = IOPS[name](x, rhs)
    check(y, want)
    check(x, want)  # the original object, not only what ``x op= b`` rebinds x to
    check(alias, want)


@pytest.mark.parametrize("name", sorted(IOPS))
def test_inplace_operators_with_scalar_return_self(name):
    x = mx.nd.ones((2, 3))
    assert IOPS[name](x, 2) is x


@pytest.mark.parametrize("name", sorted(IOPS))
def test_inplace_operators_with_array_return_self(name):
    x = mx.nd.ones((2, 3))
    assert IOPS[name](x, mx.nd.ones((2, 3))) is x


@SETTINGS
@given(st.sampled_from(sorted(IOPS)), st.sampled_from(NUMERIC), st.data())
def test_inplace_on_a_view_updates_the_base(name, dtype, data):
    kind = BINARY[name][3]
    a = data.draw(hnp.arrays(np.dtype(dtype), shapes(min_dims=2), elements=operand_elements(kind, dtype, "lhs")))
    key = (slice(None, None, -1), slice(1, None, 2))
    va = a[key]
    assume(va.size > 0)
    b = fix_divisor(kind, data.draw(hnp.arrays(np.dtype(dtype), va.shape, elements=operand_elements(kind, dtype, "rhs"))))
    x = nd(a)
    v = x[key]
    IOPS[name](v, nd(b))
    want = a.copy()
    want[key] = binary_want(name, va, b)
    check(x, want)
    check(v, want[key])


# --- clip, where, out= ----------------------------------------------------------------------------
@SETTINGS
@given(st.sampled_from(NUMERIC), st.floats(-6, 6), st.floats(0, 8), st.data())
def test_clip(dtype, lo, width, data):
    a = data.draw(arrays(dtype, lo=-10, hi=10))
    hi = lo + width
    if dtype == "uint8":
        lo, hi = abs(lo), abs(lo) + width
    isint = np.dtype(dtype).kind in "iu"
    l, h = (np.trunc(lo), np.trunc(hi)) if isint else (lo, hi)
    want = np.clip(a, np.asarray(l).astype(dtype), np.asarray(h).astype(dtype))
    check(mx.nd.clip(nd(a), lo, hi), want)
    check(nd(a).clip(lo, hi), want)


@st.composite
def where_case(draw):
    dtype = draw(st.sampled_from(ALL))
    cdtype = draw(st.sampled_from(ALL))
    shape = draw(shapes())
    x = draw(arrays(dtype, shape=shape))
    y = draw(arrays(dtype, shape=shape))
    cshape = draw(st.sampled_from([shape, shape[:1]]))
    c = draw(arrays(cdtype, shape=cshape, lo=-1, hi=1, integral=True))
    return c, x, y


@SETTINGS
@given(where_case())
def test_where(case):
    c, x, y = case
    cond = (c != 0).reshape(c.shape + (1,) * (x.ndim - c.ndim))
    check(mx.nd.where(nd(c), nd(x), nd(y)), np.where(cond, x, y))


@FEW
@given(st.sampled_from(["exp", "sqrt", "abs", "negative"]), st.sampled_from(FLOATS), st.data())
def test_out_parameter_writes_into_the_given_array(name, dtype, data):
    a = data.draw(arrays(dtype, lo=0, hi=5))
    out = mx.nd.zeros(a.shape, dtype=dtype)
    r = getattr(mx.nd, name)(nd(a), out=out)
    assert r is out
    check(out, UNARY_FLOAT[name][0](a.astype(np.float64)).astype(dtype))
    big = mx.nd.zeros((2,) + a.shape, dtype=dtype)
    getattr(mx.nd, name)(nd(a), out=big[1])
    want = np.zeros((2,) + a.shape, dtype)
    want[1] = UNARY_FLOAT[name][0](a.astype(np.float64)).astype(dtype)
    check(big, want)


@FEW
@given(st.sampled_from(["add", "sub", "mul", "maximum"]), st.sampled_from(NUMERIC), st.data())
def test_binary_out_parameter(name, dtype, data):
    kind = BINARY[name][3]
    a = data.draw(hnp.arrays(np.dtype(dtype), shapes(), elements=operand_elements(kind, dtype, "lhs")))
    b = data.draw(hnp.arrays(np.dtype(dtype), a.shape, elements=operand_elements(kind, dtype, "rhs")))
    out = mx.nd.zeros(a.shape, dtype=dtype)
    r = getattr(mx.nd, BROADCAST[name])(nd(a), nd(b), out=out)
    assert r is out
    check(out, binary_want(name, a, b))
