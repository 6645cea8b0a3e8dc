//! Matrix products. Floats go through the `gemm` crate (it picks AVX2 or AVX-512 micro-kernels
//! at run time), one serial call per block of the result, the blocks spread over rayon's pool;
//! integer types use a plain triple loop, as they are rare in networks and exactness matters
//! more than speed for them.

use gemm::{gemm as gemm_raw, Parallelism};

/// Whether the build has the `gemm` crate's AVX-512 micro-kernels (the `avx512` feature), which
/// it runs where the CPU has AVX-512F: they sum a product's terms in another order than its AVX2
/// ones, so the bits of every product depend on this and the CPU.
pub const AVX512_KERNELS: bool = cfg!(feature = "avx512");

use crate::dtype::{Class, DType, Element};

/// One operand: a pointer to element (0, 0) and its row and column strides, in elements.
#[derive(Clone, Copy)]
pub struct MatRef<T> {
    pub ptr: *const T,
    pub rs: isize,
    pub cs: isize,
}

/// `c = a · b` (or `c += a · b` when `accumulate`), `a` m×k, `b` k×n, `c` m×n dense row-major.
///
/// # Safety
/// The operands must address valid memory of their extents; `c` must not overlap them.
pub unsafe fn matmul<T: Element>(m: usize, n: usize, k: usize, a: MatRef<T>, b: MatRef<T>, c: *mut T, accumulate: bool) {
    product(m, n, k, a, b, c, accumulate, true)
}

/// [`matmul`] on the calling thread only, for callers that already run one product per rayon
/// task (a convolution's images), where splitting each product again costs more than it gains.
///
/// # Safety
/// As for [`matmul`].
pub unsafe fn matmul_serial<T: Element>(m: usize, n: usize, k: usize, a: MatRef<T>, b: MatRef<T>, c: *mut T, accumulate: bool) {
    product(m, n, k, a, b, c, accumulate, false)
}

/// [`matmul`], or with `serial` [`matmul_serial`]: for callers that choose per call (one
/// product per rayon task when they split the work themselves, else threaded).
///
/// # Safety
/// As for [`matmul`].
#[allow(clippy::too_many_arguments)]
pub unsafe fn matmul_on<T: Element>(serial: bool, m: usize, n: usize, k: usize, a: MatRef<T>, b: MatRef<T>, c: *mut T, accumulate: bool) {
    product(m, n, k, a, b, c, accumulate, !serial)
}

/// A row-major operand whose rows are `cols` apart.
pub fn rows<T>(ptr: *const T, cols: usize) -> MatRef<T> {
    MatRef { ptr, rs: cols as isize, cs: 1 }
}

/// A row-major matrix (rows `cols` apart) read transposed.
pub fn transposed<T>(ptr: *const T, cols: usize) -> MatRef<T> {
    MatRef { ptr, rs: 1, cs: cols as isize }
}

#[allow(clippy::too_many_arguments)]
unsafe fn product<T: Element>(m: usize, n: usize, k: usize, a: MatRef<T>, b: MatRef<T>, c: *mut T, accumulate: bool, threaded: bool) {
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            for i in 0..m * n {
                *c.add(i) = T::default();
            }
        }
        return;
    }
    let threads = if threaded { rayon::current_num_threads() } else { 1 };
    // Tiny products are faster on the calling thread than handed to the pool.
    if threads == 1 || m * n * k < 64 * 64 * 64 {
        return serial(m, n, k, a, b, c, n, accumulate);
    }
    // The gemm crate's own threading scales poorly at the mid sizes networks run (1.1-1.4x on
    // two cores at 128x784x512, `benches/` of issue 16), so rmx splits the product itself:
    // the longer side of `c` into one block per thread, each block a serial product. Every
    // element still sums over k in one call, so results do not depend on the thread count.
    // Except with `a` stored by columns (a weight gradient's dyᵀ): then its rows split, which
    // ran 1.4x faster on two cores (AVX-512: 512x784x128 at 194-205 against 136-147 GFLOP/s,
    // 512x512x128 at 195-199 against 142-147), where enough rows make whole blocks.
    let rows_first = a.rs == 1 && a.cs != 1 && m >= 64 * threads;
    let (split_n, len, align) = if n >= m && !rows_first { (true, n, 32) } else { (false, m, 8) };
    let step = len.div_ceil(threads).next_multiple_of(align);
    let blocks = len.div_ceil(step);
    let (ap, bp, cp) = (a.ptr as usize, b.ptr as usize, c as usize);
    use rayon::prelude::*;
    (0..blocks).into_par_iter().for_each(|i| {
        let (lo, hi) = (i * step, ((i + 1) * step).min(len));
        let (a, b) = (MatRef { ptr: ap as *const T, ..a }, MatRef { ptr: bp as *const T, ..b });
        let c = cp as *mut T;
        // SAFETY: the blocks are disjoint column (or row) ranges of c, inside the caller's extents.
        if split_n {
            serial(m, hi - lo, k, a, MatRef { ptr: b.ptr.offset(lo as isize * b.cs), ..b }, c.add(lo), n, accumulate);
        } else {
            serial(hi - lo, n, k, MatRef { ptr: a.ptr.offset(lo as isize * a.rs), ..a }, b, c.add(lo * n), n, accumulate);
        }
    });
}

/// One product on the calling thread; `c`'s rows are `ldc` apart.
#[allow(clippy::too_many_arguments)]
unsafe fn serial<T: Element>(m: usize, n: usize, k: usize, a: MatRef<T>, b: MatRef<T>, c: *mut T, ldc: usize, accumulate: bool) {
    match T::DTYPE {
        DType::F32 => typed::<T, f32>(m, n, k, a, b, c, ldc, accumulate, 1.0),
        DType::F64 => typed::<T, f64>(m, n, k, a, b, c, ldc, accumulate, 1.0),
        DType::F16 => typed::<T, half::f16>(m, n, k, a, b, c, ldc, accumulate, half::f16::ONE),
        _ => {
            debug_assert_eq!(T::CLASS, Class::Int);
            naive(m, n, k, a, b, c, ldc, accumulate)
        }
    }
}

#[allow(clippy::too_many_arguments)]
unsafe fn typed<T: Element, G: Element>(m: usize, n: usize, k: usize, a: MatRef<T>, b: MatRef<T>, c: *mut T, ldc: usize, accumulate: bool, one: G) {
    let alpha = if accumulate { one } else { G::default() };
    // SAFETY: T and G are the same type (checked by the caller's match on T::DTYPE).
    gemm_raw::<G>(
        m, n, k,
        c as *mut G, 1, ldc as isize, accumulate,
        a.ptr as *const G, a.cs, a.rs,
        b.ptr as *const G, b.cs, b.rs,
        alpha, one, false, false, false, Parallelism::None,
    );
}

unsafe fn naive<T: Element>(m: usize, n: usize, k: usize, a: MatRef<T>, b: MatRef<T>, c: *mut T, ldc: usize, accumulate: bool) {
    for i in 0..m {
        for j in 0..n {
            let mut acc: i64 = 0;
            for p in 0..k {
                let x = (*a.ptr.offset(i as isize * a.rs + p as isize * a.cs)).to_i64();
                let y = (*b.ptr.offset(p as isize * b.rs + j as isize * b.cs)).to_i64();
                acc = acc.wrapping_add(x.wrapping_mul(y));
            }
            let dst = c.add(i * ldc + j);
            *dst = if accumulate { T::from_i64((*dst).to_i64().wrapping_add(acc)) } else { T::from_i64(acc) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(m: usize, n: usize, k: usize, a: &[f64], b: &[f64]) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| a[i * k + p] * b[p * n + j]).sum();
            }
        }
        c
    }

    #[test]
    fn float_and_int_products_match_the_definition() {
        let (m, n, k) = (67, 45, 129);
        let a: Vec<f64> = (0..m * k).map(|i| ((i * 7) % 13) as f64 - 6.0).collect();
        let b: Vec<f64> = (0..k * n).map(|i| ((i * 5) % 11) as f64 - 5.0).collect();
        let want = reference(m, n, k, &a, &b);
        let mut c = vec![0.0; m * n];
        unsafe { matmul(m, n, k, MatRef { ptr: a.as_ptr(), rs: k as isize, cs: 1 }, MatRef { ptr: b.as_ptr(), rs: n as isize, cs: 1 }, c.as_mut_ptr(), false) };
        assert_eq!(c, want);
        let ai: Vec<i32> = a.iter().map(|&v| v as i32).collect();
        let bi: Vec<i32> = b.iter().map(|&v| v as i32).collect();
        let mut ci = vec![0i32; m * n];
        // b read transposed through its strides: b^T^T.
        unsafe { matmul(m, n, k, MatRef { ptr: ai.as_ptr(), rs: k as isize, cs: 1 }, MatRef { ptr: bi.as_ptr(), rs: n as isize, cs: 1 }, ci.as_mut_ptr(), false) };
        assert!(ci.iter().zip(&want).all(|(&x, &y)| x as f64 == y));
    }

    #[test]
    fn products_split_over_threads_cover_every_element_once() {
        // Wide (split by columns) and tall (split by rows), sizes not multiples of the blocks,
        // b read transposed, accumulating: integer-valued floats, so every sum is exact.
        let pool = rayon::ThreadPoolBuilder::new().num_threads(3).build().unwrap();
        for (m, n, k) in [(37, 301, 70), (301, 37, 70), (64, 64, 64)] {
            let a: Vec<f64> = (0..m * k).map(|i| ((i * 7) % 13) as f64 - 6.0).collect();
            let bt: Vec<f64> = (0..n * k).map(|i| ((i * 5) % 11) as f64 - 5.0).collect();
            let b: Vec<f64> = (0..k * n).map(|i| bt[(i % n) * k + i / n]).collect();
            let want: Vec<f64> = reference(m, n, k, &a, &b).iter().map(|v| v + 1.0).collect();
            let mut c = vec![1.0; m * n];
            pool.install(|| unsafe { matmul(m, n, k, MatRef { ptr: a.as_ptr(), rs: k as isize, cs: 1 }, MatRef { ptr: bt.as_ptr(), rs: 1, cs: k as isize }, c.as_mut_ptr(), true) });
            assert_eq!(c, want, "{m}x{n}x{k}");
        }
        // `a` stored by columns, wide `c`: split by rows (where 301 rows make three blocks).
        let (m, n, k) = (301, 400, 70);
        let at: Vec<f64> = (0..m * k).map(|i| ((i * 7) % 13) as f64 - 6.0).collect();
        let a: Vec<f64> = (0..m * k).map(|i| at[(i % k) * m + i / k]).collect();
        let b: Vec<f64> = (0..k * n).map(|i| ((i * 5) % 11) as f64 - 5.0).collect();
        let mut c = vec![0.0; m * n];
        pool.install(|| unsafe { matmul(m, n, k, MatRef { ptr: at.as_ptr(), rs: 1, cs: m as isize }, MatRef { ptr: b.as_ptr(), rs: n as isize, cs: 1 }, c.as_mut_ptr(), false) });
        assert_eq!(c, reference(m, n, k, &a, &b));
    }
}
