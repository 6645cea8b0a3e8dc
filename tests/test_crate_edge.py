"""The edge between Python and the Rust crate: what crosses it must come back as a Python
exception of the ``MXNetError`` family (or a plain ``TypeError``/``ValueError``/``OverflowError``
for arguments of the wrong kind), never as pyo3's ``PanicException``, a ``SystemError``, an
abort or a segfault, and never as silently wrong data.

Cases that may take the interpreter down (sizes that overflow, refused allocations, calls with
wrong input counts, the binding fuzzer) run in a child process (``subprocess.run``), so a crash
fails one test, names what crashed, and the rest of the file still runs. The child reports a
``RESULT {json}`` line per case; the parent makes the assertions. Children run with their address
space limited to 4 GiB (``CHILD_MEMORY``), so a huge allocation is refused on any machine instead
of being granted lazily and then filled.

Sections:
1. sizes whose byte count (or element count) overflows ``usize`` raise ``MXNetError`` naming the shape
   (creation, reshape, simple_bind), and so do operators whose output size comes from a parameter;
2. an allocation the system refuses raises an out-of-memory ``MXNetError`` and the process lives on;
3. a mutated input given as a view (strided, or a first-axis slice) updates its base, as in MXNet;
4. BatchNorm given one array as both moving statistics;
5. ``_rmx.invoke`` checks input counts for every registered operator;
6. a hypothesis fuzzer over every function of ``rmx._rmx`` (and its classes' methods);
8. compatibility slips checked against MXNet 1.9.1 (``T``, ``slice_axis``, ``dot``, ``random(out=)``,
   GPU queries).
(7, the file readers, is ``test_reader_fuzz.py``.)
"""

import inspect
import json
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import rmx as mx
from rmx import _rmx

HERE = os.path.dirname(os.path.abspath(__file__))
PKG_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(mx.__file__)))

# Exceptions a caller may see at the crate edge besides the MXNetError family.
ALLOWED_BUILTINS = (TypeError, ValueError, OverflowError)

# 7 * INV7 == 1 (mod 2**64), both below 2**63: a shape whose element count wraps to exactly 1.
INV7 = 0x6DB6DB6DB6DB6DB7
assert 7 * INV7 % 2**64 == 1 and INV7 < 2**63


# ------------------------------------------------------------------------------------------------
# Child processes


def _child_env():
    env = dict(os.environ)
    paths = [PKG_ROOT, HERE] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["RUST_BACKTRACE"] = "0"
    return env


_PRELUDE = r'''
import json, sys
import numpy as np
import rmx as mx

def outcome(fn):
    """What calling fn() did: returned (waiting for any array result) or raised."""
    try:
        r = fn()
        if hasattr(r, "wait_to_read"):
            r.wait_to_read()
        mx.nd.waitall()
    except BaseException as e:  # PanicException derives from BaseException
        return {"raised": type(e).__name__, "is_mxnet": isinstance(e, mx.base.MXNetError),
                "mro": [c.__name__ for c in type(e).__mro__], "message": str(e)[:2000]}
    shape = getattr(r, "shape", None)
    return {"returned": type(r).__name__, "shape": None if shape is None else [int(d) for d in shape]}

def report(obj):
    print("RESULT " + json.dumps(obj), flush=True)

def alive():
    """The process still computes after the case."""
    a = mx.nd.ones((2, 2)) * 3
    report({"alive": float(a.asnumpy().sum())})
'''


# Children run with their address space limited to CHILD_MEMORY bytes (RLIMIT_AS). Linux grants
# huge allocations lazily (here even 4 TiB), so without a limit "an allocation the system
# refuses" depends on the machine, and a kernel filling a lazily granted buffer would eat the
# machine's memory before anything failed. With the limit, any request beyond it is refused
# at once, the way a full machine refuses it; rmx itself runs in well under 1 GiB.
CHILD_MEMORY = 4 << 30


def limit_memory():
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (CHILD_MEMORY, CHILD_MEMORY))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # crashes are expected; no core files


def run_child(body, timeout=120):
    """Runs ``body`` (after the prelude) in a fresh interpreter; returns (results, process)."""
    code = _PRELUDE + textwrap.dedent(body)
    try:
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=_child_env(), preexec_fn=limit_memory)
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        pytest.fail(f"child process hung for {timeout} s; stdout tail:\n{out[-2000:]}")
    results = [json.loads(line[7:]) for line in p.stdout.splitlines() if line.startswith("RESULT ")]
    return results, p


def describe_exit(p, last_lines=None):
    rc = p.returncode
    if rc < 0:
        import signal

        try:
            what = f"killed by {signal.Signals(-rc).name}"
        except ValueError:
            what = f"killed by signal {-rc}"
    else:
        what = f"exit status {rc}"
    lines = [line for line in p.stderr.splitlines() if line.strip() and not line.startswith("note: run with")]
    err = "\n".join(lines[-last_lines:] if last_lines else lines)[-1500:]
    return f"child {what}; stderr tail:\n{err}"


def expect_child_ok(p, results, n):
    assert p.returncode == 0 and len(results) >= n, describe_exit(p) + f"\nresults so far: {results}"


# ------------------------------------------------------------------------------------------------
# 1. Sizes that overflow usize


HUGE_SHAPE_CASES = [
    # (function, shape, dtype): every byte count below overflows a 64-bit usize.
    ("ones", (2**62,), None),  # 2**64 bytes: wraps to 0
    ("zeros", (2**62,), None),
    ("empty", (2**62,), None),
    ("zeros", (2**62,), "float64"),  # 2**65 bytes
    ("ones", (2**62,), "float64"),
    ("zeros", (2**40, 2**40), None),  # 2**80 elements
    ("ones", (2**40, 2**40), None),
    ("empty", (2**40, 2**40), "uint8"),
    ("zeros", (2**32, 2**32), "uint8"),  # 2**64 elements: wraps to exactly 0 bytes
    ("zeros", (7, INV7), None),  # element count wraps to exactly 1
    ("ones", (7, INV7), "uint8"),  # wraps to 1 byte, then fills 2**64 of them
]


@pytest.mark.parametrize("fn,shape,dtype", HUGE_SHAPE_CASES, ids=lambda v: "x".join(map(hex, v)) if isinstance(v, tuple) else str(v))
def test_huge_shape_raises_mxnet_error_naming_the_shape(fn, shape, dtype):
    results, p = run_child(f"""
        report(outcome(lambda: mx.nd.{fn}({shape!r}, dtype={dtype!r})))
        alive()
    """)
    expect_child_ok(p, results, 2)
    r = results[0]
    assert "raised" in r, f"mx.nd.{fn}({shape}, dtype={dtype}) returned {r} instead of raising"
    assert r["is_mxnet"] and r["raised"] != "PanicException", f"wrong exception: {r}"
    assert all(str(d) in r["message"] for d in shape), f"the message does not name the shape {shape}: {r['message']!r}"
    assert results[1] == {"alive": 12.0}


@pytest.mark.parametrize("src,shape", [("mx.nd.array([5.0])", (7, INV7)), ("mx.nd.zeros((0,))", (2**32, 2**32)), ("mx.nd.zeros((2, 2))", (2**62, 4))],
                         ids=["wraps_to_1", "wraps_to_0", "wraps_to_0_bytes_4"])
def test_reshape_to_overflowing_shape_raises(src, shape):
    results, p = run_child(f"""
        report(outcome(lambda: {src}.reshape({shape!r})))
        alive()
    """)
    expect_child_ok(p, results, 2)
    r = results[0]
    assert "raised" in r, f"{src}.reshape({shape}) returned {r} instead of raising"
    assert r["is_mxnet"] and r["raised"] != "PanicException", f"wrong exception: {r}"
    assert all(str(d) in r["message"] for d in shape), f"the message does not name the shape {shape}: {r['message']!r}"


def test_simple_bind_with_overflowing_shape_raises():
    results, p = run_child("""
        net = mx.sym.var("x") * 2
        report(outcome(lambda: net.simple_bind(mx.cpu(), grad_req="null", x=(2**62,))))
        fc = mx.sym.FullyConnected(mx.sym.var("data"), num_hidden=4, name="fc")
        report(outcome(lambda: fc.simple_bind(mx.cpu(), grad_req="write", data=(2**40, 2**40))))
        alive()
    """)
    expect_child_ok(p, results, 3)
    for r, dims in zip(results[:2], [(2**62,), (2**40,)]):
        assert "raised" in r, f"simple_bind returned {r} instead of raising"
        assert r["is_mxnet"] and r["raised"] != "PanicException", f"wrong exception: {r}"
        assert all(str(d) in r["message"] for d in dims), f"the message does not name the shape: {r['message']!r}"


def run_cases_supervised(exprs, setup=""):
    """Evaluates each expression in ``exprs`` as ``outcome(lambda: expr)`` in a child; after a
    crash, a new child continues with the next expression. Returns {index: result}, where a
    crashed case's result is {"crash": description}."""
    results, start = {}, 0
    while start < len(exprs):
        body = f"""
from rmx import _rmx
INV7 = {INV7}
{setup}
CASES = {exprs!r}
for i in range({start}, len(CASES)):
    print("BEGIN", i, flush=True)
    report(dict(case=i, **outcome(lambda: eval(CASES[i]))))
"""
        got, p = run_child(body)
        for r in got:
            results[r["case"]] = r
        if p.returncode == 0:
            break
        begins = [int(line.split()[1]) for line in p.stdout.splitlines() if line.startswith("BEGIN ")]
        crashed = begins[-1] if begins else start
        results[crashed] = {"case": crashed, "crash": describe_exit(p)}
        start = crashed + 1
    return results


# Operators whose output size comes from a parameter, given one that overflows usize.
OP_SIZE_SETUP = """
x = mx.nd.array(np.ones((2, 3)))
x1 = mx.nd.array(np.ones((1, 3)))
x4 = mx.nd.array(np.ones((1, 1, 2, 2)))
idx = mx.nd.array([0, 1, 2])
"""
OP_SIZE_CASES = [
    "mx.nd.full((2**62,), 7.0)",
    "mx.nd._zeros(shape=(2**62,))",
    "mx.nd._ones(shape=(7, INV7))",
    "mx.nd._full(shape=(2**40, 2**40), value=1.0)",
    "mx.nd.random.uniform(shape=(2**62,))",
    "mx.nd.random.normal(shape=(7, INV7))",
    "mx.nd.random.randint(0, 5, shape=(2**62,))",
    "mx.nd.arange(0, 2**62)",
    "mx.nd.eye(2**32, 2**32)",
    "mx.nd.broadcast_to(x1, shape=(2**62, 3))",
    "mx.nd.broadcast_axis(x1, axis=0, size=INV7)",
    "mx.nd.tile(x, reps=(2**62,))",
    "mx.nd.tile(x, reps=(INV7, 7))",
    "mx.nd.repeat(x, repeats=2**62, axis=0)",
    "mx.nd.one_hot(idx, depth=2**62)",
    "mx.nd.Reshape(mx.nd.array([5.0]), shape=(7, INV7))",
    "mx.nd.Pad(x4, mode='constant', pad_width=(0, 0, 0, 0, 2**62, 2**62, 0, 0))",
    "mx.nd.UpSampling(x4, scale=2**31, sample_type='nearest')",
]


@pytest.fixture(scope="module")
def op_size_results():
    return run_cases_supervised(OP_SIZE_CASES, OP_SIZE_SETUP)


@pytest.mark.parametrize("i", range(len(OP_SIZE_CASES)), ids=OP_SIZE_CASES)
def test_operator_output_size_overflow_raises(i, op_size_results):
    r = op_size_results.get(i)
    expr = OP_SIZE_CASES[i]
    assert r is not None, f"{expr} did not run"
    assert "crash" not in r, f"{expr}: {r.get('crash')}"
    assert "raised" in r, f"{expr} returned {r} instead of raising"
    assert r["is_mxnet"] and r["raised"] != "PanicException", f"{expr}: wrong exception {r}"
    assert "internal error" not in r["message"], f"{expr}: a caught panic: {r['message']}"


# ------------------------------------------------------------------------------------------------
# 2. Allocations the system refuses (beyond the child's CHILD_MEMORY address-space limit; 2**45
#    float32 = 128 TiB is also beyond x86-64's 47-bit user address space, refused on any setting).
#    Today Rust's handle_alloc_error aborts the process ("memory allocation of N bytes failed").


@pytest.mark.parametrize("expr", ["mx.nd.zeros((2**40,))", "mx.nd.ones((2**40,))", "mx.nd.zeros((2**31,))", "mx.nd.zeros((2**45,))",
                                  "mx.nd.zeros((2**20, 2**20), dtype='float64')", "mx.nd.array(np.ones((2, 3))).reshape((6,)).tile((2**29,))"])
def test_refused_allocation_raises_out_of_memory(expr):
    results, p = run_child(f"""
        report(outcome(lambda: {expr}))
        alive()
    """)
    expect_child_ok(p, results, 2)
    r = results[0]
    assert "raised" in r, f"{expr} returned {r} instead of raising"
    assert r["is_mxnet"] and r["raised"] != "PanicException", f"wrong exception: {r}"
    assert "memory" in r["message"].lower(), f"the message does not say out of memory: {r['message']!r}"
    assert results[1] == {"alive": 12.0}


# ------------------------------------------------------------------------------------------------
# 3. Mutated inputs given as views update their base. Basic indexing gives views in rmx (see
#    rmx/ndarray/indexing.py): ``a[:, 1::2]``, ``a[:, 1]`` and ``a[::2]`` are strided, ``a[1:3]`` and
#    ``a[1]`` are contiguous views at an offset. MXNet 1.9.1 itself has only the contiguous
#    first-axis kind; with it (checked against MXNet) ``sgd_mom_update(..., mom=big[2:4])`` updates
#    ``big``. Strided views must behave the same: the update lands in the base.


def _f32(a):
    return np.asarray(a, dtype=np.float32)


@pytest.mark.parametrize("index", ["strided_cols", "first_axis_slice"])
def test_sgd_update_out_view_updates_base(index):
    rng = np.random.RandomState(0)
    base = _f32(rng.randn(4, 6))
    key = (slice(None), slice(1, None, 2)) if index == "strided_cols" else slice(1, 3)
    g = _f32(rng.randn(*base[key].shape))
    big = mx.nd.array(base)
    w = big[key]
    mx.nd.sgd_update(w, mx.nd.array(g), lr=0.1, wd=0.0, out=w)
    expected = base.copy()
    expected[key] = base[key] - np.float32(0.1) * g
    np.testing.assert_allclose(big.asnumpy(), expected, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("index", ["strided_cols", "int_column", "step_rows", "first_axis_slice", "first_axis_int"])
def test_sgd_mom_update_momentum_view_updates_base(index):
    rng = np.random.RandomState(1)
    keys = {
        "strided_cols": (slice(None), slice(0, None, 2)),
        "int_column": (slice(None), 1),
        "step_rows": slice(0, None, 2),
        "first_axis_slice": slice(2, 4),
        "first_axis_int": 3,
    }
    key = keys[index]
    mom_base = _f32(rng.randn(6, 4))
    view_np = mom_base[key]
    w_np, g_np = _f32(rng.randn(*view_np.shape)), _f32(rng.randn(*view_np.shape))
    big = mx.nd.array(mom_base)
    mom = big[key]
    assert mom.shape == view_np.shape
    w = mx.nd.array(w_np)
    lr, momentum = 0.1, 0.9
    mx.nd.sgd_mom_update(w, mx.nd.array(g_np), mom, lr=lr, momentum=momentum, wd=0.0, out=w)
    new_mom = np.float32(momentum) * view_np - np.float32(lr) * g_np
    expected = mom_base.copy()
    expected[key] = new_mom
    np.testing.assert_allclose(w.asnumpy(), w_np + new_mom, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(big.asnumpy(), expected, rtol=1e-5, atol=1e-6, err_msg="the momentum view's base was not updated")


@pytest.mark.parametrize("strided", [True, False], ids=["strided_cols", "first_axis_rows"])
def test_adam_update_state_views_update_base(strided):
    rng = np.random.RandomState(2)
    n = 5
    if strided:
        states_np = _f32(np.abs(rng.randn(n, 3)))  # mean = [:, 0], var = [:, 2], [:, 1] untouched
        km, kv = (slice(None), 0), (slice(None), 2)
    else:
        states_np = _f32(np.abs(rng.randn(3, n)))  # mean = [0], var = [2]
        km, kv = 0, 2
    w_np, g_np = _f32(rng.randn(n)), _f32(rng.randn(n))
    states = mx.nd.array(states_np)
    w = mx.nd.array(w_np)
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.01
    mx.nd.adam_update(w, mx.nd.array(g_np), states[km], states[kv], lr=lr, beta1=b1, beta2=b2, epsilon=eps, wd=0.0, out=w)
    mean = b1 * states_np[km].astype(np.float64) + (1 - b1) * g_np
    var = b2 * states_np[kv].astype(np.float64) + (1 - b2) * g_np.astype(np.float64) ** 2
    expected = states_np.copy()
    expected[km], expected[kv] = mean, var
    np.testing.assert_allclose(w.asnumpy(), w_np - lr * mean / (np.sqrt(var) + eps), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(states.asnumpy(), expected, rtol=1e-5, atol=1e-7, err_msg="adam's state views did not update their base")


def _bn_symbol(momentum=0.9, eps=1e-3):
    return mx.sym.BatchNorm(mx.sym.var("x"), fix_gamma=False, momentum=momentum, eps=eps, name="bn")


def _bn_train(x, gamma, beta, moving_mean, moving_var):
    """One training-mode forward of BatchNorm bound to the given aux arrays; returns the output."""
    ex = _bn_symbol().bind(mx.cpu(), args={"x": mx.nd.array(x), "bn_gamma": mx.nd.array(gamma), "bn_beta": mx.nd.array(beta)},
                           grad_req="null", aux_states={"bn_moving_mean": moving_mean, "bn_moving_var": moving_var})
    out = ex.forward(is_train=True)[0].asnumpy()
    mx.nd.waitall()
    return out


def _bn_expected_moving(x, m0, v0, momentum=0.9):
    axes = (0,) + tuple(range(2, x.ndim))
    bm, bv = x.astype(np.float64).mean(axis=axes), x.astype(np.float64).var(axis=axes)
    return m0 * momentum + bm * (1 - momentum), v0 * momentum + bv * (1 - momentum)


@pytest.mark.parametrize("layout", ["strided_cols", "step_slices_1d", "first_axis_rows", "first_axis_slices_1d"])
def test_batchnorm_moving_stats_views_update_base(layout):
    rng = np.random.RandomState(3)
    C = 3
    x = _f32(rng.randn(5, C, 2))
    gamma, beta = _f32(rng.uniform(0.5, 1.5, C)), _f32(rng.randn(C))
    if layout == "strided_cols":
        base_np, km, kv = _f32(rng.uniform(0.5, 1.5, (C, 3))), (slice(None), 0), (slice(None), 2)
    elif layout == "step_slices_1d":
        base_np, km, kv = _f32(rng.uniform(0.5, 1.5, 3 * C)), slice(0, None, 3), slice(2, None, 3)
    elif layout == "first_axis_rows":
        base_np, km, kv = _f32(rng.uniform(0.5, 1.5, (3, C))), 0, 2
    else:
        base_np, km, kv = _f32(rng.uniform(0.5, 1.5, 3 * C)), slice(0, C), slice(2 * C, 3 * C)
    base = mx.nd.array(base_np)
    _bn_train(x, gamma, beta, base[km], base[kv])
    new_m, new_v = _bn_expected_moving(x, base_np[km].astype(np.float64), base_np[kv].astype(np.float64))
    expected = base_np.copy()
    expected[km], expected[kv] = new_m, new_v
    np.testing.assert_allclose(base.asnumpy(), expected, rtol=1e-5, atol=1e-6, err_msg="BatchNorm's moving-statistics views did not update their base")


# ------------------------------------------------------------------------------------------------
# 4. One array as both moving_mean and moving_var. Mutated inputs are updated in input order, so
#    the later one (moving_var) wins: the array ends as moving_var's update of the separate run.


def test_batchnorm_one_array_as_both_moving_statistics():
    rng = np.random.RandomState(4)
    C = 4
    x = _f32(rng.randn(6, C, 3))
    gamma, beta = _f32(rng.uniform(0.5, 1.5, C)), _f32(rng.randn(C))
    m0 = _f32(rng.uniform(0.5, 1.5, C))
    mm, mv = mx.nd.array(m0), mx.nd.array(m0)
    out_ref = _bn_train(x, gamma, beta, mm, mv)
    mv_ref = mv.asnumpy()
    both = mx.nd.array(m0)
    out = _bn_train(x, gamma, beta, both, both)
    np.testing.assert_allclose(out, out_ref, rtol=1e-6, atol=1e-6, err_msg="the output depends on the aliasing")
    np.testing.assert_allclose(both.asnumpy(), mv_ref, rtol=1e-6, atol=1e-7, err_msg="the aliased array is not moving_var's update")
    # The separate run itself is BatchNorm's documented update.
    np.testing.assert_allclose(mv_ref, _bn_expected_moving(x, m0, m0)[1], rtol=1e-5)


# ------------------------------------------------------------------------------------------------
# 5. invoke with wrong input counts, every operator


_INVOKE_CHILD = r'''
import re
from rmx import _rmx

def guess(ty):
    """A plausible value for a required parameter of type string ``ty``."""
    t = ty.lower()
    opts = re.findall(r"'([^']+)'", ty)
    if opts:
        return opts[0]
    if t == "dtype":
        return "float32"
    if "shape" in t or "tuple" in t:
        return "(1, 1)"
    if "bool" in t:
        return "False"
    if "float" in t or "double" in t:
        return "0.5"
    if "int" in t:
        return "1"
    return "1"

x = mx.nd.array(np.arange(6, dtype=np.float32).reshape(2, 3))
# LeakyReLU's gamma is an input only with act_type='prelu' (as in MXNet): one input is too few then.
r = outcome(lambda: _rmx.invoke("LeakyReLU", [x.handle], [("act_type", "prelu")], None))
report({"op": "LeakyReLU[prelu]", "fixed_inputs": 2, "n_in": 1, "attrs": [["act_type", "prelu"]], **r})
for name, aliases, doc, inputs, variadic, params in _rmx.op_list():
    attrs = [(p[0], guess(p[1])) for p in params if p[2] == ""]
    if variadic:
        attrs = [a for a in attrs if a[0] != "num_args"] + [("num_args", "0")]
    for n_in in (0, 1):
        ins = [x.handle] * n_in
        if variadic and n_in:
            attrs = [a for a in attrs if a[0] != "num_args"] + [("num_args", "1")]
        r = outcome(lambda: _rmx.invoke(name, ins, attrs, None))
        report({"op": name, "fixed_inputs": None if variadic else len(inputs), "n_in": n_in, "attrs": attrs, **r})
report({"done": True})
'''


@pytest.fixture(scope="module")
def invoke_results():
    results, p = run_child(_INVOKE_CHILD, timeout=300)
    return results, p


def _invoke_cases(invoke_results):
    results, p = invoke_results
    done = bool(results) and results[-1].get("done")
    cases = [r for r in results if "op" in r]
    return cases, done, p


def test_invoke_every_operator_with_wrong_input_counts_does_not_crash(invoke_results):
    cases, done, p = _invoke_cases(invoke_results)
    last = cases[-1] if cases else None
    assert done, f"{describe_exit(p)}\nlast completed case: {last}"


def test_invoke_wrong_input_counts_raise_only_allowed_errors(invoke_results):
    cases, done, p = _invoke_cases(invoke_results)
    bad = [c for c in cases if "raised" in c and not (c["is_mxnet"] or set(c["mro"]) & {"TypeError", "ValueError"})]
    assert not bad, f"{len(bad)} calls raised outside MXNetError/TypeError/ValueError, e.g.:\n" + "\n".join(
        f"  {c['op']}({c['n_in']} inputs): {c['raised']}: {c['message'][:200]}" for c in bad[:15])
    assert done, describe_exit(p)


# Operators whose declared inputs include optional ones: the fewest inputs they accept.
MIN_INPUTS = {"LeakyReLU": 1}  # gamma only with act_type='prelu' (checked as "LeakyReLU[prelu]")


def test_invoke_too_few_inputs_raise_mxnet_error(invoke_results):
    """Zero inputs to an operator that takes some (fixed or variadic), and one input to an
    operator that takes two or more, are an MXNetError at the call."""
    cases, done, p = _invoke_cases(invoke_results)
    too_few = [c for c in cases if (c["fixed_inputs"] is None and c["n_in"] == 0) or (c["fixed_inputs"] is not None and c["n_in"] < MIN_INPUTS.get(c["op"], c["fixed_inputs"]))]
    assert len(too_few) > 50
    bad = [c for c in too_few if not ("raised" in c and c["is_mxnet"] and c["raised"] != "PanicException")]
    assert not bad, f"{len(bad)} of {len(too_few)} too-few-input calls did not raise an MXNetError, e.g.:\n" + "\n".join(
        f"  {c['op']}({c['n_in']} of {c['fixed_inputs'] or 'variadic'}): {c.get('raised', 'returned ' + str(c.get('shape')))}: {c.get('message', '')[:160]}" for c in bad[:15])
    assert done, describe_exit(p)


def test_invoke_wrong_input_count_errors_are_not_caught_panics(invoke_results):
    """Stricter: the error must come from a check, not from a Rust panic that the binding's
    catch_unwind turned into ``MXNetError('internal error ...')`` or the engine into EngineError."""
    cases, done, p = _invoke_cases(invoke_results)
    bad = [c for c in cases if "raised" in c and ("internal error" in c["message"] or "panic" in c["message"].lower() or c["raised"] == "PanicException")]
    assert not bad, f"{len(bad)} calls failed by a panic, e.g.:\n" + "\n".join(
        f"  {c['op']}({c['n_in']} inputs): {c['raised']}: {c['message'][:200]}" for c in bad[:15])
    assert done, describe_exit(p)


# ------------------------------------------------------------------------------------------------
# 6. Fuzzing every function of the extension module with random arguments.
#
# Each target (a module function or a class method) runs in its own child process for at most
# FUZZ_EXAMPLES hypothesis examples. The child logs each call before making it, so a crash names
# the call. Results of successful calls are exercised: an NDArrayHandle's claimed size must be
# possible (at most 2**40 bytes on any machine this runs on), small ones are read back, a
# SymbolHandle is serialized.
#
# Skipped: none of the functions sleeps, reads stdin or exits the process. ``push`` takes a Python
# callable; the strategies never pass callables, so the pushed body raises TypeError inside the
# engine (reported at a later wait, as designed). Waits (``waitall``, ``wait_for_var``) only wait
# on work the fuzzer pushed, which always ends. ``set_engine_type`` is fuzzed too; each child is a
# fresh process, so the engine switch cannot leak into other tests.

FUZZ_EXAMPLES = 200
# The entry points that reach the most of the crate get more.
FUZZ_EXAMPLES_FOR = {"invoke": 800, "SymbolHandle.create": 400, "NDArrayHandle.view": 400, "nd_from_buffer": 400, "SymbolHandle.bind": 400, "SymbolHandle.plan_memory": 400}
FUZZ_SEED = 20240601


def _fuzz_targets():
    targets = []
    for name in sorted(dir(_rmx)):
        if name.startswith("_"):
            continue
        obj = getattr(_rmx, name)
        if isinstance(obj, type):
            for m in sorted(vars(obj)):
                if m.startswith("__"):
                    continue
                attr = vars(obj)[m]
                if callable(attr) or isinstance(attr, (staticmethod, classmethod)) or type(attr).__name__ in ("method_descriptor", "builtin_function_or_method", "staticmethod"):
                    targets.append(f"{name}.{m}")
        elif callable(obj):
            targets.append(name)
    return targets


# Integers: small, negative, and huge; nothing between 2**4 and 2**47 (sizes a machine can allocate
# but that would make the fuzzer slow and memory-hungry rather than find bugs).
# Every product of up to four of these (as u64, negatives wrapped) with small ints and an item size
# is either below 2**24 bytes or at least 2**47 bytes: no product wraps into a size a machine
# would grant and a kernel then fill.
HUGE_INTS = [2**47, 2**62, 2**62 + 1, 2**63 - 1, 2**63, 2**63 + 1, 2**64 - 1, 2**64, 2**100, -1, -2, -(2**63), -(2**64), INV7]


def _fuzz_world():
    """Objects the strategies draw from (made in the child)."""
    world = {}
    world["arrays"] = [
        mx.nd.array(np.arange(6, dtype=np.float32).reshape(2, 3)),
        mx.nd.array(np.arange(3, dtype=np.float64)),
        mx.nd.array([1], dtype="int32"),
        mx.nd.zeros((0,)),
        mx.nd.array(np.arange(12, dtype=np.float32).reshape(3, 4))[:, ::2],
        mx.nd.ones((2, 1, 3), dtype="uint8"),
    ]
    x = mx.sym.var("data")
    fc = mx.sym.FullyConnected(x, num_hidden=3, name="fc")
    bn = mx.sym.BatchNorm(fc, name="bn")
    world["symbols"] = [x, fc, bn, mx.sym.Group([fc, bn]), mx.sym.SoftmaxOutput(fc, name="sm")]
    ex = fc.bind(mx.cpu(), args={"data": mx.nd.ones((2, 4)), "fc_weight": mx.nd.ones((3, 4)), "fc_bias": mx.nd.zeros(3)},
                 args_grad={"fc_weight": mx.nd.zeros((3, 4))}, grad_req="write")
    world["executors"] = [ex]
    world["fc_args"] = [mx.nd.ones((2, 4)), mx.nd.ones((3, 4)), mx.nd.zeros(3)]
    world["fc_grads"] = [mx.nd.ones((2, 4)), mx.nd.ones((3, 4)), mx.nd.zeros(3)]
    world["special_instances"] = {"SymbolHandle.bind": [fc.handle], "SymbolHandle.plan_memory": [fc.handle]}
    world["op_names"] = sorted({o[0] for o in _rmx.op_list()})
    world["json"] = [s.tojson() for s in world["symbols"]]
    return world


def _strategies(world):
    from hypothesis import strategies as st

    handles = st.sampled_from([a.handle for a in world["arrays"]])
    sym_handles = st.sampled_from([s.handle for s in world["symbols"]])
    ints = st.one_of(st.integers(-4, 16), st.sampled_from(HUGE_INTS))
    small_ints = st.integers(-2, 8)
    int_lists = st.lists(ints, max_size=4)
    str_pairs = st.lists(st.tuples(st.one_of(st.sampled_from(["shape", "axis", "dtype", "num_args", "scalar", "num_hidden", "kernel", "lr", "momentum", "value", "axes", "begin", "end", "p", "eps", "num_outputs", "reps", "repeats", "depth", "k", "__shape__", "__dtype__"]), st.text(max_size=8)),
                                            st.one_of(st.sampled_from(["0", "1", "2", "-1", "(2, 3)", "(0,)", "()", "None", "True", "float64", "int32", "nan", "inf", "1e308"]),
                                                      ints.map(str), st.lists(ints, max_size=3).map(lambda v: "(" + ", ".join(map(str, v)) + ",)"), st.text(max_size=10))), max_size=4)
    buffers = st.one_of(st.sampled_from([0, 1, 4, 8, 12, 24, 48]).map(lambda n: np.zeros(n, dtype=np.uint8)),
                        st.binary(max_size=64), st.sampled_from([np.zeros(6, np.float32), np.zeros((2, 3), np.uint8)[:, ::2], np.zeros(3, np.uint8)[:0]]))
    np_arrays = st.sampled_from([np.zeros(3, np.float32), np.arange(4, dtype=np.int64), np.zeros((2, 2), np.uint8), np.array([], np.float64)])
    vars_ = st.builds(_rmx.new_var)
    kv_pairs = st.lists(st.tuples(st.one_of(st.integers(-1, 6), st.sampled_from(HUGE_INTS), st.sampled_from(["w", "x", ""])), handles), max_size=4)
    anything = st.one_of(
        ints, st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12), st.binary(max_size=16), st.none(), st.booleans(),
        int_lists, st.tuples(ints, ints), np_arrays, buffers, handles, st.lists(handles, max_size=3), sym_handles, st.lists(sym_handles, max_size=2),
        str_pairs, st.dictionaries(st.text(max_size=6), int_lists, max_size=3), vars_, st.lists(vars_, max_size=2),
        st.sampled_from(world["op_names"]), st.sampled_from(["float32", "float64", "int64", "uint8", "bool", "float16", "int8", "int32", "complex64"]),
    )
    hints = {
        "name": st.sampled_from(world["op_names"]), "op": st.sampled_from(world["op_names"]),
        "dtype_name": st.sampled_from(["float32", "float64", "int64", "uint8", "bool", "xx"]),
        "shape": int_lists, "spec": st.lists(st.one_of(st.integers(-4, 6), st.sampled_from(HUGE_INTS)), max_size=5), "strides": st.lists(st.one_of(small_ints, st.sampled_from(HUGE_INTS)), max_size=4),
        "offset": st.one_of(small_ints, st.sampled_from(HUGE_INTS)), "index": st.one_of(small_ints, st.sampled_from(HUGE_INTS)),
        "attrs": str_pairs, "inputs": st.lists(handles, max_size=5), "arrays": st.lists(handles, max_size=3), "out": st.one_of(st.none(), st.lists(handles, max_size=3), handles),
        "args": st.one_of(st.lists(handles, max_size=4), st.lists(sym_handles, max_size=3), st.lists(st.tuples(int_lists, st.sampled_from(["float32", "int64", "xx"])), max_size=3)),
        "aux": st.one_of(st.lists(handles, max_size=3), st.lists(st.tuples(int_lists, st.sampled_from(["float32", "xx"])), max_size=2)),
        "grads": st.lists(st.one_of(st.none(), handles), max_size=4), "out_grads": st.lists(handles, max_size=3),
        "reqs": st.lists(st.sampled_from(["null", "write", "add", "inplace", "xx"]), max_size=4), "strategy": st.one_of(st.none(), st.sampled_from(["none", "inplace", "coshare", "both", "xx"])),
        "kwargs": st.lists(st.tuples(st.text(max_size=6), sym_handles), max_size=2), "symbols": st.lists(sym_handles, max_size=3),
        "text": st.one_of(st.sampled_from(world["json"]), st.text(max_size=40)), "known": st.one_of(st.dictionaries(st.sampled_from(["data", "fc_weight", "x", ""]), int_lists, max_size=3),
                                                                                                   st.dictionaries(st.sampled_from(["data", "fc_weight"]), st.sampled_from(["float32", "float64", "xx"]), max_size=2)),
        "buf": buffers, "data": st.one_of(buffers, st.binary(max_size=200)), "names": st.lists(st.text(max_size=5), max_size=3),
        "dev_type": st.sampled_from([1, 2, 3, 5, 0, -1, 99, 2**40]), "dev_id": st.sampled_from([0, 1, 7, -1, 2**32]),
        "reads": st.lists(vars_, max_size=2), "writes": st.lists(vars_, max_size=2), "var": vars_,
        "prop": st.sampled_from(["normal", "async", "copy_from_gpu", "copy_to_gpu", "cpu_prioritized", "gpu_prioritized", "xx"]),
        "priority": ints, "scalar": st.floats(allow_nan=True, allow_infinity=True), "key": st.text(max_size=6), "value": st.text(max_size=6),
        "pairs": kv_pairs, "values": kv_pairs, "outs": kv_pairs, "updater": st.none(),
        "seed": ints, "per_node": st.booleans(), "is_train": st.booleans(), "reverse": st.booleans(), "x": handles, "other": handles,
    }
    return st, anything, hints


def _resolve(target):
    if "." in target:
        cls_name, meth = target.split(".")
        return getattr(_rmx, cls_name), meth
    return None, target


def _instances(cls_name, world):
    if cls_name == "NDArrayHandle":
        return [a.handle for a in world["arrays"]]
    if cls_name == "SymbolHandle":
        return [s.handle for s in world["symbols"]]
    if cls_name == "ExecutorHandle":
        return [e.handle for e in world["executors"]]
    if cls_name == "Var":
        return [_rmx.new_var()]
    if cls_name == "KVStoreHandle":
        stores = [_rmx.KVStoreHandle("local"), _rmx.KVStoreHandle("device"), _rmx.KVStoreHandle("local")]
        for kv in stores[:2]:
            kv.init([(k, a.handle) for k, a in enumerate(world["arrays"])])
        stores[2].init([("w", world["arrays"][0].handle)])
        return stores
    if cls_name in ("RecordWriter", "RecordReader", "ImageRecordCore"):
        return _io_instances(cls_name)
    if cls_name == "DistKVStoreHandle":
        return _dist_instances(world)
    return []


def _dist_instances(world):
    """A worker's store in a one-worker job on loopback (scheduler and server as processes that
    end with the job). The job's variables are removed again once it is joined, so that
    `run_server`/`run_scheduler` fuzzed later fail on their configuration instead of joining."""
    import secrets
    from rmx.launch import free_port, job_env
    env = job_env(1, 1, "127.0.0.1", free_port(), secrets.token_hex(8))
    env.update(RMX_KVSTORE_TIMEOUT="30", RMX_KVSTORE_START_TIMEOUT="20")
    for role in ("scheduler", "server"):
        subprocess.Popen([sys.executable, "-c", "import rmx"], env=dict(os.environ, DMLC_ROLE=role, **env),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.environ.update(env, DMLC_ROLE="worker")
    try:
        kv = _rmx.DistKVStoreHandle("dist_sync")
    finally:
        for k in list(env) + ["DMLC_ROLE"]:
            os.environ.pop(k, None)
    kv.init([(k, a.handle) for k, a in enumerate(world["arrays"]) if a.dtype in (np.float32, np.float64)])
    return [kv]


def _io_instances(cls_name):
    """Record files in a temporary folder: a writer, readers of a good file and of garbage, and
    image iterators over PNG records."""
    import tempfile
    d = tempfile.mkdtemp(prefix="rmx-fuzz-io-")
    rec = os.path.join(d, "img.rec")
    w = mx.recordio.MXRecordIO(rec, "w")
    for i in range(5):
        img = np.full((12, 10, 3), 40 * i, dtype=np.uint8)
        w.write(mx.recordio.pack_img((0, float(i), i, 0), img, img_fmt=".png"))
    w.close()
    junk = os.path.join(d, "junk.rec")
    with open(junk, "wb") as f:
        f.write(b"\x0a\x23\xd7\xce\xff\xff\xff\x1f" + b"garbage" * 7)
    if cls_name == "RecordWriter":
        return [_rmx.RecordWriter(os.path.join(d, "out.rec"), False)]
    if cls_name == "RecordReader":
        return [_rmx.RecordReader(rec), _rmx.RecordReader(junk)]
    params = {"batch_size": 2.0, "preprocess_threads": 2.0, "rand_crop": 1.0, "shuffle": 1.0}
    return [_rmx.ImageRecordCore(rec, None, (3, 8, 8), params, "float32"),
            _rmx.ImageRecordCore(rec, None, (1, 8, 8), dict(params, skip_corrupt=1.0), "uint8")]


def _signature_params(fn):
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    return [p for p in sig.parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def _check_result(result, problems, call):
    """Exercises what a call returned; appends a problem for an impossible array."""
    items = result if isinstance(result, (list, tuple)) else [result]
    for item in items:
        if isinstance(item, (list, tuple)):
            _check_result(item, problems, call)
        elif type(item).__name__ == "NDArrayHandle":
            shape = list(item.shape)
            nbytes = int(np.prod(shape, dtype=object)) * np.dtype(item.dtype).itemsize if shape else np.dtype(item.dtype).itemsize
            if nbytes > 2**40:
                problems.append({"call": call, "kind": "impossible array", "detail": f"returned an array of shape {shape} ({nbytes} bytes)"})
                continue
            if nbytes <= 1 << 20:
                buf = np.empty(nbytes, dtype=np.uint8)
                item.read_into(buf)
        elif type(item).__name__ == "SymbolHandle":
            item.tojson()
            item.list_outputs()
        elif type(item).__name__ == "ExecutorHandle":
            item.forward(False)
            _check_result(item.outputs(), problems, call + " -> forward")


def _allowed(e):
    return isinstance(e, (mx.base.MXNetError,) + ALLOWED_BUILTINS) and type(e).__name__ != "PanicException"


def _param_value(ty, st, ints):
    """Strings for an operator parameter of MXNet type ``ty``: valid-looking and extreme."""
    import re

    t = ty.lower()
    opts = re.findall(r"'([^']+)'", ty)
    huge = st.sampled_from([str(v) for v in HUGE_INTS])
    tup = st.lists(ints, max_size=4).map(lambda v: "(" + ", ".join(map(str, v)) + ("," if len(v) == 1 else "") + ")")
    junk = st.one_of(st.sampled_from(["", "None", "nan", "inf", "-inf", "1e308", "(", "((1,2)", "[1, 2]", "True", "float128"]), st.text(max_size=6))
    if opts:
        base = st.sampled_from(opts)
    elif "shape" in t or "tuple" in t:
        base = tup
    elif "dtype" in t:
        base = st.sampled_from(["float32", "float64", "float16", "uint8", "int8", "int32", "int64", "bool"])
    elif "bool" in t:
        base = st.sampled_from(["True", "False", "1", "0"])
    elif "float" in t or "double" in t:
        base = st.one_of(st.floats(-4, 4).map(repr), st.sampled_from(["0", "1", "-1", "nan", "inf", "1e308", "-1e308"]))
    elif "int" in t:
        base = st.one_of(ints.map(str), huge)
    else:
        base = st.text(max_size=6)
    return st.one_of(base, base, base, base, huge, tup, junk)


def _op_call_strategies(world, st, ints, handles, sym_handles):
    """Typed argument tuples for ``invoke``, ``scalar_op`` and ``SymbolHandle.create``: an
    operator, inputs of about its arity, and attributes from its own parameters."""
    ops = {o[0]: o for o in _rmx.op_list()}

    def attrs_for(name):
        params = ops[name][5]
        if not params:
            return st.just([])
        pairs = st.lists(st.sampled_from(params).flatmap(lambda p: st.tuples(st.just(p[0]), _param_value(p[1], st, ints))), max_size=len(params) + 1)
        return pairs

    def n_inputs(name):
        o = ops[name]
        return st.integers(0, 3) if o[4] else st.integers(max(0, len(o[3]) - 1), len(o[3]) + 1)

    names = st.sampled_from(sorted(ops))
    invoke = names.flatmap(lambda n: st.tuples(st.just(n), n_inputs(n).flatmap(lambda k: st.lists(handles, min_size=k, max_size=k)), attrs_for(n),
                                               st.one_of(st.none(), st.none(), st.lists(handles, max_size=2)), st.sampled_from([1, 1, 1, 3, 2, 0]), st.sampled_from([0, 0, 1])))
    scalar = names.flatmap(lambda n: st.tuples(st.just(n), handles, st.one_of(st.floats(), st.sampled_from([0.0, 1.0, -1.0, 1e308])), st.one_of(st.none(), handles)))
    create = names.flatmap(lambda n: st.tuples(st.just(n), st.text(max_size=4), attrs_for(n), n_inputs(n).flatmap(lambda k: st.lists(sym_handles, min_size=k, max_size=k)),
                                               st.lists(st.tuples(st.sampled_from(["data", "weight", "x", "lhs", "rhs", ""]), sym_handles), max_size=2)))
    # bind and plan_memory on the FullyConnected symbol (data, fc_weight, fc_bias): the right
    # arrays or shapes, with one of them sometimes replaced.
    fc_args = [a.handle for a in world["fc_args"]]
    good_descs = [([2, 4], "float32"), ([3, 4], "float32"), ([3], "float32")]
    desc = st.tuples(st.lists(ints, min_size=1, max_size=3), st.sampled_from(["float32", "float64", "int32", "xx"]))

    def replace_one(good, alt):
        return st.tuples(st.integers(-1, len(good) - 1), alt).map(lambda t: good if t[0] < 0 else good[:t[0]] + [t[1]] + good[t[0] + 1:])

    reqs = st.one_of(st.just(["null"] * 3), st.just(["write"] * 3), st.just(["write", "add", "null"]), st.lists(st.sampled_from(["null", "write", "add", "inplace", "xx"]), max_size=4))
    grad_arrays = [a.handle for a in world["fc_grads"]]
    grads = st.one_of(st.just([None] * 3), st.just(grad_arrays), replace_one(grad_arrays, st.one_of(st.none(), handles, st.sampled_from(fc_args))))
    bind = st.tuples(st.sampled_from([1, 1, 1, 2, 3]), st.sampled_from([0, 0, 1]), replace_one(fc_args, handles), grads, reqs, st.just([]),
                     st.sampled_from([None, "none", "inplace", "coshare", "both", "xx"]))
    plan = st.tuples(replace_one(good_descs, desc), st.just([]), reqs, st.sampled_from([None, "none", "both", "xx"]))
    return {"invoke": invoke, "scalar_op": scalar, "SymbolHandle.create": create, "SymbolHandle.bind": bind, "SymbolHandle.plan_memory": plan}


def _fuzz_one(target, max_examples, log, world, st, anything, hints):
    """Fuzzes one target; returns {"counts": ..., "problems": [...]}."""
    from hypothesis import HealthCheck, Verbosity, given, settings

    cls, name = _resolve(target)
    if cls is None:
        fn_for = lambda inst: getattr(_rmx, name)  # noqa: E731
        instances = [None]
    else:
        raw = vars(cls)[name]
        if isinstance(raw, staticmethod):
            fn_for = lambda inst: getattr(cls, name)  # noqa: E731
            instances = [None]
        else:
            instances = world["special_instances"].get(target) or _instances(cls.__name__, world)
            fn_for = lambda inst: getattr(inst, name)  # noqa: E731
    params = _signature_params(fn_for(instances[0]))
    problems, counts = [], {"calls": 0, "ok": 0, "raised": 0, "caught_panics": 0}

    def arg_strategy(p):
        return st.one_of(hints[p.name], anything) if p.name in hints else anything

    if params is None:
        args_st = st.lists(anything, max_size=5).map(tuple)
    else:
        n_req = sum(1 for p in params if p.default is inspect.Parameter.empty)
        # Mostly well-typed calls (each argument from its name's hint, so calls get past argument
        # conversion into the crate), sometimes any mix, sometimes a wrong argument count.
        typed = world["special"][target] if target in world["special"] else st.integers(n_req, len(params)).flatmap(lambda n: st.tuples(*[hints.get(params[i].name, anything) for i in range(n)]))
        mixed = st.integers(max(0, n_req - 1), len(params) + 1).flatmap(
            lambda n: st.tuples(*[arg_strategy(params[i]) if i < len(params) else anything for i in range(n)]))
        args_st = st.one_of(typed, typed, typed, mixed)
        if not params:
            max_examples = min(max_examples, 20)  # only the argument count varies

    @settings(max_examples=max_examples, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck), verbosity=Verbosity.quiet)
    @given(inst=st.sampled_from(instances), args=args_st)
    def run(inst, args):
        fn = fn_for(inst)
        try:
            call = f"{target}({', '.join(_short_repr(a) for a in args)})"
        except Exception:
            call = f"{target}(<unreprable>)"
        os.write(log, (call.replace("\n", " ") + "\n").encode("utf-8", "replace"))
        counts["calls"] += 1
        t0 = time.perf_counter()
        try:
            result = fn(*args)
            _check_result(result, problems, call)
            counts["ok"] += 1
        except BaseException as e:  # noqa: B036 - PanicException derives from BaseException
            if isinstance(e, KeyboardInterrupt):
                raise
            counts["raised"] += 1
            if not _allowed(e):
                problems.append({"call": call, "kind": type(e).__name__, "detail": str(e)[:300]})
            elif "internal error" in str(e) or "panicked" in str(e):
                counts["caught_panics"] += 1
        elapsed = time.perf_counter() - t0
        if elapsed > 2.0:
            problems.append({"call": call, "kind": "slow", "detail": f"took {elapsed:.1f} s"})

    run()
    os.write(log, f"waitall() after {target}\n".encode())
    try:
        _rmx.waitall()
    except BaseException as e:  # noqa: B036
        if not _allowed(e):
            problems.append({"call": f"waitall() after fuzzing {target}", "kind": type(e).__name__, "detail": str(e)[:300]})
    return {"counts": counts, "problems": problems}


def fuzz_child(targets, max_examples, log_path):
    """A child's entry point: fuzzes ``targets`` in order, one ``RESULT`` line each. The log gets
    ``@@ target`` before each target and each call before it is made."""
    from hypothesis import strategies as st_

    world = _fuzz_world()
    st, anything, hints = _strategies(world)
    ints = st.one_of(st.integers(-4, 16), st.sampled_from(HUGE_INTS))
    world["special"] = _op_call_strategies(world, st_, ints, st.sampled_from([a.handle for a in world["arrays"]]), st.sampled_from([s.handle for s in world["symbols"]]))
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    for target in targets:
        os.write(log, f"@@ {target}\n".encode())
        r = _fuzz_one(target, FUZZ_EXAMPLES_FOR.get(target, max_examples), log, world, st, anything, hints)
        print("RESULT " + json.dumps({"target": target, **r}), flush=True)
    os.close(log)


def _short_repr(a):
    if isinstance(a, np.ndarray):
        return f"np.zeros({a.shape}, {a.dtype.name})"
    t = type(a).__name__
    if t in ("NDArrayHandle",):
        return f"<NDArrayHandle {list(a.shape)} {a.dtype} strides={list(a.strides)}>"
    if t == "SymbolHandle":
        return f"<SymbolHandle {a.list_outputs()}>"
    if isinstance(a, (list, tuple)):
        inner = ", ".join(_short_repr(x) for x in a)
        return f"[{inner}]" if isinstance(a, list) else f"({inner}{',' if len(a) == 1 else ''})"
    r = repr(a)
    return r if len(r) <= 160 else r[:157] + "..."


FUZZ_TARGETS = _fuzz_targets()


@pytest.fixture(scope="module")
def fuzz_results(tmp_path_factory):
    """Runs every target: children are restarted after a crash (or hang) with the targets left;
    the crash is the result of the target that was running."""
    pytest.importorskip("hypothesis")
    log_path = str(tmp_path_factory.mktemp("fuzz") / "calls.log")
    remaining, results = list(FUZZ_TARGETS), {}
    while remaining:
        open(log_path, "w").close()
        code = f"import test_crate_edge as t\nt.fuzz_child({remaining!r}, {FUZZ_EXAMPLES}, {log_path!r})\n"
        try:
            p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240, env=_child_env(), cwd=HERE, preexec_fn=limit_memory)
            how = None if p.returncode == 0 else describe_exit(p, last_lines=2)
            out = p.stdout
        except subprocess.TimeoutExpired as e:
            how = "hung (the child was killed after 240 s)"
            out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        for line in out.splitlines():
            if line.startswith("RESULT "):
                r = json.loads(line[7:])
                results[r["target"]] = r
        remaining = [t for t in remaining if t not in results]
        if how is None or not remaining:
            break
        lines = open(log_path, encoding="utf-8", errors="replace").read().splitlines()
        heads = [i for i, line in enumerate(lines) if line.startswith("@@ ")]
        current = lines[heads[-1]][3:] if heads else remaining[0]
        calls = lines[heads[-1] + 1:] if heads else []
        results[current] = {"target": current, "crash": how, "last_call": calls[-1] if calls else None, "calls": len(calls)}
        remaining = [t for t in remaining if t != current]
    return results


@pytest.mark.parametrize("target", FUZZ_TARGETS)
def test_binding_fuzz(target, fuzz_results):
    r = fuzz_results.get(target)
    assert r is not None, f"{target} was not fuzzed"
    if "crash" in r:
        pytest.fail(f"{target}: the process died ({r['crash']})\n  at call {r['calls']}: {r['last_call']}")
    problems = r["problems"]
    distinct = {}
    for q in problems:  # one example of each kind of problem
        distinct.setdefault((q["kind"], q["detail"][:40]), q)
    assert not problems, f"{target}: {len(problems)} problems in {r['counts']['calls']} calls, e.g.:\n" + "\n".join(
        f"  {q['kind']}: {q['detail'][:200]}\n    from {q['call'][:300]}" for q in list(distinct.values())[:6])


def test_binding_fuzz_covers_every_public_function():
    targets = set(FUZZ_TARGETS)
    for n in dir(_rmx):
        obj = getattr(_rmx, n)
        if n.startswith("_") or not callable(obj):
            continue
        if isinstance(obj, type):
            methods = {f"{n}.{m}" for m, a in vars(obj).items() if not m.startswith("__") and (callable(a) or isinstance(a, staticmethod))}
            assert methods <= targets, methods - targets
        else:
            assert n in targets
    assert {"invoke", "nd_zeros", "nd_load_bytes", "NDArrayHandle.view", "SymbolHandle.bind", "SymbolHandle.from_json"} <= targets


# ------------------------------------------------------------------------------------------------
# 8. Compatibility with MXNet 1.9.1 (each checked against it)


@pytest.mark.parametrize("shape", [(2, 3, 4), (2, 3, 4, 5)])
def test_T_reverses_all_axes(shape):
    a = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    t = mx.nd.array(a).T
    assert t.shape == shape[::-1]
    np.testing.assert_array_equal(t.asnumpy(), a.T)


@pytest.mark.parametrize("axis,begin,end", [(0, 0, 6), (0, 0, 100), (1, 0, 3), (0, -6, None)])
def test_slice_axis_out_of_range_raises(axis, begin, end):
    # MXNet 1.9.1: "Check failed: *end <= axis_size: Invalid end for end=6 as axis_size is 5".
    x = mx.nd.array(np.arange(10, dtype=np.float32).reshape(5, 2))
    with pytest.raises(mx.base.MXNetError):
        mx.nd.slice_axis(x, axis=axis, begin=begin, end=end).wait_to_read()


def test_slice_axis_in_range_still_works():
    x = np.arange(10, dtype=np.float32).reshape(5, 2)
    np.testing.assert_array_equal(mx.nd.slice_axis(mx.nd.array(x), axis=0, begin=1, end=5).asnumpy(), x[1:5])
    np.testing.assert_array_equal(mx.nd.slice_axis(mx.nd.array(x), axis=0, begin=-2, end=None).asnumpy(), x[-2:])


@pytest.mark.parametrize("kw", [{"transpose_a": True}, {"transpose_b": True}, {"transpose_a": True, "transpose_b": True}])
def test_dot_of_vectors_with_transpose_raises(kw):
    # MXNet 1.9.1: "Check failed: !param.transpose_a && !param.transpose_b: Cannot transpose vectors".
    u, v = mx.nd.array([1, 2, 3]), mx.nd.array([4, 5, 6])
    with pytest.raises(mx.base.MXNetError):
        mx.nd.dot(u, v, **kw).wait_to_read()
    assert mx.nd.dot(u, v).asnumpy().tolist() == [32.0]


@pytest.mark.parametrize("sampler", ["uniform", "normal"])
def test_random_fills_float64_out_in_float64(sampler):
    out = mx.nd.zeros((200,), dtype="float64")
    fn = getattr(mx.nd.random, sampler)
    r = fn(2.0, 3.0, shape=(200,), out=out) if sampler == "uniform" else fn(0.0, 1.0, shape=(200,), out=out)
    assert r is out or r.handle.same_chunk(out.handle)
    v = out.asnumpy()
    assert out.dtype == np.float64
    assert np.unique(v).size > 150
    if sampler == "uniform":
        assert 2.0 <= v.min() and v.max() < 3.0
    else:
        assert abs(v.mean()) < 0.3 and 0.7 < v.std() < 1.3
    # Drawn in float64 (as MXNet does), not float32 values widened.
    assert np.any(v.astype(np.float32).astype(np.float64) != v)


def test_random_uniform_float64_out_without_shape():
    out = mx.nd.zeros((3, 4), dtype="float64")
    mx.nd.random.uniform(low=-2, high=-1, out=out)
    v = out.asnumpy()
    assert v.shape == (3, 4) and -2 <= v.min() and v.max() < -1


def _has_cuda_driver():
    import ctypes.util

    return ctypes.util.find_library("cuda") is not None


@pytest.mark.skipif(_has_cuda_driver(), reason="a CUDA driver is installed (tests/gpu covers GPUs)")
def test_num_gpus_is_zero():
    assert mx.context.num_gpus() == 0


@pytest.mark.skipif(_has_cuda_driver(), reason="a CUDA driver is installed (tests/gpu covers GPUs)")
def test_gpu_array_raises_device_error_naming_the_driver():
    with pytest.raises(mx.base.DeviceError) as e:
        mx.nd.zeros(2, ctx=mx.gpu(0)).wait_to_read()
    assert "driver" in str(e.value).lower(), str(e.value)


@pytest.mark.skipif(_has_cuda_driver(), reason="a CUDA driver is installed (tests/gpu covers GPUs)")
def test_gpu_memory_pool_calls_name_the_missing_driver():
    for call in (lambda: mx.gpu(0).empty_cache(), lambda: mx.context.gpu_memory_pool_stats(0)):
        with pytest.raises(mx.base.DeviceError, match="driver"):
            call()


def test_empty_cache_on_a_cpu_does_nothing():
    mx.cpu(0).empty_cache()
    assert "empty_cache" in dir(mx.Context)
