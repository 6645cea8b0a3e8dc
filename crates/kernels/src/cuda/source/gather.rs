//! The gathers' CUDA sources (`gather::take`, `pick`, `one_hot`; Embedding's lookup is a take
//! in clip mode over one row axis). They move elements without arithmetic, so one kernel serves
//! every dtype of a width (`D`, an unsigned type of 1, 2, 4 or 8 bytes); the indices are read in
//! their own dtype (`I`) as numbers, as the CPU's `gather::indices` reads them.
//!
//! The take's adjoint (`take_backward`, Embedding's weight gradient) adds each gradient element
//! where its value was read from, with atomic adds: many indices may name one row. It does
//! arithmetic, so it is made per float dtype (float16 through a compare-and-swap on the enclosing
//! 32-bit word, rounding each sum to float16 as the CPU's loop does).
//!
//! An index outside its axis in raise mode sets `*err` (the first thread to find one also writes
//! it to `*bad`: some out-of-range index, not necessarily the CPU's first). The launcher, still
//! to be written with the GPU launch path, is to read the flag at the operation's end and raise
//! the CPU's `KernelError::Index` message, so the error surfaces at the next wait as on the CPU.
//! An axis of size 0 is the operator's to refuse (its shape check does): clip mode would read
//! element -1.

use super::{kernel, storage, HALF};
use crate::gather::IndexMode;
use crate::DType;

/// The `mode` argument of the take kernels.
pub fn mode_arg(mode: IndexMode) -> i32 {
    match mode {
        IndexMode::Clip => 0,
        IndexMode::Wrap => 1,
        IndexMode::Raise => 2,
    }
}

/// The unsigned type a kernel moves elements of `width` bytes as.
fn bits(width: usize) -> &'static str {
    match width {
        1 => "unsigned char",
        2 => "unsigned short",
        4 => "unsigned int",
        _ => "unsigned long long",
    }
}

/// `I`, an index as a double (`rmx_index`), and an index resolved on an axis as the CPU's
/// `resolve` does (`rmx_resolve`: Rust's saturating `as i64`, then clip, wrap or raise).
fn index_helpers(index: DType) -> String {
    let half = if index == DType::F16 { HALF } else { "" };
    let read = if index == DType::F16 { "(double)rmx_h2f(v)" } else { "(double)v" };
    format!(
        "{half}typedef {} I;\n\
         __device__ __forceinline__ double rmx_index(I v) {{ return {read}; }}\n\
         __device__ __forceinline__ long long rmx_to_i64(double d) {{\n\
         \x20   if (d != d) return 0;\n\
         \x20   if (d >= 9223372036854775807.0) return 9223372036854775807LL;\n\
         \x20   if (d <= -9223372036854775808.0) return -9223372036854775807LL - 1;\n\
         \x20   return (long long)d;\n}}\n\
         __device__ __forceinline__ long long rmx_resolve(double raw, long long n, int mode, int* err, long long* bad) {{\n\
         \x20   long long i = rmx_to_i64(raw);\n\
         \x20   if (mode == 0) return i < 0 ? 0 : (i > n - 1 ? n - 1 : i);\n\
         \x20   if (mode == 1) {{ long long r = i % n; return r < 0 ? r + n : r; }}\n\
         \x20   long long j = i < 0 ? i + n : i;\n\
         \x20   if (j < 0 || j >= n) {{ if (atomicCAS(err, 0, 1) == 0) *bad = i; return 0; }}\n\
         \x20   return j;\n}}\n",
        storage(index)
    )
}

fn gather_source(name: String, width: usize, index: DType, params: &str, body: &str) -> super::KernelSource {
    let code = format!("typedef {} D;\n{}{}", bits(width), index_helpers(index), kernel(params, body));
    super::KernelSource { name, code }
}

const TAKE_PARAMS: &str = "const D* x, const I* idx, D* y, long long n, long long axis, long long inner, long long k, int mode, int* err, long long* bad";

/// `y = take(x, idx)` over `x` seen as `(outer, axis, inner)` and `y` as `(outer, k, inner)`
/// (`k` indices), elements of `width` bytes, indices of dtype `index`; `mode` is [`mode_arg`].
pub fn take(width: usize, index: DType) -> super::KernelSource {
    let body = "        long long o = i / (k * inner), q = (i / inner) % k, r = i % inner;\n\
                \x20       long long j = rmx_resolve(rmx_index(idx[q]), axis, mode, err, bad);\n\
                \x20       y[i] = x[(o * axis + j) * inner + r];";
    gather_source(format!("take_{}_{}B", index.name(), width), width, index, TAKE_PARAMS, body)
}

/// `y = pick(x, idx)`: one element per `(outer, inner)` position, its index at the same place in
/// `idx`; the parameters are [`take`]'s (`k` unused).
pub fn pick(width: usize, index: DType) -> super::KernelSource {
    let body = "        long long o = i / inner, r = i % inner;\n\
                \x20       long long j = rmx_resolve(rmx_index(idx[i]), axis, mode, err, bad);\n\
                \x20       y[i] = x[(o * axis + j) * inner + r];";
    gather_source(format!("pick_{}_{}B", index.name(), width), width, index, TAKE_PARAMS, body)
}

/// `y = one_hot(idx)`, rows of `depth`: `on` at each row's index inside `[0, depth)` (truncated),
/// `off` elsewhere, both passed as the output dtype's bits.
pub fn one_hot(width: usize, index: DType) -> super::KernelSource {
    let params = "const I* idx, D* y, long long n, long long depth, unsigned long long on, unsigned long long off";
    let body = "        long long row = i / depth, c = i % depth;\n\
                \x20       double d = rmx_index(idx[row]);\n\
                \x20       y[i] = (D)((d >= 0.0 && d < (double)depth && (long long)d == c) ? on : off);";
    // No index error in one_hot: `err`/`bad` are never touched, so the helpers' reference to
    // them compiles away.
    gather_source(format!("one_hot_{}_{}B", index.name(), width), width, index, params, body)
}

/// `rmx_add(a, v)`: `*a += v` atomically, for a float dtype's storage `S`.
fn add_helper(dtype: DType) -> &'static str {
    match dtype {
        DType::F16 => {
            "__device__ __forceinline__ void rmx_add(unsigned short* a, unsigned short v) {\n\
             \x20   unsigned int* word = (unsigned int*)((unsigned long long)a & ~3ULL);\n\
             \x20   unsigned int shift = ((unsigned long long)a & 2ULL) ? 16u : 0u;\n\
             \x20   unsigned int old = *word, seen;\n\
             \x20   do {\n\
             \x20       seen = old;\n\
             \x20       unsigned short sum = rmx_f2h(rmx_h2f((unsigned short)(seen >> shift)) + rmx_h2f(v));\n\
             \x20       old = atomicCAS(word, seen, (seen & ~(0xffffu << shift)) | ((unsigned int)sum << shift));\n\
             \x20   } while (old != seen);\n}\n"
        }
        _ => "__device__ __forceinline__ void rmx_add(S* a, S v) { atomicAdd(a, v); }\n",
    }
}

/// `dx[where i was read from] += dy[i]` for a take (or, with `pick`, a pick) of float `dtype`
/// with indices of dtype `index`; the parameters are [`take`]'s with `dy` and `dx` of `dtype`.
/// `dx` is zeroed before the launch; the adds land in an order the GPU picks, so float sums
/// may differ from the CPU's in their last bits (on the host, where one thread runs the loop
/// in order, they match it bit for bit).
pub fn take_backward(dtype: DType, index: DType, pick: bool) -> super::KernelSource {
    assert!(matches!(dtype, DType::F16 | DType::F32 | DType::F64), "take_backward is made for float dtypes");
    let add = add_helper(dtype);
    let half = if dtype == DType::F16 && index != DType::F16 { HALF } else { "" };
    let position = if pick { "o = i / inner, r = i % inner, q = i" } else { "o = i / (k * inner), q = (i / inner) % k, r = i % inner" };
    let body = format!(
        "        long long {position};\n\
         \x20       long long j = rmx_resolve(rmx_index(idx[q]), axis, mode, err, bad);\n\
         \x20       rmx_add(&dx[(o * axis + j) * inner + r], dy[i]);"
    );
    let params = "const S* dy, const I* idx, S* dx, long long n, long long axis, long long inner, long long k, int mode, int* err, long long* bad";
    let code = format!("{half}typedef {} S;\n{}{add}{}", storage(dtype), index_helpers(index), kernel(params, &body));
    let op = if pick { "pick" } else { "take" };
    super::KernelSource { name: format!("{op}_backward_{}_{}", index.name(), dtype.name()), code }
}

/// gather_nd's first step: each index tuple's block, `blocks[k]` row-major over the leading
/// axes `dims[0..m]` (a device array), from `idx` laid out `(m, n)`; negative indices count from
/// the end and anything else outside its axis sets the error flag, as the CPU's `nd_blocks`.
pub fn nd_blocks(index: DType) -> super::KernelSource {
    let params = "const I* idx, const long long* dims, long long* blocks, long long n, long long m, int* err, long long* bad";
    let body = "        long long b = 0;\n\
                \x20       for (long long a = 0; a < m; ++a) b = b * dims[a] + rmx_resolve(rmx_index(idx[a * n + i]), dims[a], 2, err, bad);\n\
                \x20       blocks[i] = b;";
    super::KernelSource { name: format!("nd_blocks_{}", index.name()), code: format!("{}{}", index_helpers(index), kernel(params, body)) }
}

/// `y[k, :] = x[blocks[k], :]`, blocks of `inner` elements of `width` bytes (`n` counts `y`'s
/// elements).
pub fn gather_nd(width: usize) -> super::KernelSource {
    let params = "const D* x, D* y, const long long* blocks, long long n, long long inner";
    let body = "        y[i] = x[blocks[i / inner] * inner + i % inner];";
    super::KernelSource { name: format!("gather_nd_{width}B"), code: format!("typedef {} D;\n{}", bits(width), kernel(params, body)) }
}

/// gather_nd's adjoint: `y[blocks[k], :] += x[k, :]` into a zeroed `y` (`n` counts `x`'s
/// elements), for a float `dtype`; the add order is the GPU's, as [`take_backward`]'s.
pub fn scatter_nd_add(dtype: DType) -> super::KernelSource {
    assert!(matches!(dtype, DType::F16 | DType::F32 | DType::F64), "scatter_nd_add is made for float dtypes");
    let half = if dtype == DType::F16 { HALF } else { "" };
    let params = "const S* x, S* y, const long long* blocks, long long n, long long inner";
    let body = "        rmx_add(&y[blocks[i / inner] * inner + i % inner], x[i]);";
    let code = format!("{half}typedef {} S;\n{}{}", storage(dtype), add_helper(dtype), kernel(params, body));
    super::KernelSource { name: format!("scatter_nd_add_{}", dtype.name()), code }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gathers_move_bits_and_read_indices_in_their_dtype() {
        let t = take(2, DType::F16);
        assert_eq!(t.name, "take_float16_2B");
        assert!(t.code.contains("typedef unsigned short D;") && t.code.contains("typedef unsigned short I;") && t.code.contains("rmx_h2f(v)"));
        let p = pick(8, DType::I32);
        assert!(p.code.contains("typedef unsigned long long D;") && p.code.contains("typedef int I;") && p.code.contains("idx[i]"));
        assert!(one_hot(1, DType::Bool).code.contains("unsigned long long on"));
        assert_eq!(mode_arg(IndexMode::Raise), 2);
        let b = take_backward(DType::F16, DType::I64, false);
        assert_eq!(b.name, "take_backward_int64_float16");
        assert!(b.code.contains("atomicCAS(word") && b.code.contains("rmx_h2f(v)") && b.code.matches("__CUDACC_RTC__").count() == 1);
        assert_eq!(take_backward(DType::F16, DType::F16, true).code.matches("__CUDACC_RTC__").count(), 1, "the half helpers once");
        assert!(take_backward(DType::F64, DType::I32, true).code.contains("atomicAdd(a, v)"));
        assert!(gather_nd(4).code.contains("const D* x, D* y, const long long* blocks, long long n, long long inner"));
        assert!(scatter_nd_add(DType::F16).code.contains("atomicCAS(word"));
        assert!(nd_blocks(DType::F32).code.contains("dims[a], 2, err, bad"));
    }
}
