//! Matrix products. Floats go through the `gemm` crate (it picks AVX2 or AVX-512 micro-kernels
//! at run time and threads through rayon); integer types use a plain triple loop, as they are
//! rare in networks and exactness matters more than speed for them.

use gemm::{gemm as gemm_raw, Parallelism};

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
    let threads = rayon::current_num_threads();
    // Tiny products are faster on the calling thread than handed to the pool.
    let par = if !threaded || m * n * k < 64 * 64 * 64 || threads == 1 { Parallelism::None } else { Parallelism::Rayon(threads) };
    match T::DTYPE {
        DType::F32 => typed::<T, f32>(m, n, k, a, b, c, accumulate, par, 1.0),
        DType::F64 => typed::<T, f64>(m, n, k, a, b, c, accumulate, par, 1.0),
        DType::F16 => typed::<T, half::f16>(m, n, k, a, b, c, accumulate, par, half::f16::ONE),
        _ => {
            debug_assert_eq!(T::CLASS, Class::Int);
            naive(m, n, k, a, b, c, accumulate)
        }
    }
}

#[allow(clippy::too_many_arguments)]
unsafe fn typed<T: Element, G: Element>(m: usize, n: usize, k: usize, a: MatRef<T>, b: MatRef<T>, c: *mut T, accumulate: bool, par: Parallelism, one: G) {
    let alpha = if accumulate { one } else { G::default() };
    // SAFETY: T and G are the same type (checked by the caller's match on T::DTYPE).
    gemm_raw::<G>(
        m, n, k,
        c as *mut G, 1, n as isize, accumulate,
        a.ptr as *const G, a.cs, a.rs,
        b.ptr as *const G, b.cs, b.rs,
        alpha, one, false, false, false, par,
    );
}

unsafe fn naive<T: Element>(m: usize, n: usize, k: usize, a: MatRef<T>, b: MatRef<T>, c: *mut T, accumulate: bool) {
    for i in 0..m {
        for j in 0..n {
            let mut acc: i64 = 0;
            for p in 0..k {
                let x = (*a.ptr.offset(i as isize * a.rs + p as isize * a.cs)).to_i64();
                let y = (*b.ptr.offset(p as isize * b.rs + j as isize * b.cs)).to_i64();
                acc = acc.wrapping_add(x.wrapping_mul(y));
            }
            let dst = c.add(i * n + j);
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
}
