"""The CUDA kernels rmx compiles at run time, checked on a machine without a GPU.

Every kernel of the list (``rmx_operators::cuda_sources``: each elementwise function's map, zip,
scalar and broadcast kernels and its gradient, each reduction, fused chains, each optimizer
update, the gathers, in each dtype) must
compile with NVRTC for ``sm_90``: the test requirements install CUDA 13.0's ``nvidia-cuda-nvrtc``
wheel, so a kernel that does not compile fails here, not on the GPU.

NVRTC needs no GPU, but running a kernel does. The kernels' arithmetic, though, is plain C++:
compiled by the host's C++ compiler (the grid-stride loop run by one "thread", float16 through
``_Float16``), each kernel runs on the host and must give what the CPU loop it stands for gives
(``_rmx.cuda_kernel_reference``) on the same values. That checks each function's CUDA
expression, its gradient's, the dtype conversions and the reductions' folds; what only a GPU can
check (launches, streams, the device's math library) is in ``tests/gpu``.
"""

import ctypes
import os
import platform
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import rmx as mx
from rmx import _rmx

KERNELS = _rmx.cuda_kernel_sources()
# The CI machines (Linux x86-64) install the NVRTC wheel; elsewhere it may be missing.
NVRTC_EXPECTED = sys.platform == "linux" and platform.machine() in ("x86_64", "AMD64")


def _nvrtc_or_skip():
    try:
        return _rmx.nvrtc_version()
    except mx.base.DeviceError as e:
        if NVRTC_EXPECTED:
            raise
        pytest.skip(f"NVRTC is not installed here: {e}")


def test_the_list_has_every_family_in_every_dtype():
    kinds = {k[2].split("(")[0] for k in KERNELS}
    assert kinds == {"Map", "Zip", "Scalar", "ScalarFirst", "Broadcast", "UnaryBackward", "BinaryBackward", "Reduce", "Fused", "Update", "MixedUpdate",
                     "Take", "Pick", "OneHot", "TakeBackward", "PickBackward", "NdBlocks", "GatherNd", "ScatterNdAdd"}
    dtypes = {k[3] for k in KERNELS}
    assert dtypes == {"float16", "float32", "float64", "uint8", "int8", "int32", "int64", "bool"}
    assert len(KERNELS) > 1000


def test_wheel_libraries_are_found_by_path():
    _nvrtc_or_skip()
    loaded = mx._cuda_libs.preloaded()
    if NVRTC_EXPECTED or any("nvidia" in p for p in loaded):
        # The test requirements' wheel, loaded from its own folder by absolute path.
        assert any(os.path.basename(p).startswith("libnvrtc.so.13") and "nvidia" in p for p in loaded), loaded


def _batch(kernels):
    """Several kernels as one NVRTC program: each source in a namespace of its own, its entry
    renamed (entries have C linkage). NVRTC has a cost per program, so this compiles the list in
    half the time of one program per kernel; a failing batch is then compiled kernel by kernel
    to name the culprit, as the runtime compiles them."""
    parts = []
    for j, (name, code) in enumerate(kernels):
        parts.append(f"namespace k{j} {{\n{code.replace('void rmx_kernel(', f'void rmx_kernel_{j}(')}\n}}\n")
    return "".join(parts)


def test_every_kernel_compiles_for_sm_90():
    major, minor = _nvrtc_or_skip()
    assert (major, minor) >= (13, 0)

    def compile_one(name, code):
        try:
            cubin = _rmx.nvrtc_compile(name, code, "sm_90")
        except mx.base.DeviceError as e:
            return f"{name}: {e}"
        # An ELF object: what the driver loads without JIT, on any driver that knows sm_90.
        return None if cubin[:4] == b"\x7fELF" else f"{name}: not a CUBIN"

    def compile_batch(kernels):
        if compile_one(f"batch of {len(kernels)}", _batch(kernels)) is None:
            return []
        return [f for f in (compile_one(n, c) for n, c in kernels) if f]

    listed = [(k[0], k[1]) for k in KERNELS]
    batches = [listed[i:i + 48] for i in range(0, len(listed), 48)]
    with ThreadPoolExecutor(max(2, os.cpu_count() or 2)) as pool:
        failures = [f for found in pool.map(compile_batch, batches) for f in found]
    assert not failures, f"{len(failures)} kernels failed to compile; first: {failures[0]}"


def test_a_broken_kernel_in_a_batch_is_named():
    _nvrtc_or_skip()
    good = next((k[0], k[1]) for k in KERNELS if k[0] == "map_Exp_float32")
    bad = ("broken", 'extern "C" __global__ void rmx_kernel(float* y) { y[0] = undefined_thing; }')
    with pytest.raises(mx.base.DeviceError, match="undefined_thing"):
        _rmx.nvrtc_compile("batch", _batch([good, bad]), "sm_90")
    _rmx.nvrtc_compile("batch", _batch([good, good]), "sm_90")


def test_a_compile_error_carries_nvrtc_log():
    _nvrtc_or_skip()
    with pytest.raises(mx.base.DeviceError, match=r"broken.*undefined_thing"):
        _rmx.nvrtc_compile("broken", 'extern "C" __global__ void rmx_kernel() { undefined_thing(); }', "sm_90")


# --- the kernels' arithmetic, run on the host -------------------------------------------------

HOST_PRELUDE = r"""
#include <cmath>
#include <cstring>
#include <cstdint>
using namespace std;
#define __device__
#define __forceinline__ inline
#define __global__
struct rmx_dim3 { long long x; };
static const rmx_dim3 blockIdx{0}, threadIdx{0}, blockDim{1}, gridDim{1};
static inline int atomicCAS(int* a, int compare, int v) { int old = *a; if (old == compare) *a = v; return old; }
static inline unsigned int atomicCAS(unsigned int* a, unsigned int compare, unsigned int v) { unsigned int old = *a; if (old == compare) *a = v; return old; }
static inline float atomicAdd(float* a, float v) { float old = *a; *a = old + v; return old; }
static inline double atomicAdd(double* a, double v) { double old = *a; *a = old + v; return old; }
static inline double __longlong_as_double(long long v) { double d; memcpy(&d, &v, 8); return d; }
static inline float rsqrt(float x) { return 1.0f / sqrtf(x); }
static inline double rsqrt(double x) { return 1.0 / sqrt(x); }
static inline float rcbrt(float x) { return 1.0f / cbrtf(x); }
static inline double rcbrt(double x) { return 1.0 / cbrt(x); }
// erf^-1 by bisection then Newton on erf: CUDA's is a device library function.
static inline double erfinv(double y) {
    if (isnan(y) || fabs(y) > 1.0) return NAN;
    if (fabs(y) == 1.0) return y * INFINITY;
    double lo = -6.0, hi = 6.0;
    for (int i = 0; i < 60; ++i) { double m = 0.5 * (lo + hi); if (erf(m) < y) lo = m; else hi = m; }
    double x = 0.5 * (lo + hi);
    for (int i = 0; i < 2; ++i) x -= (erf(x) - y) / (1.1283791670955126 * exp(-x * x));
    return x;
}
static inline float erfinv(float y) { return (float)erfinv((double)y); }
"""

NUMPY_DTYPE = {"float16": np.float16, "float32": np.float32, "float64": np.float64, "uint8": np.uint8, "int8": np.int8,
               "int32": np.int32, "int64": np.int64, "bool": np.uint8}
# Relative tolerance per dtype: the host's math library against the CPU loops' (the same libm
# for most functions, rmx's own vectorized exp/tanh for some float32 ones).
RTOL = {"float16": 2e-3, "float32": 2e-5, "float64": 1e-12}
N = 64
VIEW = (3, 5, 4)


def _arrays(kind):
    """How many input and output arrays a kernel of `kind` takes."""
    if kind.startswith("Fused"):
        return int(kind[6:-1]), 1
    return {"Map": (1, 1), "Zip": (2, 1), "Scalar": (1, 1), "ScalarFirst": (1, 1), "Broadcast": (2, 1),
            "UnaryBackward": (3, 1), "BinaryBackward": (3, 2), "Reduce": (1, 1)}[kind]


def _call(k, kind):
    if "Update" in kind:
        # weight, grad, the states (and the master weight), out; `s` is the in-place flag.
        count = int(kind.split("(")[1][:-1]) + kind.startswith("Mixed")
        states = "".join(f"(k{k}::C*)p[{2 + i}], " for i in range(count))
        return (f"k{k}::Params P; memcpy(P.v, params, sizeof P.v);"
                f" k{k}::rmx_kernel((k{k}::S*)p[0], (k{k}::S*)p[1], {states}(k{k}::S*)p[{2 + count}], n, (int)s, P);")
    if kind == "NdBlocks":
        return f"k{k}::rmx_kernel((const k{k}::I*)p[0], (const long long*)p[1], (long long*)p[2], n, dims[0], (int*)p[3], (long long*)p[4]);"
    if kind == "GatherNd":
        return f"k{k}::rmx_kernel((const k{k}::D*)p[0], (k{k}::D*)p[1], (const long long*)p[2], n, dims[0]);"
    if kind == "ScatterNdAdd":
        return f"k{k}::rmx_kernel((const k{k}::S*)p[0], (k{k}::S*)p[1], (const long long*)p[2], n, dims[0]);"
    if kind in ("TakeBackward", "PickBackward"):
        return (f"k{k}::rmx_kernel((const k{k}::S*)p[0], (const k{k}::I*)p[1], (k{k}::S*)p[2], n, dims[0], dims[1], dims[2], (int)s,"
                f" (int*)p[3], (long long*)p[4]);")
    if kind in ("Take", "Pick"):
        return (f"k{k}::rmx_kernel((const k{k}::D*)p[0], (const k{k}::I*)p[1], (k{k}::D*)p[2], n, dims[0], dims[1], dims[2], (int)s,"
                f" (int*)p[3], (long long*)p[4]);")
    if kind == "OneHot":
        return f"k{k}::rmx_kernel((const k{k}::I*)p[0], (k{k}::D*)p[1], n, dims[0], (unsigned long long)dims[1], (unsigned long long)dims[2]);"
    ins, outs = _arrays(kind)
    ptrs = ", ".join(f"(k{k}::S*)p[{i}]" for i in range(ins + outs))
    if kind in ("Scalar", "ScalarFirst"):
        return f"k{k}::rmx_kernel((k{k}::S*)p[0], s, (k{k}::S*)p[1], n);"
    if kind == "Reduce":
        return f"k{k}::rmx_kernel({ptrs}, n, len, inner);"
    if kind == "Broadcast":
        return (f"k{k}::Dims d; d.ndim = (int)dims[0];"
                f" for (int i = 0; i < 8; ++i) {{ d.shape[i] = dims[1 + i]; d.sa[i] = dims[9 + i]; d.sb[i] = dims[17 + i]; }}"
                f" k{k}::rmx_kernel({ptrs}, n, d);")
    return f"k{k}::rmx_kernel({ptrs}, n);"


@pytest.fixture(scope="module")
def host_kernels(tmp_path_factory):
    """Every kernel compiled for the host into one library; `run(index, ...)` calls one."""
    cxx = shutil.which("g++") or shutil.which("c++") or shutil.which("clang++")
    if cxx is None:
        pytest.skip("no host C++ compiler")
    parts = [HOST_PRELUDE]
    for k, (name, code, kind, dtype) in enumerate(KERNELS):
        code = code.replace('extern "C" __global__ void rmx_kernel(', "void rmx_kernel(")
        parts.append(f"namespace k{k} {{\n{code}\n}}\n")
        parts.append(f'extern "C" void run{k}(void** p, long long n, double s, long long len, long long inner, const long long* dims, const double* params) {{ {_call(k, kind)} }}\n')
    folder = tmp_path_factory.mktemp("cuda-host")
    src, lib = folder / "kernels.cpp", folder / "kernels.so"
    src.write_text("".join(parts))
    done = subprocess.run([cxx, "-O0", "-std=c++17", "-shared", "-fPIC", "-w", str(src), "-o", str(lib)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return ctypes.CDLL(str(lib))


def _inputs(rng, dtype, count, n):
    """Values the dtype holds, with zeros and small integers among them."""
    if dtype in ("float16", "float32", "float64"):
        xs = [rng.uniform(-3, 3, n) for _ in range(count)]
        special = [0.0, 1.0, -1.0, 0.5, 2.0, -2.5][:n]
        for x in xs:
            x[:len(special)] = special
        return [x.astype(NUMPY_DTYPE[dtype]).astype(np.float64) for x in xs]
    lo, hi = {"uint8": (0, 12), "bool": (0, 2)}.get(dtype, (-6, 7))
    return [rng.integers(lo, hi, n).astype(np.float64) for _ in range(count)]


def _run(lib, index, kind, dtype, inputs, s=0.0, out_n=None, dims=None):
    nd = NUMPY_DTYPE[dtype]
    arrays = [np.ascontiguousarray(np.asarray(x).astype(nd)) for x in inputs]
    n_out = out_n if out_n is not None else len(inputs[0])
    outs = [np.zeros(n_out, nd) for _ in range(_arrays(kind)[1])]
    ptrs = (ctypes.c_void_p * (len(arrays) + len(outs)))(*[a.ctypes.data for a in arrays + outs])
    dims_arr = (ctypes.c_longlong * 25)(*(dims or [0] * 25))
    outer, length, inner = VIEW
    getattr(lib, f"run{index}")(ptrs, ctypes.c_longlong(n_out), ctypes.c_double(s), ctypes.c_longlong(length), ctypes.c_longlong(inner), dims_arr, None)
    return [o.astype(np.float64) for o in outs]


def _check(name, dtype, got, want, exact=False):
    assert len(got) == len(want), f"{name}: {len(got)} outputs, the reference has {len(want)}"
    for g, w in zip(got, want):
        w = np.asarray(w, np.float64)
        if dtype in RTOL and not exact:
            np.testing.assert_allclose(g, w, rtol=RTOL[dtype], atol=RTOL[dtype] * 1e-2, equal_nan=True, err_msg=name)
        else:
            np.testing.assert_array_equal(g, w, err_msg=name)


def test_every_kernel_computes_what_the_cpu_does(host_kernels):
    rng = np.random.default_rng(7)
    checked = 0
    for index, (name, _, kind, dtype) in enumerate(KERNELS):
        if kind in ("Broadcast", "Take", "Pick", "OneHot", "TakeBackward", "PickBackward", "NdBlocks", "GatherNd", "ScatterNdAdd") or "Update" in kind:
            continue
        ins, _ = _arrays(kind)
        if kind == "Reduce":
            xs = _inputs(rng, dtype, 1, int(np.prod(VIEW)))
            got = _run(host_kernels, index, kind, dtype, xs, out_n=VIEW[0] * VIEW[2])
            want = _rmx.cuda_kernel_reference(name, [list(x) for x in xs], 0.0, list(VIEW))
        elif kind == "UnaryBackward":
            dy, x = _inputs(rng, dtype, 2, N)
            if "Arccosh" in name:
                x = np.abs(x) + 1.0  # its domain; elsewhere the gradient is NaN on one side only
            forward = name.replace("backward_", "map_")
            x = x.astype(NUMPY_DTYPE[dtype]).astype(np.float64)
            y = np.asarray(_rmx.cuda_kernel_reference(forward, [list(x)], 0.0, [0, 0, 0])[0])
            xs = [dy, x, y]
            got = _run(host_kernels, index, kind, dtype, xs)
            want = _rmx.cuda_kernel_reference(name, [list(v) for v in xs], 0.0, [0, 0, 0])
        else:
            xs = _inputs(rng, dtype, ins, N)
            s = -1.75 if kind in ("Scalar", "ScalarFirst") else 0.0
            got = _run(host_kernels, index, kind, dtype, xs, s=_rmx.cuda_scalar_arg(s, dtype))
            want = _rmx.cuda_kernel_reference(name, [list(x) for x in xs], s, [0, 0, 0])
        _check(name, dtype, got, want)
        checked += 1
    assert checked > 900


@pytest.mark.parametrize("fn", ["Add", "Power", "Maximum", "Mod"])
@pytest.mark.parametrize("dtype", ["float32", "int32"])
def test_broadcast_kernels_index_as_numpy_broadcasts(host_kernels, fn, dtype):
    rng = np.random.default_rng(3)
    shape_a, shape_b, shape_y = (3, 1, 4), (1, 5, 1), (3, 5, 4)
    a, b = (_inputs(rng, dtype, 1, int(np.prod(s)))[0].reshape(s) for s in (shape_a, shape_b))
    if fn == "Power":
        a = np.abs(a) + (dtype == "float32")
        b = np.abs(b) % 3
    strides = lambda s: [0 if n == 1 else int(np.prod(s[d + 1:])) for d, n in enumerate(s)]
    dims = [3] + list(shape_y) + [0] * 5 + strides(shape_a) + [0] * 5 + strides(shape_b) + [0] * 5
    index = next(i for i, k in enumerate(KERNELS) if k[0] == f"broadcast_{fn}_{dtype}")
    got = _run(host_kernels, index, "Broadcast", dtype, [a.ravel(), b.ravel()], out_n=int(np.prod(shape_y)), dims=dims)
    full = [np.broadcast_to(v, shape_y).ravel() for v in (a, b)]
    want = _rmx.cuda_kernel_reference(f"zip_{fn}_{dtype}", [list(v) for v in full], 0.0, [0, 0, 0])
    _check(f"broadcast_{fn}_{dtype}", dtype, got, want)


def _run_update(lib, index, kind, dtype, inputs, args, inplace):
    """An update kernel on the host: weight and gradient in `dtype`, the states in the compute
    dtype (float32 when mixed); returns the output then the states, as the reference does."""
    nd = NUMPY_DTYPE[dtype]
    state_nd = np.float32 if kind.startswith("Mixed") else nd
    weight, grad = (np.ascontiguousarray(np.asarray(x).astype(nd)) for x in inputs[:2])
    states = [np.ascontiguousarray(np.asarray(x).astype(state_nd)) for x in inputs[2:]]
    out = weight if inplace else np.zeros_like(weight)
    arrays = [weight, grad] + states + [out]
    ptrs = (ctypes.c_void_p * len(arrays))(*[a.ctypes.data for a in arrays])
    params = (ctypes.c_double * max(1, len(args)))(*args)
    getattr(lib, f"run{index}")(ptrs, ctypes.c_longlong(len(weight)), ctypes.c_double(float(inplace)), ctypes.c_longlong(0), ctypes.c_longlong(0), None, params)
    return [a.astype(np.float64) for a in [out] + states]


@pytest.mark.parametrize("inplace", [False, True], ids=["out", "out=weight"])
def test_every_update_kernel_computes_what_the_cpu_does(host_kernels, inplace):
    rng = np.random.default_rng(11)
    checked = 0
    for index, (name, _, kind, dtype) in enumerate(KERNELS):
        if "Update" not in kind:
            continue
        count = int(kind.split("(")[1][:-1]) + kind.startswith("Mixed")
        weight, grad = _inputs(rng, dtype, 2, N)
        # States the rules take square roots of are non-negative, as they are in training; a
        # master weight is the weight's value in float32.
        states = [rng.uniform(0.05, 2.0, N) for _ in range(count)]
        if kind.startswith("Mixed"):
            states[-1] = weight.copy()
        inputs = [weight, grad] + [s.astype(np.float32 if kind.startswith("Mixed") else NUMPY_DTYPE[dtype]).astype(np.float64) for s in states]
        got = _run_update(host_kernels, index, kind, dtype, inputs, _rmx.cuda_kernel_args(name), inplace)
        want = _rmx.cuda_kernel_reference(name, [list(v) for v in inputs], float(inplace), [0, 0, 0])
        # Bit for bit: + - * / and sqrt are IEEE-rounded on both sides, pow is the same libm's,
        # and neither side contracts a multiply-add.
        _check(name, dtype, got, want, exact=True)
        checked += 1
    assert checked >= 30



def _index_dtype(name):
    """A gather kernel's index dtype, from its name (`take_<index dtype>_<width>B`, or
    `take_backward_<index dtype>_<dtype>`)."""
    return re.match(r"(?:take_backward|pick_backward|take|pick|one_hot)_(\w+?)_(?:\dB|float\d\d)$", name).group(1)


def _bits(values, dtype):
    """`values` in `dtype`, as the unsigned integers of its width (what the gathers move)."""
    a = np.ascontiguousarray(np.asarray(values).astype(NUMPY_DTYPE[dtype]))
    return a.view({1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[a.itemsize])


def _run_take(lib, index, kind, dtype, x, idx, idx_dtype, view, mode):
    outer, axis, inner = view
    count = outer * inner if kind == "Pick" else outer * len(idx) * inner
    xs, ix = _bits(x, dtype), np.ascontiguousarray(np.asarray(idx).astype(NUMPY_DTYPE[idx_dtype]))
    y, err, bad = np.zeros(count, xs.dtype), np.zeros(1, np.int32), np.zeros(1, np.int64)
    ptrs = (ctypes.c_void_p * 5)(*[a.ctypes.data for a in (xs, ix, y, err, bad)])
    dims = (ctypes.c_longlong * 3)(axis, inner, len(idx))
    getattr(lib, f"run{index}")(ptrs, ctypes.c_longlong(count), ctypes.c_double(mode), ctypes.c_longlong(0), ctypes.c_longlong(0), dims, None)
    return y, int(err[0]), int(bad[0])


@pytest.mark.parametrize("mode", [0, 1, 2], ids=["clip", "wrap", "raise"])
def test_every_take_and_pick_kernel_gathers_what_the_cpu_does(host_kernels, mode):
    rng = np.random.default_rng(5)
    view = (2, 5, 3)
    checked = 0
    for index, (name, _, kind, dtype) in enumerate(KERNELS):
        if kind not in ("Take", "Pick"):
            continue
        idx_dtype = _index_dtype(name)
        x = _inputs(rng, dtype, 1, int(np.prod(view)))[0]
        count = view[0] * view[2] if kind == "Pick" else 4
        # In range, negative, past the end, and fractional and NaN where the index dtype holds
        # them (NaN reads as 0, as Rust's `as i64` makes it).
        idx = {"uint8": [0, 4, 7, 2, 9, 1], "bool": [1, 0, 1, 1, 0, 0]}.get(idx_dtype, [0, -1, 4, 7, -6, 2])
        if idx_dtype in RTOL:
            idx = [0.5, np.nan, -1.5, 7.5, -5.5, 2.5]
        idx = np.resize(np.asarray(idx, np.float64), count)
        idx = idx.astype(NUMPY_DTYPE[idx_dtype]).astype(np.float64)
        y, err, bad = _run_take(host_kernels, index, kind, dtype, x, idx, idx_dtype, view, mode)
        want = _rmx.cuda_kernel_reference(name, [list(x), list(idx)], float(mode), list(view))
        if not want:
            assert mode == 2 and err == 1, f"{name}: the CPU raised, the kernel did not"
            assert not 0 <= (bad + view[1] if bad < 0 else bad) < view[1], f"{name}: reported index {bad} is in range"
        else:
            assert err == 0, f"{name}: the kernel raised, the CPU did not"
            np.testing.assert_array_equal(y, _bits(want[0], dtype), err_msg=name)
        checked += 1
    assert checked == 64


@pytest.mark.parametrize("mode", [0, 1, 2], ids=["clip", "wrap", "raise"])
def test_every_take_backward_kernel_adds_what_the_cpu_does(host_kernels, mode):
    """The scatter-add adjoints, with repeated indices (several adds into one row) and the
    gathers' out-of-range and fractional ones. One host thread adds in the CPU's order, so the
    sums match bit for bit (on a GPU the order varies)."""
    rng = np.random.default_rng(9)
    outer, axis, inner, k = 2, 5, 3, 6
    checked = 0
    for index, (name, _, kind, dtype) in enumerate(KERNELS):
        if kind not in ("TakeBackward", "PickBackward"):
            continue
        idx_dtype = _index_dtype(name)
        count = outer * inner if kind == "PickBackward" else outer * k * inner
        dy = _inputs(rng, dtype, 1, count)[0]
        idx = {"uint8": [0, 4, 7, 2, 4, 1], "bool": [1, 0, 1, 1, 0, 0]}.get(idx_dtype, [0, -1, 4, 7, -6, 4])
        if idx_dtype in RTOL:
            idx = [0.5, np.nan, -1.5, 4.5, 7.5, 4.0]
        idx = np.resize(np.asarray(idx, np.float64), count if kind == "PickBackward" else k)
        idx = idx.astype(NUMPY_DTYPE[idx_dtype]).astype(np.float64)
        nd = NUMPY_DTYPE[dtype]
        g, ix = np.ascontiguousarray(dy.astype(nd)), np.ascontiguousarray(idx.astype(NUMPY_DTYPE[idx_dtype]))
        dx, err, bad = np.zeros(outer * axis * inner, nd), np.zeros(1, np.int32), np.zeros(1, np.int64)
        ptrs = (ctypes.c_void_p * 5)(*[a.ctypes.data for a in (g, ix, dx, err, bad)])
        dims = (ctypes.c_longlong * 3)(axis, inner, k)
        getattr(host_kernels, f"run{index}")(ptrs, ctypes.c_longlong(count), ctypes.c_double(mode), ctypes.c_longlong(0), ctypes.c_longlong(0), dims, None)
        want = _rmx.cuda_kernel_reference(name, [list(dy), list(idx)], float(mode), [outer, axis, inner])
        if not want:
            assert mode == 2 and int(err[0]) == 1, f"{name}: the CPU raised, the kernel did not"
        else:
            assert int(err[0]) == 0, f"{name}: the kernel raised, the CPU did not"
            np.testing.assert_array_equal(dx.astype(np.float64), want[0], err_msg=name)
        checked += 1
    assert checked == 48


def _call_host(lib, index, arrays, n, dims):
    ptrs = (ctypes.c_void_p * len(arrays))(*[a.ctypes.data for a in arrays])
    dims = (ctypes.c_longlong * 3)(*dims)
    getattr(lib, f"run{index}")(ptrs, ctypes.c_longlong(n), ctypes.c_double(0), ctypes.c_longlong(0), ctypes.c_longlong(0), dims, None)


def test_every_gather_nd_kernel_does_what_the_cpu_does(host_kernels):
    """gather_nd's two steps and its scatter-add adjoint: index tuples over two leading axes of
    (4, 3) with negative, fractional and NaN indices, one past its axis (an error, as on the CPU),
    and repeated blocks for the adds."""
    rng = np.random.default_rng(11)
    dims, inner, blocks = [4, 3], 2, np.array([1, 5, 1, 11, 5], np.int64)
    checked = 0
    for index, (name, _, kind, dtype) in enumerate(KERNELS):
        if kind == "NdBlocks":
            idx_dtype = name[len("nd_blocks_"):]
            good = {"uint8": [[0, 3, 1, 2, 3], [1, 2, 0, 0, 2]], "bool": [[0, 1, 1, 0, 1], [1, 0, 1, 1, 0]]}.get(
                idx_dtype, [[0, -1, 3, 2, -4], [1, 2, -3, 0, 2]])
            if idx_dtype in RTOL:
                good = [[0.5, np.nan, -1.5, 3.9, 2.0], [1.0, 2.5, -3.0, np.nan, 2.0]]
            bad = [[0, 4, 1, 0, 0], [0, 0, 0, 0, 0]]  # 4 is past the first axis (a bool cannot hold it)
            for case in (good,) if idx_dtype == "bool" else (good, bad):
                idx = np.asarray(case, np.float64).astype(NUMPY_DTYPE[idx_dtype])
                ix, dm = np.ascontiguousarray(idx), np.asarray(dims, np.int64)
                out, err, flag = np.zeros(5, np.int64), np.zeros(1, np.int32), np.zeros(1, np.int64)
                _call_host(host_kernels, index, (ix, dm, out, err, flag), 5, (len(dims), 0, 0))
                want = _rmx.cuda_kernel_reference(name, [list(idx.astype(np.float64).ravel()), [float(d) for d in dims]], 0.0, [0, 0, 0])
                if not want:
                    assert case is bad and int(err[0]) == 1, f"{name}: the CPU raised, the kernel did not"
                else:
                    assert case is good and int(err[0]) == 0, f"{name}: the kernel and the CPU disagree on an error"
                    np.testing.assert_array_equal(out, want[0], err_msg=name)
        elif kind == "GatherNd":
            x = _bits(_inputs(rng, dtype, 1, 12 * inner)[0], dtype)
            y = np.zeros(len(blocks) * inner, x.dtype)
            _call_host(host_kernels, index, (x, y, blocks), y.size, (inner, 0, 0))
            values = x.view(NUMPY_DTYPE[dtype]).astype(np.float64)
            want = _rmx.cuda_kernel_reference(name, [list(values), [float(b) for b in blocks]], 0.0, [len(blocks), inner, 12])
            np.testing.assert_array_equal(y, _bits(want[0], dtype), err_msg=name)
        elif kind == "ScatterNdAdd":
            nd = NUMPY_DTYPE[dtype]
            x = np.ascontiguousarray(_inputs(rng, dtype, 1, len(blocks) * inner)[0].astype(nd))
            y = np.zeros(12 * inner, nd)
            _call_host(host_kernels, index, (x, y, blocks), x.size, (inner, 0, 0))
            want = _rmx.cuda_kernel_reference(name, [list(x.astype(np.float64)), [float(b) for b in blocks]], 0.0, [len(blocks), inner, 12])
            np.testing.assert_array_equal(y.astype(np.float64), want[0], err_msg=name)
        else:
            continue
        checked += 1
    assert checked == 8 + 4 + 3


def test_every_one_hot_kernel_sets_what_the_cpu_does(host_kernels):
    depth, on, off = 4, 3.0, -2.0
    checked = 0
    for index, (name, _, kind, dtype) in enumerate(KERNELS):
        if kind != "OneHot":
            continue
        idx_dtype = _index_dtype(name)
        idx = {"uint8": [0, 3, 1, 4, 2, 0], "bool": [0, 1, 1, 0, 1, 0]}.get(idx_dtype, [0, 3, -1, 4, 2.7, 1])
        idx = np.asarray(idx, np.float64)
        idx = idx.astype(NUMPY_DTYPE[idx_dtype]).astype(np.float64)
        on_bits, off_bits = (int(_bits([_rmx.cuda_scalar_arg(v, dtype)], dtype)[0]) for v in (on, off))
        ix = np.ascontiguousarray(idx.astype(NUMPY_DTYPE[idx_dtype]))
        y = np.zeros(len(idx) * depth, _bits([0], dtype).dtype)
        ptrs = (ctypes.c_void_p * 2)(ix.ctypes.data, y.ctypes.data)
        dims = (ctypes.c_longlong * 3)(depth, on_bits, off_bits)
        getattr(host_kernels, f"run{index}")(ptrs, ctypes.c_longlong(y.size), ctypes.c_double(0), ctypes.c_longlong(0), ctypes.c_longlong(0), dims, None)
        want = _rmx.cuda_kernel_reference(name, [list(idx)], on, [len(idx), depth, 0])
        np.testing.assert_array_equal(y, _bits(want[0], dtype), err_msg=name)
        checked += 1
    assert checked == 32


# --- the compiled kernels' cache -------------------------------------------------------------

def test_compiled_kernels_are_kept_in_memory_and_on_disk(tmp_path, monkeypatch):
    _nvrtc_or_skip()
    monkeypatch.setenv("RMX_CUDA_CACHE_DIR", str(tmp_path))
    name, code = next((k[0], k[1]) for k in KERNELS if k[0] == "map_Exp_float32")
    code += f"\n// {tmp_path}\n"  # a source no other test has compiled
    first, found = _rmx.cuda_cubin(name, code, "sm_90")
    assert found == "compiled" and first[:4] == b"\x7fELF"
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".cu", ".cubin"]
    assert _rmx.cuda_cubin(name, code, "sm_90") == (first, "memory")
    # A new process finds it on disk; another architecture is another entry.
    assert _rmx.cuda_cubin(name, code, "sm_90", clear_memory=True) == (first, "disk")
    assert _rmx.cuda_cubin(name, code, "sm_80")[1] == "compiled"
    assert len(list(tmp_path.iterdir())) == 4


def test_a_damaged_or_foreign_cache_entry_is_recompiled(tmp_path, monkeypatch):
    _nvrtc_or_skip()
    monkeypatch.setenv("RMX_CUDA_CACHE_DIR", str(tmp_path))
    name, code = next((k[0], k[1]) for k in KERNELS if k[0] == "map_Sqrt_float64")
    code += f"\n// {tmp_path}\n"
    good, _ = _rmx.cuda_cubin(name, code, "sm_90")
    (cubin,) = tmp_path.glob("*.cubin")
    cubin.write_bytes(b"\x7fELF truncated")
    assert _rmx.cuda_cubin(name, code, "sm_90", clear_memory=True) == (good, "compiled")
    assert cubin.read_bytes() == good
    # The same file name holding another source's CUBIN (a collision, a stale file): a miss.
    (source,) = tmp_path.glob("*.cu")
    source.write_text("something else")
    assert _rmx.cuda_cubin(name, code, "sm_90", clear_memory=True) == (good, "compiled")


def test_the_disk_cache_can_be_turned_off_or_be_unwritable(tmp_path, monkeypatch):
    _nvrtc_or_skip()
    name, code = next((k[0], k[1]) for k in KERNELS if k[0] == "map_Sin_float32")
    monkeypatch.setenv("RMX_CUDA_CACHE_DIR", "")
    assert _rmx.cuda_cubin(name, code + "\n// off\n", "sm_90", clear_memory=True)[1] == "compiled"
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("RMX_CUDA_CACHE_DIR", str(blocked / "cache"))
    cubin, found = _rmx.cuda_cubin(name, code + "\n// blocked\n", "sm_90", clear_memory=True)
    assert found == "compiled" and cubin[:4] == b"\x7fELF"
