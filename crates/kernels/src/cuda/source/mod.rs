//! The CUDA C++ sources of the kernels rmx compiles at run time with NVRTC, generated from the
//! same function types as the CPU loops: a [`crate::UnaryFn`]'s, [`crate::BinaryFn`]'s or
//! [`crate::ReduceFn`]'s `CUDA` expression, wrapped in one kernel per primitive family (map,
//! zip, zip with a scalar, broadcast zip, their gradients, reductions, fused chains, optimizer
//! updates) and dtype; the gathers, which move elements without arithmetic, are in [`gather`].
//!
//! Every source defines one `extern "C" __global__ void rmx_kernel(...)` over a grid-stride loop
//! (64-bit indices), and a prelude naming the dtype's storage type `S` and computing type `T`
//! (`float` for float16 and float32, `double` for float64 and, as MXNet's integer kernels and
//! rmx's CPU loops, for the integer types, which truncate back; `long long` where a function has
//! an exact integer form, `CUDA_INT`), with `load`/`store` between them. A source is its own
//! cache key: the compiled kernel is kept per (source, architecture) (`cubin_cache`).

use crate::{with_dtype, BinaryFn, DType, Element, UnaryFn};

pub mod gather;

/// The entry point every generated source defines.
pub const ENTRY: &str = "rmx_kernel";

/// The most axes a broadcast kernel indexes (after adjacent axes are merged).
pub const MAX_DIMS: usize = 8;

/// One generated kernel: a label for errors and listings, and its CUDA C++ source.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KernelSource {
    pub name: String,
    pub code: String,
}

/// A scalar function as a CUDA expression with its parameter names, and constants bound to
/// other names (a scalar operand): what a fused chain's step, or one kernel's math, is made of.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub params: Vec<&'static str>,
    pub consts: Vec<(&'static str, f64)>,
    pub code: &'static str,
    /// `T` is `long long` for the integer dtypes (an exact integer form), not `double`.
    pub integer: bool,
}

impl Expr {
    /// `F` in `dtype`: its integer form on integer dtypes where it has one.
    pub fn of_unary<F: UnaryFn>(dtype: DType) -> Self {
        let int = !dtype.is_float() && !F::CUDA_INT.is_empty();
        Expr { integer: int, ..Expr::unary(if int { F::CUDA_INT } else { F::CUDA }) }
    }

    /// `F` in `dtype`, as [`Expr::of_unary`].
    pub fn of_binary<F: BinaryFn>(dtype: DType) -> Self {
        let int = !dtype.is_float() && !F::CUDA_INT.is_empty();
        Expr { integer: int, ..Expr::binary(if int { F::CUDA_INT } else { F::CUDA }) }
    }

    pub fn unary(code: &'static str) -> Self {
        Expr { params: vec!["x"], consts: vec![], code, integer: false }
    }

    pub fn binary(code: &'static str) -> Self {
        Expr { params: vec!["a", "b"], consts: vec![], code, integer: false }
    }

    /// `code(a, b)` with `b = s`, or `a = s` when `scalar_first`.
    pub fn with_scalar(code: &'static str, s: f64, scalar_first: bool) -> Self {
        let (param, bound) = if scalar_first { ("b", "a") } else { ("a", "b") };
        Expr { params: vec![param], consts: vec![(bound, s)], code, integer: false }
    }

    /// The expression as a device function `name` of `T`s.
    fn function(&self, name: &str) -> String {
        let params: Vec<String> = self.params.iter().map(|p| format!("T {p}")).collect();
        let consts: String = self.consts.iter().map(|(n, v)| format!("    const T {n} = T({});\n", double(*v))).collect();
        format!("__device__ __forceinline__ T {name}({}) {{\n{consts}    return ({});\n}}\n", params.join(", "), self.code)
    }
}

/// `v` as an exact CUDA double expression (its bits: NaN, infinities and every last bit kept).
fn double(v: f64) -> String {
    format!("__longlong_as_double({:#x}LL)", v.to_bits() as i64)
}

/// A dtype's storage type in CUDA C++.
fn storage(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "float",
        DType::F64 => "double",
        // float16 as its bits, converted by the PTX instructions (no header needed).
        DType::F16 => "unsigned short",
        DType::U8 | DType::Bool => "unsigned char",
        DType::I8 => "signed char",
        DType::I32 => "int",
        DType::I64 => "long long",
    }
}

/// Helpers every source may use: integer overloads of the float tests that reductions and
/// integer math name, and ψ(x) (the gamma function's gradient), as the CPU computes it.
const HELPERS: &str = r#"
__device__ __forceinline__ bool rmx_isnan(long long) { return false; }
__device__ __forceinline__ bool rmx_isnan(double v) { return isnan(v); }
__device__ __forceinline__ bool rmx_isnan(float v) { return isnan(v); }
__device__ __forceinline__ long long rmx_abs(long long v) { return v < 0 ? (long long)(0ULL - (unsigned long long)v) : v; }
__device__ __forceinline__ double rmx_abs(double v) { return fabs(v); }
__device__ __forceinline__ float rmx_abs(float v) { return fabsf(v); }
// Integer power as the CPU's: 0 for a negative exponent, else wrapping repeated squaring.
__device__ long long rmx_ipow(long long a, long long b) {
    if (b < 0) return 0;
    unsigned long long e = b > 4294967295LL ? 4294967295ULL : (unsigned long long)b, base = (unsigned long long)a, r = 1;
    while (e) { if (e & 1) r *= base; base *= base; e >>= 1; }
    return (long long)r;
}
// Python's modulo (the divisor's sign), 0 for a zero divisor, as the CPU's.
__device__ __forceinline__ long long rmx_imod(long long a, long long b) {
    if (b == 0 || b == -1) return 0;
    long long r = a % b;
    return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}
__device__ double rmx_digamma(double x) {
    if (isnan(x) || x == -__longlong_as_double(0x7ff0000000000000LL) || (x <= 0.0 && x == floor(x))) return __longlong_as_double(0x7ff8000000000000LL);
    double shift = 0.0;
    if (x < 0.0) { shift = -3.141592653589793 / tan(3.141592653589793 * x); x = 1.0 - x; }
    double acc = 0.0;
    while (x < 12.0) { acc -= 1.0 / x; x += 1.0; }
    double r = 1.0 / (x * x);
    double series = r * (1.0 / 12.0 - r * (1.0 / 120.0 - r * (1.0 / 252.0 - r * (1.0 / 240.0 - r * (1.0 / 132.0 - r * 691.0 / 32760.0)))));
    return acc + log(x) - 0.5 / x - series + shift;
}
__device__ __forceinline__ float rmx_digamma(float x) { return (float)rmx_digamma((double)x); }
"#;

/// float16 conversions, rounding to nearest even (as the `half` crate's), one rounding each:
/// PTX's instructions under NVRTC; elsewhere (the test that runs the kernels' arithmetic on the
/// host, `tests/test_cuda_sources.py`) the host compiler's `_Float16`.
const HALF: &str = r#"#ifdef __CUDACC_RTC__
__device__ __forceinline__ float rmx_h2f(unsigned short h) { float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h)); return f; }
__device__ __forceinline__ unsigned short rmx_f2h(float f) { unsigned short h; asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f)); return h; }
__device__ __forceinline__ unsigned short rmx_d2h(double d) { unsigned short h; asm("cvt.rn.f16.f64 %0, %1;" : "=h"(h) : "d"(d)); return h; }
#else
inline float rmx_h2f(unsigned short h) { _Float16 v; memcpy(&v, &h, 2); return (float)v; }
inline unsigned short rmx_f2h(float f) { _Float16 v = (_Float16)f; unsigned short h; memcpy(&h, &v, 2); return h; }
inline unsigned short rmx_d2h(double d) { _Float16 v = (_Float16)d; unsigned short h; memcpy(&h, &v, 2); return h; }
#endif
"#;

/// `S`, `T`, `load`, `store` (a `T` back to `S`, as the CPU's `from_*` conversions do) and
/// `store_d` (a `double` straight to `S`, one rounding: what a reduction's result takes).
fn prelude(dtype: DType, integer: bool) -> String {
    let s = storage(dtype);
    let (t, load, store, store_d) = match dtype {
        // An exact integer form: 64-bit integer math, wrapped into the width (as `from_i64`).
        DType::Bool if integer => ("long long", "(long long)v", "(unsigned char)(v != 0)", "(unsigned char)(v != 0.0)"),
        d if integer && !d.is_float() => ("long long", "(long long)v", "(S)v", "isfinite(v) ? (S)(long long)v : (S)0"),
        DType::F16 => ("float", "rmx_h2f(v)", "rmx_f2h(v)", "rmx_d2h(v)"),
        DType::F32 => ("float", "v", "v", "(float)v"),
        DType::F64 => ("double", "v", "v", "v"),
        // Booleans: non-zero after truncation, as `Bool::from_i64`.
        DType::Bool => ("double", "(double)v", "(unsigned char)(isfinite(v) && (long long)v != 0)", "(unsigned char)(v != 0.0)"),
        // Integers: truncated toward zero, non-finite values to 0, wrapped into the width.
        _ => ("double", "(double)v", "isfinite(v) ? (S)(long long)v : (S)0", "isfinite(v) ? (S)(long long)v : (S)0"),
    };
    // A 64-bit integer accumulator to `S` (`from_i64`): wrapped, or non-zero for booleans.
    let store_i = match dtype {
        DType::Bool => "(unsigned char)(v != 0)",
        d if d.is_float() => "store_d((double)v)",
        _ => "(S)v",
    };
    let half = if dtype == DType::F16 { HALF } else { "" };
    format!(
        "{half}typedef {s} S;\ntypedef {t} T;\n{HELPERS}\
         __device__ __forceinline__ T load(S v) {{ return {load}; }}\n\
         __device__ __forceinline__ S store(T v) {{ return {store}; }}\n\
         __device__ __forceinline__ S store_d(double v) {{ return {store_d}; }}\n\
         __device__ __forceinline__ S store_i(long long v) {{ return {store_i}; }}\n"
    )
}

/// A grid-stride loop over `n` elements with index `i`, running `body`.
fn kernel(params: &str, body: &str) -> String {
    format!(
        "extern \"C\" __global__ void {ENTRY}({params}) {{\n\
         \x20   for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {{\n\
         {body}\n    }}\n}}\n"
    )
}

fn source(name: String, dtype: DType, integer: bool, functions: &str, params: &str, body: &str) -> KernelSource {
    KernelSource { name: format!("{name}_{}", dtype.name()), code: format!("{}{functions}{}", prelude(dtype, integer), kernel(params, body)) }
}

/// `y = f(x)` (`elementwise::map`); `y` may be `x`.
pub fn map(name: &str, f: &Expr, dtype: DType) -> KernelSource {
    source(format!("map_{name}"), dtype, f.integer, &f.function("f"), "const S* x, S* y, long long n", "        y[i] = store(f(load(x[i])));")
}

/// `y = f(a, b)` over one shape (`elementwise::zip`); `y` may be either input.
pub fn zip(name: &str, f: &Expr, dtype: DType) -> KernelSource {
    source(format!("zip_{name}"), dtype, f.integer, &f.function("f"), "const S* a, const S* b, S* y, long long n", "        y[i] = store(f(load(a[i]), load(b[i])));")
}

/// `y = f(x, s)`, or `f(s, x)` when `scalar_first` (`elementwise::zip_scalar`): `s` arrives as
/// a double already rounded to the dtype ([`scalar_arg`]).
pub fn zip_scalar(name: &str, f: &Expr, scalar_first: bool, dtype: DType) -> KernelSource {
    let call = if scalar_first { "f((T)s, load(x[i]))" } else { "f(load(x[i]), (T)s)" };
    let side = if scalar_first { "rscalar" } else { "scalar" };
    source(format!("{side}_{name}"), dtype, f.integer, &f.function("f"), "const S* x, double s, S* y, long long n", &format!("        y[i] = store({call});"))
}

/// The scalar operand of [`zip_scalar`] as the CPU uses it: `s` converted to the dtype
/// (`Element::from_f64`), then read back as a double (exact for every dtype but int64 past 2^53).
pub fn scalar_arg(s: f64, dtype: DType) -> f64 {
    with_dtype!(dtype, E => E::from_f64(s).to_f64())
}

/// Axes and element strides of a broadcast zip, passed by value (`MAX_DIMS` axes at most).
const DIMS: &str = "struct Dims { int ndim; long long shape[8]; long long sa[8]; long long sb[8]; };\n";

/// `y = f(a, b)` with `a` and `b` read through strides (0 along their stretched axes) over `y`'s
/// shape (`elementwise::zip_broadcast`).
pub fn zip_broadcast(name: &str, f: &Expr, dtype: DType) -> KernelSource {
    let body = "        long long rest = i, ia = 0, ib = 0;\n\
                \x20       for (int d = dims.ndim - 1; d >= 0; --d) {\n\
                \x20           long long k = rest % dims.shape[d]; rest /= dims.shape[d];\n\
                \x20           ia += k * dims.sa[d]; ib += k * dims.sb[d];\n\
                \x20       }\n\
                \x20       y[i] = store(f(load(a[ia]), load(b[ib])));";
    source(format!("broadcast_{name}"), dtype, f.integer, &format!("{DIMS}{}", f.function("f")), "const S* a, const S* b, S* y, long long n, Dims dims", body)
}

/// `dx = dy * f'(x, y)` (`_backward_unary`), `grad` an expression of `x` and `y`.
pub fn unary_backward(name: &str, grad: &'static str, dtype: DType) -> KernelSource {
    let g = Expr { params: vec!["x", "y"], consts: vec![], code: grad, integer: false };
    source(format!("backward_{name}"), dtype, false, &g.function("df"), "const S* dy, const S* x, const S* y, S* dx, long long n", "        dx[i] = store(load(dy[i]) * df(load(x[i]), load(y[i])));")
}

/// `(da, db) = (g * ∂f/∂a, g * ∂f/∂b)` over one shape (`_backward_binary`), each partial an
/// expression of `a` and `b`.
pub fn binary_backward(name: &str, grad: [&'static str; 2], dtype: DType) -> KernelSource {
    let fns = format!("{}{}", Expr::binary(grad[0]).function("dfa"), Expr::binary(grad[1]).function("dfb"));
    let body = "        T g = load(dy[i]), va = load(a[i]), vb = load(b[i]);\n\
                \x20       da[i] = store(g * dfa(va, vb));\n        db[i] = store(g * dfb(va, vb));";
    source(format!("backward_{name}"), dtype, false, &fns, "const S* dy, const S* a, const S* b, S* da, S* db, long long n", body)
}

/// How a reduction computes, as [`crate::ReduceFn`] gives it.
pub struct Reduction {
    pub step: &'static str,
    pub finish: &'static str,
    pub init: f64,
    pub init_int: i64,
    pub exact_int: bool,
}

/// `y[o, j] = finish(fold(step, init, x[o, :, j]), len)` over an `(outer, len, inner)` view,
/// one thread per output (`reduce::reduce`). Floats accumulate in double and integers in
/// 64-bit integers (unless the reduction needs floating point), as the CPU loops do.
pub fn reduce(name: &str, r: &Reduction, dtype: DType) -> KernelSource {
    let int_acc = !dtype.is_float() && r.exact_int;
    let (acc, init) = if int_acc { ("long long", format!("(long long){:#x}ULL", r.init_int as u64)) } else { ("double", double(r.init)) };
    let read = if int_acc { "(long long)x[(o * len + k) * inner + j]" } else { "(double)load(x[(o * len + k) * inner + j])" };
    let functions = format!(
        "#define isnan rmx_isnan\n#define fabs rmx_abs\n\
         __device__ __forceinline__ {acc} step({acc} acc, {acc} x) {{ typedef {acc} T; return ({}); }}\n\
         __device__ __forceinline__ {acc} finish({acc} acc, long long n) {{ typedef {acc} T; return ({}); }}\n\
         #undef isnan\n#undef fabs\n",
        r.step, r.finish
    );
    let store = if int_acc { "store_i(finish(acc, len))" } else { "store_d(finish(acc, len))" };
    let body = format!(
        "        long long o = i / inner, j = i % inner;\n\
         \x20       {acc} acc = {init};\n\
         \x20       for (long long k = 0; k < len; ++k) acc = step(acc, {read});\n\
         \x20       y[i] = {store};"
    );
    source(format!("reduce_{name}"), dtype, false, &functions, "const S* x, S* y, long long n, long long len, long long inner", &body)
}

/// Where a fused step's operand comes from (as `fused::Operand`).
#[derive(Clone, Copy, Debug)]
pub enum Arg {
    Input(usize),
    Step(usize),
}

/// A chain of elementwise steps in one kernel (`_FusedElemwise`): each step's expression over
/// chain inputs or earlier steps' results, computed in `T` and rounded to `S` after every step
/// as the CPU's blocks are, the last one stored to `y`.
pub fn fused(name: &str, steps: &[(Expr, Vec<Arg>)], inputs: usize, dtype: DType) -> KernelSource {
    let functions: String = steps.iter().enumerate().map(|(k, (e, _))| e.function(&format!("step{k}"))).collect();
    let params: Vec<String> = (0..inputs).map(|k| format!("const S* in{k}")).chain(["S* y".into(), "long long n".into()]).collect();
    let mut body: String = (0..inputs).map(|k| format!("        T i{k} = load(in{k}[i]);\n")).collect();
    for (k, (_, args)) in steps.iter().enumerate() {
        let args: Vec<String> = args.iter().map(|a| match a { Arg::Input(j) => format!("i{j}"), Arg::Step(j) => format!("s{j}") }).collect();
        body += &format!("        T s{k} = load(store(step{k}({})));\n", args.join(", "));
    }
    body += &format!("        y[i] = store(s{});", steps.len().saturating_sub(1));
    source(format!("fused_{name}"), dtype, false, &functions, &params.join(", "), &body)
}

/// The clip and sign of the optimizer rules (`update_rule::clip`, `sign`): NaN passes the clip,
/// and has sign 0.
const RULE_HELPERS: &str = "__device__ __forceinline__ C rmx_clip(C x, C b) { return x > b ? b : (x < -b ? -b : x); }\n\
                            __device__ __forceinline__ C rmx_sign(C x) { return x > (C)0 ? (C)1 : (x < (C)0 ? (C)-1 : (C)0); }\n";

/// An optimizer update (`update::apply`, or `apply_mixed` when `mixed`) in `dtype`: `body` is
/// the rule's [`crate::update::UpdateFn::CUDA`] over `params`, applied to each element with its
/// `states` state arrays (plus, when mixed, the float32 master weight after them, which the rule
/// reads as `w` and which takes the new weight). The compute type `C` is the dtype's (float32 or
/// float64), or float32 when mixed. The hyperparameters arrive in a `Params` struct of doubles,
/// `inplace` says the output is the weight's own memory (each element's weight is read before
/// its new value is written, as on the CPU).
pub fn update(name: &str, body: &str, params: &[&str], states: usize, mixed: bool, dtype: DType) -> KernelSource {
    let count = states + mixed as usize;
    let compute = if mixed { "float" } else { "T" };
    let consts: String = params.iter().enumerate().map(|(k, p)| format!("    const C {p} = (C)P.v[{k}];\n")).collect();
    let functions = format!(
        "typedef {compute} C;\nstruct Params {{ double v[{}]; }};\n{RULE_HELPERS}\
         __device__ __forceinline__ C rule(C w, C g, C* s, bool inplace, const Params& P) {{\n{consts}    {body}\n}}\n",
        params.len().max(1)
    );
    let state_params: String = (0..count).map(|k| format!("C* s{k}, ")).collect();
    let kernel_params = format!("const S* weight, const S* grad, {state_params}S* out, long long n, int inplace, Params p");
    let mut code = format!("        C st[{}];\n", count.max(1));
    code += &(0..count).map(|k| format!("        st[{k}] = s{k}[i];\n")).collect::<String>();
    code += &if mixed {
        format!("        C nw = rule(st[{states}], (C)load(grad[i]), st, true, p);\n        st[{states}] = nw;\n")
    } else {
        "        C nw = rule((C)load(weight[i]), (C)load(grad[i]), st, inplace != 0, p);\n".to_string()
    };
    code += &(0..count).map(|k| format!("        s{k}[i] = st[{k}];\n")).collect::<String>();
    code += "        out[i] = store((T)nw);";
    let label = if mixed { format!("update_mp_{name}") } else { format!("update_{name}") };
    source(label, dtype, false, &functions, &kernel_params, &code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_name_their_types_and_entry() {
        let k = map("exp", &Expr::unary("exp(x)"), DType::F16);
        assert_eq!(k.name, "map_exp_float16");
        assert!(k.code.contains("typedef unsigned short S;") && k.code.contains("typedef float T;") && k.code.contains("rmx_kernel"));
        let k = zip_scalar("sub", &Expr::binary("a - b"), true, DType::I32);
        assert!(k.code.contains("f((T)s, load(x[i]))") && k.code.contains("typedef double T;"));
    }

    #[test]
    fn updates_take_their_hyperparameters_and_states() {
        let plain = update("sgd_mom", "s[0] = lr * g; return w + s[0];", &["lr", "wd"], 1, false, DType::F64);
        assert_eq!(plain.name, "update_sgd_mom_float64");
        assert!(plain.code.contains("typedef T C;") && plain.code.contains("double v[2];") && plain.code.contains("const C wd = (C)P.v[1];"));
        assert!(plain.code.contains("C* s0, S* out, long long n, int inplace, Params p"));
        let mixed = update("sgd_mom", "return w;", &["lr"], 1, true, DType::F16);
        assert_eq!(mixed.name, "update_mp_sgd_mom_float16");
        // The master weight is the state after the rule's own, and takes the new weight.
        assert!(mixed.code.contains("typedef float C;") && mixed.code.contains("C* s0, C* s1, S* out"));
        assert!(mixed.code.contains("rule(st[1], (C)load(grad[i]), st, true, p);") && mixed.code.contains("st[1] = nw;"));
    }

    #[test]
    fn constants_keep_every_bit() {
        assert_eq!(double(1.0), "__longlong_as_double(0x3ff0000000000000LL)");
        assert!(double(f64::NAN).starts_with("__longlong_as_double(0x7ff8"));
        let e = Expr::with_scalar("a * b", 0.1, false);
        assert!(e.function("f").contains("const T b = T(__longlong_as_double(0x3fb999999999999aLL));"));
        assert_eq!(scalar_arg(2.7, DType::I32), 2.0);
        assert_eq!(scalar_arg(0.1, DType::F32), 0.1f32 as f64);
    }

    #[test]
    fn fused_steps_chain_in_order() {
        let steps = vec![(Expr::binary("a * b"), vec![Arg::Input(0), Arg::Input(1)]), (Expr::unary("exp(x)"), vec![Arg::Step(0)])];
        let k = fused("mul_exp", &steps, 2, DType::F32);
        assert!(k.code.contains("T s0 = load(store(step0(i0, i1)));") && k.code.contains("T s1 = load(store(step1(s0)));") && k.code.contains("y[i] = store(s1);"));
    }
}
